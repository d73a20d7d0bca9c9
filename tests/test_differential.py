"""Differential test: a deliberately naive eligibility, written from the README's words, against
the engine. It shares only the knowledge base and the CEL runtime with the engine: no engine
function, no engine data structure, one loop per sentence of the spec."""

from __future__ import annotations

import datetime as dt
from typing import Any

from hypothesis import given

import sovereign_advisor as sa
from sovereign_advisor.conditions import Activation
from sovereign_advisor.profile import OrganisationProfile
from sovereign_advisor.testing import as_of_dates, knowledge_bases, profiles
from sovereign_advisor.types import DATA_CLASSES

from .test_invariants import EXAMPLES, KB, with_examples

PRESET: dict[str, tuple[bool, set[str]]] = {
    "strict": (False, set()),
    "eu_only": (True, {"EU"}),
    "jp_only": (True, {"JP"}),
}


def _policy(profile: OrganisationProfile, data_class: str) -> tuple[bool, set[str]]:
    leave, reach = PRESET.get(profile.policy.preset, (True, {"*"}))
    override = profile.policy.overrides.get(data_class)
    if override is not None and override.leave_premises is not None:
        leave = override.leave_premises
    if override is not None and override.reachable_by is not None:
        reach = set(override.reachable_by)
    return leave, reach


def _org(profile: OrganisationProfile, kb: sa.KnowledgeBase) -> dict[str, Any]:
    o = profile.organisation
    return {
        "blocs": {b.id: list(b.members) for b in kb.blocs.values()},
        "org.name": o.name,
        "org.headquarters": o.headquarters,
        "org.operates_in": sorted(set(o.operates_in)),
        "org.premises_in": o.premises_in or o.headquarters,
        "org.sectors": list(o.sector),
        "org.sme": o.sme,
        "org.small_mid_cap": o.small_mid_cap is True,
        "org.us_person": profile.us_person,
        "org.provides_models": o.provides_models,
        "data.subjects_in": sorted(set(profile.subjects_in)),
        "data.classes": [c for c in DATA_CLASSES if profile.data.share(c) > 0],
    }


def _venue(profile: OrganisationProfile, kb: sa.KnowledgeBase, venue_id: str) -> dict[str, Any]:
    v, o = kb.venues[venue_id], profile.organisation
    mine = v.kind == "premises"
    return {
        "blocs": {b.id: list(b.members) for b in kb.blocs.values()},
        "venue.id": v.id,
        "venue.kind": v.kind,
        "venue.operator": v.operator,
        "venue.seat": o.headquarters if mine else v.seat,
        "venue.controlled_from": ("US" if profile.us_person else o.headquarters)
        if mine
        else v.controlled_from,
        "venue.data_locations": [o.premises_in or o.headquarters]
        if mine
        else list(v.data_locations),
        "venue.certifications": list(v.certifications),
        "venue.on_premises": mine,
        "venue.sub_processor_control": sorted(
            {s.controlled_from for s in v.sub_processors if not s.optional}
        ),
        "venue.sub_processor_locations": sorted(
            {c for s in v.sub_processors if not s.optional for c in s.data_locations}
        ),
        "venue.optional_sub_processor_control": sorted(
            {s.controlled_from for s in v.sub_processors if s.optional}
        ),
        "venue.present_in": sorted(set(v.present_in)),
    }


def _exposures(profile: OrganisationProfile, kb: sa.KnowledgeBase, rules: list[Any]) -> Any:
    """Jurisdictions that can compel access at each venue: every venue rule that fires."""
    out: dict[str, set[str]] = {}
    for venue_id in kb.venues:
        facts = Activation("venue", _venue(profile, kb, venue_id))
        out[venue_id] = set()
        for r in rules:
            if r.rule.scope == "venue" and r.exposes_to and r.condition.evaluate(facts):
                out[venue_id] |= set(r.exposes_to.evaluate(facts))
    return out


def _can_host(role: Any, venue_id: str, profile: OrganisationProfile, kb: Any, as_of: Any) -> bool:
    """A venue offers the role's model (API) or has a price for its GPUs or hosts."""
    kind = kb.venues[venue_id].kind
    if role.deployment == "api":
        return kind == "api" and any(
            p.venue == venue_id and p.model in role.models and p.offered_on(as_of)
            for p in kb.token_prices
        )
    if kind == "api" or (kind == "premises" and not profile.capabilities.operates_gpus):
        return False
    prices = kb.host_prices if role.kind == "vector_store" else kb.gpu_prices
    return any(p.venue == venue_id and p.valid_on(as_of) for p in prices)


def _admits(
    data_class: str,
    venue_id: str,
    exposure: set[str],
    profile: OrganisationProfile,
    kb: sa.KnowledgeBase,
    rules: list[Any],
    misrouted: bool = False,
) -> bool:
    """The policy lets the class go there and no flow rule excludes it. `misrouted`: the class
    arrives by a detector's misses, which the policy may accept outside the premises (never
    against its reach or a law)."""
    leave, reach = _policy(profile, data_class)
    override = profile.policy.overrides.get(data_class)
    if misrouted and not (override and override.misrouting == "refuse"):
        leave = True
    at_premises = kb.venues[venue_id].kind == "premises"
    if not leave and not at_premises:
        return False
    explicit = override is not None and override.reachable_by is not None
    premises = profile.organisation.premises_in or profile.organisation.headquarters
    for j in exposure:
        in_bloc = any(j in kb.blocs[b].members for b in reach if b in kb.blocs)
        own = j == premises and at_premises and not explicit
        if not ("*" in reach or j in reach or own or in_bloc):
            return False
    flow = Activation(
        "flow",
        {
            **_org(profile, kb),
            **_venue(profile, kb, venue_id),
            "flow.data_class": data_class,
            "venue.exposure": sorted(exposure),
        },
    )
    return not any(
        r.rule.scope == "flow" and r.rule.effect == "excludes" and r.condition.evaluate(flow)
        for r in rules
    )


def _missed(arch: Any, role: Any, present: list[str], kb: sa.KnowledgeBase) -> list[str]:
    """Classes a detector of the architecture should keep from `role`, that reach it when it
    misses them (none if it never misses)."""
    out: list[str] = []
    for d in arch.roles:
        band = kb.assumption(d.recall).value if d.recall else None
        if band is not None and d.misses_reach == role.id and (band.low or band.typical) < 1:
            out += [c for c in d.data_classes if c in present and c not in role.data_classes]
    return out


def reference_eligibility(
    profile: OrganisationProfile, kb: sa.KnowledgeBase, as_of: dt.date
) -> dict[str, dict[str, set[str]]]:
    """For each architecture, each role's admissible venues (an empty set sinks it)."""
    rules = [r for r in kb.rules if r.rule.in_force(as_of)]
    exposure = _exposures(profile, kb, rules)
    present = [c for c in DATA_CLASSES if profile.data.share(c) > 0]
    return {
        arch.id: {
            role.id: {
                venue_id
                for venue_id in kb.venues
                if _can_host(role, venue_id, profile, kb, as_of)
                and all(
                    _admits(c, venue_id, exposure[venue_id], profile, kb, rules)
                    for c in role.data_classes
                    if c in present
                )
                and all(
                    _admits(c, venue_id, exposure[venue_id], profile, kb, rules, misrouted=True)
                    for c in _missed(arch, role, present, kb)
                )
            }
            for role in arch.roles
        }
        for arch in kb.architectures
    }


@with_examples
@given(
    profile=profiles(max_queries_per_month=200_000)
    | profiles(
        presets=["eu_only", "open"], headquarters=["FR", "DE"], max_queries_per_month=200_000
    ),
    kb=knowledge_bases(),
    as_of=as_of_dates(),
)
def test_engine_eligibility_matches_the_naive_reference(
    profile: OrganisationProfile, kb: sa.KnowledgeBase, as_of: dt.date
) -> None:
    reference = reference_eligibility(profile, kb, as_of)
    advice = sa.advise(profile, kb=kb, as_of=as_of)
    for a in advice.assessments:
        roles = reference[a.architecture_id]
        expected = all(roles.values())
        assert a.eligible == expected, (
            f"{a.architecture_id}: engine says eligible={a.eligible}, the reference "
            f"{expected} (admissible venues by role: {roles}; engine exclusions: "
            f"{[(e.rule_id, e.role, e.data_class, e.venue_id) for e in a.exclusions]})"
        )
        for v in a.venues:
            assert v.venue_id in roles[v.role], (
                f"{a.architecture_id}/{v.role} placed at {v.venue_id}; the reference admits "
                f"only {sorted(roles[v.role])}"
            )


def test_the_reference_agrees_on_the_examples_worked_out_in_the_readme() -> None:
    as_of = dt.date(2026, 11, 23)
    eligible = {
        name: {a for a, roles in reference_eligibility(p, KB, as_of).items() if all(roles.values())}
        for name, p in EXAMPLES.items()
        if name in {"bank_strict", "insurer_hybrid", "triage_high_volume"}
    }
    assert eligible == {
        "bank_strict": {"on_prem_rag"},
        "insurer_hybrid": {"on_prem_rag", "hybrid_routing"},
        "triage_high_volume": {"on_prem_rag", "hybrid_routing", "tiered_cost_pipeline"},
    }
