"""Golden scenarios: each file states a situation and what the law and prices imply."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest
import yaml

import sovereign_advisor as sa
from sovereign_advisor.profile import OrganisationProfile

SCENARIOS = sorted((Path(__file__).parent / "scenarios").glob("*.yaml"))


def _profile(path: Path, spec: Any) -> OrganisationProfile:
    if isinstance(spec, str):
        return sa.load_profile(path.parent / spec)
    return OrganisationProfile.model_validate(spec)


@pytest.mark.parametrize("path", SCENARIOS, ids=[p.stem for p in SCENARIOS])
def test_scenario(path: Path, kb: sa.KnowledgeBase) -> None:
    scenario = yaml.safe_load(path.read_text(encoding="utf-8"))
    assert scenario["description"].strip()
    expected = scenario["expected"]
    as_of = scenario["as_of"]
    assert isinstance(as_of, dt.date)
    advice = sa.advise(_profile(path, scenario["profile"]), kb=kb, as_of=as_of)
    by_id = {a.architecture_id: a for a in advice.assessments}
    if "recommended" in expected:
        got = advice.recommended.architecture_id if advice.recommended else None
        assert got == expected["recommended"], sa.render_text(advice)
    if "eligible" in expected:
        eligible = {a.architecture_id for a in advice.assessments if a.eligible}
        assert eligible == set(expected["eligible"])
    for arch, rule_ids in expected.get("excluded_by", {}).items():
        found = {e.rule_id for e in by_id[arch].exclusions}
        assert set(rule_ids) <= found, f"{arch}: {found}"
    facts = {f for a in advice.assessments for e in a.exclusions for f in e.fact_ids}
    assert set(expected.get("exclusion_facts_include", [])) <= facts
    obligations = {o.rule_id for o in advice.obligations}
    assert set(expected.get("obligations_include", [])) <= obligations
    blocked = {b.rule_id for b in advice.blocked_use_cases}
    assert set(expected.get("blocked", [])) <= blocked


def test_there_are_at_least_six_scenarios() -> None:
    assert len(SCENARIOS) >= 6
