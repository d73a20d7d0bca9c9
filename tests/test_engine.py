"""Engine behaviour worked out by hand from the law and the price records."""

from __future__ import annotations

import datetime as dt
from decimal import ROUND_HALF_EVEN, Decimal

import sovereign_advisor as sa

from .conftest import PROFILES


def _q6(value: Decimal) -> Decimal:
    return value.quantize(Decimal("0.000001"), rounding=ROUND_HALF_EVEN)


def test_tiered_token_lines_are_worked_out_from_the_price_records(kb: sa.KnowledgeBase) -> None:
    # triage_high_volume: 10,000,000 queries x 800 input / 80 output tokens, EUR report.
    # Mistral Small 4 on La Plateforme: USD 0.15 in / 0.60 out per 1M (lp.mistral-small-4).
    # Mistral Large 3: USD 0.5 / 1.5 (lp.mistral-large-3), for the 5% complex share.
    # USD -> EUR: the ECB rate of 2026-10-06 is 1 EUR = 1.1269 USD, so 1 USD = 0.887390 EUR.
    usd_in_eur = _q6(Decimal(1) / Decimal("1.1269"))
    assert usd_in_eur == Decimal("0.887390")
    small_in = _q6(Decimal("0.15") * usd_in_eur)  # 0.133108 EUR per 1M
    small_out = _q6(Decimal("0.60") * usd_in_eur)  # 0.532434
    large_in = _q6(Decimal("0.5") * usd_in_eur)  # 0.443695
    large_out = _q6(Decimal("1.5") * usd_in_eur)  # 1.331085
    expected = {
        "triage_model: input tokens": Decimal(8000) * small_in,  # 8,000 M tokens
        "triage_model: output tokens": Decimal(800) * small_out,  # 800 M tokens
        "escalation_model: input tokens": Decimal(400) * large_in,  # 5% of 8,000 M
        "escalation_model: output tokens": Decimal(40) * large_out,  # 5% of 800 M
    }
    advice = sa.advise(
        sa.load_profile(PROFILES / "triage_high_volume.yaml"), kb=kb, as_of=dt.date(2026, 11, 23)
    )
    tiered = next(a for a in advice.assessments if a.architecture_id == "tiered_cost_pipeline")
    assert tiered.cost is not None
    got = {c.name.split(" (")[0]: c.monthly_cost for c in tiered.cost.components}
    assert got == expected
    assert tiered.cost.monthly_total.typical == sum(expected.values())
    assert tiered.cost.monthly_total.typical.quantize(Decimal("0.01")) == Decimal("1721.53")


def test_annex_iii_dates_follow_the_law_in_force_on_the_as_of_date(kb: sa.KnowledgeBase) -> None:
    # Before Regulation (EU) 2026/1744 entered into force (27 July 2026), Art. 113 applied
    # Annex III obligations from 2 August 2026; after it, from 2 December 2027.
    profile = sa.load_profile(PROFILES / "bank_strict.yaml")
    dates = {}
    for as_of in (dt.date(2026, 7, 1), dt.date(2026, 11, 23)):
        advice = sa.advise(profile, kb=kb, as_of=as_of)
        [high_risk] = [o for o in advice.obligations if "high_risk_annex_iii" in o.rule_id]
        dates[as_of] = high_risk.applies_from
        assert not high_risk.in_force
    assert dates == {
        dt.date(2026, 7, 1): dt.date(2026, 8, 2),
        dt.date(2026, 11, 23): dt.date(2027, 12, 2),
    }


def test_retired_apis_are_never_chosen(kb: sa.KnowledgeBase) -> None:
    # Mistral Large 2.1 (2411) is retired on 2026-05-31, Large 3 is offered from 2025-12-02;
    # Small 3.2 is retired on 2026-07-31 and Small 4 starts on 2026-03-16.
    profile = sa.load_profile(PROFILES / "triage_high_volume.yaml")
    expected = {
        dt.date(2025, 11, 1): ("mistral-small-3.2", "mistral-large-2411"),
        dt.date(2026, 2, 1): ("mistral-small-3.2", "mistral-large-3"),
        dt.date(2026, 11, 23): ("mistral-small-4", "mistral-large-3"),
    }
    for as_of, models in expected.items():
        advice = sa.advise(profile, kb=kb, as_of=as_of)
        tiered = next(a for a in advice.assessments if a.architecture_id == "tiered_cost_pipeline")
        chosen = {v.role: v.model_id for v in tiered.venues}
        assert (chosen["triage_model"], chosen["escalation_model"]) == models, as_of


def test_us_controlled_venues_are_exposed_to_the_us_wherever_the_data_sits(
    kb: sa.KnowledgeBase,
) -> None:
    advice = sa.advise(
        sa.load_profile(PROFILES / "insurer_hybrid.yaml"), kb=kb, as_of=dt.date(2026, 11, 23)
    )
    reach = {(f.subject, f.detail.split()[0]) for f in advice.findings if f.effect == "exposes_to"}
    assert ("azure-eu", "US") in reach and ("bedrock-eu", "US") in reach
    assert ("mistral-la-plateforme", "US") not in reach
    assert ("ovhcloud", "US") not in reach


def test_the_public_api_is_what_all_says() -> None:
    public = {n for n in dir(sa) if not n.startswith("_")} - {
        "advice",
        "engine",
        "errors",
        "knowledge",
        "profile",
        "render",
        "conditions",
        "types",
        "yamlio",
        "cli",
        "schema",
        "testing",  # sovereign_advisor.testing, once a test has imported it
    }
    assert public == set(sa.__all__)
