"""Step 5, break-even: the volumes at which the cost order of two architectures changes, found
exactly on the step curves of their cost models."""

from __future__ import annotations

import bisect
from decimal import ROUND_HALF_EVEN, Decimal
from fractions import Fraction
from itertools import combinations

from sovereign_advisor.advice import (
    BreakEven,
)

from .costmodel import CostModel, Piece, Steps, crossings_of
from .sizing import Workload
from .venue_choice import Choice

SEARCH_FACTOR = 10
"""Break-even volumes are searched from 1/10 to 10 times the profile's volume."""

DECISIVE_BELOW = Fraction(4, 5)
DECISIVE_ABOVE = Fraction(5, 4)
"""A crossing is a break-even when the order differs at 0.8x and at 1.25x of it (and right
next to it, in the same direction); crossings closer together than that are GPU steps of two
nearly equal totals, not a change of order."""


_NUDGES = (1 - Fraction(1, 10**6), Fraction(1), 1 + Fraction(1, 10**6))


def _value(model: CostModel, pieces: list[Piece], v: Fraction) -> Fraction:
    """The typical total at `v`, read from the pieces when they cover it."""
    if pieces and pieces[0][0] < v <= pieces[-1][1]:
        _, _, slope, intercept = pieces[bisect.bisect_left(pieces, v, key=lambda p: p[1])]
        return slope * v + intercept
    return model.total(v)


class _Crossings:
    """The crossings of two architectures' typical totals over the searched range, and how the
    order runs around each (between two neighbouring crossings it is constant)."""

    def __init__(
        self,
        a: tuple[CostModel, list[Piece]],
        b: tuple[CostModel, list[Piece]],
        found: list[Fraction],
        bounds: tuple[Fraction, Fraction],
        volume: Fraction,
    ) -> None:
        self.a, self.b, self.found, self.bounds, self.volume = a, b, found, bounds, volume

    def gap(self, x: Fraction) -> Fraction:
        """Typical total of `a` minus that of `b` at volume `x`."""
        return _value(*self.a, x) - _value(*self.b, x)

    def _sides(self, near: tuple[Fraction, ...], far: tuple[Fraction, ...]) -> bool:
        """`a` cheaper at every `near` volume (the profile's side of crossing i), `b` at every
        `far` one."""
        return all(self.gap(x) < 0 for x in near) and all(self.gap(x) > 0 for x in far)

    def _next_to(self, i: int) -> tuple[Fraction, Fraction]:
        """A volume right below and right above crossing i: the midpoints to the neighbouring
        crossings (or to the ends of the searched range)."""
        v, found = self.found[i], self.found
        before = ((found[i - 1] if i > 0 else self.bounds[0]) + v) / 2
        after = ((found[i + 1] if i + 1 < len(found) else self.bounds[1]) + v) / 2
        return before, after

    def local(self, i: int) -> bool:
        """The order flips the right way at crossing i: `a` cheaper right next to it on the
        profile's side, `b` right next to it on the far side."""
        before, after = self._next_to(i)
        near, far = (before, after) if self.found[i] > self.volume else (after, before)
        return self._sides((near,), (far,))

    def decisive(self, i: int) -> bool:
        """Crossing i flips the order right next to it and also between 0.8x and 1.25x of it.
        GPU steps are evenly spaced, so 0.8x of one step can be exactly another: each of 0.8x
        and 1.25x is read a millionth either way too, and all must agree."""
        v = self.found[i]
        low = tuple(v * DECISIVE_BELOW * f for f in _NUDGES)
        high = tuple(v * DECISIVE_ABOVE * f for f in _NUDGES)
        near, far = (low, high) if v > self.volume else (high, low)
        return self.local(i) and self._sides(near, far)

    def final(self, i: int) -> bool:
        """Crossing i is the last on its side of the profile's volume and flips the order the
        right way: from it to the end of the searched range the other architecture stays
        cheaper (the crossings nearer the profile are GPU steps of two nearly equal totals)."""
        last = i == len(self.found) - 1 if self.found[i] > self.volume else i == 0
        return last and self.local(i)


def break_even(ranked: list[tuple[str, Choice]], w: Workload) -> list[BreakEven]:
    """For each pair of eligible architectures, the volume nearest the profile's where the order
    of their typical totals flips for good (peak load scaled with volume), exactly."""
    out: list[BreakEven] = []
    volume = w.volume if w.volume > 0 else Fraction(1)
    low, high = volume / SEARCH_FACTOR, volume * SEARCH_FACTOR
    span = f"{float(low):,.0f} to {float(high):,.0f} queries a month"
    pieces: dict[str, list[Piece] | None] = {}
    shared: Steps = {}  # the architectures' pools may share counts
    for aid, choice in ranked:
        try:
            pieces[aid] = choice.model.pieces(low, high, shared=shared)
        except OverflowError:
            pieces[aid] = None
    for (id_a, a), (id_b, b) in combinations(ranked, 2):
        pa, pb = pieces[id_a], pieces[id_b]
        if pa is None or pb is None:
            out.append(
                BreakEven(
                    architectures=(id_a, id_b),
                    queries_per_month=None,
                    note=f"too many GPU steps from {span} to search exactly",
                )
            )
            continue
        found = crossings_of(pa, pb, low, high)
        crossing = _Crossings((a.model, pa), (b.model, pb), found, (low, high), volume)
        by_nearness = sorted(range(len(found)), key=lambda i: (abs(found[i] - volume), found[i]))
        pick = next((i for i in by_nearness if crossing.decisive(i)), None)
        after_sawtooth = pick is None  # then only the last crossing on its side can count
        if after_sawtooth:
            pick = next((i for i in by_nearness if crossing.final(i)), None)
        if pick is None:
            touching = (
                f"; their totals cross {len(found)} time(s) within GPU-step noise of each other "
                "but the order does not change for good"
                if found
                else ""
            )
            out.append(
                BreakEven(
                    architectures=(id_a, id_b),
                    queries_per_month=None,
                    note=f"{id_a} stays cheaper from {span}{touching}",
                )
            )
            continue
        nearest = found[pick]
        shown = (Decimal(nearest.numerator) / Decimal(nearest.denominator)).quantize(
            Decimal("0.01"), rounding=ROUND_HALF_EVEN
        )
        direction = "more" if nearest > volume else "fewer"
        others = ""
        if after_sawtooth:
            end = f"{float(high if nearest > volume else low):,.0f}"
            others = (
                f" and stays so up to {end} (the totals cross {len(found) - 1} time(s) before, "
                "GPU steps of two nearly equal totals)"
            )
        elif len(found) > 1:
            others = f"; the totals cross {len(found) - 1} other time(s) from {span}"
        out.append(
            BreakEven(
                architectures=(id_a, id_b),
                queries_per_month=shown,
                note=f"with {direction} queries than this, {id_b} becomes the cheaper{others}",
            )
        )
    return out
