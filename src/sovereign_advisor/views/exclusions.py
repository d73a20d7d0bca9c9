"""Exclusions grouped by cause, for the summaries: each cause's sentence once, with a count.

The engine lists one `Exclusion` per (role, data class, venue) refused; an architecture refused
by one policy line can carry eighty of them. A reader wants the cause once and how far it
reaches: "the policy keeps personal data on the premises: excludes 4 API venues and 9 GPU
clouds". Exclusions are grouped by rule id; those of `policy.reachable_by` by the jurisdiction
that can compel access, merged where they rest on the same facts (the seat-and-location
principle reaches FR, LU and SE alike; the CLOUD Act reaches US). Nothing here decides: the
groups only regroup what the advice says.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from sovereign_advisor.advice import Advice, Exclusion
from sovereign_advisor.knowledge.loader import KnowledgeBase

LISTED_VENUES = 3
"""Up to this many venues a group names them; beyond, it counts them by kind."""

_KIND_NAMES = {"api": ("API venue", "API venues"), "gpu_cloud": ("GPU cloud", "GPU clouds")}


@dataclass(frozen=True)
class ExclusionGroup:
    """One cause and every refusal it makes across the excluded architectures."""

    rule_id: str
    sentence: str
    """The cause, in words, once."""
    citation: str | None
    """Primary source and article of the facts it rests on (binding or provisional facts)."""
    short_citation: str | None
    """The shortest binding citation among them, and how many more there are."""
    fact_ids: tuple[str, ...]
    venues: tuple[str, ...]
    """Venue ids refused, sorted."""
    where: str
    """The venues in words: their ids, or their count by kind."""
    architectures: tuple[str, ...]
    """The excluded architectures the cause reaches, in the advice's order."""
    data_classes: tuple[str, ...]
    jurisdictions: tuple[str, ...]
    refusals: int
    """How many (role, data class, venue) refusals the group stands for."""


def exclusion_groups(advice: Advice, kb: KnowledgeBase | None = None) -> list[ExclusionGroup]:
    """The causes of every exclusion in `advice`, the one reaching most venues first."""
    found: dict[tuple[str, ...], list[tuple[str, Exclusion]]] = {}
    for a in advice.assessments:
        if a.eligible:
            continue
        for e in a.exclusions:
            key: tuple[str, ...] = (e.rule_id,)
            if e.rule_id == "policy.reachable_by":
                key += tuple(sorted(e.fact_ids))
            found.setdefault(key, []).append((a.architecture_id, e))
    groups = [_group(members, advice, kb) for members in found.values()]
    return sorted(groups, key=lambda g: (-len(g.venues), -g.refusals, g.rule_id))


def _group(
    members: list[tuple[str, Exclusion]], advice: Advice, kb: KnowledgeBase | None
) -> ExclusionGroup:
    exclusions = [e for _, e in members]
    first = exclusions[0]
    order = [a.architecture_id for a in advice.assessments]
    architectures = tuple(sorted({a for a, _ in members}, key=order.index))
    classes = _ordered(e.data_class for e in exclusions if e.data_class)
    jurisdictions = _ordered(e.jurisdiction for e in exclusions if e.jurisdiction)
    venues = tuple(sorted({e.venue_id for e in exclusions if e.venue_id}))
    facts = _ordered(f for e in exclusions for f in e.fact_ids)
    return ExclusionGroup(
        rule_id=first.rule_id,
        sentence=_sentence(first.rule_id, exclusions, classes, jurisdictions),
        citation=citation(facts, kb),
        short_citation=short_citation(facts, kb),
        fact_ids=facts,
        venues=venues,
        where=venues_in_words(venues, kb),
        architectures=architectures,
        data_classes=classes,
        jurisdictions=jurisdictions,
        refusals=len(exclusions),
    )


def _ordered(values: Iterable[str]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(values))


def _sentence(
    rule_id: str,
    exclusions: Sequence[Exclusion],
    classes: Sequence[str],
    jurisdictions: Sequence[str],
) -> str:
    data = f"{_join(classes)} data" if classes else "the data"
    if rule_id == "policy.leave_premises":
        return f"the policy keeps {data} on the premises"
    if rule_id == "policy.reachable_by":
        who = _join(jurisdictions) or "another jurisdiction"
        return f"{who} can compel access there, which the policy does not allow for {data}"
    if rule_id == "policy.misrouting":
        return f"the policy refuses detector-based routing for {data}"
    direct = [e.reason for e in exclusions if not e.reason.startswith("the detector (")]
    reason = (direct or [exclusions[0].reason])[0].rstrip(".")
    return reason


def _join(items: Sequence[str]) -> str:
    if len(items) <= 2:
        return " and ".join(items)
    return ", ".join(items[:-1]) + " and " + items[-1]


def venues_in_words(venues: Sequence[str], kb: KnowledgeBase | None) -> str:
    """`azure-eu, bedrock-eu` for a few; `4 API venues and 9 GPU clouds` for many."""
    if not venues:
        return "every venue the role could use"
    if len(venues) <= LISTED_VENUES or kb is None:
        return ", ".join(venues) if len(venues) <= LISTED_VENUES else f"{len(venues)} venues"
    kinds: dict[str, int] = {}
    for v in venues:
        venue = kb.venues.get(v)
        kind: str = venue.kind if venue is not None else "other"
        kinds[kind] = kinds.get(kind, 0) + 1
    parts = []
    for kind, n in sorted(kinds.items(), key=lambda kv: -kv[1]):
        one, many = _KIND_NAMES.get(kind, ("other venue", "other venues"))
        parts.append(f"{n} {one if n == 1 else many}")
    return _join(parts)


def citation(fact_ids: Iterable[str], kb: KnowledgeBase | None) -> str | None:
    """`18 U.S.C. § 2713`: instrument and article of each binding or provisional fact, once.

    Guidance (a principle without a text of its own) is not cited as a legal basis.
    """
    if kb is None:
        return None
    parts: list[str] = []
    for f in fact_ids:
        fact = kb.facts.get(f)
        if fact is None or fact.status == "guidance":
            continue
        text = f"{fact.citation.instrument} {fact.citation.article}"
        if text not in parts:
            parts.append(text)
    return "; ".join(parts) or None


def short_citation(fact_ids: Iterable[str], kb: KnowledgeBase | None) -> str | None:
    """`18 U.S.C. § 2713 and 2 more`: the shortest binding citation, for a one-line cause."""
    full = citation(fact_ids, kb)
    if full is None or kb is None:
        return None
    binding = []
    for f in fact_ids:
        fact = kb.facts.get(f)
        if fact is not None and fact.status == "binding":
            binding.append(f"{fact.citation.instrument} {fact.citation.article}")
    parts = full.split("; ")
    first = min(binding or parts, key=len)
    more = len(parts) - 1
    return first + (f" and {more} more" if more else "")
