"""Issue #14, legal half: each expectation is read off the provision the record cites.

GDPR Arts. 28 and 35, AI Act Arts. 27 and 99(6a), the EEA as one area for transfers, UK and Swiss
transfer rules, APPI's recipient test, sub-processors and foreign presence.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

import sovereign_advisor as sa
from sovereign_advisor.profile import profile_from_text

from .conftest import edit_text

AS_OF = dt.date(2026, 12, 1)

PROFILE = """
organisation: {name: Test, headquarters: %(hq)s, operates_in: [%(hq)s], sector: %(sector)s%(extra)s}
data: {query_shares: %(shares)s, subjects_in: [%(subjects)s]}
policy: {preset: open}
use_cases:
%(use_cases)s
workload:
  queries_per_month: 100000
  input_tokens_per_query: 1000
  output_tokens_per_query: 200
  peak_queries_per_second: 1
capabilities: {operates_gpus: true}
finance: {currency: EUR}
"""


def _advice(
    kb: sa.KnowledgeBase,
    *,
    hq: str = "FR",
    sector: str = "banking",
    extra: str = "",
    shares: str = "{public: 0.5, personal: 0.5}",
    subjects: str | None = None,
    use_cases: str = "  - {name: chat}",
    as_of: dt.date = AS_OF,
) -> sa.Advice:
    text = PROFILE % {
        "hq": hq,
        "sector": sector,
        "extra": extra,
        "shares": shares,
        "subjects": subjects if subjects is not None else hq,
        "use_cases": use_cases,
    }
    return sa.advise(profile_from_text(text), kb=kb, as_of=as_of)


def _rules(advice: sa.Advice) -> set[str]:
    return {f.rule_id for f in advice.findings}


def _fired(advice: sa.Advice, rule_id: str) -> set[str]:
    return {f.subject for f in advice.findings if f.rule_id == rule_id}


# --- GDPR Art. 28 and Art. 35 ----------------------------------------------------------------


def test_personal_data_in_the_eea_needs_a_processor_contract(kb: sa.KnowledgeBase) -> None:
    # Art. 28(3): processing by a processor is governed by a contract. Public data alone is not
    # personal data, so no contract duty arises from the GDPR.
    personal = _advice(kb)
    assert "eu.gdpr.art28_processor_contract" in {o.rule_id for o in personal.obligations}
    public = _advice(kb, shares="{public: 1.0}")
    assert "eu.gdpr.art28_processor_contract" not in {o.rule_id for o in public.obligations}


def test_a_norwegian_controller_is_under_the_gdpr_too(kb: sa.KnowledgeBase) -> None:
    # The GDPR applies in the EEA since 20 July 2018: Norway's controllers sign Art. 28 contracts.
    advice = _advice(kb, hq="NO")
    assert "eu.gdpr.art28_processor_contract" in {o.rule_id for o in advice.obligations}


def test_special_category_data_needs_a_dpia(kb: sa.KnowledgeBase) -> None:
    # Art. 35(3)(b): large-scale processing of Art. 9 data requires a DPIA.
    advice = _advice(kb, sector="healthcare", shares="{internal: 0.5, special_category: 0.5}")
    [dpia] = [o for o in advice.obligations if o.rule_id == "eu.gdpr.art35_dpia.special_categories"]
    assert "Art. 35" in dpia.citation and dpia.in_force
    assert "eu.gdpr.art35_dpia.special_categories" not in _rules(_advice(kb))


def test_profiling_use_cases_need_a_dpia(kb: sa.KnowledgeBase) -> None:
    # Art. 35(3)(a): systematic and extensive evaluation based on automated processing incl.
    # profiling.
    advice = _advice(kb, use_cases="  - {name: scoring, profiles_people: true}")
    assert "eu.gdpr.art35_dpia.profiling" in {o.rule_id for o in advice.obligations}
    assert "eu.gdpr.art35_dpia.profiling" not in _rules(_advice(kb))


# --- AI Act Art. 27 -----------------------------------------------------------------------------


CREDIT_SCORING = (
    "  - {name: credit scoring, annex_iii_area: essential_services, profiles_people: true}"
)


def test_credit_scoring_banks_and_public_bodies_assess_fundamental_rights(
    kb: sa.KnowledgeBase,
) -> None:
    # Art. 27(1): public bodies deploying Annex III systems (not point 2), and deployers of
    # Annex III 5(b)/(c) systems. The amended Art. 113 applies Chapter III Section 3 to Annex III
    # systems from 2 December 2027; before 27 July 2026 the original date was 2 August 2026.
    bank = _advice(kb, use_cases=CREDIT_SCORING)
    [fria] = [o for o in bank.obligations if o.rule_id.startswith("eu.ai_act.fria")]
    assert fria.applies_from == dt.date(2027, 12, 2) and "Art. 27" in fria.citation
    before = _advice(kb, use_cases=CREDIT_SCORING, as_of=dt.date(2026, 7, 1))
    [old] = [o for o in before.obligations if o.rule_id.startswith("eu.ai_act.fria")]
    assert old.applies_from == dt.date(2026, 8, 2)
    public = _advice(
        kb,
        sector="public_sector",
        use_cases="  - {name: benefits triage, annex_iii_area: essential_services}",
    )
    assert any(o.rule_id.startswith("eu.ai_act.fria") for o in public.obligations)


def test_private_employment_screening_needs_no_fria(kb: sa.KnowledgeBase) -> None:
    # A private bank screening job applicants (Annex III point 4) is neither a public body nor a
    # 5(b)/(c) deployer; critical infrastructure (point 2) is excluded even for public bodies.
    bank = _advice(kb, use_cases="  - {name: hiring, annex_iii_area: employment}")
    assert not any(o.rule_id.startswith("eu.ai_act.fria") for o in bank.obligations)
    grid = _advice(
        kb,
        sector="public_sector",
        use_cases="  - {name: grid, annex_iii_area: critical_infrastructure}",
    )
    assert not any(o.rule_id.startswith("eu.ai_act.fria") for o in grid.obligations)


# --- AI Act Art. 99(6a) -------------------------------------------------------------------------


def test_small_mid_caps_get_the_lower_cap_only_from_27_july_2026(kb: sa.KnowledgeBase) -> None:
    # Art. 99(6a), inserted by Regulation (EU) 2026/1744 (in force 27 July 2026): lower-of for
    # Art. 99(4) and (5) fines; Art. 5 fines (99(3)) stay higher-of.
    smc = ", small_mid_cap: true"
    after = _advice(kb, extra=smc)
    assert "eu.ai_act.penalties.small_mid_cap" in _rules(after)
    assert "eu.ai_act.penalties" not in _rules(after)
    [note] = [f for f in after.findings if f.rule_id == "eu.ai_act.penalties.small_mid_cap"]
    assert "eu.ai_act.art99_6a" in note.fact_ids
    before = _advice(kb, extra=smc, as_of=dt.date(2026, 7, 1))
    assert "eu.ai_act.penalties.small_mid_cap.before_omnibus" in _rules(before)
    assert "eu.ai_act.penalties.small_mid_cap" not in _rules(before)


def test_an_unstated_small_mid_cap_status_warns_with_the_higher_cap(kb: sa.KnowledgeBase) -> None:
    # Defaults are conservative: not saying you are a small mid-cap gets the higher ceiling.
    advice = _advice(kb)
    assert "eu.ai_act.penalties" in _rules(advice)
    assert not any("small_mid_cap" in r for r in _rules(advice))


# --- the EEA, the UK, Switzerland --------------------------------------------------------------


def test_the_eea_is_the_eu_plus_iceland_liechtenstein_and_norway(kb: sa.KnowledgeBase) -> None:
    eea, eu = set(kb.blocs["EEA"].members), set(kb.blocs["EU"].members)
    assert eea - eu == {"IS", "LI", "NO"} and eu <= eea and "CH" not in eea


def test_a_venue_in_norway_is_no_third_country(copy: Path) -> None:
    # GDPR Chapter V stops at the EEA's border: data of French people processed in Norway is no
    # transfer; processed in the US (Azure Global Standard) it is.
    edit_text(
        copy / "catalog" / "venues.yaml", "    data_locations: [LU]\n", "    data_locations: [NO]\n"
    )
    kb = sa.load_knowledge_base(copy)
    fired = _fired(_advice(kb), "eu.gdpr.chapter_v_transfer")
    assert "personal@gcore-lu" not in fired
    assert "personal@azure-eu" in fired
    assert "personal@azure-eu-data-zone" not in fired


def test_a_uk_organisation_is_advised_on_uk_gdpr(kb: sa.KnowledgeBase) -> None:
    # UK GDPR Chapter V: a transfer outside the UK and the EEA (UK adequacy regulations cover the
    # EEA) needs adequacy regulations or an IDTA; Art. 28 contracts as in the EU.
    advice = _advice(kb, hq="GB", sector="retail")
    assert "uk.gdpr.art28_processor_contract" in {o.rule_id for o in advice.obligations}
    fired = _fired(advice, "uk.gdpr.restricted_transfer")
    assert "personal@azure-eu" in fired  # Global Standard may process in the US
    assert "personal@scaleway" not in fired  # France: EEA
    assert "eu.gdpr.art28_processor_contract" not in {o.rule_id for o in advice.obligations}


def test_a_swiss_organisation_is_advised_on_the_fadp(kb: sa.KnowledgeBase) -> None:
    # FADP Art. 16: the EEA and the UK are on the Federal Council's Annex 1 list; the US as a
    # destination for Azure Global Standard traffic needs a safeguard. Art. 9: processor contracts.
    advice = _advice(kb, hq="CH", sector="insurance")
    assert "ch.fadp.processor_contract" in {o.rule_id for o in advice.obligations}
    fired = _fired(advice, "ch.fadp.disclosure_abroad")
    assert "personal@azure-eu" in fired and "personal@nebius-eu" not in fired


# --- Japan --------------------------------------------------------------------------------------


def test_appi_looks_at_where_the_recipient_is_not_its_servers(copy: Path) -> None:
    # APPI Art. 28 (PPC Q&A 12-2): the recipient's location counts. Sakura (seated in JP) is no
    # foreign provision; the same operator seated in the US would be, wherever its racks are.
    text = (copy / "catalog" / "venues.yaml").read_text(encoding="utf-8")
    block = text.split("  - id: sakura-internet\n")[1].split("  - id: ")[0]
    (copy / "catalog" / "venues.yaml").write_text(
        text.replace(block, block.replace("    seat: JP\n", "    seat: US\n")), encoding="utf-8"
    )
    shares, subjects = "{public: 0.5, personal: 0.5}", "JP"
    base = _fired(
        _advice(sa.load_knowledge_base(), hq="JP", shares=shares, subjects=subjects),
        "jp.appi.cross_border_transfer",
    )
    assert "personal@sakura-internet" not in base
    assert "personal@azure-eu" not in base  # Microsoft Ireland: an EU recipient, designated
    moved = _fired(
        _advice(sa.load_knowledge_base(copy), hq="JP", shares=shares, subjects=subjects),
        "jp.appi.cross_border_transfer",
    )
    assert "personal@sakura-internet" in moved


def test_the_japanese_dates_are_the_official_ones(kb: sa.KnowledgeBase) -> None:
    # Cabinet decision of the first AI Basic Plan (CAO, 2025-12-23); Art. 13 guidelines decided by
    # the AI Strategy Headquarters (2025-12-19); AI Guidelines for Business v1.1 (2025-03-28).
    plan = kb.facts["jp.ai_promotion_act.art18_basic_plan"].summary
    guidelines = kb.facts["jp.ai_promotion_act.art13_guidelines"].summary
    assert "23 December 2025" in plan and "not verified" not in plan
    assert "19 December 2025" in guidelines and "1.1" in guidelines
    art7 = kb.facts["jp.ai_promotion_act.art7_business_duty"].summary
    assert "endeavour" in art7 and "mandatory" in art7


# --- the corrected records ----------------------------------------------------------------------


def test_the_motion_to_quash_is_the_providers(kb: sa.KnowledgeBase) -> None:
    # § 2703(h)(2): "A provider ... may file a motion to modify or quash"; customers have none.
    texts = [kb.facts["us.usc18.2703_h_motion_to_quash"].summary]
    texts += [r.rule.summary for r in kb.rules if r.rule.id.startswith("us.cloud_act")]
    assert not any("customers cannot use" in t or "customers have no" in t for t in texts)
    assert "provider's" in kb.facts["us.usc18.2703_h_motion_to_quash"].summary


def test_no_citation_names_the_consolidated_text_that_was_never_found(
    kb: sa.KnowledgeBase,
) -> None:
    versions = [f.citation.version for f in kb.facts.values()]
    assert not any("02024R1689" in v for v in versions)
    amended = [f for f in kb.facts.values() if "2026/1744" in f.citation.instrument]
    assert amended and all("2024/1689" in f.citation.instrument for f in amended)


def test_secnumcloud_3_2_dates(kb: sa.KnowledgeBase) -> None:
    version = kb.facts["fr.anssi.secnumcloud_3_2_s19_6"].citation.version
    assert "March 2022" in version and "21 September 2021" in version


def test_azure_global_standard_may_leave_the_eu_and_the_data_zone_does_not(
    kb: sa.KnowledgeBase,
) -> None:
    eu = set(kb.blocs["EU"].members)
    assert not set(kb.venues["azure-eu"].data_locations) <= eu
    assert set(kb.venues["azure-eu-data-zone"].data_locations) <= eu
    assert kb.venues["gcore-lu"].operator.startswith("Gcore S.A.")


def test_the_australian_agreement_entered_into_force_on_31_january_2024(
    kb: sa.KnowledgeBase,
) -> None:
    assert kb.facts["us.usc18.2523.australia_agreement"].valid_from == dt.date(2024, 1, 31)


def test_there_is_a_shortlist_for_german_and_french_public_bodies(kb: sa.KnowledgeBase) -> None:
    venues = kb.venues.values()
    assert {"stackit-model-serving", "ionos-ai-model-hub", "outscale-snc"} <= set(kb.venues)
    snc = {v.id for v in venues if "SecNumCloud" in v.certifications and v.controlled_from == "FR"}
    assert {"ovhcloud-snc", "outscale-snc"} <= snc
    hds_hosts = [v for v in venues if "HDS" in v.certifications and v.kind == "gpu_cloud"]
    assert hds_hosts, "no HDS-certified venue able to host a model"


# --- sub-processors and foreign presence --------------------------------------------------------


def test_a_us_controlled_sub_processor_exposes_the_venue(copy: Path) -> None:
    # § 2713 reaches data in a US provider's possession or custody, whoever contracts with the
    # customer: a counted US sub-processor exposes the venue; an optional one only warns.
    kb = sa.load_knowledge_base()
    advice = _advice(kb)
    reach = {(f.subject, f.detail.split()[0]) for f in advice.findings if f.effect == "exposes_to"}
    assert ("mistral-la-plateforme", "US") not in reach
    assert "mistral-la-plateforme" in _fired(advice, "us.cloud_act.optional_sub_processor")
    edit_text(
        copy / "catalog" / "venues.yaml", "        optional: true\n", "        optional: false\n"
    )
    counted = _advice(sa.load_knowledge_base(copy))
    assert "mistral-la-plateforme" in _fired(counted, "us.cloud_act.sub_processor_reach")
    assert "personal@mistral-la-plateforme" in _fired(counted, "eu.gdpr.chapter_v_transfer")


def test_foreign_presence_is_a_possible_exposure_not_control(kb: sa.KnowledgeBase) -> None:
    # Budapest Convention Art. 18(1)(b); Ontario's OVH order of 25 September 2025. It is noted for
    # OVHcloud (Canadian and US establishments), it adds no jurisdiction to the venue's exposure.
    advice = _advice(kb)
    assert "ovhcloud" in _fired(advice, "territorial.foreign_presence")
    assert "scaleway" not in _fired(advice, "territorial.foreign_presence")
    reach = {(f.subject, f.detail.split()[0]) for f in advice.findings if f.effect == "exposes_to"}
    assert ("ovhcloud", "CA") not in reach and ("ovhcloud", "US") not in reach


@pytest.mark.parametrize("venue_id", ["ovhcloud-snc", "outscale-snc"])
def test_secnumcloud_venues_pass_the_french_public_sector_rule(
    kb: sa.KnowledgeBase, venue_id: str
) -> None:
    # SREN Art. 31 excludes non-SecNumCloud clouds for sensitive State data; qualified venues are
    # not excluded by it.
    advice = _advice(kb, sector="public_sector")
    excluded = _fired(advice, "fr.secnumcloud.sensitive_public_data")
    assert f"personal@{venue_id}" not in excluded
    assert "personal@scaleway" in excluded
