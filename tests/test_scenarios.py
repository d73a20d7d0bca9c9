"""Golden scenarios: each file states a situation and what the law and prices imply.

`expected` holds only what a domain expert expects, reasoned from the law or worked out from
the price records, never copied from the engine's output. Keys (all optional): `error` (the
profile is refused with this text), `recommended`, `decision`, `eligible`, `excluded_by`,
`exclusion_facts_include`, `obligations_include`, `blocked`, `coming_blocked`,
`warnings_include`, `misrouted` (architecture -> class -> queries a month), `misrouted_venue`,
`remedy` (architecture -> fields its smallest change sets), `no_recommendation_includes`,
`pool_gpus` (architecture -> GPU types its pools run on) and `owned_used`.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import yaml

import sovereign_advisor as sa
from sovereign_advisor.profile import OrganisationProfile, profile_from_dict

SCENARIOS = sorted((Path(__file__).parent / "scenarios").glob("*.yaml"))


def _profile(path: Path, spec: Any) -> OrganisationProfile:
    if isinstance(spec, str):
        return sa.load_profile(path.parent / spec)
    return profile_from_dict(spec, path.name)


def _check_refused(path: Path, scenario: dict[str, Any]) -> None:
    with pytest.raises(sa.InputError) as error:
        _profile(path, scenario["profile"])
    assert scenario["expected"]["error"] in str(error.value)


@pytest.mark.parametrize("path", SCENARIOS, ids=[p.stem for p in SCENARIOS])
def test_scenario(path: Path, kb: sa.KnowledgeBase) -> None:
    scenario = yaml.safe_load(path.read_text(encoding="utf-8"))
    assert scenario["description"].strip()
    expected = scenario["expected"]
    as_of = scenario["as_of"]
    assert isinstance(as_of, dt.date)
    if "error" in expected:
        _check_refused(path, scenario)
        return
    advice = sa.advise(_profile(path, scenario["profile"]), kb=kb, as_of=as_of)
    _check_decision(advice, expected)
    _check_legal(advice, expected)
    _check_flows_and_gpus(advice, expected)


def _check_decision(advice: sa.Advice, expected: dict[str, Any]) -> None:
    by_id = {a.architecture_id: a for a in advice.assessments}
    if "recommended" in expected:
        got = advice.recommended.architecture_id if advice.recommended else None
        assert got == expected["recommended"], sa.render_text(advice)
    if "decision" in expected:
        assert advice.decision == expected["decision"], advice.recommended
    if "eligible" in expected:
        eligible = {a.architecture_id for a in advice.assessments if a.eligible}
        assert eligible == set(expected["eligible"])
    for arch, rule_ids in expected.get("excluded_by", {}).items():
        found = {e.rule_id for e in by_id[arch].exclusions}
        assert set(rule_ids) <= found, f"{arch}: {found}"
    for arch, fields in expected.get("remedy", {}).items():
        remedy = by_id[arch].remedy
        assert remedy is not None, f"{arch}: no remedy ({by_id[arch].decisive_reason})"
        assert set(remedy.changes) == set(fields), f"{arch}: {remedy.sentence}"
    for text in expected.get("no_recommendation_includes", []):
        assert text in (advice.no_recommendation_reason or ""), advice.no_recommendation_reason
    for text in expected.get("warnings_include", []):
        assert any(text in w for w in advice.warnings), advice.warnings


def _check_legal(advice: sa.Advice, expected: dict[str, Any]) -> None:
    facts = {f for a in advice.assessments for e in a.exclusions for f in e.fact_ids}
    assert set(expected.get("exclusion_facts_include", [])) <= facts
    obligations = {o.rule_id for o in advice.obligations}
    assert set(expected.get("obligations_include", [])) <= obligations, sorted(obligations)
    blocked = {b.rule_id for b in advice.blocked_use_cases}
    assert set(expected.get("blocked", [])) <= blocked
    if expected.get("blocked") == []:
        assert not blocked, blocked
    coming = {b.rule_id for b in advice.coming_blocked_use_cases}
    assert set(expected.get("coming_blocked", [])) <= coming, coming


def _check_flows_and_gpus(advice: sa.Advice, expected: dict[str, Any]) -> None:
    by_id = {a.architecture_id: a for a in advice.assessments}
    for arch, flows in expected.get("misrouted", {}).items():
        got = {f.data_class: f.queries_per_month for f in by_id[arch].misrouted}
        assert got == {c: Decimal(str(n)) for c, n in flows.items()}, got
    for arch, venue_id in expected.get("misrouted_venue", {}).items():
        assert {f.venue_id for f in by_id[arch].misrouted} == {venue_id}, by_id[arch].misrouted
    for arch, gpus in expected.get("pool_gpus", {}).items():
        got = {v.gpu_id for v in by_id[arch].venues if v.gpu_id}
        assert got == set(gpus), got
    for arch, used in expected.get("owned_used", {}).items():
        got = {u.gpu_id: u.used for u in by_id[arch].owned_gpus}
        assert got == used, by_id[arch].owned_gpus


def test_there_are_at_least_twenty_scenarios() -> None:
    assert len(SCENARIOS) >= 20
