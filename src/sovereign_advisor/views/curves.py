"""Monthly cost as a function of monthly query volume, for the break-even chart and tables.

The engine prices each eligible architecture at the profile's volume and finds break-even
volumes exactly; this module evaluates the same cost functions (same venues, same GPU sizing
with peak load scaled with volume) at other volumes, so a chart or a table can show the whole
curve. No plotting here: see `sovereign_advisor.views.chart` (needs the `plot` extra).
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction

from sovereign_advisor.engine.admissibility import admissibility
from sovereign_advisor.engine.costmodel import BandName, CostModel
from sovereign_advisor.engine.eligibility import eligibility
from sovereign_advisor.engine.exposure import venue_exposures
from sovereign_advisor.engine.pricing import Pricing
from sovereign_advisor.engine.sizing import workload_of
from sovereign_advisor.engine.venue_choice import choose
from sovereign_advisor.knowledge.loader import KnowledgeBase
from sovereign_advisor.profile import OrganisationProfile
from sovereign_advisor.types import Currency

SPAN = 100
"""Curves run from 1/100 to 100 times the profile's volume, a wider view than the engine's
break-even search (1/10 to 10 times, `engine.break_even.SEARCH_FACTOR`)."""

TABLE_FACTORS: tuple[Fraction, ...] = (
    Fraction(1, 100),
    Fraction(1, 10),
    Fraction(1, 3),
    Fraction(1),
    Fraction(3),
    Fraction(10),
    Fraction(100),
)
"""Multiples of the profile's volume shown in the text table."""


@dataclass(frozen=True)
class Curve:
    """One eligible architecture's monthly cost at each sampled volume."""

    architecture_id: str
    totals: dict[BandName, tuple[Decimal, ...]]
    """Monthly total per band, one value per entry of `CostCurves.volumes`."""


@dataclass(frozen=True)
class CostCurves:
    """Cost against volume for every eligible architecture of one advice."""

    currency: Currency
    profile_volume: Fraction
    """The profile's queries per month."""
    volumes: tuple[Fraction, ...]
    """Sampled monthly query volumes, increasing."""
    curves: tuple[Curve, ...]

    def at(self, architecture_id: str, volume: Fraction, band: BandName = "typical") -> Decimal:
        """The total at one of the sampled volumes."""
        curve = next(c for c in self.curves if c.architecture_id == architecture_id)
        return curve.totals[band][self.volumes.index(volume)]


def _models(
    profile: OrganisationProfile, kb: KnowledgeBase, as_of: dt.date
) -> tuple[Fraction, dict[str, CostModel]]:
    """The engine's cost model of every eligible architecture (the venues it chose)."""
    exposures = venue_exposures(profile, kb, as_of)
    refusals, _ = admissibility(profile, kb, as_of, exposures)
    pricing = Pricing(kb, profile.finance.currency, as_of)
    w = workload_of(profile, kb)
    models: dict[str, CostModel] = {}
    for architecture in kb.architectures:
        result = eligibility(architecture, profile, kb, as_of, refusals)
        if result.eligible:
            models[architecture.id] = choose(result, profile, kb, w, pricing).model
    return w.volume, models


def _sample_volumes(centre: Fraction, points: int) -> tuple[Fraction, ...]:
    """`points` log-spaced volumes from 1/SPAN to SPAN times `centre`, plus the table's."""
    low, high = max(Fraction(1), centre / SPAN), centre * SPAN
    ratio = math.log(float(high / low))
    grid = {low, high, centre, *table_volumes(centre)}
    for i in range(1, points - 1):
        grid.add(Fraction(round(float(low) * math.exp(ratio * i / (points - 1)))))
    return tuple(sorted(v for v in grid if low <= v <= high))


def _totals(model: CostModel, volumes: tuple[Fraction, ...]) -> dict[BandName, tuple[Decimal, ...]]:
    """Totals per band; the band is kept around typical, as the engine presents it."""
    typical = tuple(model.presented_total(v, "typical") for v in volumes)
    low = tuple(
        min(model.presented_total(v, "low"), t) for v, t in zip(volumes, typical, strict=True)
    )
    high = tuple(
        max(model.presented_total(v, "high"), t) for v, t in zip(volumes, typical, strict=True)
    )
    return {"low": low, "typical": typical, "high": high}


def cost_curves(
    profile: OrganisationProfile,
    *,
    kb: KnowledgeBase,
    as_of: dt.date,
    points: int = 241,
    volumes: tuple[Fraction, ...] | None = None,
) -> CostCurves:
    """Monthly cost of each eligible architecture from 1/100 to 100 times the profile's volume.

    `points` log-spaced volumes (dense enough to show the GPU and host steps), or exactly
    `volumes` when given. Peak load scales with volume, as in the break-even search.
    """
    volume, models = _models(profile, kb, as_of)
    centre = volume if volume > 0 else Fraction(1)
    sampled = volumes if volumes is not None else _sample_volumes(centre, points)
    curves = tuple(
        Curve(architecture_id=aid, totals=_totals(model, sampled))
        for aid, model in sorted(models.items())
    )
    return CostCurves(
        currency=profile.finance.currency,
        profile_volume=volume,
        volumes=tuple(sampled),
        curves=curves,
    )


def table_volumes(profile_volume: Fraction) -> tuple[Fraction, ...]:
    """The volumes of the text table: `TABLE_FACTORS` times the profile's volume (at least 1)."""
    centre = profile_volume if profile_volume > 0 else Fraction(1)
    return tuple(sorted({max(Fraction(1), centre * f) for f in TABLE_FACTORS}))
