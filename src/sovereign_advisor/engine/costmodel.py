"""Cost as a function of monthly query volume: linear usage lines plus step-counted GPUs/hosts.

Peak load scales with volume (the shape of the traffic is kept), so every count is
`max(minimum, ceil(a*v + b), ...)` and every line's cost is piecewise linear in `v`. Where an
architecture may choose between venues or GPU types, its cost is the lower envelope of the
alternatives, still piecewise linear. That lets break-even volumes be found exactly rather than
by sampling: the functions are turned into explicit pieces and compared piece by piece.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import ROUND_HALF_EVEN, Decimal
from fractions import Fraction
from functools import cached_property
from typing import Any, Literal, TypeVar

BandName = Literal["low", "typical", "high"]
BANDS: tuple[BandName, ...] = ("low", "typical", "high")
V = TypeVar("V")


class Bands(Mapping[BandName, V]):
    """A value for each end of the band: the typical one given, the low and high ones computed
    on first use (`make` gives both), so that an alternative never chosen, of which only the
    typical band is read, never computes its ends. Reading any end, iterating, comparing or
    pickling computes them; the values are those an eager dictionary would hold.

    Laziness must not hide an error: a caller makes the ends lazy only when computing them
    cannot raise (`sizing.pool_sizes` checks it), and computes them at once otherwise."""

    __slots__ = ("_ends", "_make", "typical")

    def __init__(self, typical: V, make: Callable[[], tuple[V, V]]) -> None:
        self.typical = typical
        self._make = make
        self._ends: tuple[V, V] | None = None

    @staticmethod
    def of(value: Callable[[BandName], V]) -> Bands[V]:
        """`{b: value(b) for b in BANDS}`, the low and high ends computed on first use."""
        return Bands(value("typical"), lambda: (value("low"), value("high")))

    @staticmethod
    def eager(low: V, typical: V, high: V) -> Bands[V]:
        """The three values, already computed."""
        bands = Bands(typical, lambda: (low, high))
        bands._ends = (low, high)
        return bands

    @property
    def computed(self) -> bool:
        """Whether the low and high ends have been computed."""
        return self._ends is not None

    def _both(self) -> tuple[V, V]:
        ends = self._ends
        if ends is None:  # two threads reading at once may both compute them: the same values
            ends = self._ends = self._make()
        return ends

    def __getitem__(self, band: BandName) -> V:
        if band == "typical":
            return self.typical
        if band == "low":
            return self._both()[0]
        if band == "high":
            return self._both()[1]
        raise KeyError(band)

    def __iter__(self) -> Iterator[BandName]:
        return iter(BANDS)

    def __len__(self) -> int:
        return len(BANDS)

    def __repr__(self) -> str:
        return repr(dict(self.items()))

    def __reduce__(self) -> tuple[Any, ...]:
        return dict, (dict(self.items()),)


QUANTUM = Decimal("0.000001")
"""Quantities and derived unit prices are kept to six decimals."""

MAX_BREAKPOINTS = 20_000
"""Most GPU-count steps one sizing term may take in the searched volume range (1/10 to 10
times the profile's): beyond, the break-even is reported as too large to search exactly instead
of being searched (at 200,000 the largest profiles within the input limits took 25-30 s; at
20,000, under 3 s, and no example or scenario profile comes near it)."""

Piece = tuple[Fraction, Fraction, Fraction, Fraction]
"""(left, right, slope, intercept): the function is `slope*v + intercept` on (left, right]."""


def q6(value: Fraction | Decimal) -> Decimal:
    """Round to six decimals (half to even)."""
    if isinstance(value, Fraction):
        return q6_ratio(value.numerator, value.denominator)
    return value.quantize(QUANTUM, rounding=ROUND_HALF_EVEN)


def q6_ratio(n: int, d: int) -> Decimal:
    """`q6(Fraction(n, d))`, `d` > 0, with `n / d` in any terms: the Decimal quotient is
    correctly rounded, so it depends on the value alone, and so does its rounding."""
    return (Decimal(n) / Decimal(d)).quantize(QUANTUM, rounding=ROUND_HALF_EVEN)


@dataclass(frozen=True)
class Count:
    """A number of GPUs (or of the servers holding them) as a function of volume.

    The load needs `m = unit * max(minimum, ceil(a*v + b) for each (a, b) term)` GPUs (`unit`
    GPUs per model replica; the terms count replicas). They sit in servers of `per_server`
    GPUs: each of `sites` sites holds `ceil(m / per_server)` servers, and `spare` servers are
    added for redundancy. A `fully_populated` server (an HGX baseboard, or a rented replica)
    always holds `per_server` GPUs; a PCIe server holds what it needs, a spare as many as the
    fullest server (`min(m, per_server)`), so that it can take any one server's place.

    `owned` GPUs (in the organisation's own servers) serve first: they cover the GPUs the load
    and the spare capacity need (`sites * m + spare * min(m, per_server)`), and only what they
    cannot cover is bought, in whole servers of the configuration.

    `of` says which number `at` gives: every GPU or server of the pool, or those to buy. Each
    is nondecreasing in `m`, so the count steps only where `m` does.
    """

    minimum: int
    terms: tuple[tuple[Fraction, Fraction], ...] = ()
    unit: int = 1
    per_server: int = 1
    fully_populated: bool = True
    sites: int = 1
    spare: int = 0
    owned: int = 0
    of: Literal["gpus", "servers", "bought_gpus", "bought_servers", "owned_gpus"] = "gpus"

    def of_load(self, replicas: int) -> int:
        """The count (as `of` says) when the load needs `replicas`."""
        m = replicas * self.unit
        k = self.per_server
        if self.owned <= 0:
            servers = self.sites * -(-m // k) + self.spare
            if self.of == "owned_gpus":
                return 0
            if self.of in ("servers", "bought_servers"):
                return servers
            if self.fully_populated:
                return servers * k
            return self.sites * m + self.spare * min(m, k)
        needed = self.sites * m + self.spare * min(m, k)
        used = min(self.owned, needed)
        bought_servers = -(-(needed - used) // k)
        bought = bought_servers * k if self.fully_populated else needed - used
        return {
            "gpus": used + bought,
            "servers": -(-used // k) + bought_servers,
            "bought_gpus": bought,
            "bought_servers": bought_servers,
            "owned_gpus": used,
        }[self.of]

    def but(self, **changes: Any) -> Count:
        """A copy with some of the fields saying how the GPUs are counted changed (never the
        load: `minimum`, `terms`, `unit`), as `dataclasses.replace` gives, without its
        introspection and keeping the integer terms already read (pools derive several counts
        of one load for every end of the band)."""
        assert not changes.keys() & {"minimum", "terms", "unit"}
        if "_last" not in self.__dict__:  # the copies share the replicas last computed
            self.__dict__["_last"] = [None]
        state = dict(self.__dict__)
        state.pop("_plain", None)  # they read the fields that change
        state.pop("_hash", None)
        state.update(changes)
        new = object.__new__(Count)
        new.__dict__.update(state)
        return new

    def __hash__(self) -> int:
        # the dataclass's hash would hash every Fraction of the terms at each use (break-even
        # keys its caches by counts): computed once, from the terms in lowest terms as integers
        h: int | None = self.__dict__.get("_hash")
        if h is None:
            h = self.__dict__["_hash"] = hash(
                (
                    self.minimum,
                    self._integer_terms,
                    self.unit,
                    self.per_server,
                    self.fully_populated,
                    self.sites,
                    self.spare,
                    self.owned,
                    self.of,
                )
            )
        return h

    def __getstate__(self) -> dict[str, Any]:
        # a string's hash differs between processes: a copy sent to another computes its own
        state = dict(self.__dict__)
        state.pop("_hash", None)
        return state

    @cached_property
    def _integer_terms(self) -> tuple[tuple[int, int, int, int], ...]:
        return tuple(
            (a.numerator, a.denominator, b.numerator, b.denominator) for a, b in self.terms
        )

    def at(self, v: Fraction) -> int:
        return self.at_ratio(v.numerator, v.denominator)

    @cached_property
    def _last(self) -> list[tuple[int, int, int] | None]:
        """The last volume `at_ratio` read and the replicas at it, shared by the counts `but`
        derives (their load is the same): a pool's lines, band totals and breakdown read one
        volume again and again. One tuple, replaced whole, so that a reader never sees a
        volume with another volume's replicas."""
        return [None]

    def at_ratio(self, vn: int, vd: int) -> int:
        """The count at volume `vn / vd` (`vd` > 0, not necessarily in lowest terms)."""
        memo = self._last
        last = memo[0]
        if last is not None and last[0] == vn and last[1] == vd:
            n = last[2]
        else:
            n = self.replicas_at_ratio(vn, vd)
            memo[0] = (vn, vd, n)
        if self._plain:
            return n * self.unit
        return self.of_load(n)

    def replicas_at_ratio(self, vn: int, vd: int) -> int:
        """Replicas the load needs at volume `vn / vd`: what every count of the same terms
        (GPUs, servers, those to buy) derives from."""
        # ceil(a*v + b) in integers: Fraction arithmetic dominates break-even search otherwise
        n = self.minimum
        for an, ad, bn, bd in self._integer_terms:
            den = ad * vd * bd
            n = max(n, -((-(an * vn * bd + bn * ad * vd)) // den))
        return n

    @cached_property
    def _plain(self) -> bool:
        return (
            self.of in ("gpus", "bought_gpus")
            and self.sites == 1
            and self.spare == 0
            and self.per_server == 1
            and self.owned == 0
        )

    def breakpoints(self, lo: Fraction, hi: Fraction) -> list[tuple[float, Fraction]]:
        """Volumes in [lo, hi] after which the count may step up, each with its float (for
        `ordered_points`), possibly repeated."""
        out: list[tuple[float, Fraction]] = []
        for a, b in self.terms:
            if a <= 0:
                continue
            at_lo = a * lo + b
            k_lo, k_hi = math.floor(at_lo), math.floor(a * hi + b)
            if k_hi - k_lo > MAX_BREAKPOINTS:
                raise OverflowError("too many steps to search exactly")
            # v = (k - b) / a = (k*bd - bn)*ad / (bd*an), built without Fraction arithmetic; it
            # rises with k, so every k above k_lo gives lo < v <= hi, and k_lo gives v <= lo,
            # equal only when a*lo + b is a whole number
            an, ad, bn, bd = a.numerator, a.denominator, b.numerator, b.denominator
            den = bd * an
            first = k_lo if at_lo.denominator == 1 else k_lo + 1
            for k in range(max(first, self.minimum), k_hi + 1):
                n = (k * bd - bn) * ad
                out.append((n / den, Fraction(n, den)))  # int / int is correctly rounded
        return out


ZERO = Fraction(0)


@dataclass(frozen=True)
class Quantity:
    """Monthly quantity = per_query*v + fixed + per_count*max(0, count(v) - owned), plus
    `also`: more stepped terms `(count, per_count, owned)` of the same form (e.g. the power of a
    pool's GPUs and of the servers holding them, in one kWh line)."""

    per_query: Fraction = ZERO
    fixed: Fraction = ZERO
    count: Count | None = None
    per_count: Fraction = ZERO
    owned: int = 0
    also: tuple[tuple[Count, Fraction, int], ...] = ()

    def at(self, v: Fraction) -> Fraction:
        q = self.per_query * v + self.fixed
        for count, per_count, owned in self.stepped:
            q += per_count * max(0, count.at(v) - owned)
        return q

    @cached_property
    def _ratios(self) -> tuple[int, int, int, int, tuple[tuple[Count, int, int, int], ...]]:
        pq, fixed = self.per_query, self.fixed
        return (
            pq.numerator,
            pq.denominator,
            fixed.numerator,
            fixed.denominator,
            tuple((c, pc.numerator, pc.denominator, owned) for c, pc, owned in self.stepped),
        )

    def ratio_at(self, vn: int, vd: int) -> tuple[int, int]:
        """`at(vn / vd)` as an unreduced numerator and denominator (`vd` > 0)."""
        pq_n, pq_d, fx_n, fx_d, stepped = self._ratios
        n, d = pq_n * vn * fx_d + fx_n * pq_d * vd, pq_d * vd * fx_d
        for count, pc_n, pc_d, owned in stepped:
            k = count.at_ratio(vn, vd)
            if k > owned:
                n, d = n * pc_d + pc_n * (k - owned) * d, d * pc_d
        return n, d

    @property
    def stepped(self) -> tuple[tuple[Count, Fraction, int], ...]:
        """Every stepped term: (count, per_count, owned)."""
        if self.count is None:
            return self.also
        return ((self.count, self.per_count, self.owned), *self.also)


def banded(
    typical: Quantity, low: Quantity | None = None, high: Quantity | None = None
) -> dict[BandName, Quantity]:
    """Quantities for the three ends of the band (low and high default to typical)."""
    return {"low": low or typical, "typical": typical, "high": high or typical}


@dataclass(frozen=True)
class Line:
    """One cost line: a quantity (for each end of the band) times a unit price."""

    name: str
    role: str | None
    kind: Literal["usage", "always_on"]
    unit: str
    source: str
    prices: dict[BandName, Decimal]
    """Unit price in the report currency, for each end of the band."""
    quantities: Mapping[BandName, Quantity]
    """Monthly quantity as a function of volume, for each end of the band."""
    scales_with: tuple[str, ...] = ()
    """Inputs (price record, FX or assumption ids) the line's cost is proportional to."""
    inverse_with: tuple[str, ...] = ()
    """Inputs the line's cost is inversely proportional to (e.g. a depreciation life)."""
    upfront: dict[BandName, Decimal] | None = None
    """For purchased equipment: the price of one unit bought (the line's unit price is it
    spread over `life` months), for each end of the band."""
    life: dict[BandName, Fraction] | None = None
    """Months the purchased equipment is used before it is replaced, for each end of the band."""

    @cached_property
    def exact_prices(self) -> dict[BandName, Fraction]:
        """Unit prices as exact fractions (cached: converting a Decimal is not cheap)."""
        return {band: Fraction(price) for band, price in self.prices.items()}

    def quantity(self, v: Fraction, band: BandName = "typical") -> Fraction:
        return self.quantities[band].at(v)

    def rounded_quantity(self, v: Fraction, band: BandName = "typical") -> Decimal:
        """`q6(self.quantity(v, band))`, the quantity as the breakdown shows it, computed in
        integers; the last volume's is kept per end of the band (the band totals, the
        breakdown and the cash view read it at the profile's volume, the same object)."""
        memo = self._rounded
        hit = memo.get(band)
        if hit is not None and hit[0] is v:
            return hit[1]
        found = q6_ratio(*self.quantities[band].ratio_at(v.numerator, v.denominator))
        memo[band] = (v, found)
        return found

    @cached_property
    def _rounded(self) -> dict[BandName, tuple[Fraction, Decimal]]:
        return {}

    def cost(self, v: Fraction, band: BandName = "typical") -> Fraction:
        return self.quantity(v, band) * self.exact_prices[band]

    @property
    def slope(self) -> Fraction:
        """d(typical cost)/d(volume) away from the steps."""
        return self.quantities["typical"].per_query * self.exact_prices["typical"]

    @cached_property
    def typical_floats(self) -> tuple[float, float, float, tuple[tuple[Count, float, int], ...]]:
        """(price, per query, fixed, stepped terms) of the typical band as floats, to order
        alternatives cheaply (`Group.chosen` decides exactly whenever floats cannot)."""
        q = self.quantities["typical"]
        return (
            float(self.prices["typical"]),  # correctly rounded, as float(Fraction) is
            float(q.per_query),
            float(q.fixed),
            tuple((count, float(per_count), owned) for count, per_count, owned in q.stepped),
        )


def lines_total(lines: Iterable[Line], v: Fraction, band: BandName = "typical") -> Fraction:
    return sum((line.cost(v, band) for line in lines), ZERO)


def _cheapest_by_floats(options: Sequence[Sequence[Line]], v: Fraction) -> int | None:
    """The alternative with the lowest typical total at `v`, when floats settle it beyond
    doubt (`_settled`: the counts are exact integers, every other float is correctly rounded
    and a total takes a few dozen operations), else None (ties included)."""
    try:
        fv, vn, vd = float(v), v.numerator, v.denominator
        counts: dict[int, int] = {}
        totals: list[tuple[float, float]] = []
        for option in options:
            value, size = 0.0, 0.0
            for line in option:
                price, per_query, fixed, stepped = line.typical_floats
                q, q_size = per_query * fv + fixed, abs(per_query * fv) + abs(fixed)
                for count, per_count, owned in stepped:
                    n = counts.get(id(count))
                    if n is None:
                        n = counts[id(count)] = count.at_ratio(vn, vd)
                    if n > owned:
                        q += per_count * (n - owned)
                        q_size += abs(per_count * (n - owned))
                value += q * price
                size += q_size * abs(price)
            totals.append((value, size))
    except OverflowError:
        return None
    return _settled(totals)


@dataclass(frozen=True)
class Group:
    """Lines of one decision (a role's venue, a GPU pool's venue and GPU type): the alternative
    with the lowest typical total is chosen at each volume, the first on a tie."""

    options: tuple[tuple[Line, ...], ...]

    def chosen(self, v: Fraction) -> int:
        """The alternative chosen at `v`; the last volume's choice is kept (the venue choice
        and the lines the advice reads ask at the profile's volume, the same object)."""
        if len(self.options) == 1:
            return 0
        memo = self._last_chosen
        last = memo[0]
        if last is not None and last[0] is v:
            return last[1]
        found = _cheapest_by_floats(self.options, v)
        if found is None:
            totals = [lines_total(option, v) for option in self.options]
            found = totals.index(min(totals))
        memo[0] = (v, found)
        return found

    @cached_property
    def _last_chosen(self) -> list[tuple[Fraction, int] | None]:
        return [None]

    def relabelled(self, options: tuple[tuple[Line, ...], ...]) -> Group:
        """The group with lines that differ only in what they say they scale with (the same
        quantities and prices, so the same choice at every volume): the choice made is kept."""
        group = Group(options)
        group.__dict__["_last_chosen"] = [self._last_chosen[0]]
        return group

    def pieces(self, lo: Fraction, hi: Fraction, shared: Steps | None = None) -> list[Piece]:
        shared = {} if shared is None else shared
        option_pieces = [pieces_of(option, lo, hi, shared) for option in self.options]
        if len(option_pieces) == 1:
            return option_pieces[0]
        return lower_envelope(option_pieces, lo, hi)


@dataclass(frozen=True)
class CostModel:
    """An architecture's cost: a sum of decisions, each the cheapest of its alternatives."""

    groups: tuple[Group, ...] = field(default_factory=tuple)

    def lines_at(self, v: Fraction) -> tuple[Line, ...]:
        """The lines of the alternatives chosen at volume `v` (remembered: the breakdown, the
        bands and sensitivity all read them at the profile's volume)."""
        lines = self._lines_at.get(v)
        if lines is None:
            lines = tuple(line for g in self.groups for line in g.options[g.chosen(v)])
            if len(self._lines_at) < 16:  # a few volumes are read again; sweeps are not kept
                self._lines_at[v] = lines
        return lines

    @cached_property
    def _lines_at(self) -> dict[Fraction, tuple[Line, ...]]:
        return {}

    def total(self, v: Fraction, band: BandName = "typical") -> Fraction:
        return lines_total(self.lines_at(v), v, band)

    def presented_total(self, v: Fraction, band: BandName) -> Decimal:
        """The total as the breakdown shows it: quantities rounded, then priced exactly."""
        return sum(
            (line.rounded_quantity(v, band) * line.prices[band] for line in self.lines_at(v)),
            Decimal(0),
        )

    def pieces(self, lo: Fraction, hi: Fraction, shared: Steps | None = None) -> list[Piece]:
        """The typical total on [lo, hi] as explicit linear pieces. `shared` keeps the steps of
        the counts found (see `Steps`) for the other cost models of the same advice."""
        shared = {} if shared is None else shared
        return add_pieces([g.pieces(lo, hi, shared) for g in self.groups], lo, hi)


def pieces_of(
    lines: Sequence[Line], lo: Fraction, hi: Fraction, shared: Steps | None = None
) -> list[Piece]:
    """Typical cost of a fixed set of lines as linear pieces on [lo, hi]. Products and sums
    are taken in integers (unreduced numerators and denominators), one Fraction per value."""
    slopes: list[tuple[int, int]] = []
    constants: list[tuple[int, int]] = []
    stepped: dict[Count, list[tuple[int, int, int]]] = {}  # (coefficient n, d; owned)
    for line in lines:
        q, price = line.quantities["typical"], line.exact_prices["typical"]
        pn, pd = price.numerator, price.denominator
        slopes.append((q.per_query.numerator * pn, q.per_query.denominator * pd))
        constants.append((q.fixed.numerator * pn, q.fixed.denominator * pd))
        for count, per_count, owned in q.stepped:
            stepped.setdefault(count, []).append(
                (per_count.numerator * pn, per_count.denominator * pd, owned)
            )
    slope_d = math.lcm(*(d for _, d in slopes))
    slope = Fraction(sum(n * (slope_d // d) for n, d in slopes), slope_d)
    counts = tuple(stepped)
    key = (counts, lo, hi)
    found = None if shared is None else shared.get(key)
    if found is None:
        found = _steps(counts, lo, hi)
        if shared is not None:
            shared[key] = found
    bounds, steps = found

    # the intercept in integers over one common denominator
    denominator = math.lcm(
        *(d for _, d in constants), *(d for uses in stepped.values() for _, d, _ in uses)
    )
    base = sum(n * (denominator // d) for n, d in constants)
    integer_uses = [
        [(n * (denominator // d), owned) for n, d, owned in uses] for uses in stepped.values()
    ]

    def intercept(ns: tuple[int, ...]) -> Fraction:
        total = base
        for n, uses in zip(ns, integer_uses, strict=True):
            for coef, owned in uses:
                if n > owned:
                    total += coef * (n - owned)
        return Fraction(total, denominator)

    out = [
        (left, right, slope, intercept(ns))
        for (left, right), ns in zip(itertools.pairwise(bounds), steps, strict=True)
    ]
    return _merged(out)


Steps = dict[
    tuple[tuple[Count, ...], Fraction, Fraction], tuple[list[Fraction], list[tuple[int, ...]]]
]
"""`_steps` of some counts on [lo, hi], kept for one break-even search: the alternatives of a
GPU-pool decision share their counts (one per GPU type), and so may the pools of two
architectures, so they share their steps too. Kept per search, not per process: a cache that
outlived the advice would make advising the same profile again cheaper than advising a new
one. Callers must not modify the lists."""


def _steps(
    counts: tuple[Count, ...], lo: Fraction, hi: Fraction
) -> tuple[list[Fraction], list[tuple[int, ...]]]:
    """The intervals between the counts' breakpoints on [lo, hi] and each count on each interval
    (read at its midpoint)."""
    # counts of one pool (its GPUs, servers and purchases) share their replica terms: their
    # breakpoints are found once and each is derived from the replicas on every interval
    # (keyed by the integer terms: equal Fractions have equal lowest terms, and hashing a
    # Fraction is not cheap)
    loads: dict[Any, int] = {}
    bases: list[Count] = []
    which = []
    for count in counts:
        key = (count.minimum, count._integer_terms)
        if key not in loads:
            loads[key] = len(bases)
            bases.append(count)
        which.append(loads[key])
    keyed = [(float(lo), lo), (float(hi), hi)]
    for base in bases:
        keyed += base.breakpoints(lo, hi)
    bounds = _distinct_in_order(keyed)
    if len(bounds) == 1:
        bounds = [lo, hi]
    steps = []
    for left, right in itertools.pairwise(bounds):
        ld, rd = left.denominator, right.denominator
        vn, vd = left.numerator * rd + right.numerator * ld, 2 * ld * rd
        replicas = [base.replicas_at_ratio(vn, vd) for base in bases]
        steps.append(
            tuple(
                replicas[i] * count.unit if count._plain else count.of_load(replicas[i])
                for i, count in zip(which, counts, strict=True)
            )
        )
    return bounds, steps


def _distinct_in_order(keyed: list[tuple[float, Fraction]]) -> list[Fraction]:
    """The distinct points of some (float, point) pairs, in increasing order. Rounding to float
    is monotone, so floats order any two points they tell apart; equal points end up next to
    each other, and only points with equal floats are compared exactly."""
    keyed.sort()
    out: list[Fraction] = []
    last = math.nan
    for f, p in keyed:
        if f != last or p != out[-1]:
            out.append(p)
            last = f
    return out


def _merged(pieces: list[Piece]) -> list[Piece]:
    """Join neighbouring pieces on the same line."""
    out: list[Piece] = []
    for piece in pieces:
        # pieces of one list share their boundary objects: `is` settles most joins unhashed
        if out and out[-1][2:] == piece[2:] and (out[-1][1] is piece[0] or out[-1][1] == piece[0]):
            out[-1] = (out[-1][0], piece[1], piece[2], piece[3])
        else:
            out.append(piece)
    return out


def _walk(
    piece_lists: Sequence[list[Piece]], lo: Fraction, hi: Fraction
) -> Iterable[tuple[Fraction, Fraction, list[tuple[Fraction, Fraction]]]]:
    """Common refinement of several piece lists: (left, right, [(slope, intercept) each])."""
    for left, right, indices in _walk_indices(piece_lists, lo, hi):
        yield left, right, [(p[i][2], p[i][3]) for p, i in zip(piece_lists, indices, strict=True)]


def _walk_indices(
    piece_lists: Sequence[list[Piece]], lo: Fraction, hi: Fraction
) -> Iterable[tuple[Fraction, Fraction, list[int]]]:
    """Common refinement of several piece lists: (left, right, index of the piece in each)."""
    # points keyed (float, exact): floats order what they tell apart (rounding is monotone),
    # exact comparison settles float ties, and no Fraction is hashed
    ends = [[(float(p[1]), p[1]) for p in pieces] for pieces in piece_lists]
    lo_key, hi_key = (float(lo), lo), (float(hi), hi)
    inner = sorted(k for keys in ends for k in keys if lo_key < k < hi_key)
    keyed = [lo_key]
    for k in inner:
        if k != keyed[-1]:
            keyed.append(k)
    if hi_key != lo_key:
        keyed.append(hi_key)
    index = [0] * len(piece_lists)
    for (_, left), right_key in itertools.pairwise(keyed):
        for i, keys in enumerate(ends):
            while keys[index[i]] < right_key:
                index[i] += 1
        yield left, right_key[1], list(index)


def add_pieces(piece_lists: Sequence[list[Piece]], lo: Fraction, hi: Fraction) -> list[Piece]:
    """The sum of several piecewise-linear functions, as pieces. Slopes and intercepts are
    summed in integers, over one common denominator each (one Fraction per sum, not one per
    term)."""
    slope_d = math.lcm(*(p[2].denominator for pieces in piece_lists for p in pieces))
    cut_d = math.lcm(*(p[3].denominator for pieces in piece_lists for p in pieces))
    scaled = [
        [
            (
                p[2].numerator * (slope_d // p[2].denominator),
                p[3].numerator * (cut_d // p[3].denominator),
            )
            for p in pieces
        ]
        for pieces in piece_lists
    ]
    out: list[Piece] = []
    for left, right, indices in _walk_indices(piece_lists, lo, hi):
        slope = cut = 0
        for terms, i in zip(scaled, indices, strict=True):
            slope += terms[i][0]
            cut += terms[i][1]
        out.append((left, right, Fraction(slope, slope_d), Fraction(cut, cut_d)))
    return _merged(out)


_FLOAT_MARGIN = 1e-9
"""Relative margin within which float values of two lines are not trusted to order them (the
float error of `s*x + c` from correctly rounded inputs is below 1e-15 of `|s*x| + |c|`)."""


def _settled(values: list[tuple[float, float]]) -> int | None:
    """Index of the lowest of some float values, each with the size of the terms it sums (its
    float error is below 1e-15 of that), when the gap to the next lowest exceeds the margin;
    else None (ties included)."""
    best, best_value, best_size = -1, math.inf, 0.0
    second_value, second_size = math.inf, 0.0
    for i, (value, size) in enumerate(values):
        if value < best_value:
            second_value, second_size = best_value, best_size
            best, best_value, best_size = i, value, size
        elif value < second_value:
            second_value, second_size = value, size
    if second_value - best_value > _FLOAT_MARGIN * (best_size + second_size):
        return best
    return None


def _lowest(floats: list[tuple[float, float]], fx: float) -> int | None:
    """Index of the line lowest at `fx` when floats decide it beyond doubt, else None."""
    return _settled([((p := fs * fx) + fc, abs(p) + abs(fc)) for fs, fc in floats])


def lower_envelope(piece_lists: Sequence[list[Piece]], lo: Fraction, hi: Fraction) -> list[Piece]:
    """Pointwise minimum of several piecewise-linear functions, as pieces.

    Which line is lowest at an interval's ends is read from floats when they decide it beyond
    doubt (a margin far wider than the rounding error), and computed exactly otherwise: the
    result is the exact envelope either way, only cheaper to find.
    """
    out: list[Piece] = []
    floats = [[(float(p[2]), float(p[3])) for p in pieces] for pieces in piece_lists]

    def best(lines: list[tuple[Fraction, Fraction]], x: Fraction) -> int:
        values = [s * x + c for s, c in lines]
        return values.index(min(values))

    def envelope(left: Fraction, right: Fraction, lines: list[tuple[Fraction, Fraction]]) -> None:
        # a line lowest at both ends of an interval is lowest throughout it (linearity)
        first, last = best(lines, left), best(lines, right)
        if first == last:
            out.append((left, right, *lines[first]))
            return
        (s1, c1), (s2, c2) = lines[first], lines[last]
        x = (c2 - c1) / (s1 - s2)
        if not left < x < right:  # numerically impossible with exact fractions; stay safe
            out.append((left, right, *lines[last]))
            return
        envelope(left, x, lines)
        envelope(x, right, lines)

    previous: tuple[Fraction | None, float] = (None, 0.0)
    for left, right, indices in _walk_indices(piece_lists, lo, hi):
        pairs = list(zip(piece_lists, indices, strict=True))
        fl = [fls[i] for fls, i in zip(floats, indices, strict=True)]
        # an interval starts where the one before it ended (the same object): its float is
        # carried over instead of looked up by value (hashing a Fraction is not cheap)
        fleft = previous[1] if left is previous[0] else float(left)
        fright = float(right)
        previous = (right, fright)
        first = _lowest(fl, fleft)
        if first is not None and first == _lowest(fl, fright):
            piece = pairs[first][0][pairs[first][1]]
            out.append((left, right, piece[2], piece[3]))
            continue
        envelope(left, right, [(p[i][2], p[i][3]) for p, i in pairs])
    return _merged(out)


def _sign_of_difference(fsa: float, fia: float, fsb: float, fib: float, fx: float) -> int | None:
    """The sign of `(fsb*fx + fib) - (fsa*fx + fia)` when floats settle it beyond doubt (the
    same margin as `_lowest`), else None."""
    pa, pb = fsa * fx, fsb * fx
    difference = (pb + fib) - (pa + fia)
    if abs(difference) > _FLOAT_MARGIN * (abs(pa) + abs(fia) + abs(pb) + abs(fib)):
        return 1 if difference > 0 else -1
    return None


def crossings_of(a: list[Piece], b: list[Piece], lo: Fraction, hi: Fraction) -> list[Fraction]:
    """Volumes in [lo, hi] at which the order of two piecewise-linear totals flips, exactly.

    On each common piece the difference is linear; a flip happens either inside such a piece
    (the root of the difference) or at a piece boundary, where a step changes the order.
    """
    found: list[Fraction] = []
    previous_sign = 0
    floats = [[(float(p[2]), float(p[3])) for p in pieces] for pieces in (a, b)]
    previous: tuple[Fraction | None, float] = (None, 0.0)
    for left, right, (i, j) in _walk_indices([a, b], lo, hi):
        (fsa, fia), (fsb, fib) = floats[0][i], floats[1][j]
        # an interval starts where the one before it ended (the same object): its float is
        # carried over instead of looked up by value (hashing a Fraction is not cheap)
        fleft = previous[1] if left is previous[0] else float(left)
        fright = float(right)
        previous = (right, fright)
        # the sign of the difference b - a at each end, from floats when they settle it
        start_sign = _sign_of_difference(fsa, fia, fsb, fib, fleft)
        end_sign = _sign_of_difference(fsa, fia, fsb, fib, fright)
        if start_sign is None or end_sign is None:
            slope = b[j][2] - a[i][2]
            intercept = b[j][3] - a[i][3]
            if start_sign is None:
                start = slope * left + intercept
                start_sign = (start > 0) - (start < 0)
            if end_sign is None:
                end = slope * right + intercept
                end_sign = (end > 0) - (end < 0)
        if previous_sign and start_sign and start_sign != previous_sign:
            found.append(left)
        if start_sign and end_sign and start_sign != end_sign:
            slope, intercept = b[j][2] - a[i][2], b[j][3] - a[i][3]
            found.append(-intercept / slope)
        if end_sign:
            previous_sign = end_sign
        elif start_sign:
            previous_sign = start_sign
    return found


def crossings(a: CostModel, b: CostModel, lo: Fraction, hi: Fraction) -> list[Fraction]:
    """Volumes in [lo, hi] at which the order of two typical totals flips, exactly."""
    shared: Steps = {}
    return crossings_of(a.pieces(lo, hi, shared), b.pieces(lo, hi, shared), lo, hi)
