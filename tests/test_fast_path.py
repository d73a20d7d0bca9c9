"""The fast path of the core decision against the exact computation it replaces (issue #17).

Three shortcuts make a decision cheaper, and each must leave every byte of the advice as it was:

- pool sizing computes what the profile adds in integers (unreduced numerators and
  denominators, one Fraction per value at the end) on constants kept per knowledge base;
- the cheapest alternative at a volume is read from floats when a wide margin settles it;
- a rented pool at a venue dearer than another renting the same GPU type is not built;
- the low and high ends of a line's quantities (and of a pool's sizing and counts) are
  computed when read (`costmodel.Bands`), and a count's replicas, a line's rounded quantity and
  a decision's choice at the last volume read are kept.

The reference below is the Fraction arithmetic of the sizing as it was written before (one
`size()` per role, sums of Fractions), the exact totals of every alternative, every
alternative built, every end of the band computed at once and nothing kept. The work-count tests guard the gains by counting calls, never seconds.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import math
from collections import Counter
from collections.abc import Callable, Iterator
from decimal import Decimal
from fractions import Fraction
from typing import Any

import pytest
from hypothesis import given

import sovereign_advisor as sa
from sovereign_advisor.engine import costmodel, sizing, venue_choice
from sovereign_advisor.engine.costmodel import (
    BandName,
    Count,
    Group,
    Line,
    Quantity,
    lines_total,
    q6,
)
from sovereign_advisor.engine.eligibility import Placement
from sovereign_advisor.engine.pricing import F, assumed, for_cost, frac
from sovereign_advisor.engine.sizing import (
    PoolSize,
    Sizing,
    SizingFacts,
    Workload,
    decode_rate,
    kv_bytes_per_token,
    role_share,
    size_per_token,
    weights_bytes,
)
from sovereign_advisor.knowledge.models import LanguageModel, Role
from sovereign_advisor.profile import OrganisationProfile
from sovereign_advisor.testing import as_of_dates, profiles

from .conftest import AS_OF, PROFILES

KB = sa.load_knowledge_base()
EXACT_KB = sa.load_knowledge_base()
EXAMPLES = {p.stem: sa.load_profile(p) for p in sorted(PROFILES.glob("*.yaml"))}


def _size_exact(
    model: LanguageModel, role: Role, gpu_id: str, kb: sa.KnowledgeBase, w: Workload, band: Any
) -> Sizing:
    """`sizing.size` as it was: every constant computed again, in Fractions."""
    gpu = kb.gpus[gpu_id]
    per_token = size_per_token(model, gpu_id, kb, band)
    prefill = w.tokens_in * per_token
    weights = weights_bytes(model)
    if role.kind in ("embedding", "classifier"):
        return Sizing(weights, F(0), per_token, prefill, F(0), ("serving.prefill_efficiency",))
    rate, rate_sources = decode_rate(model, gpu_id, kb, band)
    gpu_seconds = prefill + w.tokens_out / rate
    bandwidth = for_cost(assumed(kb, "serving.bandwidth_efficiency"), cheaper_when_higher=True)
    active = frac(model.active_params_b or 0) * 10**9
    single_stream = frac(gpu.bandwidth_gb_s) * 10**9 * bandwidth[band]
    single_stream /= active * frac(model.bytes_per_param)
    latency = prefill + w.tokens_out / single_stream
    held = min(w.tokens_in + w.tokens_out, F(model.context_tokens)) * kv_bytes_per_token(model)
    return Sizing(
        weights,
        F(model.context_tokens) * kv_bytes_per_token(model),
        per_token,
        gpu_seconds,
        held * latency,
        ("serving.prefill_efficiency", *rate_sources, "serving.bandwidth_efficiency"),
    )


def _pool_count_exact(
    gpu_id: str,
    placements: list[Placement],
    profile: OrganisationProfile,
    kb: sa.KnowledgeBase,
    w: Workload,
    band: Any,
    shares: Any = None,
) -> PoolSize:
    """`sizing._pool_count` as it was, in Fraction arithmetic throughout (the role shares
    computed again, whatever the caller passed)."""
    gpu = kb.gpus[gpu_id]
    reserve = assumed(kb, "serving.activation_reserve_gb")[band] * 10**9
    usable = frac(gpu.memory_gb) * 10**9 * assumed(kb, "vllm.gpu_memory_utilization")[band]
    usable -= reserve
    weights, context_kv, seconds, kv, corpus_load = F(0), F(0), F(0), F(0), F(0)
    by_role: dict[str, Fraction] = {}
    sources: list[str] = []
    for p in placements:
        model = kb.models[p.role.models[0]]
        s = _size_exact(model, p.role, gpu.id, kb, w, band)
        sources.extend(x for x in s.sources if x not in sources)
        share = role_share(p, profile, w, band)
        weights += s.weights_bytes
        context_kv += s.context_kv_bytes
        seconds += share * s.gpu_seconds_per_query
        kv += share * s.kv_byte_seconds_per_query
        by_role[p.role.id] = share * s.gpu_seconds_per_query * w.volume / w.seconds_per_month
        if p.role.serves == "retrieval":
            background = w.corpus_per_month * s.seconds_per_input_token / w.seconds_per_month
            corpus_load += background
            by_role[p.role.id] += background
            if "rag.initial_load_amortisation_months" not in sources:
                sources.append("rag.initial_load_amortisation_months")
    need = weights + context_kv
    unit = max(1, math.ceil(need / usable))
    kv_budget = unit * usable - weights
    memory_terms = [(m / kv_budget, c) for m, c in w.load_terms(kv, F(0))]
    throughput_terms = [(m / unit, c / unit) for m, c in w.load_terms(seconds, corpus_load)]
    terms = [
        (slope.limit_denominator(10**15), intercept.limit_denominator(10**9))
        for slope, intercept in throughput_terms + memory_terms
    ]
    facts = SizingFacts(weights, context_kv, usable, unit, seconds, corpus_load, kv, kv_budget)
    return Count(1, tuple(terms), unit), by_role, usable, tuple(sources), facts


def _exact_value(size: PoolSize) -> tuple[Any, ...]:
    """Everything a pool size holds, compared by exact value and by type."""
    count, by_role, usable, sources, facts = size
    terms = [(type(a), a, type(b), b) for a, b in count.terms]
    return (count, terms, by_role, usable, sources, dataclasses.astuple(facts))


def _outputs(profile: OrganisationProfile, kb: sa.KnowledgeBase, as_of: dt.date) -> list[str]:
    try:
        advice = sa.advise(profile, kb=kb, as_of=as_of)
    except sa.InputError as e:
        return [str(e)]
    return [sa.render_json(advice), sa.render_text(advice, kb=kb, detail=True)]


def _rounded_exact(line: Line, v: Fraction, band: BandName = "typical") -> Decimal:
    return q6(line.quantity(v, band))


def _eager_bands(value: Callable[[BandName], Any]) -> costmodel.Bands[Any]:
    """Every end of the band at once, in band order, as a dictionary comprehension did."""
    return costmodel.Bands.eager(value("low"), value("typical"), value("high"))


def _count_at_exact(count: Count, vn: int, vd: int) -> int:
    """`Count.at_ratio` with nothing kept: the replicas computed at every read."""
    n = count.replicas_at_ratio(vn, vd)
    return n * count.unit if count._plain else count.of_load(n)


def _chosen_exact(group: Group, v: Fraction) -> int:
    """`Group.chosen` with nothing kept."""
    if len(group.options) == 1:
        return 0
    fast = costmodel._cheapest_by_floats(group.options, v)
    if fast is not None:
        return fast
    totals = [lines_total(option, v) for option in group.options]
    return totals.index(min(totals))


@given(profile=profiles(), as_of=as_of_dates())
def test_fast_path_gives_the_same_bytes_as_the_exact_computation(
    profile: OrganisationProfile, as_of: dt.date
) -> None:
    fast = _outputs(profile, KB, as_of)
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(sizing, "_pool_count", _pool_count_exact)
        mp.setattr(sizing, "kb_cached", lambda kb, key, compute: compute())
        mp.setattr(costmodel, "_cheapest_by_floats", lambda options, v: None)
        mp.setattr(venue_choice, "_dearer_rentals", lambda priced, pricing, kb: set())
        mp.setattr(Line, "rounded_quantity", _rounded_exact)
        mp.setattr(costmodel.Bands, "of", staticmethod(_eager_bands))
        mp.setattr(Count, "at_ratio", _count_at_exact)
        mp.setattr(Group, "chosen", _chosen_exact)
        # a knowledge base of its own: nothing kept from the fast path's advice
        exact = _outputs(profile, EXACT_KB, as_of)
    assert fast == exact


@given(profile=profiles(), as_of=as_of_dates())
def test_pool_sizes_in_integers_equal_fraction_arithmetic(
    profile: OrganisationProfile, as_of: dt.date
) -> None:
    fast_count = sizing._pool_count
    calls = []

    def both(*args: Any) -> PoolSize:
        fast = fast_count(*args)
        calls.append(args)
        assert _exact_value(fast) == _exact_value(_pool_count_exact(*args))
        return fast

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(sizing, "_pool_count", both)
        try:
            sa.advise(profile, kb=KB, as_of=as_of, analyses=())
        except sa.InputError:
            return


def _pool_count_calls(profile: OrganisationProfile) -> list[tuple[Any, ...]]:
    calls: list[tuple[Any, ...]] = []
    fast_count = sizing._pool_count

    def noting(*args: Any) -> PoolSize:
        calls.append(args)
        return fast_count(*args)

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(sizing, "_pool_count", noting)
        sa.advise(profile, kb=KB, as_of=AS_OF, analyses=())
    return calls


@pytest.mark.parametrize("name", sorted(EXAMPLES))
def test_pool_sizes_at_zero_volume_equal_fraction_arithmetic(name: str) -> None:
    """At zero volume the peak is a constant (`peak_fixed`): the intercepts it gives."""
    for gpu_id, placements, profile, kb, w, band, *_ in _pool_count_calls(EXAMPLES[name]):
        idle = dataclasses.replace(w, volume=F(0), peak_slope=F(0), peak_fixed=F(7, 3))
        args = (gpu_id, placements, profile, kb, idle, band)
        assert _exact_value(sizing._pool_count(*args)) == _exact_value(_pool_count_exact(*args))


@pytest.mark.parametrize(
    ("n", "d", "bound"),
    [
        (1, 3, 10),
        (314159265358979, 10**14, 100),
        (-314159265358979, 10**14, 1000),
        (22, -7, 5),
        (10**40 + 1, 3 * 10**25 + 7, 10**15),
        (5, 10, 1),
        (0, 7, 1),
        (3, 8, 3),
        # a tie between the two bounds (0 and 1/2): the second (p1/q1) is taken, as Fraction does
        (1, 4, 2),
    ],
)
def test_limited_is_limit_denominator(n: int, d: int, bound: int) -> None:
    expected = Fraction(n, d).limit_denominator(bound)
    got = sizing._limited(n * 6, d * 6, bound)  # unreduced, as the sizing gives them
    assert (type(got), got) == (Fraction, expected)


def _line(per_query: Fraction, fixed: Fraction, price: str) -> Line:
    bands: tuple[BandName, ...] = ("low", "typical", "high")
    quantity = Quantity(per_query=per_query, fixed=fixed)
    prices = dict.fromkeys(bands, Decimal(price))
    return Line("l", None, "usage", "u", "s", prices, dict.fromkeys(bands, quantity))


def test_floats_never_decide_a_tie_or_a_near_tie() -> None:
    a = (_line(F(1, 3), F(0), "1.5"),)
    same = (_line(F(1, 3), F(0), "1.5"),)
    near = (_line(F(1, 3) + F(1, 10**30), F(0), "1.5"),)
    clear = (_line(F(1, 2), F(0), "1.5"),)
    v = F(1000)
    assert costmodel._cheapest_by_floats((a, same), v) is None
    assert costmodel._cheapest_by_floats((near, a), v) is None
    assert Group((near, a)).chosen(v) == 1 and Group((a, same)).chosen(v) == 0
    assert costmodel._cheapest_by_floats((clear, a), v) == 1


@given(profile=profiles(), as_of=as_of_dates())
def test_floats_choose_the_alternative_exact_totals_choose(
    profile: OrganisationProfile, as_of: dt.date
) -> None:
    by_floats = costmodel._cheapest_by_floats

    def checked(options: Any, v: Fraction) -> int | None:
        found = by_floats(options, v)
        if found is not None:
            totals = [lines_total(option, v) for option in options]
            assert found == totals.index(min(totals))
        return found

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(costmodel, "_cheapest_by_floats", checked)
        try:
            sa.advise(profile, kb=KB, as_of=as_of)
        except sa.InputError:
            return


@given(profile=profiles(), as_of=as_of_dates())
def test_quantities_in_integers_round_as_fractions_do(
    profile: OrganisationProfile, as_of: dt.date
) -> None:
    rounded = Line.rounded_quantity
    but = Count.but

    def checked(line: Line, v: Fraction, band: BandName = "typical") -> Decimal:
        found = rounded(line, v, band)
        assert str(found) == str(_rounded_exact(line, v, band))
        return found

    def copied(count: Count, **changes: Any) -> Count:
        found = but(count, **changes)
        expected = dataclasses.replace(count, **changes)
        assert found == expected and found._plain == expected._plain
        assert found._integer_terms == expected._integer_terms
        return found

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(Line, "rounded_quantity", checked)
        mp.setattr(Count, "but", copied)
        try:
            sa.advise(profile, kb=KB, as_of=as_of, analyses=())
        except sa.InputError:
            return


# --- work counts: what the fast path saves, counted as calls --------------------------------


@pytest.fixture
def counted(monkeypatch: pytest.MonkeyPatch) -> Iterator[Counter[str]]:
    counts: Counter[str] = Counter()

    def counting(module: Any, name: str) -> None:
        original: Callable[..., Any] = getattr(module, name)

        def wrapper(*args: Any, **kwargs: Any) -> Any:
            counts[name] += 1
            return original(*args, **kwargs)

        monkeypatch.setattr(module, name, wrapper)

    for module, name in [
        (sizing, "_model_on_gpu_of"),
        (sizing, "_layout_of"),
        (sizing, "_server_configs"),
        (sizing, "size_per_token"),
        (sizing, "decode_rate"),
        (venue_choice, "build_pool"),
    ]:
        counting(module, name)
    yield counts


def test_sizing_constants_are_computed_once_per_knowledge_base(counted: Counter[str]) -> None:
    kb = sa.load_knowledge_base()
    for profile in EXAMPLES.values():
        sa.advise(profile, kb=kb, as_of=AS_OF, analyses=())
    first = Counter(counted)
    assert first["_model_on_gpu_of"] > 0 and first["_layout_of"] > 0
    for _ in range(2):
        for profile in EXAMPLES.values():
            sa.advise(profile, kb=kb, as_of=AS_OF, analyses=())
    # the second and third rounds read every constant from the knowledge base's cache
    for name in ("_model_on_gpu_of", "_layout_of", "_server_configs", "size_per_token"):
        assert counted[name] == first[name], name
    assert counted["decode_rate"] == first["decode_rate"]


def test_cached_sizing_still_lists_every_assumption_it_read() -> None:
    """A cached result notes again the assumptions it read: the advice lists the same ones
    whether the knowledge base computed them for this advice or kept them from another."""
    for profile in EXAMPLES.values():
        warm = sa.advise(profile, kb=KB, as_of=AS_OF, analyses=())
        cold = sa.advise(profile, kb=sa.load_knowledge_base(), as_of=AS_OF, analyses=())
        assert warm.assumptions == cold.assumptions


@pytest.mark.parametrize("name", sorted(EXAMPLES))
def test_a_rented_gpu_type_is_built_at_one_venue_per_pool_decision(
    name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    built: list[list[tuple[str, str]]] = []
    options = venue_choice._pool_options

    def noting(*args: Any) -> Any:
        found = options(*args)
        built.append([(o.venue_id, o.gpu_id) for o in found if o.server is None])
        return found

    monkeypatch.setattr(venue_choice, "_pool_options", noting)
    sa.advise(EXAMPLES[name], kb=KB, as_of=AS_OF, analyses=())
    for pools in built:
        rented = [g for v, g in pools if KB.venues[v].kind != "premises"]
        assert len(rented) == len(set(rented))


def test_exact_totals_choose_only_near_ties(monkeypatch: pytest.MonkeyPatch) -> None:
    """On the examples, floats settle every choice but (near) ties: an alternative's exact total
    is computed to choose only when the two cheapest are within a millionth of each other."""
    by_floats = costmodel._cheapest_by_floats
    decided: Counter[str] = Counter()

    def checked(options: Any, v: Fraction) -> int | None:
        found = by_floats(options, v)
        decided["floats" if found is not None else "exact"] += 1
        if found is None:
            low, second = sorted(lines_total(option, v) for option in options)[:2]
            assert second - low <= (abs(low) + abs(second)) / 10**6
        return found

    monkeypatch.setattr(costmodel, "_cheapest_by_floats", checked)
    for profile in EXAMPLES.values():
        sa.advise(profile, kb=KB, as_of=AS_OF, analyses=())
    assert decided["floats"] > 10 * decided["exact"]


def test_pool_sizing_makes_few_fraction_operations(monkeypatch: pytest.MonkeyPatch) -> None:
    """Pool sizing on a warm knowledge base, with the role shares the pool decision computed
    once for every GPU type, builds a Fraction per value it returns (the eight terms of the
    count, the three facts it computes, each role's load) and two per model (the KV cache a
    request holds), not one per arithmetic step as Fraction arithmetic does."""
    calls = [c for p in EXAMPLES.values() for c in _pool_count_calls(p)]
    assert all(len(c) == 7 and c[6] is not None for c in calls)  # the shares, passed
    made: Counter[str] = Counter()
    new = Fraction.__new__
    phase = ""

    def counting(cls: type[Fraction], *args: Any, **kwargs: Any) -> Fraction:
        made[phase] += 1
        return new(cls, *args, **kwargs)

    monkeypatch.setattr(Fraction, "__new__", counting)
    phase = "fast"
    bound = 0
    for call in calls:
        sizing._pool_count(*call)
        bound += 8 + 3 + 1 + 3 * len(call[1])
    phase = "exact"
    for call in calls:
        _pool_count_exact(*call)
    assert made["fast"] <= bound
    assert made["fast"] * 6 <= made["exact"]
