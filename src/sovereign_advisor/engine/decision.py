"""Step 5, the decision: recommended, cost-equivalent or none, each with its decisive reason.

An excluded architecture gets the one cause that sank it (the rule refusing most of the venues
its role could use; a law before a policy) and the smallest change of capability or policy
that would make it eligible, priced. Two eligible architectures whose totals lie within the
cost model's uncertainty are cost-equivalent and decided on what cost does not show.
"""

from __future__ import annotations

import functools
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Literal

from sovereign_advisor.advice import Assessment, Exclusion, Recommendation, Remedy
from sovereign_advisor.knowledge.loader import KnowledgeBase
from sovereign_advisor.profile import OrganisationProfile
from sovereign_advisor.types import DataClass

from .eligibility import Eligibility

Decision = Literal["recommended", "cost_equivalent", "none"]

_POLICY_ORDER = {"policy.misrouting": 1, "policy.reachable_by": 2, "policy.leave_premises": 3}
"""Which refusal of a venue is its primary cause: a law first (0), then the policy's checks."""


def _rank_of(rule_id: str) -> int:
    if rule_id.startswith("capability."):
        return 4
    return _POLICY_ORDER.get(rule_id, 0)


def _is_law(rule_id: str) -> bool:
    return _rank_of(rule_id) == 0


@dataclass(frozen=True)
class Cause:
    """The decisive cause of an exclusion: the role, the rule and the venues it refused."""

    role: str
    rule_id: str
    venues: tuple[str, ...]
    of_venues: int
    """How many venues the role could have used."""
    example: Exclusion


def decisive_cause(result: Eligibility) -> Cause | None:
    """The cause that sank an ineligible architecture: among the roles left without a venue,
    the one refused by a law if any; within a role, the rule that is the primary refusal of
    the most venues (a law before the policy's own checks)."""
    if result.eligible:
        return None
    placed = {p.role.id for p in result.placements}
    causes: list[Cause] = []
    for role in result.architecture.roles:
        if role.id in placed:
            continue
        mine = [e for e in result.exclusions if e.role == role.id]
        if not mine:
            continue
        primary: dict[str | None, Exclusion] = {}
        for e in sorted(mine, key=lambda e: (_rank_of(e.rule_id), e.rule_id)):
            primary.setdefault(e.venue_id, e)
        counts = Counter(e.rule_id for e in primary.values())
        rule_id = min(counts, key=lambda r: (-counts[r], _rank_of(r), r))
        venues = tuple(sorted(v for v, e in primary.items() if e.rule_id == rule_id and v))
        example = next(e for e in primary.values() if e.rule_id == rule_id)
        causes.append(Cause(role.id, rule_id, venues, len(primary), example))
    if not causes:
        return None
    return min(causes, key=lambda c: (not _is_law(c.rule_id), -len(c.venues)))


def _grouped_reasons(found: list[Exclusion]) -> list[str]:
    """One phrase per rule for the refusals of one venue (the classes it concerns named once)."""
    by_rule: dict[str, list[Exclusion]] = {}
    for e in found:
        by_rule.setdefault(e.rule_id, []).append(e)
    out = []
    for rule_id, group in by_rule.items():
        classes = ", ".join(dict.fromkeys(e.data_class or "" for e in group))
        if rule_id == "policy.leave_premises":
            out.append(f"the policy keeps {classes} data on the premises")
        elif rule_id == "policy.reachable_by":
            who = ", ".join(sorted({e.jurisdiction or "?" for e in group}))
            out.append(
                f"{who} can compel access there, which the policy does not allow for {classes} data"
            )
        else:
            out.append(group[0].reason.rstrip("."))
    return out


def _nearest(result: Eligibility, cause: Cause) -> str:
    """For a role the policy sank: the venue refused for the fewest reasons (the premises on a
    tie), and those reasons; the policy's own checks are what a profile can change."""
    by_venue: dict[str, list[Exclusion]] = {}
    for e in result.exclusions:
        if e.role == cause.role and e.venue_id:
            by_venue.setdefault(e.venue_id, []).append(e)
    venue_id = min(
        by_venue, key=lambda v: (len(by_venue[v]), v != "own-premises" and "premises" not in v, v)
    )
    reasons = _grouped_reasons(by_venue[venue_id])
    shown = "; ".join(reasons[:2]) + (f"; and {len(reasons) - 2} more" if len(reasons) > 2 else "")
    others = len(by_venue) - 1
    tail = {0: "", 1: " (the other venue it could use is refused too)"}.get(
        others, f" (the other {others} venues it could use are refused too)"
    )
    return f"the nearest venue, {venue_id}, is refused: {shown}{tail}"


def cause_sentence(cause: Cause, result: Eligibility, profile: OrganisationProfile) -> str:
    """The decisive cause in one sentence."""
    role = next(r for r in result.architecture.roles if r.id == cause.role)
    lead = f"{cause.role}: "
    if role.deployment == "self_hosted" and not profile.capabilities.operates_gpus:
        lead += "its own premises are not an option (capabilities.operates_gpus is false), and "
    if not _is_law(cause.rule_id) and not cause.rule_id.startswith("capability."):
        return f"{lead}{_nearest(result, cause)} [{cause.rule_id}]"
    what = cause.example.reason.rstrip(".")
    if cause.venues and cause.of_venues > 1:
        share = (
            f"every venue it could use ({len(cause.venues)})"
            if len(cause.venues) == cause.of_venues
            else f"{len(cause.venues)} of the {cause.of_venues} venues it could use"
        )
        named = ", ".join(cause.venues[:4]) + (", ..." if len(cause.venues) > 4 else "")
        return f"{lead}{what} [{cause.rule_id}; refuses {share}: {named}]"
    return f"{lead}{what} [{cause.rule_id}]"


Change = tuple[str, Any]
"""A profile field path (dotted) and the value it would take."""


def _reach_changes(
    profile: OrganisationProfile, data_class: DataClass, found: list[Exclusion]
) -> list[Change]:
    """For each venue refused for a class by `policy.reachable_by`: the class's reach widened
    by the jurisdictions refused there (the premises' kept when it was accepted implicitly)."""
    _, allowed = profile.policy.resolve()[data_class]
    if not profile.policy.explicit_reach(data_class):
        allowed = allowed | {profile.premises_country}
    needed: dict[str, set[str]] = {}
    for e in found:
        if e.rule_id == "policy.reachable_by" and e.venue_id and e.jurisdiction:
            needed.setdefault(e.venue_id, set()).add(e.jurisdiction)
    # the two smallest widenings: more would be larger changes than a reader would weigh
    options = sorted({frozenset(j) for j in needed.values()}, key=lambda j: (len(j), sorted(j)))[:2]
    path = f"policy.overrides.{data_class}.reachable_by"
    return [(path, tuple(sorted(allowed | extra))) for extra in options]


_POLICY_CHANGES: dict[str, tuple[str, Any]] = {
    "policy.leave_premises": ("leave_premises", True),
    "policy.misrouting": ("misrouting", "accept"),
}


def _candidate_changes(
    profile: OrganisationProfile, result: Eligibility
) -> Iterator[tuple[Change, ...]]:
    """Changes of capability or policy that could lift the exclusions, single ones first."""
    singles: list[Change] = []
    if not profile.capabilities.operates_gpus:
        singles.append(("capabilities.operates_gpus", True))
    by_class: dict[DataClass, list[Exclusion]] = {}
    for e in result.exclusions:
        if e.data_class is not None and e.rule_id.startswith("policy."):
            by_class.setdefault(e.data_class, []).append(e)
    for data_class, found in sorted(by_class.items()):
        rules = {e.rule_id for e in found}
        for rule_id, (field, value) in _POLICY_CHANGES.items():
            if rule_id in rules:
                singles.append((f"policy.overrides.{data_class}.{field}", value))
        if "policy.reachable_by" in rules:
            singles.extend(_reach_changes(profile, data_class, found))
    # the lightest changes first: a capability, then letting a class leave the premises, then
    # widening who may reach it
    singles.sort(key=_weight)
    for change in singles:
        yield (change,)
    pairs = [
        (first, second)
        for i, first in enumerate(singles)
        for second in singles[i + 1 :]
        if first[0] != second[0]
    ]
    pairs.sort(key=lambda pair: _weight(pair[0])[0] + _weight(pair[1])[0])
    yield from pairs


_WEIGHTS = {"capabilities": 0, "misrouting": 1, "leave_premises": 2, "reachable_by": 3}
"""How far a change moves an organisation: a capability, then accepting a detector's misses,
then letting a class leave the premises, then widening who may reach it."""


def _weight(change: Change) -> tuple[int, str]:
    path = change[0]
    head = path.partition(".")[0]
    return _WEIGHTS.get(head, _WEIGHTS.get(path.rsplit(".", 1)[-1], 3)), path


def apply_changes(profile: OrganisationProfile, changes: tuple[Change, ...]) -> OrganisationProfile:
    """The profile with some fields changed, validated again."""
    data = profile.model_dump(exclude_unset=True)
    for path, value in changes:
        parts = path.split(".")
        node = data
        for part in parts[:-1]:
            node = node.setdefault(part, {})
        node[parts[-1]] = value
    return OrganisationProfile.model_validate(data)


def describe_changes(changes: tuple[Change, ...]) -> str:
    def shown(value: Any) -> str:
        if isinstance(value, bool):
            return str(value).lower()
        if isinstance(value, tuple):
            return "[" + ", ".join(value) + "]"
        return str(value)

    return " and ".join(f"{path}: {shown(value)}" for path, value in changes)


MAX_TRIES = 40
"""At most this many changed profiles are tried per excluded architecture."""

MAX_PRICED = 3
"""At most this many equally light changes that work are priced, the cheapest kept."""


def remedy(
    profile: OrganisationProfile,
    result: Eligibility,
    kb: KnowledgeBase,
    evaluate: Callable[[tuple[Change, ...], OrganisationProfile], tuple[bool, Decimal | None]],
    changed_profile: Callable[[tuple[Change, ...]], OrganisationProfile] | None = None,
) -> Remedy | None:
    """The smallest change of capability or policy that makes an excluded architecture eligible
    (fewest fields changed, then the lightest, then the lowest typical total), and what it would
    then cost;
    `evaluate` says whether the architecture is eligible for a changed profile (given with the
    changes that made it), and its total; `changed_profile` derives the changed profile
    (`apply_changes` unless given: the advice passes one that derives each profile once for
    all the architectures that try it), raising ValueError when the change is not valid."""
    derive = changed_profile or functools.partial(apply_changes, profile)
    best: tuple[int, int, Decimal, tuple[Change, ...]] | None = None
    priced = 0
    for tries, changes in enumerate(_candidate_changes(profile, result)):
        weight = sum(_weight(c)[0] for c in changes)
        lighter = best is None or (len(changes), weight) <= best[:2]
        if tries >= MAX_TRIES or not lighter or priced >= MAX_PRICED:
            break
        try:
            changed = derive(changes)
        except ValueError:
            continue
        eligible, total = evaluate(changes, changed)
        if eligible and total is not None:
            priced += 1
            key = (len(changes), weight, total, changes)
            if best is None or key[:3] < best[:3]:
                best = key
    if best is None:
        return None
    _, _, total, changes = best
    return Remedy(
        changes=tuple(f"{path}" for path, _ in changes),
        sentence=f"with {describe_changes(changes)}, it would be eligible",
        monthly_total=total,
    )


def decide(
    assessments: list[Assessment],
    margin: Decimal,
    currency: str,
) -> tuple[Decision, Recommendation | None]:
    """Recommended (the cheapest, clearly), cost-equivalent (the gap to the next is within the
    margin and the bands overlap: decided on residual risk, sovereignty margin and operational
    burden, in that order) or none."""
    eligible = [a for a in assessments if a.eligible and a.cost is not None]
    if not eligible:
        return "none", None
    eligible.sort(key=lambda a: (a.rank or 0, a.architecture_id))
    best = eligible[0]
    if len(eligible) == 1:
        return "recommended", Recommendation(
            architecture_id=best.architecture_id,
            reason=f"{best.architecture_id} is the only eligible architecture",
        )
    assert best.cost is not None
    cheapest = best.cost.monthly_total
    tied = [
        a
        for a in eligible
        if a.cost is not None
        and a.cost.monthly_total.typical <= cheapest.typical * (1 + margin)
        and a.cost.monthly_total.low <= cheapest.high
    ]
    if len(tied) == 1:
        second = eligible[1]
        assert second.cost is not None
        gap = second.cost.monthly_total.typical - cheapest.typical
        return "recommended", Recommendation(
            architecture_id=best.architecture_id,
            reason=f"{best.architecture_id} is the cheapest of {len(eligible)} eligible "
            f"architectures: {cheapest.typical:,.0f} {currency} a month (typical), "
            f"{gap:,.0f} less than {second.architecture_id}, beyond the "
            f"{float(margin):.0%} within which costs are treated as equivalent",
        )
    chosen = min(tied, key=_secondary)
    others = [a.architecture_id for a in tied if a is not chosen]
    why = _why_preferred(chosen, [a for a in tied if a is not chosen])
    totals = ", ".join(
        f"{a.architecture_id} {a.cost.monthly_total.typical:,.0f}" for a in tied if a.cost
    )
    return "cost_equivalent", Recommendation(
        architecture_id=chosen.architecture_id,
        reason=f"{' and '.join([chosen.architecture_id, *others])} are cost-equivalent "
        f"({totals} {currency} a month, typical: within {float(margin):.0%} of each other "
        f"with overlapping bands); {chosen.architecture_id} is preferred because {why}",
        equivalent_to=tuple(sorted(others)),
    )


def _misrouted(a: Assessment) -> Decimal:
    return sum((f.queries_per_month for f in a.misrouted), Decimal(0))


def _reach(a: Assessment) -> int:
    return len({j for v in a.venues for j in v.exposure})


def _gpus(a: Assessment) -> int:
    return sum(v.gpu_count or 0 for v in {(v.venue_id, v.gpu_id): v for v in a.venues}.values())


def _secondary(a: Assessment) -> tuple[Decimal, int, int, Decimal, str]:
    assert a.cost is not None
    return (_misrouted(a), _reach(a), _gpus(a), a.cost.monthly_total.typical, a.architecture_id)


def _why_preferred(chosen: Assessment, others: list[Assessment]) -> str:
    other = min(others, key=_secondary)
    if _misrouted(chosen) < _misrouted(other):
        return (
            f"it sends no query off the premises by mistake ({other.architecture_id}'s detector "
            f"would misroute about {_misrouted(other):,.0f} a month)"
            if _misrouted(chosen) == 0
            else f"its detector misroutes fewer queries ({_misrouted(chosen):,.0f} against "
            f"{_misrouted(other):,.0f} a month)"
        )
    if _reach(chosen) < _reach(other):
        return (
            f"fewer jurisdictions can compel access to its data ({_reach(chosen)} against "
            f"{_reach(other)})"
        )
    if _gpus(chosen) < _gpus(other):
        return f"it runs fewer GPUs of its own ({_gpus(chosen)} against {_gpus(other)})"
    return "it is the cheaper of the two at the typical estimate"
