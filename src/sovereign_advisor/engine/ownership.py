"""Money over time: what is bought upfront, what is paid every month, and the total cost of
ownership over 3 and 5 years.

The monthly totals spread every purchase over its life (`gpu.life_months`); a controller also
needs the cash view. For each end of the band:

- capital expenditure = the units bought (owned ones excluded) x their upfront price;
- monthly operating cost = the monthly total less the amortisation of those purchases;
- TCO over H months = capex x the purchases the horizon holds (one, plus a refresh each time
  the life ends inside it: ceil(H / life)) + the monthly operating cost x H. No residual
  (resale) value is counted: it is uncertain and the conservative reading is none.
"""

from __future__ import annotations

import math
from decimal import Decimal

from sovereign_advisor.advice import CostBand, TotalCostOfOwnership

from .costmodel import BANDS, BandName
from .sizing import Workload
from .venue_choice import Choice

TCO_YEARS = (3, 5)
"""Horizons of the total cost of ownership, in years."""


def ownership(
    choice: Choice, w: Workload, totals: dict[BandName, Decimal]
) -> tuple[CostBand, CostBand, tuple[TotalCostOfOwnership, ...]]:
    """(capex, monthly operating cost, TCO per horizon) of a chosen architecture at the
    profile's volume; `totals` are its presented monthly totals per band."""
    capex: dict[BandName, Decimal] = {}
    opex: dict[BandName, Decimal] = {}
    refreshes: dict[BandName, dict[int, Decimal]] = {}
    for b in BANDS:
        bought, amortised = Decimal(0), Decimal(0)
        per_horizon = dict.fromkeys(TCO_YEARS, Decimal(0))
        for line in choice.model.lines_at(w.volume):
            if line.upfront is None or line.life is None:
                continue
            units = line.rounded_quantity(w.volume, b)
            bought += units * line.upfront[b]
            amortised += units * line.prices[b]
            for years in TCO_YEARS:
                purchases = math.ceil(years * 12 / line.life[b])
                per_horizon[years] += units * line.upfront[b] * purchases
        capex[b], opex[b], refreshes[b] = bought, totals[b] - amortised, per_horizon
    # the ends of a band are kept around typical, as the monthly totals are
    for part in (capex, opex):
        part["low"], part["high"] = (
            min(part["low"], part["typical"]),
            max(part["high"], part["typical"]),
        )
    tco = []
    for years in TCO_YEARS:
        total = {b: refreshes[b][years] + opex[b] * years * 12 for b in BANDS}
        total["low"], total["high"] = (
            min(total["low"], total["typical"]),
            max(total["high"], total["typical"]),
        )
        tco.append(TotalCostOfOwnership(years=years, total=CostBand(**total)))
    return CostBand(**capex), CostBand(**opex), tuple(tco)
