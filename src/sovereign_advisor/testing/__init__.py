"""Property-testing recommendations: Hypothesis strategies and the advisor's invariants.

    from hypothesis import given
    from sovereign_advisor.testing import INVARIANTS, as_of_dates, check_invariants, profiles

    @given(profiles(presets=["eu_only"]), as_of_dates())
    def test_my_policy(profile, as_of):
        advice = sa.advise(profile, kb=kb, as_of=as_of)
        check_invariants(profile, kb, advice, INVARIANTS + [my_policy])

This module needs Hypothesis, a test extra: `pip install "sovereign-advisor[test]"`.
`import sovereign_advisor` itself never imports it. See docs/property-testing.md.
"""

from __future__ import annotations

try:
    import hypothesis  # noqa: F401
except ImportError as error:  # pragma: no cover - exercised only without the test extra
    raise ImportError(
        "sovereign_advisor.testing needs Hypothesis: pip install 'sovereign-advisor[test]'"
    ) from error

from .invariants import (
    INVARIANTS,
    Invariant,
    a_law_confined_class_never_reaches_a_forbidden_venue_even_by_misrouting,
    blocked_use_case_yields_no_recommendation_for_it,
    break_even_flips_the_order,
    budget_flag_matches_the_total,
    check_invariants,
    cost_breakdown_adds_up,
    cost_never_decreases_with_prices,
    cost_never_decreases_with_volume,
    currency_conversion_commutes,
    every_reason_cites_an_existing_fact,
    explicit_reachable_by_is_honoured_everywhere,
    forbidden_exposure_is_never_recommended,
    gpu_count_never_decreases_with_peak,
    ineligible_architectures_say_why,
    no_premises_without_gpu_operations,
    obligations_respect_the_as_of_date,
    omitted_fields_never_switch_a_protection_off,
    order_of_lists_does_not_matter,
    owned_gpus_are_used_or_explained,
    profile_round_trips_through_yaml_and_json,
    recommended_is_eligible_and_cheapest,
    retired_models_are_never_chosen,
    risks_are_flagged_exactly_when_they_apply,
    same_input_same_bytes,
    strict_preset_leaves_only_on_premises,
    tightening_policy_never_adds_eligibility,
)
from .strategies import (
    add_venue,
    as_of_dates,
    knowledge_bases,
    policies,
    profiles,
    profiles_near,
    remove_rules,
    scale_prices,
    use_cases,
    workloads,
)

__all__ = [
    "INVARIANTS",
    "Invariant",
    "a_law_confined_class_never_reaches_a_forbidden_venue_even_by_misrouting",
    "add_venue",
    "as_of_dates",
    "blocked_use_case_yields_no_recommendation_for_it",
    "break_even_flips_the_order",
    "budget_flag_matches_the_total",
    "check_invariants",
    "cost_breakdown_adds_up",
    "cost_never_decreases_with_prices",
    "cost_never_decreases_with_volume",
    "currency_conversion_commutes",
    "every_reason_cites_an_existing_fact",
    "explicit_reachable_by_is_honoured_everywhere",
    "forbidden_exposure_is_never_recommended",
    "gpu_count_never_decreases_with_peak",
    "ineligible_architectures_say_why",
    "knowledge_bases",
    "no_premises_without_gpu_operations",
    "obligations_respect_the_as_of_date",
    "omitted_fields_never_switch_a_protection_off",
    "order_of_lists_does_not_matter",
    "owned_gpus_are_used_or_explained",
    "policies",
    "profile_round_trips_through_yaml_and_json",
    "profiles",
    "profiles_near",
    "recommended_is_eligible_and_cheapest",
    "remove_rules",
    "retired_models_are_never_chosen",
    "risks_are_flagged_exactly_when_they_apply",
    "same_input_same_bytes",
    "scale_prices",
    "strict_preset_leaves_only_on_premises",
    "tightening_policy_never_adds_eligibility",
    "use_cases",
    "workloads",
]
