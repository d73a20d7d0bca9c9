"""Step 1: which jurisdictions can compel access to data at each venue."""

from __future__ import annotations

import datetime as dt
import functools
from dataclasses import dataclass
from typing import Any

from sovereign_advisor.conditions import Activation, Compiled, EvaluationError
from sovereign_advisor.errors import RuleEvaluationError
from sovereign_advisor.knowledge.loader import CompiledRule, KnowledgeBase
from sovereign_advisor.knowledge.models import Venue
from sovereign_advisor.profile import OrganisationProfile
from sovereign_advisor.types import ISO_3166_ALPHA_2

from .context import premises_of, resolve_venue, venue_vars


@dataclass(frozen=True)
class Reach:
    """One jurisdiction's reach into a venue, and the rule that established it."""

    jurisdiction: str
    rule_id: str
    fact_ids: tuple[str, ...]
    """The facts the rule rests on: what an exclusion based on this reach cites."""
    see_also: tuple[str, ...] = ()
    """Background facts of the rule, listed with its finding only."""


@dataclass(frozen=True)
class VenueExposure:
    venue: Venue
    reaches: tuple[Reach, ...]
    notes: tuple[tuple[str, tuple[str, ...], str], ...]
    """Venue-scope `note` rules that fired: (rule id, fact ids, summary)."""

    @functools.cached_property
    def jurisdictions(self) -> tuple[str, ...]:
        """The jurisdictions of its reaches, sorted (computed once: an exposure is immutable)."""
        return tuple(sorted({r.jurisdiction for r in self.reaches}))


def evaluate(rule_id: str, compiled: Compiled, activation: Activation, file: str = "") -> Any:
    """Evaluate a compiled expression, turning runtime errors into `RuleEvaluationError`."""
    try:
        return compiled.evaluate(activation)
    except EvaluationError as error:
        where = f"{file or 'knowledge base'}: "
        raise RuleEvaluationError(
            f"{where}rule `{rule_id}` failed to evaluate: {error}; correct the rule's condition"
        ) from None


def _codes(compiled: CompiledRule, codes: Any) -> list[str]:
    """The jurisdictions an `exposes_to` expression returned, each checked: a code that is no
    jurisdiction (`Mars`) would otherwise be reported as one that can compel access."""
    out = []
    for code in codes:
        if not isinstance(code, str) or not (code == "EU" or code in ISO_3166_ALPHA_2):
            raise RuleEvaluationError(
                f"{compiled.file}: rule `{compiled.rule.id}`: exposes_to returned {code!r}, which "
                "is not `EU` or an ISO 3166-1 alpha-2 country code"
            )
        out.append(code)
    return out


# the tags of what this step keeps in `kb.rules_derived` (any distinct values would do)
_RULES_TAG = "venue_rules"
_EXPOSURE_TAG = "venue_exposure"
_EXPOSURES_TAG = "venue_exposures"


def venue_exposures(
    profile: OrganisationProfile, kb: KnowledgeBase, as_of: dt.date
) -> dict[str, VenueExposure]:
    """The exposure of every venue. Venue-scope rules read only the venue, so each venue's
    exposure is computed once per knowledge base and date (the premises venue once per seat,
    control and location it takes from a profile) and kept in `kb.rules_derived`, and so is the
    table of them all for each premises variant."""
    key = (_EXPOSURES_TAG, as_of, premises_of(profile))
    found: dict[str, VenueExposure] | None = kb.rules_derived.get(key)
    if found is None:
        found = kb.rules_derived[key] = _exposures(profile, kb, as_of)
    return dict(found)


def _exposures(
    profile: OrganisationProfile, kb: KnowledgeBase, as_of: dt.date
) -> dict[str, VenueExposure]:
    rules_key = (_RULES_TAG, as_of)
    rules: list[CompiledRule] | None = kb.rules_derived.get(rules_key)
    if rules is None:
        rules = [r for r in kb.rules if r.rule.scope == "venue" and r.rule.in_force(as_of)]
        kb.rules_derived[rules_key] = rules
    out: dict[str, VenueExposure] = {}
    for venue_id in sorted(kb.venues):
        venue = resolve_venue(kb.venues[venue_id], profile)
        key = (
            _EXPOSURE_TAG,
            as_of,
            venue_id,
            venue.seat,
            venue.controlled_from,
            venue.data_locations,
        )
        exposure: VenueExposure | None = kb.rules_derived.get(key)
        if exposure is None:
            exposure = kb.rules_derived[key] = _exposure(venue, kb, rules)
        out[venue_id] = exposure
    return out


def _exposure(venue: Venue, kb: KnowledgeBase, rules: list[CompiledRule]) -> VenueExposure:
    activation = Activation("venue", venue_vars(venue, kb))
    reaches: list[Reach] = []
    notes: list[tuple[str, tuple[str, ...], str]] = []
    for compiled in rules:
        if not evaluate(compiled.rule.id, compiled.condition, activation, compiled.file):
            continue
        if compiled.exposes_to is None:
            notes.append(
                (
                    compiled.rule.id,
                    compiled.rule.rests_on + compiled.rule.see_also,
                    compiled.rule.summary,
                )
            )
            continue
        codes = _codes(
            compiled, evaluate(compiled.rule.id, compiled.exposes_to, activation, compiled.file)
        )
        for code in sorted(set(codes)):
            reaches.append(
                Reach(str(code), compiled.rule.id, compiled.rule.rests_on, compiled.rule.see_also)
            )
    return VenueExposure(venue, tuple(reaches), tuple(notes))
