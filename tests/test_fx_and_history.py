"""Issue #14, prices half: one exchange-rate day per advice, stated and warned about when stale,
and price history far enough back that an advice since the AI Act's entry into force is priced."""

from __future__ import annotations

import datetime as dt
import runpy
from decimal import Decimal
from pathlib import Path

import pytest

import sovereign_advisor as sa
from sovereign_advisor.views.markdown import render_markdown
from sovereign_advisor.views.text import render_text

PROFILES = Path(__file__).parents[1] / "examples" / "profiles"
EXAMPLES = sorted(PROFILES.glob("*.yaml"))


def _fx_ids(advice: sa.Advice) -> set[str]:
    ids = {
        part.strip()
        for a in advice.assessments
        if a.cost
        for c in a.cost.components
        for part in c.source.split("+")
    }
    return {i for i in ids if i.startswith("ecb.")}


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.stem)
@pytest.mark.parametrize("as_of", [dt.date(2025, 6, 1), dt.date(2026, 11, 23)])
def test_no_advice_mixes_exchange_rate_days(
    path: Path, as_of: dt.date, kb: sa.KnowledgeBase
) -> None:
    advice = sa.advise(sa.load_profile(path), kb=kb, as_of=as_of)
    ids = _fx_ids(advice)
    days = {next(f.date for f in kb.fx_rates if f.id == i) for i in ids}
    assert len(days) <= 1, (path.stem, sorted(ids))
    if ids:
        assert days == {advice.fx_rate_date}
        assert advice.fx_rate_date is not None and advice.fx_rate_date <= as_of


def test_the_rate_day_is_the_latest_with_every_currency(kb: sa.KnowledgeBase) -> None:
    # 2025-06-01 is a Sunday; the monthly records are of the first ECB business day of each
    # month, so the latest day on or before it is 2025-05-02 (1 May is a TARGET holiday)
    profile = sa.load_profile(PROFILES / "japanese_manufacturer.yaml")
    advice = sa.advise(profile, kb=kb, as_of=dt.date(2025, 6, 1))
    assert advice.fx_rate_date == dt.date(2025, 5, 2)
    assert "at ECB reference rates of 2025-05-02" in render_text(advice)
    assert "ECB reference rates of 2025-05-02" in render_markdown(advice)
    assert advice.warnings == ()


def test_a_rate_more_than_90_days_old_warns(kb: sa.KnowledgeBase) -> None:
    # the last recorded rates are of 2026-10-30: fine 90 days later, stale on day 91
    profile = sa.load_profile(PROFILES / "japanese_manufacturer.yaml")
    fine = sa.advise(profile, kb=kb, as_of=dt.date(2026, 10, 30) + dt.timedelta(days=90))
    stale = sa.advise(profile, kb=kb, as_of=dt.date(2026, 10, 30) + dt.timedelta(days=91))
    assert fine.warnings == ()
    assert fine.fx_rate_date == stale.fx_rate_date == dt.date(2026, 10, 30)
    [warning] = stale.warnings
    assert "2026-10-30" in warning and "91 days" in warning
    assert "WARNING: exchange rates of 2026-10-30" in render_text(stale)
    assert "**Warning:**" in render_markdown(stale)


def test_a_report_currency_of_the_ecb_list_is_accepted(kb: sa.KnowledgeBase) -> None:
    data = sa.load_profile(PROFILES / "insurer_hybrid.yaml").model_dump(mode="json")
    for currency, rate_id in (("GBP", "ecb.eur-gbp.2026-10-30"), ("CHF", "ecb.eur-chf.2026-10-30")):
        data["finance"]["currency"] = currency
        data["finance"].pop("monthly_budget", None)
        advice = sa.advise(
            sa.OrganisationProfile.model_validate(data), kb=kb, as_of=dt.date(2026, 11, 23)
        )
        assert advice.currency == currency
        assert rate_id in _fx_ids(advice)


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.stem)
def test_an_advice_as_of_2025_06_01_prices_every_eligible_architecture(
    path: Path, kb: sa.KnowledgeBase
) -> None:
    # the premises GPU and vector-host records now reach back to 2024-08-01, the FX records to
    # 2024-01-01; the tiered pipeline's triage role has no Small model before Small 3.2
    # (2025-06-20) in the catalogue, so it may only be excluded for that reason
    advice = sa.advise(sa.load_profile(path), kb=kb, as_of=dt.date(2025, 6, 1))
    for a in advice.assessments:
        if a.eligible:
            assert a.cost is not None and a.cost.monthly_total.typical > 0, a.architecture_id
    tiered = next(a for a in advice.assessments if a.architecture_id == "tiered_cost_pipeline")
    assert not tiered.eligible  # no catalogued Small model on the day: see prices.md
    assert any("mistral-small-4 or mistral-small-3.2" in e.reason for e in tiered.exclusions)
    priced = [a for a in advice.assessments if a.eligible]
    # every profile whose policy admits the premises prices on-prem RAG on that day
    assert any(a.architecture_id == "on_prem_rag" for a in priced), path.stem


def test_large_2411_is_retired_on_the_official_date(kb: sa.KnowledgeBase) -> None:
    record = next(p for p in kb.token_prices if p.id == "lp.mistral-large-2411")
    assert record.status == "binding"
    assert (record.deprecated_on, record.retired_on) == (dt.date(2026, 2, 27), dt.date(2026, 5, 31))


def test_mistral_prices_in_eur_are_their_own_records(kb: sa.KnowledgeBase) -> None:
    eur = {p.id: p for p in kb.token_prices if p.currency == "EUR" and p.id.startswith("lp.")}
    assert set(eur) == {"lp.mistral-large-3.eur", "lp.mistral-small-4.eur", "lp.mistral-embed.eur"}
    assert all(p.valid_from == dt.date(2026, 8, 11) for p in eur.values())


def test_staff_cost_is_the_headquarters_country_s_with_a_stated_fallback(
    kb: sa.KnowledgeBase,
) -> None:
    # JP: JPY 5.2M x 1.15 / 12 = JPY 498,333.33 per FTE-month (ops.monthly_cost_per_fte@jp),
    # priced in JPY for a JPY report: no conversion of a German salary any more
    japanese = sa.advise(
        sa.load_profile(PROFILES / "japanese_manufacturer.yaml"), kb=kb, as_of=dt.date(2026, 11, 23)
    )
    on_prem = next(a for a in japanese.assessments if a.architecture_id == "on_prem_rag")
    assert on_prem.cost is not None
    staff = next(c for c in on_prem.cost.components if c.name == "Operations staff: local_model")
    assert staff.unit_price == Decimal("498333.33")
    assert "ops.monthly_cost_per_fte@jp" in {a.id for a in japanese.assumptions}
    # DE has no record of its own: the default (German figures) is the stated fallback
    german = sa.advise(
        sa.load_profile(PROFILES / "german_hospital.yaml"), kb=kb, as_of=dt.date(2026, 11, 23)
    )
    [used] = [a for a in german.assumptions if a.id.startswith("ops.monthly_cost_per_fte")]
    assert used.id == "ops.monthly_cost_per_fte" and "FALLBACK" in used.summary


def test_fx_yaml_is_what_the_refresh_script_generates() -> None:
    # maintainers only: needs the optional `fx` extra (the engine never imports it)
    pytest.importorskip("currency_converter")
    script = Path(__file__).parents[1] / "tools" / "refresh_fx.py"
    namespace = runpy.run_path(str(script))
    fx_yaml = Path(__file__).parents[1] / "patterns" / "prices" / "fx.yaml"
    assert namespace["render"]() == fx_yaml.read_text(encoding="utf-8")
