"""The rules path (exposure, admissibility, eligibility, obligations) keeps its work (#17).

Counted as work, never as seconds. A condition is a pure function of the variables it reads, so
its result is kept per knowledge base and date by their values; what is kept must give the same
advice as evaluating everything afresh, on generated and edited profiles and on custom
knowledge bases.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

import sovereign_advisor as sa
from sovereign_advisor import profile as profile_module
from sovereign_advisor.conditions import VARIABLES, compile_expression
from sovereign_advisor.engine import admissibility as admissibility_module
from sovereign_advisor.engine import eligibility as eligibility_module
from sovereign_advisor.engine import exposure as exposure_module
from sovereign_advisor.engine import obligations as obligations_module
from sovereign_advisor.testing.strategies import profiles

from .conftest import AS_OF, PROFILES, edit_text

EXAMPLES = sorted(PROFILES.glob("*.yaml"))
DATES = (dt.date(2025, 6, 1), dt.date(2026, 7, 1), AS_OF)

RULES_PATH_TAGS = frozenset(
    {
        admissibility_module._FLOW_RULES_TAG,
        admissibility_module._IN_FORCE_TAG,
        admissibility_module._TABLE_TAG,
        admissibility_module._FLOW_RULE_TAG,
        obligations_module._SUBJECT_RULES_TAG,
        obligations_module._SUBJECT_FIRED_TAG,
        exposure_module._RULES_TAG,
        exposure_module._EXPOSURE_TAG,
        exposure_module._EXPOSURES_TAG,
        eligibility_module._CANDIDATES_TAG,
    }
)
"""Every tag under which the rules path keeps results in `kb.derived` or `kb.rules_derived`."""


class _Forgetful(dict[Any, Any]):
    """A `kb.derived` that keeps nothing of the rules path, and shares what the cost path keeps
    with another knowledge base of the same records (only so that the reference runs fast)."""

    def __init__(self, shared: dict[Any, Any]) -> None:
        super().__init__()
        self.shared = shared

    @staticmethod
    def _ours(key: Any) -> bool:
        return isinstance(key, tuple) and bool(key) and key[0] in RULES_PATH_TAGS

    def get(self, key: Any, default: Any = None) -> Any:
        return default if self._ours(key) else self.shared.get(key, default)

    def __getitem__(self, key: Any) -> Any:
        if self._ours(key):
            raise KeyError(key)
        return self.shared[key]

    def __contains__(self, key: object) -> bool:
        return not self._ours(key) and key in self.shared

    def __setitem__(self, key: Any, value: Any) -> None:
        if not self._ours(key):
            self.shared[key] = value


def uncached(kb: sa.KnowledgeBase) -> sa.KnowledgeBase:
    """The same knowledge base, whose rules path evaluates every condition afresh."""
    fresh = dataclasses.replace(kb)
    fresh.__dict__["derived"] = _Forgetful(kb.derived)
    # a copy with the same rules, venues and blocs shares their results: forget those too
    fresh.__dict__["rules_derived"] = _Forgetful(kb.rules_derived)
    return fresh


@pytest.fixture(scope="module")
def warm() -> sa.KnowledgeBase:
    """One knowledge base shared by every advice of this module: results kept for one profile
    are there when the next is advised (a key that misses a dependency would show)."""
    return sa.load_knowledge_base()


def _own_results(kb: sa.KnowledgeBase) -> sa.KnowledgeBase:
    """The same knowledge base, keeping its own rules results (none yet): a copy with the same
    rules in a new tuple (one with the same objects would share `kb`'s)."""
    copy = dataclasses.replace(kb, rules=(*kb.rules,))
    assert copy.rules is not kb.rules and copy.rules_derived is not kb.rules_derived
    return copy


def _advice(
    profile: sa.OrganisationProfile,
    kb: sa.KnowledgeBase,
    as_of: dt.date,
    analyses: tuple[Any, ...] = ("remedies",),
) -> str:
    """The advice's JSON, by default with the remedies (which evaluate changed copies of the
    profile: admissibility for some classes only)."""
    return sa.render_json(sa.advise(profile, kb=kb, as_of=as_of, analyses=analyses))


# --- what a condition reads


def _named(source: str, scope: str) -> set[str]:
    """The variables of a scope whose name occurs in the source (spaces around dots allowed)."""
    return {
        name
        for name in VARIABLES[scope]  # type: ignore[index]
        if re.search(re.escape(name).replace(r"\.", r"\s*\.\s*") + r"(?![\w])", source)
    }


def test_a_condition_reads_the_variables_the_type_checker_resolved(kb: sa.KnowledgeBase) -> None:
    def read(source: str, scope: Any = "organisation") -> frozenset[str]:
        return compile_expression(source, scope, returns="bool").variables

    assert read("org . name == 'x'") == {"org.name"}
    assert read("true") == frozenset()
    assert read("'org.sme' == 'org.sme'") == frozenset()  # a string is no variable
    assert read("org.operates_in.exists(c, c in blocs['EU'])") == {"org.operates_in", "blocs"}
    assert read("org.sme || org.small_mid_cap") == {"org.sme", "org.small_mid_cap"}
    assert read("flow.data_class == 'personal' && venue.on_premises", "flow") == {
        "flow.data_class",
        "venue.on_premises",
    }
    for compiled in kb.rules:
        for expression in (compiled.condition, compiled.exposes_to):
            if expression is not None:
                assert expression.variables == _named(expression.source, compiled.rule.scope), (
                    compiled.rule.id
                )


# --- work counted


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.stem)
def test_a_profile_advised_again_evaluates_no_condition(
    path: Path, kb: sa.KnowledgeBase, evaluations: Counter[str]
) -> None:
    profile = sa.load_profile(path)
    sa.advise(profile, kb=kb, as_of=AS_OF, analyses=())
    evaluations.clear()
    sa.advise(profile, kb=kb, as_of=AS_OF, analyses=())
    assert not +evaluations, evaluations  # organisation and use-case rules kept like the others


def test_another_organisation_reading_the_same_evaluates_no_condition(
    kb: sa.KnowledgeBase, evaluations: Counter[str]
) -> None:
    # what the rules read is the country, sectors, data, flags and use-case classification:
    # not the names, nor the workload, budget or currency
    kb = _own_results(kb)  # nothing kept yet
    profile = sa.load_profile(PROFILES / "german_hospital.yaml")
    assert profile.use_cases
    sa.advise(profile, kb=kb, as_of=AS_OF, analyses=())
    assert evaluations["organisation"] and evaluations["use_case"] and evaluations["flow"]
    evaluations.clear()
    other = sa.replace(
        profile,
        **{
            "organisation.name": "Another hospital",
            "workload.queries_per_month": profile.workload.queries_per_month * 2,
            "workload.peak_queries_per_second": profile.workload.peak_queries_per_second * 2,
        },
        use_cases=[
            {**u.model_dump(exclude_unset=True), "name": f"renamed {i}"}
            for i, u in enumerate(profile.use_cases)
        ],
    )
    advice = sa.advise(other, kb=kb, as_of=AS_OF, analyses=())
    assert not +evaluations, evaluations
    assert advice.organisation == "Another hospital"
    assert {f.subject for f in advice.findings if f.scope == "use_case"} <= {
        f"renamed {i}" for i in range(len(profile.use_cases))
    }


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.stem)
def test_a_profile_advised_again_builds_no_refusal_and_no_exclusion_of_one(
    path: Path, kb: sa.KnowledgeBase, monkeypatch: pytest.MonkeyPatch
) -> None:
    built: Counter[str] = Counter()
    refusal = admissibility_module.Refusal
    excluded = eligibility_module._excluded

    def counting_refusal(*args: Any, **kwargs: Any) -> Any:
        built["refusal"] += 1
        return refusal(*args, **kwargs)

    def counting_exclusion(*args: Any, **kwargs: Any) -> Any:
        built["exclusion"] += 1
        return excluded(*args, **kwargs)

    profile = sa.load_profile(path)
    first = sa.advise(profile, kb=kb, as_of=AS_OF, analyses=())
    monkeypatch.setattr(admissibility_module, "Refusal", counting_refusal)
    monkeypatch.setattr(eligibility_module, "_excluded", counting_exclusion)
    again = sa.advise(profile, kb=kb, as_of=AS_OF, analyses=())
    assert sa.render_json(again) == sa.render_json(first)
    assert not +built, built


def test_resolving_a_policy_builds_no_class_policy(monkeypatch: pytest.MonkeyPatch) -> None:
    built = 0
    real = profile_module.ClassPolicy

    def counting(*args: Any, **kwargs: Any) -> Any:
        nonlocal built
        built += 1
        return real(*args, **kwargs)

    policy = sa.load_profile(PROFILES / "german_hospital.yaml").policy
    monkeypatch.setattr(profile_module, "ClassPolicy", counting)
    resolved = policy.resolve()
    assert built == 0
    assert resolved == {
        c: (
            policy.overrides[c].leave_premises
            if c in policy.overrides and policy.overrides[c].leave_premises is not None
            else profile_module.PRESETS[policy.preset][0],
            frozenset(
                policy.overrides[c].reachable_by
                if c in policy.overrides and policy.overrides[c].reachable_by is not None
                else profile_module.PRESETS[policy.preset][1]
            ),
        )
        for c in resolved
    }


def test_the_reference_evaluates_every_condition_again(
    kb: sa.KnowledgeBase, evaluations: Counter[str]
) -> None:
    # what the comparisons below measure against: nothing of the rules path kept
    kb = uncached(kb)
    profile = sa.load_profile(PROFILES / "german_hospital.yaml")
    sa.advise(profile, kb=kb, as_of=AS_OF, analyses=())
    first = +evaluations
    evaluations.clear()
    sa.advise(profile, kb=kb, as_of=AS_OF, analyses=())
    assert +evaluations == first
    assert first["flow"] and first["organisation"] and first["use_case"] and first["venue"]


# --- the same advice, kept or not


@given(profile=profiles(max_use_cases=3), as_of=st.sampled_from(DATES))
def test_kept_results_give_the_advice_of_a_fresh_evaluation_on_generated_profiles(
    warm: sa.KnowledgeBase, profile: sa.OrganisationProfile, as_of: dt.date
) -> None:
    expected = _advice(profile, uncached(warm), as_of)
    assert _advice(profile, warm, as_of) == expected
    assert _advice(profile, warm, as_of) == expected  # from what it kept itself


_EDITS: list[dict[str, Any]] = [
    {"organisation.headquarters": "DE"},
    {"organisation.operates_in": ["CH", "GB", "JP"]},
    {"organisation.sector": ["banking", "public_sector"]},
    {"organisation.us_person": True},
    {"organisation.premises_in": "US"},
    {"organisation.sme": True},
    {"organisation.small_mid_cap": True},
    {"organisation.provides_models": True},
    {"data.subjects_in": ["JP", "CH"]},
    {"data.query_shares": {"special_category": 0.5, "classified": 0.5}},
    {"policy": {"preset": "open"}},
    {"policy": {"preset": "strict"}},
    {"policy": {"preset": "eu_only", "overrides": {"personal": {"reachable_by": ["US", "EU"]}}}},
    {"policy": {"preset": "jp_only", "overrides": {"internal": {"leave_premises": False}}}},
    {"capabilities.operates_gpus": True},
    {
        "use_cases": [
            {"name": "screening", "annex_iii_area": "employment", "profiles_people": True},
            {"name": "chat", "interacts_with_people": True, "placed_on_market": True},
            {"name": "scoring", "prohibited_practice": "social_scoring"},
        ]
    },
]


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.stem)
def test_kept_results_give_the_advice_of_a_fresh_evaluation_on_edited_profiles(
    path: Path, warm: sa.KnowledgeBase
) -> None:
    base = sa.load_profile(path)
    for i, edit in enumerate(_EDITS):
        try:
            edited = sa.replace(base, **edit)
        except sa.InputError:
            continue  # an edit this profile cannot take
        as_of = DATES[(i + EXAMPLES.index(path)) % len(DATES)]
        expected = _advice(edited, uncached(warm), as_of, ())
        assert _advice(edited, warm, as_of, ()) == expected, edit


def test_a_custom_knowledge_base_keeps_its_own_results(copy: Path, warm: sa.KnowledgeBase) -> None:
    # the same profile, advised first with the packaged rules, then with a rule changed: what
    # was kept for the packaged knowledge base is not the custom one's
    profile = sa.load_profile(PROFILES / "german_hospital.yaml")
    before = sa.advise(profile, kb=warm, as_of=AS_OF)
    edit_text(
        copy / "jurisdictions" / "us_cloud_act.yaml",
        'condition: "org.us_person"',
        'condition: "!org.us_person"',
    )
    custom = sa.load_knowledge_base(copy)
    after = sa.advise(profile, kb=custom, as_of=AS_OF)
    fired = {f.rule_id for f in after.findings} - {f.rule_id for f in before.findings}
    assert "us.cloud_act.us_person_reach" in fired
    assert _advice(profile, custom, AS_OF) == _advice(profile, uncached(custom), AS_OF)


def test_a_rule_that_fails_fails_again_on_a_warm_knowledge_base(copy: Path) -> None:
    # an error is never kept as a result: the second advice names the same rule and file
    edit_text(
        copy / "jurisdictions" / "us_cloud_act.yaml",
        'condition: "org.us_person"',
        'condition: "org.us_person || (org.sme && 1 / (size(org.name) - size(org.name)) > 0)"',
    )
    kb = sa.load_knowledge_base(copy)
    fine = sa.load_profile(PROFILES / "german_hospital.yaml")
    failing = sa.replace(fine, **{"organisation.sme": True, "organisation.us_person": False})
    sa.advise(fine, kb=kb, as_of=AS_OF, analyses=())  # warm
    messages = []
    for _ in range(2):
        with pytest.raises(sa.RuleEvaluationError) as error:
            sa.advise(failing, kb=kb, as_of=AS_OF, analyses=())
        messages.append(str(error.value))
    assert messages[0] == messages[1]
    assert "us_cloud_act.yaml" in messages[0] and "us.cloud_act.us_person_reach" in messages[0]
    assert "\n" not in messages[0]


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.stem)
def test_a_remedy_tried_stops_at_the_first_role_without_a_venue(
    path: Path, kb: sa.KnowledgeBase, monkeypatch: pytest.MonkeyPatch
) -> None:
    profile = sa.load_profile(path)
    exposures = exposure_module.venue_exposures(profile, kb, AS_OF)
    refusals = admissibility_module.admissibility(profile, kb, AS_OF, exposures)[0]
    looked_up: list[str] = []
    find = eligibility_module.candidates

    def counting(role: Any, *args: Any) -> Any:
        looked_up.append(role.id)
        return find(role, *args)

    monkeypatch.setattr(eligibility_module, "candidates", counting)
    for arch in kb.architectures:
        full = eligibility_module.eligibility(arch, profile, kb, AS_OF, refusals)
        looked_up.clear()
        verdict = eligibility_module.eligibility(arch, profile, kb, AS_OF, refusals, explain=False)
        assert verdict.eligible == full.eligible and not verdict.exclusions
        placed = {p.role.id for p in full.placements}
        first_unplaced = next((i for i, r in enumerate(arch.roles) if r.id not in placed), None)
        if first_unplaced is None:
            assert verdict == dataclasses.replace(full, exclusions=())
        else:
            assert looked_up == [r.id for r in arch.roles[: first_unplaced + 1]]
            assert verdict.placements == full.placements[:first_unplaced]


def test_a_printable_name_is_checked_without_reading_each_character(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    read = 0
    real = profile_module.unicodedata

    class Counting:
        normalize = staticmethod(real.normalize)

        @staticmethod
        def category(c: str) -> str:
            nonlocal read
            read += 1
            return real.category(c)

    monkeypatch.setattr(profile_module, "unicodedata", Counting)
    profile = sa.load_profile(PROFILES / "german_hospital.yaml")
    assert read == 0
    sa.replace(profile, **{"organisation.name": "Klinikum \u00fcber der Stra\u00dfe"})
    assert read == 0
    with pytest.raises(sa.InputError, match="U\\+202E"):
        sa.replace(profile, **{"organisation.name": "evil \u202e name"})
    assert read > 0


def _scaled_gpu_prices(kb: sa.KnowledgeBase, factor: int) -> sa.KnowledgeBase:
    """A price scenario as `examples/sweep_dask.py` derives one: the GPU prices scaled, every
    rule, venue and bloc the same objects."""
    scaled = tuple(
        p.model_copy(
            update={
                "rental_per_hour": p.rental_per_hour
                and p.rental_per_hour.model_copy(
                    update={
                        k: getattr(p.rental_per_hour, k) * factor
                        for k in ("low", "typical", "high")
                        if getattr(p.rental_per_hour, k) is not None
                    }
                )
            }
        )
        for p in kb.gpu_prices
    )
    return dataclasses.replace(kb, gpu_prices=scaled, version=f"{kb.version}-x{factor}")


def test_a_price_scenario_shares_the_rules_results_of_its_base(
    kb: sa.KnowledgeBase, evaluations: Counter[str]
) -> None:
    # a sweep's scenarios differ in prices only: what the rules gave for a profile on the base
    # serves them all, and the advice is what a scenario computing afresh gives
    base = _own_results(kb)
    profile = sa.load_profile(PROFILES / "german_hospital.yaml")
    sa.advise(profile, kb=base, as_of=AS_OF)
    assert +evaluations
    evaluations.clear()
    scenario = _scaled_gpu_prices(base, 3)
    assert scenario.rules_derived is base.rules_derived
    assert scenario.derived is not base.derived  # what the prices give is its own
    advice = sa.advise(profile, kb=scenario, as_of=AS_OF)
    assert not +evaluations, evaluations
    assert _advice(profile, scenario, AS_OF) == _advice(profile, uncached(scenario), AS_OF)
    # the prices did change the costs: the scenario is not the base's advice again
    assert sa.render_json(advice) != sa.render_json(sa.advise(profile, kb=base, as_of=AS_OF))


def test_a_copy_with_another_rule_venue_or_bloc_keeps_its_own_rules_results(
    kb: sa.KnowledgeBase,
) -> None:
    shared = kb.rules_derived
    assert dataclasses.replace(kb).rules_derived is shared
    assert dataclasses.replace(kb, rules=kb.rules[1:]).rules_derived is not shared
    assert dataclasses.replace(kb, venues=dict(kb.venues)).rules_derived is not shared
    assert dataclasses.replace(kb, blocs=dict(kb.blocs)).rules_derived is not shared


def test_rules_results_are_not_kept_once_no_knowledge_base_holds_them() -> None:
    import gc

    from sovereign_advisor.knowledge import loader

    kb = sa.load_knowledge_base()
    key = (id(kb.rules), id(kb.venues), id(kb.blocs))
    kb.rules_derived["probe"] = 1
    assert loader._SHARED[key]["probe"] == 1
    del kb
    gc.collect()
    assert key not in loader._SHARED


def test_a_new_organisation_evaluates_only_the_flow_rules_reading_what_differs(
    kb: sa.KnowledgeBase, evaluations: Counter[str]
) -> None:
    # another sector: the organisation variables flow rules read differ, so the admissibility
    # table is computed again, but a flow rule that does not read the sectors gives what it
    # gave for the first organisation, without being evaluated
    kb = _own_results(kb)
    profile = sa.load_profile(PROFILES / "german_hospital.yaml")
    first = sa.advise(profile, kb=kb, as_of=AS_OF, analyses=())
    assert evaluations["flow"]
    evaluations.clear()
    other = sa.replace(profile, **{"organisation.sector": ["public_sector"]})
    advice = sa.advise(other, kb=kb, as_of=AS_OF, analyses=())
    in_force = [r for r in kb.rules if r.rule.scope == "flow" and r.rule.in_force(AS_OF)]
    readers = [r for r in in_force if "org.sectors" in r.condition.variables]
    assert 0 < len(readers) < len(in_force)
    pairs = len(kb.venues) * len(profile.data.present)
    assert 0 < evaluations["flow"] <= len(readers) * pairs
    assert _advice(other, kb, AS_OF) == _advice(other, uncached(kb), AS_OF)
    assert advice.organisation == first.organisation
