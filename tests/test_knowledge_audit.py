"""Checks that keep the knowledge base true: coverage of the law, magnitudes, dates, references.

Each expected value here is read off the legal text or the price page the record cites, not off
the engine's output.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path

import pytest

import sovereign_advisor as sa
from sovereign_advisor.knowledge.models import Source
from sovereign_advisor.profile import profile_from_text

from .conftest import edit_text

EU_BANK = """
organisation: {name: Test, headquarters: FR, operates_in: [FR], sector: banking}
data: {query_shares: {public: 0.5, personal: 0.5}, subjects_in: [FR]}
policy: {preset: eu_only}
use_cases:
%s
workload:
  queries_per_month: 100000
  input_tokens_per_query: 1000
  output_tokens_per_query: 200
  peak_queries_per_second: 1
capabilities: {operates_gpus: true}
finance: {currency: EUR}
"""


def _profile(use_case: str) -> sa.OrganisationProfile:
    return profile_from_text(EU_BANK % use_case)


# --- coverage: the citations issue #3 lists are all present -------------------------------

REQUIRED_CITATIONS = {
    # EU AI Act
    "eu.ai_act.art2_1_scope": "Art. 2(1)",
    "eu.ai_act.art2_3_military_defence_national_security": "Art. 2(3)",
    "eu.ai_act.art2_6_scientific_research": "Art. 2(6)",
    "eu.ai_act.art2_10_personal_use": "Art. 2(10)",
    "eu.ai_act.art4_ai_literacy.original": "Art. 4",
    **{f"eu.ai_act.art5_1_{p}": f"Art. 5(1)({p})" for p in "abcdefgh"},
    "eu.ai_act.art6_1_annex_i": "Art. 6(1)",
    "eu.ai_act.art6_2_annex_iii": "Art. 6(2)",
    **{
        f"eu.ai_act.annex_iii.{n}_{area}": f"Annex III point {n}"
        for n, area in enumerate(
            (
                "biometrics",
                "critical_infrastructure",
                "education",
                "employment",
                "essential_services",
                "law_enforcement",
                "migration",
                "justice_democracy",
            ),
            start=1,
        )
    },
    "eu.ai_act.art6_3_derogation": "Art. 6(3)",
    "eu.ai_act.art16_provider_obligations": "Art. 16",
    "eu.ai_act.art26_deployer_obligations": "Art. 26",
    **{f"eu.ai_act.art50_{n}": f"Art. 50({n})" for n in range(1, 5)},
    "eu.ai_act.art51_systemic_risk_classification": "Art. 51",
    "eu.ai_act.art52_notification": "Art. 52",
    "eu.ai_act.art53_gpai_provider_duties": "Art. 53",
    "eu.ai_act.art54_authorised_representative": "Art. 54",
    "eu.ai_act.art55_systemic_risk_duties": "Art. 55",
    "eu.ai_act.art99_6": "Art. 99(6)",
    "eu.ai_act.art113_application_dates.original": "Art. 113",
    "eu.ai_act.art113_application_dates.amended": "Art. 113",
    "eu.ai_omnibus.proposal_com_2025_836": "Art. 1",
    "eu.ai_omnibus.reg_2026_1744": "Art. 1",
    # United States
    "us.usc18.2713": "§ 2713",
    "us.usc18.2703_h_motion_to_quash": "§ 2703(h)",
    "us.usc18.2523.uk_agreement": "§ 2523",
    "us.usc18.2523.australia_agreement": "§ 2523",
    "eu.dpf.adequacy_2023_1795": "Art. 1",
    # Japan
    "jp.ai_promotion_act.identity_and_dates": "附則第1条",
    "jp.ai_promotion_act.art3_basic_principles": "Art. 3",
    "jp.ai_promotion_act.art7_business_duty": "Art. 7",
    "jp.ai_promotion_act.art13_guidelines": "Art. 13",
    "jp.ai_promotion_act.art16_research_guidance": "Art. 16",
    "jp.ai_promotion_act.art18_basic_plan": "Art. 18",
    "jp.ai_promotion_act.no_penalties": "no penal",
    "jp.appi.art28_cross_border": "Art. 28",
    "jp.appi.art24_cross_border.former": "Art. 24",
    "eu.adequacy.japan_2019_419": "Art. 1",
    # GDPR and sector rules
    "eu.gdpr.art9_special_categories": "Art. 9",
    "eu.gdpr.art44_general_principle": "Art. 44",
    "eu.gdpr.art45_adequacy": "Art. 45",
    "eu.gdpr.art46_appropriate_safeguards": "Art. 46",
    "fr.csp.l1111_8_hds": "L.1111-8",
    "fr.anssi.secnumcloud_3_2_s19_6": "§19.6",
    "eu.dora.application": "Art. 64",
    "eu.dora.art28_ict_third_party_risk": "Art. 28",
}


@pytest.mark.parametrize("fact_id", sorted(REQUIRED_CITATIONS))
def test_the_citations_the_product_promises_are_present(kb: sa.KnowledgeBase, fact_id: str) -> None:
    assert fact_id in kb.facts, f"fact {fact_id} is missing"
    assert REQUIRED_CITATIONS[fact_id] in kb.facts[fact_id].citation.article


def test_the_uncertain_name_publication_claim_is_not_binding(kb: sa.KnowledgeBase) -> None:
    # Press reports say the Japanese government may publish names of businesses that misuse AI;
    # the Act's text has no such power (at most Art. 16 guidance). It must not read as law.
    assert kb.facts["jp.ai_promotion_act.name_publication"].status != "binding"


def test_the_dpf_is_a_separate_test_from_cloud_act_reach(kb: sa.KnowledgeBase) -> None:
    # The DPF is an adequacy decision on transfers; it does not limit 18 U.S.C. § 2713. So the
    # rule that exposes US-controlled venues must not rest on it.
    [reach] = [r.rule for r in kb.rules if r.rule.id == "us.cloud_act.provider_reach"]
    assert "eu.dpf.adequacy_2023_1795" not in reach.rests_on


def test_counts_promised_by_the_issue(kb: sa.KnowledgeBase) -> None:
    assert len(kb.facts) >= 40
    dated_prices = [*kb.token_prices, *kb.gpu_prices, *kb.host_prices]
    assert len(dated_prices) >= 15
    assert len(kb.venues) >= 10


def test_the_catalogue_spans_the_kinds_of_venue_users_choose_between(kb: sa.KnowledgeBase) -> None:
    venues = list(kb.venues.values())
    eu = set(kb.blocs["EU"].members)
    us_with_eu_region = [
        v for v in venues if v.controlled_from == "US" and set(v.data_locations) <= eu
    ]
    assert len(us_with_eu_region) >= 3
    assert any(v.kind == "api" and v.controlled_from in eu for v in venues)
    assert any(v.kind == "gpu_cloud" and v.controlled_from in eu for v in venues)
    assert any(v.controlled_from == "JP" for v in venues)
    assert any(v.kind == "premises" for v in venues)


# --- every record complete, every fact used ------------------------------------------------


def test_every_record_has_complete_provenance(kb: sa.KnowledgeBase) -> None:
    records = [
        *kb.facts.values(),
        *kb.venues.values(),
        *kb.models.values(),
        *kb.gpus.values(),
        *kb.token_prices,
        *kb.gpu_prices,
        *kb.host_prices,
        *kb.assumptions,
        *kb.throughputs,
        *kb.fx_rates,
    ]
    for record in records:
        where = getattr(record, "id", record)
        assert record.source.title.strip(), where
        assert record.source.url or record.source.seed or record.source.publisher, where
        assert record.status in ("binding", "provisional", "guidance"), where
        assert dt.date(2024, 1, 1) <= record.checked_on <= dt.date(2026, 12, 1), where
    for price in (*kb.token_prices, *kb.gpu_prices, *kb.host_prices):
        assert price.valid_from is not None and price.currency in ("EUR", "USD", "JPY"), price.id


def test_every_fact_is_used_by_a_rule_or_explains_one(kb: sa.KnowledgeBase) -> None:
    used: set[str] = set()
    for compiled in kb.rules:
        rule = compiled.rule
        used.update(rule.rests_on, rule.see_also)
        if rule.cites_for is not None:
            used.update(rule.cites_for.facts.values())
    assert sorted(set(kb.facts) - used) == []


def test_no_legal_fact_or_venue_rests_on_a_seed_document_alone(kb: sa.KnowledgeBase) -> None:
    # The seeds say what the product is for; a board forwarding a report needs a text it can open.
    # Issue #14: some facts and venues cited only "seed 000 §7.3" or a Japanese seed title.
    def seed_only(source: Source) -> bool:
        return set(source.kinds) == {"seed"}

    offenders = [f.id for f in kb.facts.values() if seed_only(f.source)]
    offenders += [v.id for v in kb.venues.values() if seed_only(v.source)]
    assert offenders == []


def test_a_seed_only_fact_fails_the_seed_check(copy: Path) -> None:
    # The check above must bite: give one fact a seed as its only source.
    edit_text(
        copy / "jurisdictions" / "eu_gdpr.yaml",
        'source: {title: "Regulation (EU) 2016/679 (GDPR), OJ L 119, 4.5.2016, p. 1", '
        'url: "http://data.europa.eu/eli/reg/2016/679/oj", kind: primary}',
        'source: {title: "Seed 000 7.3", seed: 000_76f3f8258e5a2cb3.txt}',
    )
    broken = sa.load_knowledge_base(copy)
    fact = broken.facts["eu.gdpr.art9_special_categories"]
    assert fact.source.kinds == ("seed",)


def test_every_legal_fact_and_venue_names_the_kind_of_its_source(kb: sa.KnowledgeBase) -> None:
    # The audit view groups records by the kind of source; facts and venues state it, so no
    # legal record is left "unclassified".
    unclassified = [
        r.id for r in (*kb.facts.values(), *kb.venues.values()) if "unclassified" in r.source.kinds
    ]
    assert unclassified == []


def test_a_source_kind_that_contradicts_the_source_is_refused() -> None:
    with pytest.raises(ValueError, match="kind `seed` names its `seed`"):
        Source.model_validate({"title": "x y z", "url": "https://e.invalid", "kind": "seed"})
    with pytest.raises(ValueError, match="kind `primary` needs the `url`"):
        Source.model_validate({"title": "x y z", "publisher": "someone", "kind": "primary"})
    with pytest.raises(ValueError, match="only a seed file is of kind `seed`"):
        Source.model_validate(
            {"title": "x y z", "seed": "000_76f3f8258e5a2cb3.txt", "kind": "secondary"}
        )
    classified = Source.model_validate(
        {"title": "x y z", "url": "https://eur-lex.europa.eu/eli/reg/2016/679/oj"}
    )
    assert classified.classified_kind == "primary"


def test_seed_sources_name_files_that_exist(kb: sa.KnowledgeBase) -> None:
    seeds = Path(__file__).resolve().parents[2] / "shared" / "seeds"
    if not seeds.is_dir():
        pytest.skip("the seed documents are not beside this checkout")
    # Seeds may still be named beside a public source (architectures, assumptions).
    records = (*kb.facts.values(), *kb.venues.values(), *kb.assumptions, *kb.architectures)
    named = {r.source.seed for r in records if r.source.seed}
    assert all((seeds / s).is_file() for s in named), named


# --- magnitudes -------------------------------------------------------------------------------


def _to_eur(kb: sa.KnowledgeBase, amount: Decimal, currency: str) -> Decimal:
    if currency == "EUR":
        return amount
    rates = sorted(
        (f for f in kb.fx_rates if f.base == "EUR" and f.quote == currency), key=lambda f: f.date
    )
    assert rates, f"no EUR->{currency} rate to check a {currency} price"
    return amount / rates[-1].rate.typical


def test_token_prices_are_between_a_thousandth_and_a_hundred_per_million(
    kb: sa.KnowledgeBase,
) -> None:
    # A price per token entered as per million (or the reverse) is off by 10^6 and lands
    # far outside this range.
    for p in kb.token_prices:
        for field in ("input_per_mtok", "output_per_mtok"):
            band = getattr(p, field)
            embedding_output = field == "output_per_mtok" and kb.models[p.model].kind == "embedding"
            for value in (band.lo, band.typical, band.hi):
                if embedding_output and value == 0:
                    continue  # embeddings produce no output tokens
                eur = _to_eur(kb, value, p.currency)
                assert Decimal("0.001") <= eur <= 100, f"{p.id}.{field} = {value} {p.currency}"


def test_gpu_rental_is_between_a_tenth_and_fifty_per_hour(kb: sa.KnowledgeBase) -> None:
    # The JPY 990/h Sakura H100 is EUR ~5.6/h; a per-month price entered as hourly would not be.
    rentals = [g for g in kb.gpu_prices if g.rental_per_hour is not None]
    assert rentals
    for g in rentals:
        assert g.rental_per_hour is not None
        for value in (g.rental_per_hour.lo, g.rental_per_hour.typical, g.rental_per_hour.hi):
            eur = _to_eur(kb, value, g.currency)
            assert Decimal("0.1") <= eur <= 50, f"{g.id} = {value} {g.currency}/h"


def test_gpu_purchase_prices_are_plausible_per_card(kb: sa.KnowledgeBase) -> None:
    for g in kb.gpu_prices:
        if g.purchase is not None:
            eur = _to_eur(kb, g.purchase.typical, g.currency)
            assert 1000 <= eur <= 100000, f"{g.id} = {g.purchase.typical} {g.currency}"


def test_fx_rates_are_near_their_published_magnitude(kb: sa.KnowledgeBase) -> None:
    # ECB reference rates 2024-2026 (the generated records), with a margin
    bounds = {
        ("EUR", "USD"): (Decimal("0.9"), Decimal("1.3")),
        ("EUR", "JPY"): (120, 200),
        ("EUR", "GBP"): (Decimal("0.75"), Decimal("0.95")),
        ("EUR", "CHF"): (Decimal("0.85"), Decimal("1.05")),
        ("EUR", "SEK"): (10, 12.5),
        ("EUR", "DKK"): (Decimal("7.4"), Decimal("7.5")),
        ("EUR", "PLN"): (4, Decimal("4.7")),
        ("EUR", "CZK"): (23, 26),
        ("EUR", "HUF"): (350, 420),
    }
    for f in kb.fx_rates:
        low, high = bounds[(f.base, f.quote)]
        assert low <= f.rate.typical <= high, f.id


# --- the law as it stood on the as-of date ---------------------------------------------------


def test_each_annex_iii_obligation_cites_its_own_annex_point(kb: sa.KnowledgeBase) -> None:
    profile = _profile("  - {name: screening, annex_iii_area: employment, profiles_people: true}")
    advice = sa.advise(profile, kb=kb, as_of=dt.date(2026, 11, 23))
    [deployer] = [o for o in advice.obligations if o.rule_id.startswith("eu.ai_act.high_risk")]
    assert "eu.ai_act.annex_iii.4_employment" in deployer.fact_ids
    assert "Annex III point 4" in deployer.citation
    assert "Annex III point 5" not in deployer.citation


def test_annex_i_products_follow_the_dates_in_force_on_the_as_of_date(
    kb: sa.KnowledgeBase,
) -> None:
    # Art. 113(c) as published: Art. 6(1) applies from 2 August 2027. As amended by
    # Regulation (EU) 2026/1744 (in force 27 July 2026): from 2 August 2028.
    profile = _profile("  - {name: machine safety vision, annex_i_product: true}")
    got = {}
    for as_of in (dt.date(2026, 7, 1), dt.date(2026, 11, 23)):
        advice = sa.advise(profile, kb=kb, as_of=as_of)
        [o] = [o for o in advice.obligations if "annex_i" in o.rule_id]
        got[as_of] = o.applies_from
    assert got == {
        dt.date(2026, 7, 1): dt.date(2027, 8, 2),
        dt.date(2026, 11, 23): dt.date(2028, 8, 2),
    }


def test_the_new_art5_prohibitions_block_only_from_2_december_2026(kb: sa.KnowledgeBase) -> None:
    # Art. 5(1)(ba) was inserted by Regulation (EU) 2026/1744 and applies from 2 December 2026.
    profile = _profile("  - {name: image studio, prohibited_practice: intimate_deepfakes}")
    before = sa.advise(profile, kb=kb, as_of=dt.date(2026, 11, 23))
    after = sa.advise(profile, kb=kb, as_of=dt.date(2026, 12, 2))
    assert before.blocked_use_cases == ()
    # known since Regulation (EU) 2026/1744 entered into force: reported as coming, with its date
    [coming] = before.coming_blocked_use_cases
    assert coming.use_case == "image studio" and coming.applies_from == dt.date(2026, 12, 2)
    assert after.coming_blocked_use_cases == ()
    [blocked] = after.blocked_use_cases
    assert blocked.use_case == "image studio" and "eu.ai_act.art5_1_ba" in blocked.fact_ids
    old = sa.advise(profile, kb=kb, as_of=dt.date(2026, 7, 1))  # before the amendment existed
    assert not any("intimate_deepfakes" in f.rule_id for f in old.findings)
    assert old.coming_blocked_use_cases == ()


def test_a_third_country_model_provider_must_appoint_an_eu_representative(
    kb: sa.KnowledgeBase,
) -> None:
    text = (EU_BANK % "  - {name: chat}").replace(
        "headquarters: FR, operates_in: [FR], sector: banking",
        "headquarters: US, operates_in: [US, FR], sector: technology, provides_models: true",
    )
    advice = sa.advise(profile_from_text(text), kb=kb, as_of=dt.date(2026, 11, 23))
    rules = {o.rule_id for o in advice.obligations}
    assert "eu.ai_act.gpai_authorised_representative" in rules
    assert "eu.ai_act.gpai_provider" in rules


# --- refusals -------------------------------------------------------------------------------


def test_a_price_at_a_venue_that_does_not_serve_the_model_is_refused(copy: Path) -> None:
    edit_text(
        copy / "catalog" / "venues.yaml",
        "    models: [mistral-large-3]\n",
        "    models: [mistral-large-2411]\n",
    )
    with pytest.raises(sa.KnowledgeBaseError, match=r"tokens\.yaml.*does not list model"):
        sa.load_knowledge_base(copy)


def test_cites_for_must_key_on_a_string_variable_of_the_scope(copy: Path) -> None:
    edit_text(
        copy / "jurisdictions" / "eu_ai_act.yaml",
        "      variable: use_case.annex_iii_area\n",
        "      variable: use_case.profiles_people\n",
    )
    with pytest.raises(sa.KnowledgeBaseError, match=r"cites_for\.variable `use_case\.profiles"):
        sa.load_knowledge_base(copy)


def test_a_dangling_see_also_is_refused(copy: Path) -> None:
    edit_text(copy / "jurisdictions" / "eu_gdpr.yaml", "see_also: [", "see_also: [eu.gdpr.art99, ")
    with pytest.raises(sa.KnowledgeBaseError, match=r"see_also refers to fact `eu\.gdpr\.art99`"):
        sa.load_knowledge_base(copy)


def test_a_path_that_is_not_a_path_is_an_input_error() -> None:
    with pytest.raises(sa.KnowledgeBaseError, match="needs a directory path"):
        sa.load_knowledge_base(123)  # type: ignore[arg-type]
