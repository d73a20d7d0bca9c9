"""A company policy written as an invariant and checked over generated profiles.

Policy 1 (holds): "personal data never reaches a venue a US authority can compel" for an EU
organisation with the `eu_only` or `strict` preset.
Policy 2 (deliberately broken): "personal data never leaves our premises", checked against
organisations that chose the `eu_only` preset, which lets data leave for EU-controlled venues.
Hypothesis finds a counterexample and shrinks it to the simplest profile that breaks it.

Run: `python examples/property_test_my_policy.py` (needs `pip install "sovereign-advisor[test]"`).
"""

from __future__ import annotations

import datetime as dt

from hypothesis import given, settings

import sovereign_advisor as sa
from sovereign_advisor.testing import INVARIANTS, check_invariants, policies, profiles

KB = sa.load_knowledge_base()
AS_OF = dt.date(2026, 11, 23)


def personal_data_is_never_us_compellable(
    profile: sa.OrganisationProfile, kb: sa.KnowledgeBase, advice: sa.Advice
) -> None:
    """Our policy: no eligible architecture puts personal data where the US can compel it."""
    for assessment in advice.assessments:
        for venue in assessment.venues:
            if "personal" in venue.data_classes:
                assert "US" not in venue.exposure, (
                    f"{assessment.architecture_id} sends personal data to {venue.venue_id}, "
                    f"which {venue.exposure} can compel"
                )


def personal_data_stays_on_our_premises(
    profile: sa.OrganisationProfile, kb: sa.KnowledgeBase, advice: sa.Advice
) -> None:
    """Broken on purpose: the `eu_only` preset does not say this."""
    if advice.recommended is None:
        return
    chosen = next(
        a for a in advice.assessments if a.architecture_id == advice.recommended.architecture_id
    )
    for venue in chosen.venues:
        if "personal" in venue.data_classes:
            assert kb.venues[venue.venue_id].kind == "premises", (
                f"{chosen.architecture_id} sends personal data to {venue.venue_id} "
                f"for role {venue.role}"
            )


eu_organisations = profiles(
    headquarters=["FR", "DE", "NL"],
    countries=["FR", "DE", "NL", "IE", "IT"],
    us_person=False,
    policy=policies(presets=["eu_only", "strict"], overrides=False),
)


@settings(max_examples=30, derandomize=True, database=None, deadline=None)
@given(eu_organisations)
def test_our_policy_holds(profile: sa.OrganisationProfile) -> None:
    advice = sa.advise(profile, kb=KB, as_of=AS_OF)
    # the library's own invariants, then ours
    check_invariants(profile, KB, advice, [*INVARIANTS, personal_data_is_never_us_compellable])


@settings(max_examples=30, derandomize=True, database=None, deadline=None)
@given(eu_organisations)
def test_a_broken_policy(profile: sa.OrganisationProfile) -> None:
    advice = sa.advise(profile, kb=KB, as_of=AS_OF)
    check_invariants(profile, KB, advice, [personal_data_stays_on_our_premises])


if __name__ == "__main__":
    test_our_policy_holds()
    print("policy 1 holds: personal data never reaches a US-compellable venue (30 profiles)")
    try:
        test_a_broken_policy()
    except AssertionError as failure:
        print("policy 2 fails, as expected; Hypothesis shrank the counterexample to:")
        print(" ", str(failure).splitlines()[0])
        for note in getattr(failure, "__notes__", []):  # Hypothesis adds the shrunk input here
            print(note)
    else:
        raise SystemExit("policy 2 was expected to fail")
