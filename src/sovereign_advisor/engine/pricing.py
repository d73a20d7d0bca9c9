"""Step 4, pricing: unit prices in the report currency on the as-of date (dated FX records), and
the low/typical/high bands of the assumptions a cost reads."""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Callable, Hashable
from decimal import Decimal
from fractions import Fraction
from typing import Any, TypeVar

from sovereign_advisor.errors import InputError
from sovereign_advisor.knowledge.loader import KnowledgeBase
from sovereign_advisor.knowledge.models import (
    Band,
    FxRate,
)
from sovereign_advisor.types import Currency

from .costmodel import (
    BANDS,
    BandName,
    q6,
)

F = Fraction
ONE = Fraction(1)
ZERO = Fraction(0)
T = TypeVar("T")


def kb_cached(kb: KnowledgeBase, key: Hashable, compute: Callable[[], T]) -> T:
    """`compute()`, a function of the knowledge base alone, kept in `kb.derived` under `key`
    for every later advice. The assumptions it read are noted again at each use: the recording
    view of the knowledge base that `advise` reads through lists them in the advice. A
    knowledge base that records nothing computes afresh (what it read would be unknown)."""
    read: list[Any] | None = getattr(kb, "read", None)
    if read is None:
        return compute()
    hit = kb.derived.get(key)
    if hit is not None:
        read.extend(hit[1])
        value: T = hit[0]
        return value
    start = len(read)
    value = compute()
    kb.derived[key] = (value, tuple(read[start:]))
    return value


@functools.lru_cache(maxsize=4096, typed=True)
def frac(x: float | Decimal) -> Fraction:
    """Exact fraction of a number as written in decimal (0.1 -> 1/10). Cached: the engine
    converts the same knowledge-base numbers for every profile (typed, so that a float and a
    Decimal never share an entry)."""
    if isinstance(x, float):
        return Fraction(repr(x))
    return Fraction(x)


FX_STALE_AFTER_DAYS = 90
"""An advice warns when its rate date is more than this many days before its as-of date."""


class Pricing:
    """Unit prices in the report currency, on the as-of date, through dated FX records.

    Every conversion of one advice uses the rates of ONE day (`rate_date`): the latest day on
    or before the as-of date on which every currency the knowledge base prices in can be
    converted to the report currency. Mixing days would compare prices at different rates.
    """

    def __init__(self, kb: KnowledgeBase, currency: Currency, as_of: dt.date) -> None:
        self.kb = kb
        self.currency = currency
        self.as_of = as_of
        self.rate_date = fx_rate_date(kb, currency, as_of)
        self._rates: dict[str, tuple[dict[BandName, Decimal], str | None]] = {}
        self.inverted: set[str] = set()
        """FX record ids used inverted: raising such a rate lowers the converted prices."""
        self.used: set[str] = set()
        """FX record ids this advice converted with (all dated `rate_date`)."""

    def rate(self, source: Currency) -> tuple[dict[BandName, Decimal], str | None]:
        """Units of the report currency per unit of `source`, with the FX record id(s).

        Uses the rates dated `rate_date`, directly, inverted, or crossed through a third
        currency when no direct rate exists.
        """
        if source == self.currency:
            return {b: Decimal(1) for b in BANDS}, None
        if source not in self._rates:
            on_day = _rates_on(self.kb, self.rate_date)
            found = _direct(on_day, source, self.currency, self.inverted)
            if found is None:
                # through EUR first (the ECB quotes every rate against it), then by code
                currencies = {c for pair in on_day for c in pair}
                for via in sorted(currencies, key=lambda c: (c != "EUR", c)):
                    if via in (source, self.currency):
                        continue
                    first = _direct(on_day, source, via)
                    second = _direct(on_day, via, self.currency)
                    if first and second:
                        _direct(on_day, source, via, self.inverted)
                        _direct(on_day, via, self.currency, self.inverted)
                        found = (
                            {b: q6(first[0][b] * second[0][b]) for b in BANDS},
                            f"{first[1]} + {second[1]}",
                        )
                        break
            if found is None:
                when = f"dated {self.rate_date}" if self.rate_date else "dated"
                raise InputError(
                    f"no exchange rate {source}->{self.currency} {when} on or before "
                    f"{self.as_of} in the knowledge base; add one to prices/fx.yaml or report "
                    "in another currency",
                    field="finance.currency",
                )
            self._rates[source] = found
        rates, fx_id = self._rates[source]
        if fx_id:
            self.used.update(_ids(fx_id))
        return rates, fx_id

    def convert(
        self,
        band: Band,
        currency: Currency,
        divide_by: dict[BandName, Fraction] | None = None,
    ) -> tuple[dict[BandName, Decimal], str | None]:
        """Unit prices in the report currency for each end of the band (optionally divided by a
        banded divisor, e.g. a depreciation life: its high end goes with the low price)."""
        rates, fx_id = self.rate(currency)  # notes the FX records used, cached or not
        if divide_by is None:
            # the same record is converted for every venue, pool and profile: kept per
            # knowledge base (the band itself is kept too, so that its id is never reused)
            key = ("convert", id(band), self.currency, self.rate_date, currency)
            hit = self.kb.derived.get(key)
            if hit is None or hit[0] is not band:
                prices = {b: q6(frac(band.pick(b) * rates[b])) for b in BANDS}
                hit = self.kb.derived[key] = (band, prices)
            return dict(hit[1]), fx_id
        prices = {
            b: q6(frac(band.pick(b) * rates[b]) / (divide_by[b] if divide_by else ONE))
            for b in BANDS
        }
        return prices, fx_id


@functools.lru_cache(maxsize=4096)
def _source(*ids: str | None) -> str:
    """The sources of a line, joined (kept: every profile's lines cite the same records)."""
    return " + ".join(i for i in ids if i)


@functools.lru_cache(maxsize=4096)
def _ids(*ids: str | None) -> tuple[str, ...]:
    """Input ids for sensitivity (an FX source crossed through a third currency is two ids);
    kept, as `_source` is."""
    return tuple(part.strip() for i in ids if i for part in i.split("+"))


def priced_currencies(kb: KnowledgeBase) -> frozenset[str]:
    """Every currency a price or a money assumption of the knowledge base is stated in."""
    found: set[str] = {p.currency for p in kb.token_prices}
    found.update(g.currency for g in kb.gpu_prices)
    found.update(h.currency for h in kb.host_prices)
    found.update(s.currency for s in kb.server_prices)
    found.update(a.currency for a in kb.assumptions if a.currency is not None)
    return frozenset(found)


def _rates_on(kb: KnowledgeBase, day: dt.date | None) -> dict[tuple[str, str], FxRate]:
    """The FX records dated `day`, by (base, quote)."""
    key = ("fx_rates_on", day)
    if key not in kb.derived:
        kb.derived[key] = {(f.base, f.quote): f for f in kb.fx_rates if f.date == day}
    on_day: dict[tuple[str, str], FxRate] = kb.derived[key]
    return on_day


def _direct(
    on_day: dict[tuple[str, str], FxRate],
    source: str,
    target: str,
    inverted: set[str] | None = None,
) -> tuple[dict[BandName, Decimal], str] | None:
    fx = on_day.get((source, target))
    if fx is not None:
        return {b: fx.rate.pick(b) for b in BANDS}, fx.id
    fx = on_day.get((target, source))
    if fx is None:
        return None
    if inverted is not None:
        inverted.add(fx.id)
    # inverting swaps the ends of the band: a high rate gives a low conversion
    return {
        "low": q6(1 / fx.rate.hi),
        "typical": q6(1 / fx.rate.typical),
        "high": q6(1 / fx.rate.lo),
    }, fx.id


def _convertible(on_day: dict[tuple[str, str], FxRate], target: str) -> set[str]:
    """Currencies convertible to `target` with the rates of one day (direct, inverted, or
    crossed through one third currency)."""
    linked: dict[str, set[str]] = {}
    for base, quote in on_day:
        linked.setdefault(base, set()).add(quote)
        linked.setdefault(quote, set()).add(base)
    out = {target} | linked.get(target, set())
    for via in linked.get(target, set()):
        out |= linked[via]
    return out


def fx_rate_date(kb: KnowledgeBase, currency: Currency, as_of: dt.date) -> dt.date | None:
    """The one day whose rates an advice converts with: the latest day on or before `as_of` on
    which every currency the knowledge base prices in converts to `currency`. When no day
    has them all, the latest day converting the most of them (a price in a currency left out
    then fails with a message naming the pair); None when no rate is dated on or before."""
    key = ("fx_rate_date", currency, as_of)
    if key in kb.derived:
        cached: dt.date | None = kb.derived[key]
        return cached
    needed = priced_currencies(kb) - {currency}
    days = sorted({f.date for f in kb.fx_rates if f.date <= as_of}, reverse=True)
    best: tuple[int, dt.date] | None = None
    for day in days:
        covered = len(needed & _convertible(_rates_on(kb, day), currency))
        if covered == len(needed):
            best = (covered, day)
            break
        if best is None or covered > best[0]:
            best = (covered, day)
    chosen = best[1] if best else None
    kb.derived[key] = chosen
    return chosen


_OPPOSITE: dict[BandName, BandName] = {"low": "high", "typical": "typical", "high": "low"}


def assumed(
    kb: KnowledgeBase, assumption_id: str, country: str | None = None
) -> dict[BandName, Fraction]:
    """An assumption's value at each end of its band."""
    record = kb.assumption(assumption_id, country)  # read on every call: recorded
    key = ("assumed", assumption_id, country)
    hit = kb.derived.get(key)
    if hit is None or hit[0] is not record:
        hit = kb.derived[key] = (record, {b: frac(record.value.pick(b)) for b in BANDS})
    return dict(hit[1])


def for_cost(
    values: dict[BandName, Fraction], *, cheaper_when_higher: bool
) -> dict[BandName, Fraction]:
    """Re-key an assumption's band by the cost band it produces: a higher efficiency (or life,
    or throughput) gives a *lower* cost, so the cost's `low` end takes its `high` value."""
    if not cheaper_when_higher:
        return values
    return {b: values[_OPPOSITE[b]] for b in BANDS}
