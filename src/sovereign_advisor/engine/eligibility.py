"""Step 3: is every role of an architecture deployable at an admissible venue?"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction

from sovereign_advisor.advice import Exclusion, MisroutedFlow
from sovereign_advisor.knowledge.loader import KnowledgeBase
from sovereign_advisor.knowledge.models import Architecture, Role, TokenPrice
from sovereign_advisor.profile import OrganisationProfile
from sovereign_advisor.types import DataClass

from .admissibility import Refusal


@dataclass(frozen=True)
class Placement:
    """Admissible venues for one role (with the model each would run)."""

    role: Role
    classes: tuple[DataClass, ...]
    """Present data classes routed to the role."""
    options: tuple[tuple[str, str | None], ...]
    """(venue id, model id) pairs, in venue-id order."""
    misrouted: tuple[DataClass, ...] = ()
    """Present classes a detector should keep from this role, some of whose queries reach it
    all the same (its misses); every option is admissible for them too."""
    detector: Role | None = None
    """The detector whose misses reach this role."""


@dataclass(frozen=True)
class Eligibility:
    architecture: Architecture
    eligible: bool
    exclusions: tuple[Exclusion, ...]
    placements: tuple[Placement, ...]


def offered_price(
    kb: KnowledgeBase, venue_id: str, model_id: str, as_of: dt.date
) -> TokenPrice | None:
    """The token price of a model at a venue on a day: primary sources before provisional ones,
    then a list published in EUR before one in another currency (the report currency is only
    how amounts are shown: it never changes which price is paid); none when the API is retired
    or not yet offered."""
    found = [
        p
        for p in kb.token_prices
        if p.venue == venue_id and p.model == model_id and p.offered_on(as_of)
    ]
    if not found:
        return None
    found.sort(key=lambda p: (p.status != "binding", p.currency != "EUR", p.valid_from, p.id))
    return found[0]


_CANDIDATES_TAG = "candidates"
"""The tag of the candidate venues kept in `kb.derived` (any distinct value would do)."""


def candidates(
    role: Role, profile: OrganisationProfile, kb: KnowledgeBase, as_of: dt.date
) -> list[tuple[str, str | None]]:
    """Venues able to host a role on the as-of date, regardless of policy. They depend on the
    profile only through `capabilities.operates_gpus`, so they are kept in `kb.derived`."""
    key = (_CANDIDATES_TAG, role, profile.capabilities.operates_gpus, as_of)  # role: by value
    found: list[tuple[str, str | None]] | None = kb.derived.get(key)
    if found is None:
        found = kb.derived[key] = _candidates(role, profile, kb, as_of)
    return list(found)


def _candidates(
    role: Role, profile: OrganisationProfile, kb: KnowledgeBase, as_of: dt.date
) -> list[tuple[str, str | None]]:
    out: list[tuple[str, str | None]] = []
    for venue_id in sorted(kb.venues):
        venue = kb.venues[venue_id]
        if role.deployment == "api":
            if venue.kind != "api":
                continue
            for model_id in role.models:
                if offered_price(kb, venue_id, model_id, as_of) is not None:
                    out.append((venue_id, model_id))
                    break
            continue
        if venue.kind == "api":
            continue
        if venue.kind == "premises" and not profile.capabilities.operates_gpus:
            continue
        if role.kind == "vector_store":
            priced = any(h.venue == venue_id and h.valid_on(as_of) for h in kb.host_prices)
        else:
            priced = any(g.venue == venue_id and g.valid_on(as_of) for g in kb.gpu_prices)
        if priced:
            out.append((venue_id, role.models[0] if role.models else None))
    return out


def eligibility(
    architecture: Architecture,
    profile: OrganisationProfile,
    kb: KnowledgeBase,
    as_of: dt.date,
    refusals: dict[tuple[DataClass, str], tuple[Refusal, ...]],
    *,
    explain: bool = True,
) -> Eligibility:
    """Whether an architecture can run, each role's admissible venues, and (with `explain`,
    for an architecture that cannot) every venue refused and why. The exclusions are built
    only then: an eligible architecture lists none, and `explain=False` serves callers that
    need only the verdict and the placements (a remedy tried): it stops at the first role no
    venue may host, so an architecture that cannot run then lists the placements up to it."""
    present = set(profile.data.present)
    # per role: its present classes, the detector's missed share and misrouted classes, and
    # the venues refused (None: no venue can host it); the reasons are read only when shown
    refused: list[tuple[Role, tuple[DataClass, ...], str, tuple[DataClass, ...], list[str] | None]]
    refused = []
    placements: list[Placement] = []
    for role in architecture.roles:
        classes = tuple(c for c in role.data_classes if c in present)
        options = candidates(role, profile, kb, as_of)
        if not options:
            if not explain:  # the verdict is known: no later role can change it
                return Eligibility(architecture, False, (), tuple(placements))
            refused.append((role, classes, "", (), None))
            continue
        detector, misrouted = _misrouting(architecture, role, present, kb)
        missed = _missed_share(detector, kb) if misrouted else ""
        accepts = {c: profile.policy.accepts_misrouting(c) for c in misrouted}
        admissible = []
        venues_refused: list[str] = []
        for venue_id, model_id in options:
            if _refused_at(venue_id, classes, accepts, refusals):
                venues_refused.append(venue_id)
            else:
                admissible.append((venue_id, model_id))
        if not admissible and not explain:
            return Eligibility(architecture, False, (), tuple(placements))
        refused.append((role, classes, missed, misrouted, venues_refused))
        if admissible:
            placements.append(Placement(role, classes, tuple(admissible), misrouted, detector))
    eligible = len(placements) == len(architecture.roles)
    exclusions: tuple[Exclusion, ...] = ()
    if not eligible and explain:
        exclusions = tuple(
            [_exclusion(item, profile) for item in _refusal_items(refused, refusals, profile)]
        )
    return Eligibility(architecture, eligible, exclusions, tuple(placements))


def _refused_at(
    venue_id: str,
    classes: tuple[DataClass, ...],
    accepts: dict[DataClass, bool],
    refusals: dict[tuple[DataClass, str], tuple[Refusal, ...]],
) -> bool:
    """Whether a venue is refused for a role: some refusal of a class routed to it, or of a
    class a detector's misses bring there (`accepts`: whether the policy accepts that)."""
    for c in classes:
        if refusals[(c, venue_id)]:
            return True
    for c, accepted in accepts.items():
        for r in refusals[(c, venue_id)]:
            if _refuses_misrouting(r, accepted):
                return True
    return False


def _refuses_misrouting(r: Refusal, accepted: bool) -> bool:
    """Whether a refusal of a class stands for the queries of it a detector misses: keeping
    the class on the premises does not, when the policy accepts misrouting for it."""
    return not (r.rule_id == "policy.leave_premises" and accepted)


def _refusal_items(
    refused: list[tuple[Role, tuple[DataClass, ...], str, tuple[DataClass, ...], list[str] | None]],
    refusals: dict[tuple[DataClass, str], tuple[Refusal, ...]],
    profile: OrganisationProfile,
) -> list[tuple[Role, str, Refusal | None, bool]]:
    """(role, the detector's missed share, the refusal or None for no venue, misrouted) for
    every venue refused, in role, venue, class and refusal order, misrouted classes last."""
    items: list[tuple[Role, str, Refusal | None, bool]] = []
    for role, classes, missed, misrouted, venues in refused:
        if venues is None:
            items.append((role, "", None, False))
            continue
        for venue_id in venues:
            items += [(role, missed, r, False) for c in classes for r in refusals[(c, venue_id)]]
            items += [
                (role, missed, r, True)
                for c in misrouted
                for r in refusals[(c, venue_id)]
                if _refuses_misrouting(r, profile.policy.accepts_misrouting(c))
            ]
    return items


def _exclusion(
    item: tuple[Role, str, Refusal | None, bool], profile: OrganisationProfile
) -> Exclusion:
    """The exclusion of one refused item. One made of a refusal is a function of the role, the
    missed share and the refusal alone, and immutable: it is kept with the refusal, so a kept
    admissibility table serves it to every later advice that shows it."""
    role, missed, r, misrouted = item
    if r is None:
        return _no_venue(role, profile)
    key = (role.id, missed if misrouted else None)
    found = r.exclusions.get(key)
    if found is None:
        found = r.exclusions[key] = (
            _misrouted(role.id, missed, r) if misrouted else _excluded(role.id, r)
        )
    return found


def _excluded(role_id: str, r: Refusal) -> Exclusion:
    return Exclusion(
        rule_id=r.rule_id,
        fact_ids=r.fact_ids,
        role=role_id,
        data_class=r.data_class,
        venue_id=r.venue_id,
        reason=r.reason,
        jurisdiction=r.jurisdiction,
    )


def _misrouting(
    architecture: Architecture, role: Role, present: set[DataClass], kb: KnowledgeBase
) -> tuple[Role | None, tuple[DataClass, ...]]:
    """The detector whose misses reach `role`, and the present classes they carry there (none
    when the detector never misses, at any end of its recall's band)."""
    found = architecture.misrouted_to(role.id)
    if found is None:
        return None, ()
    detector, kept = found
    assert detector.recall is not None
    band = kb.assumption(detector.recall).value
    if (band.typical if band.low is None else band.low) >= 1:
        return detector, ()
    return detector, tuple(c for c in kept if c in present)


def _missed_share(detector: Role | None, kb: KnowledgeBase) -> str:
    """How much of what a detector should keep it misses, in words (read once per role)."""
    assert detector is not None and detector.recall is not None
    recall = kb.assumption(detector.recall).value.typical
    return f"the detector ({detector.id}) misses about {1 - float(recall):.0%}"


def _misrouted(role_id: str, missed_share: str, r: Refusal) -> Exclusion:
    """A refusal of the flow a detector's misses make: the venue is refused for the role."""
    missed = f"{missed_share} of {r.data_class}"
    excluded = _excluded(role_id, r)
    if r.rule_id == "policy.leave_premises":  # the policy refuses misrouting for this class
        return excluded.model_copy(
            update={
                "rule_id": "policy.misrouting",
                "reason": f"{missed} queries, which would reach this venue outside the premises; "
                f"the policy refuses detector-based routing for {r.data_class} data",
            }
        )
    return excluded.model_copy(
        update={"reason": f"{missed} queries, which would reach this venue: {r.reason}"}
    )


def _no_venue(role: Role, profile: OrganisationProfile) -> Exclusion:
    if role.deployment == "api":
        reason = (
            f"no API venue offers {' or '.join(role.models)} on the as-of date "
            "(not yet released, or retired)"
        )
        rule_id = "capability.no_offering"
    elif not profile.capabilities.operates_gpus:
        reason = (
            "the organisation does not operate GPUs or servers itself, and no rented venue "
            "with a price on the as-of date can host this role"
        )
        rule_id = "capability.no_self_hosting"
    else:
        reason = "no venue with a price on the as-of date can host this role"
        rule_id = "capability.no_self_hosting"
    return Exclusion(
        rule_id=rule_id, fact_ids=(), role=role.id, data_class=None, venue_id=None, reason=reason
    )


def misrouted_flows(
    result: Eligibility,
    venue_of: dict[str, tuple[str, str | None]],
    exposure_of: dict[str, tuple[str, ...]],
    profile: OrganisationProfile,
    kb: KnowledgeBase,
    volume: Fraction,
) -> tuple[MisroutedFlow, ...]:
    """The flows a detector's misses make in an eligible architecture, per class, at `volume`
    queries a month and the detector's typical recall."""
    out: list[MisroutedFlow] = []
    for p in result.placements:
        if p.detector is None or not p.misrouted:
            continue
        assert p.detector.recall is not None and p.detector.misses_reach is not None
        recall = kb.assumption(p.detector.recall).value.typical
        from_role = next(
            (
                q.role.id
                for q in result.placements
                if q.role.kind == "generation" and q.classes and set(p.misrouted) <= set(q.classes)
            ),
            p.detector.id,
        )
        venue_id = venue_of[p.role.id][0]
        for c in p.misrouted:
            missed = volume * Fraction(str(profile.data.share(c))) * (1 - Fraction(recall))
            override = profile.policy.overrides.get(c)
            stated = override is not None and override.misrouting == "accept"
            out.append(
                MisroutedFlow(
                    data_class=c,
                    from_role=from_role,
                    to_role=p.role.id,
                    venue_id=venue_id,
                    exposure=exposure_of[venue_id],
                    queries_per_month=Decimal(round(missed)),
                    recall=Decimal(recall),
                    recall_source=p.detector.recall,
                    accepted_by=f"policy.overrides.{c}.misrouting: accept"
                    if stated
                    else "the default (misrouting: accept); set misrouting: refuse to exclude it",
                )
            )
    return tuple(out)
