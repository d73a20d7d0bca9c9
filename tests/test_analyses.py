"""Analyses on request (#17): `advise(..., analyses=...)` computes the break-even, the
sensitivity and the remedies only when asked, and the core decision it always computes is the
same as in the full advice.

What must hold, from the contract rather than from the engine's output:
- a full advice (the default) is what callers had before: no `not_computed` key in its JSON;
- an advice asked with fewer analyses has the same decision, recommendation, costs, risks,
  obligations and findings as the full one; what it leaves out is empty and named in
  `not_computed`, and no view then claims "no plausible single change";
- an analysis left out is not computed at all (counted, not timed).
"""

from __future__ import annotations

import itertools
import json
from collections import Counter
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import given, settings

import sovereign_advisor as sa
from sovereign_advisor.engine import advise as advise_module
from sovereign_advisor.testing import profiles

from .conftest import AS_OF, PROFILES

EXAMPLES = sorted(PROFILES.glob("*.yaml"))


def _core_fields(advice: sa.Advice) -> dict[str, Any]:
    """The advice less what the analyses add (the remedies sit in the assessments)."""
    data = json.loads(sa.render_json(advice))
    for key in ("break_even", "sensitivity", "not_computed", "assumptions"):
        data.pop(key, None)
    data.pop("no_recommendation_reason", None)  # it quotes the remedies when there are any
    for a in data["assessments"]:
        a.pop("remedy", None)
    return data


def _check_subset(full: sa.Advice, partial: sa.Advice, asked: tuple[str, ...]) -> None:
    assert _core_fields(partial) == _core_fields(full)
    assert set(partial.not_computed) == set(sa.ANALYSES) - set(asked)
    # what is computed is the same as in the full advice, what is not is empty
    assert partial.break_even == (full.break_even if "break_even" in asked else ())
    assert partial.sensitivity == (full.sensitivity if "sensitivity" in asked else ())
    for p, f in zip(partial.assessments, full.assessments, strict=True):
        assert p.remedy == (f.remedy if "remedies" in asked else None)
    # every assumption listed was read for this advice, and so was listed by the full one
    assert {a.id for a in partial.assumptions} <= {a.id for a in full.assumptions}
    if partial.recommended is None and "remedies" in asked:
        assert partial.no_recommendation_reason == full.no_recommendation_reason


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.stem)
def test_every_subset_of_analyses_keeps_the_core_decision(path: Any) -> None:
    profile = sa.load_profile(path)
    full = sa.advise(profile, as_of=AS_OF)
    assert full.not_computed == ()
    assert "not_computed" not in json.loads(sa.render_json(full))
    for n in range(len(sa.ANALYSES)):
        for asked in itertools.combinations(sa.ANALYSES, n):
            _check_subset(full, sa.advise(profile, as_of=AS_OF, analyses=asked), asked)


@settings(max_examples=25)
@given(profiles())
def test_the_core_decision_is_the_full_advice_less_its_analyses(
    profile: sa.OrganisationProfile,
) -> None:
    full = sa.advise(profile, as_of=AS_OF)
    _check_subset(full, sa.advise(profile, as_of=AS_OF, analyses=()), ())


def test_the_json_of_a_core_decision_names_what_it_left_out() -> None:
    profile = sa.load_profile(PROFILES / "insurer_hybrid.yaml")
    core = json.loads(sa.render_json(sa.advise(profile, as_of=AS_OF, analyses=())))
    assert core["not_computed"] == ["break_even", "sensitivity", "remedies"]
    assert core["break_even"] == [] and core["sensitivity"] == []


@pytest.fixture
def calls(monkeypatch: pytest.MonkeyPatch) -> Iterator[Counter[str]]:
    """Calls of each analysis, counted where `advise` makes them."""
    counts: Counter[str] = Counter()
    for name in ("break_even", "sensitivity", "remedy"):
        real = getattr(advise_module, name)

        def counting(*args: Any, _real: Any = real, _name: str = name, **kwargs: Any) -> Any:
            counts[_name] += 1
            return _real(*args, **kwargs)

        monkeypatch.setattr(advise_module, name, counting)
    yield counts


def test_an_analysis_not_asked_for_is_not_computed(calls: Counter[str]) -> None:
    # the German hospital has two eligible architectures and an excluded one
    profile = sa.load_profile(PROFILES / "german_hospital.yaml")
    sa.advise(profile, as_of=AS_OF, analyses=())
    assert calls == Counter()
    sa.advise(profile, as_of=AS_OF, analyses=("break_even",))
    assert calls == Counter(break_even=1)
    calls.clear()
    # the sensitivity of volume reads the break-even volumes, so it computes them
    sa.advise(profile, as_of=AS_OF, analyses=("sensitivity",))
    assert calls == Counter(break_even=1, sensitivity=1)
    calls.clear()
    advice = sa.advise(profile, as_of=AS_OF)
    excluded = sum(not a.eligible for a in advice.assessments)
    assert excluded >= 1
    assert calls == Counter(break_even=1, sensitivity=1, remedy=excluded)


def test_views_do_not_claim_what_was_not_computed() -> None:
    profile = sa.load_profile(PROFILES / "german_hospital.yaml")
    full = sa.advise(profile, as_of=AS_OF)
    core = sa.advise(profile, as_of=AS_OF, analyses=())
    assert sum(a.eligible for a in core.assessments) >= 2
    for render in (sa.render_text, sa.render_markdown, sa.render_html):
        text = render(core)
        assert "no plausible single change" not in text
        assert "not computed" in text
    if not full.sensitivity:  # the full advice may say there is none; the core one must not
        assert "no plausible single change" in sa.render_text(full)


@pytest.mark.parametrize(
    "value, says",
    [
        ("break_even", "for one analysis write analyses=('break_even',)"),
        (("break_even", "costs"), "got 'costs'"),
        (3, "got 3"),
        (None, "got None"),
    ],
)
def test_a_wrong_analysis_is_one_clear_error(value: Any, says: str) -> None:
    profile = sa.load_profile(PROFILES / "bank_strict.yaml")
    with pytest.raises(sa.InputError, match=says.replace("(", r"\(").replace(")", r"\)")):
        sa.advise(profile, as_of=AS_OF, analyses=value)


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.stem)
def test_every_invariant_holds_on_a_core_decision(path: Any) -> None:
    # a user property-testing with analyses=() for speed must not get false failures: the
    # relational invariants advise again with the same analyses, and break-even's skips
    from sovereign_advisor.testing import INVARIANTS, check_invariants

    profile = sa.load_profile(path)
    kb = sa.load_knowledge_base()
    core = sa.advise(profile, kb=kb, as_of=AS_OF, analyses=())
    check_invariants(profile, kb, core, INVARIANTS)
