"""Step 2: may each data class go to each venue? Policy first, then flow-scope rules."""

from __future__ import annotations

import datetime as dt
import functools
from dataclasses import dataclass
from typing import Any

from sovereign_advisor.advice import Exclusion
from sovereign_advisor.conditions import VARIABLES, Activation
from sovereign_advisor.knowledge.loader import CompiledRule, KnowledgeBase
from sovereign_advisor.profile import OrganisationProfile
from sovereign_advisor.types import DataClass

from .context import kb_constant_free, organisation_vars, values_of, venue_vars
from .exposure import VenueExposure, evaluate


@dataclass(frozen=True)
class Refusal:
    """Why one data class may not go to one venue."""

    rule_id: str
    fact_ids: tuple[str, ...]
    data_class: DataClass
    venue_id: str
    reason: str
    jurisdiction: str | None = None
    """For `policy.reachable_by`: the jurisdiction the policy does not accept."""

    @functools.cached_property
    def exclusions(self) -> dict[tuple[str, str | None], Exclusion]:
        """The exclusions eligibility made of this refusal, by role and missed share: not a
        field (equality and hashing ignore it), kept with a refusal kept for later advices."""
        return {}


@dataclass(frozen=True)
class FlowNote:
    rule_id: str
    fact_ids: tuple[str, ...]
    data_class: DataClass
    venue_id: str
    summary: str


def acceptable(
    jurisdiction: str,
    allowed: frozenset[str],
    kb: KnowledgeBase,
    *,
    premises_country: str | None = None,
) -> bool:
    """Whether a policy allows a jurisdiction to be able to compel access. `premises_country` is
    given only for the organisation's own premises under a preset (no explicit `reachable_by`):
    that jurisdiction is then acceptable there, because no on-premises architecture avoids it."""
    if "*" in allowed or jurisdiction in allowed or jurisdiction == premises_country:
        return True
    return any(b in kb.blocs and jurisdiction in kb.blocs[b].members for b in allowed)


def _describe(allowed: frozenset[str], data_class: str, explicit: bool) -> str:
    if not allowed:
        if explicit:
            return f"the policy lets no jurisdiction reach {data_class} data"
        return f"the policy lets no jurisdiction but the premises' reach {data_class} data"
    stated = " (stated for this class, so honoured at the premises too)" if explicit else ""
    return f"the policy allows only {', '.join(sorted(allowed))} for {data_class} data{stated}"


# the tags of what this step keeps in `kb.rules_derived` (any distinct values would do)
_FLOW_RULES_TAG = "flow_rules"
_IN_FORCE_TAG = "flow_rules_in_force"
_TABLE_TAG = "admissibility_table"
_FLOW_RULE_TAG = "flow_rule"

ORGANISATION_VARIABLES = VARIABLES["organisation"].keys()

_Table = dict[tuple[DataClass, str], tuple[Refusal, ...]]


_Reads = tuple[tuple[str, ...], tuple[str, ...], bool]
"""What one flow rule's condition reads: organisation variables, venue variables (`blocs`
aside: the knowledge base's), and whether it reads the data class."""


def _in_force(
    kb: KnowledgeBase, as_of: dt.date
) -> tuple[tuple[CompiledRule, ...], tuple[str, ...], tuple[_Reads, ...]]:
    """The flow rules in force on a day, the organisation variables any of them reads (the
    table's key), and what each reads (`_firing`'s keys)."""
    key = (_IN_FORCE_TAG, as_of)
    found: tuple[tuple[CompiledRule, ...], tuple[str, ...], tuple[_Reads, ...]] | None
    found = kb.rules_derived.get(key)
    if found is None:
        rules = tuple(r for r in kb.rules if r.rule.scope == "flow" and r.rule.in_force(as_of))
        reads = []
        for compiled in rules:
            names = kb_constant_free(compiled.condition.variables)
            reads.append(
                (
                    tuple(n for n in names if n in ORGANISATION_VARIABLES),
                    tuple(n for n in names if n.startswith("venue.")),
                    "flow.data_class" in names,
                )
            )
        org_names = tuple(sorted({n for org, _, _ in reads for n in org}))
        found = kb.rules_derived[key] = (rules, org_names, tuple(reads))
    return found


def admissibility(
    profile: OrganisationProfile,
    kb: KnowledgeBase,
    as_of: dt.date,
    exposures: dict[str, VenueExposure],
    classes: tuple[DataClass, ...] | None = None,
) -> tuple[_Table, tuple[FlowNote, ...]]:
    """Refusals for every present data class x venue (empty tuple: admissible), and flow notes;
    `classes` limits the table to some of the present classes.

    The table depends on the profile only through the organisation variables flow rules read,
    the premises country and each class's policy, so it is kept in `kb.rules_derived` by those and
    the date, with the exposures it was computed from: it serves a later advice given the same
    exposures (which `venue_exposures` keeps), and is computed afresh for any others."""
    if classes is None:
        classes = profile.data.present
    rules, org_names, reads = _in_force(kb, as_of)
    org = organisation_vars(profile, kb)
    org_key = values_of(org, org_names)
    policy = profile.policy
    resolved = policy.resolve()
    stated = tuple((c, resolved[c], policy.explicit_reach(c)) for c in classes)
    key = (_TABLE_TAG, as_of, org_key, profile.premises_country, stated)
    seen = tuple(exposures.items())
    hit: tuple[tuple[tuple[str, VenueExposure], ...], _Table, tuple[FlowNote, ...]] | None
    hit = kb.rules_derived.get(key)
    if hit is not None and hit[0] == seen:
        return dict(hit[1]), hit[2]
    table, notes = _table(profile, kb, as_of, exposures, stated, rules, reads, org, org_key)
    kb.rules_derived[key] = (seen, table, notes)
    return dict(table), notes


def _firing(
    kb: KnowledgeBase,
    rules: tuple[CompiledRule, ...],
    read: list[tuple[tuple[Any, ...], tuple[Any, ...], DataClass | None]],
    variables: dict[str, Any],
) -> tuple[int, ...]:
    """The rules whose condition holds for one (organisation, venue, class). Each rule's result
    is kept by the values it reads itself (`read`: its organisation values, venue values and
    class, the class None when it does not read it), so that an organisation the table has not
    seen finds kept what a rule reading less than the table's key gave: most flow rules read
    the class, the data subjects' countries and a venue field or two."""
    activation: Activation | None = None
    out = []
    for i, compiled in enumerate(rules):
        key = (_FLOW_RULE_TAG, id(compiled), *read[i])
        holds: bool | None = kb.rules_derived.get(key)
        if holds is None:
            if activation is None:
                activation = Activation("flow", variables)
            holds = kb.rules_derived[key] = bool(
                evaluate(compiled.rule.id, compiled.condition, activation, compiled.file)
            )
        if holds:
            out.append(i)
    return tuple(out)


def _table(
    profile: OrganisationProfile,
    kb: KnowledgeBase,
    as_of: dt.date,
    exposures: dict[str, VenueExposure],
    stated: tuple[tuple[DataClass, tuple[bool, frozenset[str]], bool], ...],
    rules: tuple[CompiledRule, ...],
    reads: tuple[_Reads, ...],
    org: dict[str, Any],
    org_key: tuple[Any, ...],
) -> tuple[_Table, tuple[FlowNote, ...]]:
    premises = profile.premises_country
    table: _Table = {}
    notes: list[FlowNote] = []
    org_parts: list[tuple[Any, ...]] | None = None
    for venue_id, exposure in exposures.items():
        venue = exposure.venue
        base: dict[str, Any] | None = None  # the venue's variables, built when a rule is evaluated
        venue_parts: list[tuple[Any, ...]] | None = None
        for data_class, (leave, allowed), explicit in stated:
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
            at_premises = venue.kind == "premises"
            own = premises if at_premises and not explicit else None
            for reach in exposure.reaches:
                if not acceptable(reach.jurisdiction, allowed, kb, premises_country=own):
                    refusals.append(
                        Refusal(
                            "policy.reachable_by",
                            reach.fact_ids,
                            data_class,
                            venue_id,
                            f"{reach.jurisdiction} can compel access at {venue.name} "
                            f"(rule {reach.rule_id}); "
                            f"{_describe(allowed, data_class, explicit and at_premises)}",
                            reach.jurisdiction,
                        )
                    )
            key = (
                _FLOW_RULES_TAG,
                as_of,
                org_key,
                venue_id,
                venue.seat,
                venue.controlled_from,
                venue.data_locations,
                exposure.jurisdictions,
                data_class,
            )
            fired: tuple[int, ...] | None = kb.rules_derived.get(key)
            if fired is None:
                # a condition is a pure function of its variables: the rules that fire for one
                # (organisation, venue, class) are evaluated once per knowledge base and date
                if base is None:
                    base = {
                        **org,
                        **venue_vars(venue, kb),
                        "venue.exposure": list(exposure.jurisdictions),
                    }
                if venue_parts is None:
                    venue_parts = [values_of(base, names) for _, names, _ in reads]
                if org_parts is None:
                    org_parts = [values_of(org, names) for names, _, _ in reads]
                fired = kb.rules_derived[key] = _firing(
                    kb,
                    rules,
                    [
                        (o, v, data_class if c else None)
                        for o, v, (_, _, c) in zip(org_parts, venue_parts, reads, strict=True)
                    ],
                    {**base, "flow.data_class": data_class},
                )
            for i in fired:
                rule = rules[i].rule
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
