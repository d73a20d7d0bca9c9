"""The cost path's shortcuts (issue #17) against the eager computation they replace.

- The low and high ends of a GPU pool's sizing, counts and quantities are `Bands`, computed on
  first use: an alternative never chosen is read only at its typical end, so its ends are never
  computed. They must equal what an eager computation gives, and an error sizing an end would
  raise must still be raised, read or not.

The work-count tests count calls, never seconds.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import pickle
from collections import Counter
from collections.abc import Callable
from decimal import Decimal
from fractions import Fraction
from typing import Any

import pytest
from hypothesis import given

import sovereign_advisor as sa
from sovereign_advisor.engine import advise as advise_module
from sovereign_advisor.engine import costmodel, sizing, venue_choice
from sovereign_advisor.engine.costmodel import (
    BANDS,
    BandName,
    Bands,
    Count,
    Group,
    Line,
    Quantity,
    banded,
)
from sovereign_advisor.engine.venue_choice import Choice
from sovereign_advisor.profile import OrganisationProfile
from sovereign_advisor.testing import as_of_dates, profiles

from .conftest import AS_OF, PROFILES

KB = sa.load_knowledge_base()
EAGER_KB = sa.load_knowledge_base()
EXAMPLES = {p.stem: sa.load_profile(p) for p in sorted(PROFILES.glob("*.yaml"))}


def _eager(value: Callable[[BandName], Any]) -> Bands[Any]:
    """`Bands.of` as an eager dictionary would be: every end at once, in band order."""
    return Bands.eager(value("low"), value("typical"), value("high"))


def _choices(
    profile: OrganisationProfile, kb: sa.KnowledgeBase, as_of: dt.date, **kw: Any
) -> list[Choice]:
    made: list[Choice] = []
    choose = venue_choice.choose

    def noting(*args: Any) -> Choice:
        found = choose(*args)
        made.append(found)
        return found

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(advise_module, "choose", noting)  # advise and its remedies call it
        try:
            sa.advise(profile, kb=kb, as_of=as_of, **kw)
        except sa.InputError:
            return []
    return made


def test_bands_hold_what_a_dictionary_holds() -> None:
    made: list[str] = []

    def value(b: BandName) -> str:
        made.append(b)
        return b.upper()

    bands = Bands.of(value)
    assert made == ["typical"] and bands["typical"] == "TYPICAL" and not bands.computed
    assert bands == {"low": "LOW", "typical": "TYPICAL", "high": "HIGH"}
    assert bands.computed and made == ["typical", "low", "high"]
    assert list(bands) == ["low", "typical", "high"] and len(bands) == 3
    with pytest.raises(KeyError):
        bands["middle"]  # type: ignore[index]
    assert bands.get("high") == "HIGH" and made.count("high") == 1  # computed once
    assert pickle.loads(pickle.dumps(Bands.of(value))) == dict(bands)


@given(profile=profiles(), as_of=as_of_dates())
def test_lazy_ends_equal_eager_ones(profile: OrganisationProfile, as_of: dt.date) -> None:
    """Every alternative of every decision (lines, counts, pools), at every end of the band,
    is the same whether its ends are computed on first use or at once."""
    lazy = _choices(profile, KB, as_of)
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(Bands, "of", staticmethod(_eager))
        eager = _choices(profile, EAGER_KB, as_of)
    assert lazy == eager  # dataclass equality reads every end of every Bands
    pools = [pool for c in lazy for pool in c.pools]
    assert all(isinstance(line.quantities, Bands) for pool in pools for line in pool.lines)


def _sizing_calls(profile: OrganisationProfile, **kw: Any) -> tuple[list[Any], list[Choice]]:
    calls: list[Any] = []
    count = sizing._pool_count

    def noting(*args: Any) -> Any:
        calls.append((args[0], args[5]))
        return count(*args)

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(sizing, "_pool_count", noting)
        made = _choices(profile, KB, AS_OF, **kw)
    return calls, made


@pytest.mark.parametrize("analyses", [(), ("break_even", "sensitivity", "remedies")])
def test_only_chosen_pools_are_sized_at_the_ends_of_the_band(analyses: Any) -> None:
    """A GPU type's low and high sizing is computed only for a pool chosen at the profile's
    volume (whose band totals read it), never for an alternative that only break-even or the
    venue choice reads at its typical end."""
    typical = ends = 0
    for profile in EXAMPLES.values():
        calls, made = _sizing_calls(profile, analyses=analyses)
        chosen = Counter(pool.gpu_id for c in made for pool in c.pools)
        sized_ends = Counter(g for g, b in calls if b == "low")
        assert sized_ends == Counter(g for g, b in calls if b == "high")
        assert all(sized_ends[g] <= chosen[g] for g in sized_ends), (sized_ends, chosen)
        typical += sum(1 for _, b in calls if b == "typical")
        ends += sum(sized_ends.values())
    assert ends * 3 <= typical  # eager sizing computes each end as often as the typical one


def _broken_layout(
    gpu_id: str, band: BandName, change: Callable[[sizing._Layout], sizing._Layout]
) -> Callable[..., sizing._Layout]:
    layout = sizing._layout

    def broken(g: str, placements: Any, kb: Any, b: BandName) -> sizing._Layout:
        found = layout(g, placements, kb, b)
        return change(found) if (g, b) == (gpu_id, band) else found

    return broken


def _unchosen_gpu_type(name: str) -> str:
    """A GPU type the example sizes for a pool decision but does not choose."""
    calls, made = _sizing_calls(EXAMPLES[name], analyses=())
    chosen = {pool.gpu_id for c in made for pool in c.pools}
    return min({g for g, _ in calls} - chosen)


def _no_budget(layout: sizing._Layout) -> sizing._Layout:
    return dataclasses.replace(layout, kv_budget=Fraction(0))


def _no_decode(layout: sizing._Layout) -> sizing._Layout:
    models = tuple(dataclasses.replace(m, rate=Fraction(0)) for m in layout.models)
    return dataclasses.replace(layout, models=models)


@pytest.mark.parametrize("band", ["low", "high"])
@pytest.mark.parametrize("change", [_no_budget, _no_decode])
def test_an_end_that_cannot_be_sized_still_raises_unread(
    band: BandName, change: Callable[[sizing._Layout], sizing._Layout]
) -> None:
    """Sizing an end of the band that divides by zero raised before, for every alternative:
    it still raises although no one reads that end of an alternative never chosen."""
    name = min(EXAMPLES)
    gpu_id = _unchosen_gpu_type(name)
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(sizing, "_layout", _broken_layout(gpu_id, band, change))
        with pytest.raises(ZeroDivisionError):
            sa.advise(EXAMPLES[name], kb=KB, as_of=AS_OF, analyses=())


def test_sizing_that_cannot_raise_is_told_apart() -> None:
    w = sizing.workload_of(next(iter(EXAMPLES.values())), KB)
    layout = sizing._Layout((), Fraction(1), Fraction(0), Fraction(2), 1, Fraction(1), ())
    assert sizing._sizing_cannot_raise(layout, w)
    assert not sizing._sizing_cannot_raise(_no_budget(layout), w)
    assert not sizing._sizing_cannot_raise(layout, dataclasses.replace(w, seconds_per_month=0))


def test_counts_of_one_load_share_the_replicas_last_read() -> None:
    """The counts `but` derives from one load (GPUs, servers, those to buy) remember the
    replicas at the last volume read, together: reading them again at that volume computes
    nothing, and another volume (or the same one in other terms) is computed afresh."""
    terms = ((Fraction(1, 7), Fraction(1, 3)), (Fraction(2, 9), Fraction(0)))
    base = Count(1, terms, 2)
    derived = [base.but(per_server=8, spare=1), base.but(per_server=4, of="servers")]
    fresh = [dataclasses.replace(c) for c in derived]  # no memory of their own yet
    computed: list[tuple[int, int]] = []
    replicas = Count.replicas_at_ratio

    def noting(count: Count, vn: int, vd: int) -> int:
        computed.append((vn, vd))
        return replicas(count, vn, vd)

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(Count, "replicas_at_ratio", noting)
        for vn, vd in [(100, 1), (100, 1), (7, 3), (14, 6), (100, 1), (0, 1), (10**9, 7)]:
            got = [c.at_ratio(vn, vd) for c in derived]
            assert got == [c.of_load(replicas(c, vn, vd)) for c in fresh]
            assert base.at_ratio(vn, vd) == replicas(base, vn, vd) * 2
    assert computed == [(100, 1), (7, 3), (14, 6), (100, 1), (0, 1), (10**9, 7)]


def test_band_totals_and_breakdown_read_each_count_once(monkeypatch: pytest.MonkeyPatch) -> None:
    """A core decision reads every count of the chosen pools at the profile's volume many
    times (each line, each end of the band, the breakdown, the GPU pool's explanation, the
    venue choice): the replicas are computed a few times only."""
    calls: Counter[str] = Counter()
    at, replicas = Count.at_ratio, Count.replicas_at_ratio

    def reading(count: Count, vn: int, vd: int) -> int:
        calls["read"] += 1
        return at(count, vn, vd)

    def computing(count: Count, vn: int, vd: int) -> int:
        calls["computed"] += 1
        return replicas(count, vn, vd)

    monkeypatch.setattr(Count, "at_ratio", reading)
    monkeypatch.setattr(Count, "replicas_at_ratio", computing)
    for profile in EXAMPLES.values():
        sa.advise(profile, kb=KB, as_of=AS_OF, analyses=())
    assert calls["computed"] * 5 <= calls["read"], calls


def test_a_rounded_quantity_is_computed_once_per_line_and_end() -> None:
    """The band totals, the breakdown and the cash view read the rounded quantities of the
    chosen lines at the profile's volume: each (line, end of the band) is computed once."""
    read: list[tuple[Line, BandName]] = []
    computed = 0
    rounded, ratio_at = Line.rounded_quantity, Quantity.ratio_at

    def reading(line: Line, v: Fraction, band: BandName = "typical") -> Any:
        read.append((line, band))
        return rounded(line, v, band)

    def computing(quantity: Quantity, vn: int, vd: int) -> tuple[int, int]:
        nonlocal computed
        computed += 1
        return ratio_at(quantity, vn, vd)

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(Line, "rounded_quantity", reading)
        mp.setattr(Quantity, "ratio_at", computing)
        for profile in EXAMPLES.values():
            sa.advise(profile, kb=KB, as_of=AS_OF, analyses=())
    distinct = len({(id(line), band) for line, band in read})
    assert computed == distinct < len(read)


def test_alternatives_never_chosen_build_their_typical_quantities_only() -> None:
    """A line of an alternative the venue choice does not take (a GPU type, server, venue, API
    venue or vector-store host) builds the quantity of its typical end only; eagerly, every
    line built all three."""
    built = 0
    init = Quantity.__init__

    def counting(self: Quantity, *args: Any, **kwargs: Any) -> None:
        nonlocal built
        built += 1
        init(self, *args, **kwargs)

    every = chosen = 0
    for profile in EXAMPLES.values():
        with pytest.MonkeyPatch.context() as mp:
            mp.setattr(Quantity, "__init__", counting)
            made = _choices(profile, KB, AS_OF, analyses=())
        for c in made:
            every += sum(len(o) for g in c.model.groups for o in g.options)
            chosen += len(c.model.lines_at(sizing.workload_of(profile, KB).volume))
    assert every > 2 * chosen
    assert built <= every + 2 * chosen  # the typical end of each line, the others if chosen


@given(profile=profiles(), as_of=as_of_dates())
def test_a_kept_choice_is_the_choice_made_afresh(
    profile: OrganisationProfile, as_of: dt.date
) -> None:
    """Every decision's kept choice at the profile's volume (carried through the FX relabelling)
    is what a group of the same lines, with nothing kept, chooses."""
    for c in _choices(profile, KB, as_of, analyses=()):
        v = sizing.workload_of(profile, KB).volume
        for g in c.model.groups:
            assert g.chosen(v) == Group(g.options).chosen(v)


def test_each_decision_is_chosen_once_per_core_decision(monkeypatch: pytest.MonkeyPatch) -> None:
    """The venue choice and the lines the advice reads ask each decision for its choice at the
    profile's volume: it is computed once."""
    decided: list[int] = []
    by_floats = costmodel._cheapest_by_floats

    def noting(options: Any, v: Fraction) -> int | None:
        decided.append(len(options))
        return by_floats(options, v)

    monkeypatch.setattr(costmodel, "_cheapest_by_floats", noting)
    groups = 0
    for profile in EXAMPLES.values():
        made = _choices(profile, KB, AS_OF, analyses=())
        groups += sum(1 for c in made for g in c.model.groups if len(g.options) > 1)
    assert 0 < len(decided) <= groups


def test_relabelling_keeps_the_choice() -> None:
    cheap, dear = _usage_line("1.5"), _usage_line("2.5")
    group = Group(((dear,), (cheap,)))
    v = Fraction(1000)
    assert group.chosen(v) == 1
    relabelled = group.relabelled(((dataclasses.replace(dear, scales_with=("x",)),), (cheap,)))
    assert relabelled._last_chosen == [(v, 1)] and relabelled.chosen(v) == 1
    assert venue_choice._fx_direction(group, set()) is group
    assert venue_choice._fx_direction(group, {"y"}) is group


def _usage_line(price: str) -> Line:
    quantity = Quantity(per_query=Fraction(1, 3))
    return Line(
        "l", None, "usage", "u", "s", dict.fromkeys(BANDS, Decimal(price)), banded(quantity)
    )
