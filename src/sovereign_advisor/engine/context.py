"""Variable bindings for CEL conditions, built from the profile and the knowledge base."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from sovereign_advisor.knowledge.loader import KnowledgeBase
from sovereign_advisor.knowledge.models import Venue
from sovereign_advisor.profile import OrganisationProfile, UseCase


def kb_constant_free(names: Iterable[str]) -> tuple[str, ...]:
    """The names, sorted, without `blocs`: its value is the knowledge base's (the same for every
    subject), and results kept in `kb.derived` are kept per knowledge base already."""
    return tuple(sorted(set(names) - {"blocs"}))


def values_of(variables: Mapping[str, Any], names: tuple[str, ...]) -> tuple[Any, ...]:
    """The values of the named variables, hashable (lists as tuples): with the knowledge base
    and the date, all a condition that reads only these variables depends on."""
    out = []
    for name in names:
        value = variables[name]
        out.append(tuple(value) if isinstance(value, list) else value)
    return tuple(out)


def blocs(kb: KnowledgeBase) -> dict[str, list[str]]:
    return {b.id: list(b.members) for b in kb.blocs.values()}


def organisation_vars(profile: OrganisationProfile, kb: KnowledgeBase) -> dict[str, Any]:
    org = profile.organisation
    return {
        "blocs": blocs(kb),
        "org.name": org.name,
        "org.headquarters": org.headquarters,
        "org.operates_in": sorted(set(org.operates_in)),
        "org.premises_in": profile.premises_country,
        "org.sectors": list(org.sector),
        "org.sme": org.sme,
        # unknown reads as not a small mid-cap: the higher fine ceiling is the one that warns
        "org.small_mid_cap": bool(org.small_mid_cap),
        "org.us_person": profile.us_person,
        "org.provides_models": org.provides_models,
        "data.subjects_in": sorted(set(profile.subjects_in)),
        "data.classes": list(profile.data.present),
    }


def use_case_vars(base: dict[str, Any], use_case: UseCase) -> dict[str, Any]:
    return {
        **base,
        "use_case.name": use_case.name,
        "use_case.annex_iii_area": use_case.annex_iii_area,
        "use_case.prohibited_practice": use_case.prohibited_practice,
        "use_case.profiles_people": use_case.profiles_people,
        "use_case.interacts_with_people": use_case.interacts_with_people,
        "use_case.generates_synthetic_content": use_case.generates_synthetic_content,
        "use_case.military_only": use_case.military_only,
        "use_case.placed_on_market": use_case.placed_on_market,
        "use_case.annex_i_product": use_case.annex_i_product,
    }


def premises_of(profile: OrganisationProfile) -> tuple[str, str, tuple[str, ...]]:
    """The seat, control and data locations the premises venue takes from a profile."""
    hq = profile.organisation.headquarters
    return hq, "US" if profile.us_person else hq, (profile.premises_country,)


def resolve_venue(venue: Venue, profile: OrganisationProfile) -> Venue:
    """The premises venue takes its seat, control and location from the profile."""
    if venue.kind != "premises":
        return venue
    seat, controlled_from, data_locations = premises_of(profile)
    return venue.model_copy(
        update={
            "seat": seat,
            "controlled_from": controlled_from,
            "data_locations": data_locations,
        }
    )


def venue_vars(venue: Venue, kb: KnowledgeBase) -> dict[str, Any]:
    default_subs = [s for s in venue.sub_processors if not s.optional]
    return {
        "blocs": blocs(kb),
        "venue.id": venue.id,
        "venue.kind": venue.kind,
        "venue.operator": venue.operator,
        "venue.seat": venue.seat or "",
        "venue.controlled_from": venue.controlled_from or "",
        "venue.data_locations": list(venue.data_locations),
        "venue.certifications": list(venue.certifications),
        "venue.on_premises": venue.kind == "premises",
        "venue.sub_processor_control": sorted({s.controlled_from for s in default_subs}),
        "venue.sub_processor_locations": sorted(
            {c for s in default_subs for c in s.data_locations}
        ),
        "venue.optional_sub_processor_control": sorted(
            {s.controlled_from for s in venue.sub_processors if s.optional}
        ),
        "venue.present_in": sorted(set(venue.present_in)),
    }
