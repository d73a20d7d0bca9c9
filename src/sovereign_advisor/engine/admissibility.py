"""Step 2: may each data class go to each venue? Policy first, then flow-scope rules."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sovereign_advisor.conditions import Activation
from sovereign_advisor.knowledge.loader import KnowledgeBase
from sovereign_advisor.profile import OrganisationProfile
from sovereign_advisor.types import DataClass

from .context import organisation_vars, venue_vars
from .exposure import VenueExposure, evaluate


@dataclass(frozen=True)
class Refusal:
    """Why one data class may not go to one venue."""

    rule_id: str
    fact_ids: tuple[str, ...]
    data_class: DataClass
    venue_id: str
    reason: str


@dataclass(frozen=True)
class FlowNote:
    rule_id: str
    fact_ids: tuple[str, ...]
    data_class: DataClass
    venue_id: str
    summary: str


def acceptable(
    jurisdiction: str, allowed: frozenset[str], premises_country: str, kb: KnowledgeBase
) -> bool:
    """Whether a policy allows a jurisdiction to be able to compel access."""
    if "*" in allowed or jurisdiction in allowed or jurisdiction == premises_country:
        return True
    return any(b in kb.blocs and jurisdiction in kb.blocs[b].members for b in allowed)


def _describe(allowed: frozenset[str], data_class: str) -> str:
    if not allowed:
        return f"the policy lets no jurisdiction but the premises' reach {data_class} data"
    return f"the policy allows only {', '.join(sorted(allowed))} for {data_class} data"


def admissibility(
    profile: OrganisationProfile,
    kb: KnowledgeBase,
    as_of: dt.date,
    exposures: dict[str, VenueExposure],
) -> tuple[dict[tuple[DataClass, str], tuple[Refusal, ...]], tuple[FlowNote, ...]]:
    """Refusals for every present data class x venue (empty tuple: admissible), and flow notes."""
    policy = profile.policy.resolve()
    premises = profile.premises_country
    rules = [r for r in kb.rules if r.rule.scope == "flow" and r.rule.in_force(as_of)]
    org = organisation_vars(profile, kb)
    table: dict[tuple[DataClass, str], tuple[Refusal, ...]] = {}
    notes: list[FlowNote] = []
    for venue_id, exposure in exposures.items():
        venue = exposure.venue
        base = {**org, **venue_vars(venue, kb), "venue.exposure": list(exposure.jurisdictions)}
        for data_class in profile.data.present:
            leave, allowed = policy[data_class]
            refusals: list[Refusal] = []
            if not leave and venue.kind != "premises":
                refusals.append(
                    Refusal(
                        "policy.leave_premises",
                        (),
                        data_class,
                        venue_id,
                        f"the policy keeps {data_class} data on the premises; "
                        f"{venue.name} is outside them",
                    )
                )
            for reach in exposure.reaches:
                if not acceptable(reach.jurisdiction, allowed, premises, kb):
                    refusals.append(
                        Refusal(
                            "policy.reachable_by",
                            reach.fact_ids,
                            data_class,
                            venue_id,
                            f"{reach.jurisdiction} can compel access at {venue.name} "
                            f"(rule {reach.rule_id}); {_describe(allowed, data_class)}",
                        )
                    )
            activation = Activation("flow", {**base, "flow.data_class": data_class})
            for compiled in rules:
                rule = compiled.rule
                if not evaluate(rule.id, compiled.condition, activation, compiled.file):
                    continue
                if rule.effect == "excludes":
                    refusals.append(
                        Refusal(rule.id, rule.rests_on, data_class, venue_id, rule.summary)
                    )
                else:
                    notes.append(
                        FlowNote(
                            rule.id,
                            rule.rests_on + rule.see_also,
                            data_class,
                            venue_id,
                            rule.summary,
                        )
                    )
            table[(data_class, venue_id)] = tuple(refusals)
    return table, tuple(notes)
