"""Cost as a function of monthly query volume: linear usage lines plus step-counted GPUs/hosts.

Peak load scales with volume (the shape of the traffic is kept), so every count is
`max(minimum, ceil(a*v + b), ...)` and every line's cost is piecewise linear in `v`. That lets
break-even volumes be found exactly rather than by sampling.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass, field
from decimal import ROUND_HALF_EVEN, Decimal
from fractions import Fraction
from functools import cached_property
from typing import Literal

BandName = Literal["low", "typical", "high"]
BANDS: tuple[BandName, ...] = ("low", "typical", "high")
QUANTUM = Decimal("0.000001")
"""Quantities and derived unit prices are kept to six decimals."""

MAX_BREAKPOINTS = 200_000


def q6(value: Fraction | Decimal) -> Decimal:
    """Round to six decimals (half to even)."""
    if isinstance(value, Fraction):
        value = Decimal(value.numerator) / Decimal(value.denominator)
    return value.quantize(QUANTUM, rounding=ROUND_HALF_EVEN)


@dataclass(frozen=True)
class Count:
    """A number of GPUs or hosts: `max(minimum, ceil(a*v + b) for each (a, b) term)`."""

    minimum: int
    terms: tuple[tuple[Fraction, Fraction], ...] = ()

    def at(self, v: Fraction) -> int:
        n = self.minimum
        for a, b in self.terms:
            n = max(n, math.ceil(a * v + b))
        return n

    def breakpoints(self, lo: Fraction, hi: Fraction) -> set[Fraction]:
        """Volumes in [lo, hi] after which the count may step up."""
        out: set[Fraction] = set()
        for a, b in self.terms:
            if a <= 0:
                continue
            k_lo, k_hi = math.floor(a * lo + b), math.floor(a * hi + b)
            if k_hi - k_lo > MAX_BREAKPOINTS:
                raise OverflowError("too many steps to search exactly")
            for k in range(max(k_lo, self.minimum), k_hi + 1):
                v = (k - b) / a
                if lo <= v <= hi:
                    out.add(v)
        return out


@dataclass(frozen=True)
class Line:
    """One cost line. Quantity = per_query*v + fixed + per_count*max(0, count(v) - owned)."""

    name: str
    role: str | None
    kind: Literal["usage", "always_on"]
    unit: str
    source: str
    prices: dict[BandName, Decimal]
    """Unit price in the report currency, for each end of the band."""
    per_query: Fraction = Fraction(0)
    fixed: Fraction = Fraction(0)
    count: Count | None = None
    per_count: Fraction = Fraction(0)
    owned: int = 0

    @cached_property
    def exact_prices(self) -> dict[BandName, Fraction]:
        """Unit prices as exact fractions (cached: converting a Decimal is not cheap)."""
        return {band: Fraction(price) for band, price in self.prices.items()}

    def quantity(self, v: Fraction) -> Fraction:
        q = self.per_query * v + self.fixed
        if self.count is not None:
            q += self.per_count * max(0, self.count.at(v) - self.owned)
        return q


@dataclass(frozen=True)
class CostModel:
    lines: tuple[Line, ...] = field(default_factory=tuple)

    def total(self, v: Fraction, band: BandName = "typical") -> Fraction:
        return sum((line.quantity(v) * line.exact_prices[band] for line in self.lines), Fraction(0))

    def presented_total(self, v: Fraction, band: BandName) -> Decimal:
        """The total as the breakdown shows it: quantities rounded, then priced exactly."""
        return sum((q6(line.quantity(v)) * line.prices[band] for line in self.lines), Decimal(0))

    def breakpoints(self, lo: Fraction, hi: Fraction) -> set[Fraction]:
        out: set[Fraction] = set()
        for line in self.lines:
            if line.count is not None:
                out |= line.count.breakpoints(lo, hi)
        return out

    def linear(self, v: Fraction, band: BandName = "typical") -> tuple[Fraction, Fraction]:
        """Slope and intercept of the total on the step containing `v`."""
        slope = sum((line.per_query * line.exact_prices[band] for line in self.lines), Fraction(0))
        return slope, self.total(v, band) - slope * v


def crossings(a: CostModel, b: CostModel, lo: Fraction, hi: Fraction) -> list[Fraction]:
    """Volumes in [lo, hi] at which the order of two typical totals flips, exactly.

    Between consecutive breakpoints both totals are linear; a flip happens either inside such an
    interval (the root of the difference) or at a breakpoint, where a step changes the order.
    """
    points = sorted({lo, hi} | a.breakpoints(lo, hi) | b.breakpoints(lo, hi))
    found: list[Fraction] = []
    previous_sign = 0
    for left, right in itertools.pairwise(points):
        mid = (left + right) / 2
        sa, ia = a.linear(mid)
        sb, ib = b.linear(mid)
        slope, intercept = sb - sa, ib - ia  # difference b - a on (left, right]
        start = slope * left + intercept
        end = slope * right + intercept
        start_sign = (start > 0) - (start < 0)
        if previous_sign and start_sign and start_sign != previous_sign:
            found.append(left)
        end_sign = (end > 0) - (end < 0)
        if start_sign and end_sign and start_sign != end_sign:
            found.append(-intercept / slope)
        if end_sign:
            previous_sign = end_sign
        elif start_sign:
            previous_sign = start_sign
    return found
