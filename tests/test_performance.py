"""Performance regressions, counted as work (never as seconds: CI machines are shared).

The bounds are reasoned from the engine's structure: venue-scope rules read only the venue, so
they are evaluated once per knowledge base, date and premises variant, not once per profile;
the other scopes once per subject (organisation, use case, data class x venue); break-even
turns each eligible architecture's cost model into pieces once.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterator
from fractions import Fraction
from typing import Any

import pytest

import sovereign_advisor as sa
from sovereign_advisor.engine import advise as advise_module
from sovereign_advisor.engine.costmodel import CostModel, Piece

from .conftest import AS_OF, PROFILES

EXAMPLES = sorted(PROFILES.glob("*.yaml"))


def _in_force(kb: sa.KnowledgeBase, scope: str) -> int:
    """Rules of a scope the advice evaluates on AS_OF: in force, or enacted and coming."""
    return sum(
        1
        for r in kb.rules
        if r.rule.scope == scope and (r.rule.in_force(AS_OF) or r.rule.coming(AS_OF))
    )


def _premises_variants(profiles: list[sa.OrganisationProfile]) -> int:
    return len(
        {
            (
                p.organisation.headquarters,
                "US" if p.organisation.us_person else p.organisation.headquarters,
                p.premises_country,
            )
            for p in profiles
        }
    )


def test_venue_rules_are_evaluated_once_per_knowledge_base_not_per_profile(
    evaluations: Counter[str],
) -> None:
    kb = sa.load_knowledge_base()  # fresh: nothing cached yet
    profiles = [sa.load_profile(p) for p in EXAMPLES] * 3
    sa.advise_many(profiles, kb=kb, as_of=AS_OF)
    venue_rules = _in_force(kb, "venue")
    non_premises = sum(1 for v in kb.venues.values() if v.kind != "premises")
    # each venue's rules once (condition, and `exposes_to` when it fires), the premises venue
    # once per seat/control/location the profiles give it
    bound = 2 * venue_rules * (non_premises + _premises_variants(profiles))
    assert 0 < evaluations["venue"] <= bound
    assert evaluations["venue"] < 2 * venue_rules * len(kb.venues) * len(profiles) / 10
    before = evaluations["venue"]
    sa.advise_many(profiles, kb=kb, as_of=AS_OF)
    assert evaluations["venue"] == before  # all cached


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.stem)
def test_cel_evaluations_per_advice_are_bounded_by_the_subjects(
    path: Any, kb: sa.KnowledgeBase, evaluations: Counter[str]
) -> None:
    profile = sa.load_profile(path)
    sa.advise(profile, kb=kb, as_of=AS_OF)  # venue exposures cached from here on
    evaluations.clear()
    sa.advise(profile, kb=kb, as_of=AS_OF)
    assert evaluations["venue"] == 0
    assert evaluations["organisation"] <= _in_force(kb, "organisation")
    assert evaluations["use_case"] <= len(profile.use_cases) * _in_force(kb, "use_case")
    # flow rules read the organisation, the venue and the class only: cached like the venues'
    assert evaluations["flow"] == 0


def test_advise_many_loads_the_knowledge_base_once(monkeypatch: pytest.MonkeyPatch) -> None:
    loads = 0
    load = advise_module.load_knowledge_base

    def counting() -> sa.KnowledgeBase:
        nonlocal loads
        loads += 1
        return load()

    monkeypatch.setattr(advise_module, "load_knowledge_base", counting)
    monkeypatch.setattr(advise_module, "_DEFAULT_KB", None)
    profiles = [sa.load_profile(p) for p in EXAMPLES] * 2
    sa.advise_many(profiles, as_of=AS_OF)
    sa.advise_many(profiles, as_of=AS_OF)
    assert loads == 1


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.stem)
def test_break_even_turns_each_cost_model_into_pieces_once(
    path: Any, kb: sa.KnowledgeBase, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls = 0
    pieces = CostModel.pieces

    def counting(
        self: CostModel, lo: Fraction, hi: Fraction, *shared: Any, **kw: Any
    ) -> list[Piece]:
        nonlocal calls
        calls += 1
        return pieces(self, lo, hi, *shared, **kw)

    monkeypatch.setattr(CostModel, "pieces", counting)
    advice = sa.advise(sa.load_profile(path), kb=kb, as_of=AS_OF)
    eligible = sum(1 for a in advice.assessments if a.eligible)
    assert calls == eligible <= len(kb.architectures)


@pytest.mark.parametrize("processes", [1, 2])
def test_advise_many_gives_the_same_bytes_as_advise(kb: sa.KnowledgeBase, processes: int) -> None:
    profiles = [sa.load_profile(p) for p in EXAMPLES]
    one_by_one = [sa.render_json(sa.advise(p, kb=kb, as_of=AS_OF)) for p in profiles]
    batch = sa.advise_many(profiles * 2, kb=kb, as_of=AS_OF, processes=processes)
    assert [sa.render_json(a) for a in batch] == one_by_one * 2
    assert json.loads(one_by_one[0])["as_of"] == AS_OF.isoformat()


def test_advise_many_checks_its_arguments(kb: sa.KnowledgeBase) -> None:
    profile = sa.load_profile(EXAMPLES[0])
    with pytest.raises(sa.InputError):
        sa.advise_many([profile], kb=kb, as_of=AS_OF, processes=0)
    with pytest.raises(sa.InputError):
        sa.advise_many([profile], kb=kb, as_of=None, processes=2)
    with pytest.raises(sa.InputError):
        sa.advise_many([profile, "not a profile"], kb=kb, as_of=AS_OF)  # type: ignore[list-item]
    assert sa.advise_many([], kb=kb, as_of=AS_OF) == []


@pytest.fixture
def exclusions_built(monkeypatch: pytest.MonkeyPatch) -> Iterator[Counter[str]]:
    """Exclusion records eligibility builds, counted where it builds them (#17)."""
    from sovereign_advisor.engine import eligibility as eligibility_module

    counts: Counter[str] = Counter()
    build = eligibility_module._exclusion

    def counting(item: Any, profile: sa.OrganisationProfile) -> Any:
        counts["built"] += 1
        return build(item, profile)

    monkeypatch.setattr(eligibility_module, "_exclusion", counting)
    yield counts


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.stem)
def test_exclusions_are_built_only_for_the_architectures_the_advice_shows_excluded(
    path: Any, kb: sa.KnowledgeBase, exclusions_built: Counter[str]
) -> None:
    # an eligible architecture lists no exclusions, and a remedy tried needs only the verdict:
    # every exclusion built is one the advice shows (each appears once in the assessments)
    advice = sa.advise(sa.load_profile(path), kb=kb, as_of=AS_OF)
    shown = sum(len(a.exclusions) for a in advice.assessments)
    assert exclusions_built["built"] == shown


def test_venue_candidates_are_found_once_per_knowledge_base(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from sovereign_advisor.engine import eligibility as eligibility_module

    calls: Counter[tuple[Any, bool]] = Counter()
    find = eligibility_module._candidates

    def counting(role: Any, profile: sa.OrganisationProfile, kb: Any, as_of: Any) -> Any:
        calls[(role, profile.capabilities.operates_gpus)] += 1
        return find(role, profile, kb, as_of)

    monkeypatch.setattr(eligibility_module, "_candidates", counting)
    kb = sa.load_knowledge_base()  # fresh: nothing cached yet
    profiles = [sa.load_profile(p) for p in EXAMPLES]
    sa.advise_many(profiles, kb=kb, as_of=AS_OF)
    # once per role and GPU capability (a remedy may try operates_gpus: true), not per profile
    assert calls and max(calls.values()) == 1
    roles = {r for a in kb.architectures for r in a.roles}
    assert len(calls) <= 2 * len(roles)
    calls.clear()
    sa.advise_many(profiles, kb=kb, as_of=AS_OF)
    assert not calls  # all kept


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.stem)
def test_a_remedy_evaluates_each_class_policy_once_per_advice(
    path: Any, kb: sa.KnowledgeBase, monkeypatch: pytest.MonkeyPatch
) -> None:
    # remedies try up to 40 changed profiles per excluded architecture; a class's row of the
    # admissibility table depends only on its policy, so no row is evaluated twice in an advice
    real = advise_module.admissibility
    rows: Counter[Any] = Counter()

    def counting(profile: sa.OrganisationProfile, *args: Any, **kwargs: Any) -> Any:
        classes = args[3] if len(args) > 3 else kwargs.get("classes")
        policy = profile.policy.resolve()
        for c in classes if classes is not None else profile.data.present:
            rows[(c, policy[c], profile.policy.explicit_reach(c))] += 1
        return real(profile, *args, **kwargs)

    profile = sa.load_profile(path)
    full = sa.advise(profile, kb=kb, as_of=AS_OF)
    monkeypatch.setattr(advise_module, "admissibility", counting)
    again = sa.advise(profile, kb=kb, as_of=AS_OF)
    assert sa.render_json(again) == sa.render_json(full)
    assert rows and max(rows.values()) == 1, rows.most_common(3)


def test_remedies_are_the_same_with_every_changed_profile_evaluated_whole(
    kb: sa.KnowledgeBase, monkeypatch: pytest.MonkeyPatch
) -> None:
    # the reference: each changed profile's touched classes evaluated afresh, nothing shared
    def whole(changed: Any, touched: Any, kb: Any, as_of: Any, memo: Any) -> Any:
        exposures = advise_module.venue_exposures(changed, kb, as_of)
        return advise_module.admissibility(changed, kb, as_of, exposures, touched)[0]

    fast = {p: sa.render_json(sa.advise(sa.load_profile(p), kb=kb, as_of=AS_OF)) for p in EXAMPLES}
    monkeypatch.setattr(advise_module, "_class_refusals", whole)
    for path, expected in fast.items():
        assert sa.render_json(sa.advise(sa.load_profile(path), kb=kb, as_of=AS_OF)) == expected
    assert any('"remedy": {' in text for text in fast.values())


def test_remedies_derive_each_changed_profile_once_per_advice(
    kb: sa.KnowledgeBase, monkeypatch: pytest.MonkeyPatch
) -> None:
    # every excluded architecture tries the same light changes first (operates_gpus, a
    # class leaving the premises): the changed profile is validated once, not once per
    # architecture, and the advice is the same as when each try derives its own
    real = advise_module.apply_changes
    derived: Counter[Any] = Counter()
    tried: Counter[Any] = Counter()

    def counting(profile: sa.OrganisationProfile, changes: Any) -> Any:
        derived[(profile.organisation.name, changes)] += 1
        return real(profile, changes)

    real_remedy = advise_module.remedy

    def trying(profile: Any, result: Any, kb: Any, evaluate: Any, changed: Any) -> Any:
        def noted(changes: Any) -> Any:
            tried[(profile.organisation.name, changes)] += 1
            return changed(changes)

        return real_remedy(profile, result, kb, evaluate, noted)

    expected = {
        p: sa.render_json(sa.advise(sa.load_profile(p), kb=kb, as_of=AS_OF)) for p in EXAMPLES
    }
    monkeypatch.setattr(advise_module, "apply_changes", counting)
    monkeypatch.setattr(advise_module, "remedy", trying)
    for path, text in expected.items():
        assert sa.render_json(sa.advise(sa.load_profile(path), kb=kb, as_of=AS_OF)) == text
    assert derived and max(derived.values()) == 1, derived.most_common(3)
    assert set(tried) == set(derived)
    # the examples do try changes for several architectures: bank_strict's two excluded
    # architectures each try the same 40
    assert sum(tried.values()) >= sum(derived.values()) + 40


def test_venue_findings_are_built_once_per_venue_exposure(
    kb: sa.KnowledgeBase, monkeypatch: pytest.MonkeyPatch
) -> None:
    # a venue's exposure is kept per knowledge base, date and premises variant; its findings
    # are kept beside it, so advising again builds none, and they are the same findings
    real = advise_module._findings_of
    built: Counter[str] = Counter()

    def counting(venue_id: str, exposure: Any) -> Any:
        built[venue_id] += 1
        return real(venue_id, exposure)

    monkeypatch.setattr(advise_module, "_findings_of", counting)
    fresh = sa.load_knowledge_base()
    profiles = [sa.load_profile(p) for p in EXAMPLES]
    first = [sa.advise(p, kb=fresh, as_of=AS_OF) for p in profiles]
    assert built and set(built) == set(fresh.venues)
    # only the premises venue takes a profile's seat, control and location
    assert {v for v, n in built.items() if n > 1} <= {
        v for v in fresh.venues if fresh.venues[v].kind == "premises"
    }
    assert sum(built.values()) == len(fresh.venues) - 1 + _premises_variants(profiles)
    built.clear()
    again = [sa.advise(p, kb=fresh, as_of=AS_OF) for p in profiles]
    assert not built
    assert [a.findings for a in again] == [a.findings for a in first]
    assert [sa.render_json(a) for a in again] == [
        sa.render_json(sa.advise(p, kb=kb, as_of=AS_OF)) for p in profiles
    ]


@pytest.mark.parametrize(
    ("stem", "refused"),
    [
        # tried by both excluded architectures
        ("japanese_manufacturer", ("policy.overrides.confidential.leave_premises", True)),
        # part of the remedy found when it is valid
        ("german_hospital", ("policy.overrides.personal.leave_premises", True)),
    ],
)
def test_a_changed_profile_that_is_not_valid_is_skipped_by_every_architecture(
    stem: str, refused: Any, kb: sa.KnowledgeBase, monkeypatch: pytest.MonkeyPatch
) -> None:
    # a change the profile's validation refuses is no remedy, for any architecture trying it,
    # and each changed profile is validated once: a refusal is kept with the changed profiles
    real = advise_module.apply_changes
    calls: Counter[Any] = Counter()

    def refusing(profile: sa.OrganisationProfile, changes: Any) -> Any:
        calls[changes] += 1
        if refused in changes:
            raise ValueError("not valid")
        return real(profile, changes)

    profile = sa.load_profile(PROFILES / f"{stem}.yaml")
    before = [a.remedy for a in sa.advise(profile, kb=kb, as_of=AS_OF).assessments]
    monkeypatch.setattr(advise_module, "apply_changes", refusing)
    after = [a.remedy for a in sa.advise(profile, kb=kb, as_of=AS_OF).assessments]
    assert calls[(refused,)] == 1
    assert max(calls.values()) == 1
    field = refused[0]
    assert all(r is None or field not in r.changes for r in after)
    if any(r is not None and field in r.changes for r in before):
        assert after != before
