"""Step 4: size every role and price it, choosing the cheapest admissible venue."""

from __future__ import annotations

import datetime as dt
import functools
import math
from dataclasses import dataclass, field, replace
from decimal import Decimal
from fractions import Fraction
from typing import Literal

from sovereign_advisor.advice import GpuPool
from sovereign_advisor.errors import InputError
from sovereign_advisor.knowledge.loader import KnowledgeBase
from sovereign_advisor.knowledge.models import (
    Band,
    FxRate,
    GpuPrice,
    LanguageModel,
    Role,
    ServerPrice,
)
from sovereign_advisor.profile import OrganisationProfile
from sovereign_advisor.types import Currency

from .costmodel import (
    BANDS,
    BandName,
    CostModel,
    Count,
    Group,
    Line,
    Quantity,
    lines_total,
    q6,
)
from .eligibility import Eligibility, Placement, offered_price

F = Fraction
ONE = Fraction(1)
ZERO = Fraction(0)


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
        rates, fx_id = self.rate(currency)
        prices = {
            b: q6(frac(band.pick(b) * rates[b]) / (divide_by[b] if divide_by else ONE))
            for b in BANDS
        }
        return prices, fx_id


def _source(*ids: str | None) -> str:
    return " + ".join(i for i in ids if i)


def _ids(*ids: str | None) -> tuple[str, ...]:
    """Input ids for sensitivity (an FX source crossed through a third currency is two ids)."""
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
    value = kb.assumption(assumption_id, country).value
    return {b: frac(value.pick(b)) for b in BANDS}


def for_cost(
    values: dict[BandName, Fraction], *, cheaper_when_higher: bool
) -> dict[BandName, Fraction]:
    """Re-key an assumption's band by the cost band it produces: a higher efficiency (or life,
    or throughput) gives a *lower* cost, so the cost's `low` end takes its `high` value."""
    if not cheaper_when_higher:
        return values
    return {b: values[_OPPOSITE[b]] for b in BANDS}


@dataclass(frozen=True)
class Workload:
    """The profile's workload in exact arithmetic, with peak load as a function of volume."""

    volume: Fraction
    tokens_in: Fraction
    tokens_out: Fraction
    peak_slope: Fraction
    peak_fixed: Fraction
    corpus_tokens: Fraction
    corpus_per_month: Fraction
    """Corpus tokens embedded per month (refreshes plus the amortised initial load)."""
    complex_share: dict[BandName, Fraction]
    """Share of queries escalated to the large model, for each end of the cost band (the
    profile's share times the drift assumption, at most 1)."""
    label_tokens: dict[BandName, Fraction]
    """Output tokens a routing classifier writes per query."""
    seconds_per_month: Fraction

    def load_terms(self, per_query_seconds: Fraction, constant: Fraction) -> list[tuple[F, F]]:
        """(slope, intercept) of `per_query_seconds * qps(v) + constant` for peak and average."""
        return [
            (per_query_seconds * self.peak_slope, per_query_seconds * self.peak_fixed + constant),
            (per_query_seconds / self.seconds_per_month, constant),
        ]


def workload_of(profile: OrganisationProfile, kb: KnowledgeBase) -> Workload:
    w = profile.workload
    volume, peak = frac(w.queries_per_month), frac(w.peak_queries_per_second)
    hours = frac(kb.assumption("hours_per_month").value.typical)
    amortise = frac(kb.assumption("rag.initial_load_amortisation_months").value.typical)
    corpus = frac(w.corpus_tokens)
    drift = assumed(kb, "routing.escalation_share_drift")
    return Workload(
        volume=volume,
        tokens_in=frac(w.input_tokens_per_query),
        tokens_out=frac(w.output_tokens_per_query),
        peak_slope=peak / volume if volume > 0 else F(0),
        peak_fixed=F(0) if volume > 0 else peak,
        corpus_tokens=corpus,
        corpus_per_month=corpus * frac(w.corpus_refreshes_per_month) + corpus / amortise,
        complex_share={b: min(ONE, frac(w.complex_share) * drift[b]) for b in BANDS},
        label_tokens=assumed(kb, "routing.label_output_tokens"),
        seconds_per_month=hours * 3600,
    )


def role_share(
    placement: Placement, profile: OrganisationProfile, w: Workload, band: BandName = "typical"
) -> Fraction:
    """Fraction of all queries that reach a role."""
    share = sum((frac(profile.data.share(c)) for c in placement.classes), F(0))
    if placement.role.serves == "complex_routed_queries":
        share *= w.complex_share[band]
    elif placement.role.serves == "simple_routed_queries":
        share *= 1 - w.complex_share[band]
    return share


def is_active(placement: Placement, w: Workload) -> bool:
    return placement.role.serves != "retrieval" or w.corpus_tokens > 0


def kv_bytes_per_token(model: LanguageModel) -> Fraction:
    """KV cache per token: keys and values, per layer and KV head, at the served precision."""
    per_token = 2 * (model.layers or 0) * (model.kv_heads or 0) * (model.head_dim or 0)
    return per_token * frac(model.bytes_per_param)


def weights_bytes(model: LanguageModel) -> Fraction:
    return frac(model.total_params_b or 0) * 10**9 * frac(model.bytes_per_param)


@dataclass(frozen=True)
class Sizing:
    """Per-query GPU time and memory of one model on one GPU type, at one end of the band."""

    weights_bytes: Fraction
    context_kv_bytes: Fraction
    """KV cache of one sequence at the model's full context: vLLM refuses to start without it."""
    seconds_per_input_token: Fraction
    """GPU-seconds to prefill (or embed, or classify) one input token."""
    gpu_seconds_per_query: Fraction
    """GPU time one query takes in a batched server: prefill plus decode."""
    kv_byte_seconds_per_query: Fraction
    """KV-cache bytes held x seconds held, per query (Little's law gives memory at a rate)."""
    sources: tuple[str, ...]


def size_per_token(
    model: LanguageModel, gpu_id: str, kb: KnowledgeBase, band: BandName = "typical"
) -> Fraction:
    """GPU-seconds to prefill (embed, classify) one token: compute bound, 2 FLOP per active
    parameter, at the sourced prefill efficiency."""
    flops = frac(kb.gpus[gpu_id].bf16_dense_tflops) * 10**12
    efficiency = for_cost(assumed(kb, "serving.prefill_efficiency"), cheaper_when_higher=True)
    return 2 * frac(model.active_params_b or 0) * 10**9 / (flops * efficiency[band])


def decode_rate(
    model: LanguageModel, gpu_id: str, kb: KnowledgeBase, band: BandName = "typical"
) -> tuple[Fraction, tuple[str, ...]]:
    """Aggregate output tokens per second of one GPU serving the model, with its sources:
    a measured record (times the transfer assumption) where one exists, else the compute
    roofline FLOP/s / (2 x active parameters) times the decode efficiency."""
    measured = sorted(
        (t for t in kb.throughputs if (t.model, t.gpu, t.gpus) == (model.id, gpu_id, 1)),
        key=lambda t: t.id,
    )
    if measured:
        transfer = for_cost(
            assumed(kb, "serving.measured_throughput_transfer"), cheaper_when_higher=True
        )
        rate = frac(measured[0].output_tokens_per_s) * transfer[band]
        return rate, (measured[0].id, "serving.measured_throughput_transfer")
    flops = frac(kb.gpus[gpu_id].bf16_dense_tflops) * 10**12
    efficiency = for_cost(assumed(kb, "serving.decode_efficiency"), cheaper_when_higher=True)
    active = frac(model.active_params_b or 0) * 10**9
    return flops * efficiency[band] / (2 * active), ("serving.decode_efficiency",)


def size(
    model: LanguageModel,
    role: Role,
    gpu_id: str,
    kb: KnowledgeBase,
    w: Workload,
    band: BandName = "typical",
) -> Sizing:
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
    # one stream decodes at the memory-bandwidth roofline: every step reads the active weights
    single_stream = frac(gpu.bandwidth_gb_s) * 10**9 * bandwidth[band]
    single_stream /= active * frac(model.bytes_per_param)
    latency = prefill + w.tokens_out / single_stream
    # a request holds the KV cache of its tokens (never more than the model's context)
    held = min(w.tokens_in + w.tokens_out, F(model.context_tokens)) * kv_bytes_per_token(model)
    return Sizing(
        weights,
        F(model.context_tokens) * kv_bytes_per_token(model),
        per_token,
        gpu_seconds,
        held * latency,
        ("serving.prefill_efficiency", *rate_sources, "serving.bandwidth_efficiency"),
    )


@dataclass(frozen=True)
class Pool:
    """Self-hosted model roles sharing the GPUs of one venue."""

    venue_id: str
    gpu_id: str
    counts: dict[BandName, Count]
    """GPUs in the pool (spares included), for each end of the band."""
    lines: tuple[Line, ...]
    utilisation: float
    """Share of the pool's GPU time used at average load (typical band)."""
    roles: tuple[str, ...]
    load_share: dict[str, float]
    """Share of the pool's average GPU time each role uses (typical band)."""
    facts: SizingFacts | None = None
    """What decided the number of replicas (typical band)."""
    server: ServerPrice | None = None
    """The server configuration, for purchased GPUs."""
    servers: Count | None = None
    """Servers holding the GPUs (typical band), for purchased GPUs."""

    @property
    def count(self) -> Count:
        return self.counts["typical"]


def _gpu_price(kb: KnowledgeBase, venue_id: str, gpu_id: str, as_of: dt.date) -> GpuPrice | None:
    found = [
        g for g in kb.gpu_prices if (g.venue, g.gpu) == (venue_id, gpu_id) and g.valid_on(as_of)
    ]
    found.sort(key=lambda g: (g.status != "binding", g.id))
    return found[0] if found else None


def _pool_count(
    gpu_id: str,
    placements: list[Placement],
    profile: OrganisationProfile,
    kb: KnowledgeBase,
    w: Workload,
    band: BandName,
) -> PoolSize:
    """GPUs needed at one end of the band: (count, average GPU-seconds per second of each role,
    usable memory per GPU, sources)."""
    gpu = kb.gpus[gpu_id]
    reserve = assumed(kb, "serving.activation_reserve_gb")[band] * 10**9
    usable = frac(gpu.memory_gb) * 10**9 * assumed(kb, "vllm.gpu_memory_utilization")[band]
    usable -= reserve
    weights, context_kv, seconds, kv, corpus_load = F(0), F(0), F(0), F(0), F(0)
    by_role: dict[str, Fraction] = {}
    sources: list[str] = []
    for p in placements:
        model = kb.models[p.role.models[0]]
        s = size(model, p.role, gpu.id, kb, w, band)
        sources.extend(x for x in s.sources if x not in sources)
        share = role_share(p, profile, w, band)
        weights += s.weights_bytes
        context_kv += s.context_kv_bytes
        seconds += share * s.gpu_seconds_per_query
        kv += share * s.kv_byte_seconds_per_query
        by_role[p.role.id] = share * s.gpu_seconds_per_query * w.volume / w.seconds_per_month
        if p.role.serves == "retrieval":
            # the corpus is embedded in the background, spread over the month
            background = w.corpus_per_month * s.seconds_per_input_token / w.seconds_per_month
            corpus_load += background
            by_role[p.role.id] += background
            if "rag.initial_load_amortisation_months" not in sources:
                sources.append("rag.initial_load_amortisation_months")
    # A replica (tensor-parallel group) needs the GPUs that hold every model's weights and one
    # sequence at full context; replicas are added for throughput (GPU-seconds per second) and
    # for the KV cache the requests in flight hold, at peak and at average load.
    need = weights + context_kv
    unit = max(1, math.ceil(need / usable))
    kv_budget = unit * usable - weights
    memory_terms = [(m / kv_budget, c) for m, c in w.load_terms(kv, F(0))]
    throughput_terms = [(m / unit, c / unit) for m, c in w.load_terms(seconds, corpus_load)]
    # sizing coefficients are estimates: bounded denominators keep exact arithmetic fast
    terms = [
        (slope.limit_denominator(10**15), intercept.limit_denominator(10**9))
        for slope, intercept in throughput_terms + memory_terms
    ]
    facts = SizingFacts(weights, context_kv, usable, unit, seconds, corpus_load, kv, kv_budget)
    return Count(1, tuple(terms), unit), by_role, usable, tuple(sources), facts


@dataclass(frozen=True)
class SizingFacts:
    """What decided a pool's replicas, per query and per GPU (one end of the band)."""

    weights: Fraction
    """Bytes of every model's weights."""
    context_kv: Fraction
    """Bytes of one full-context sequence's KV cache, summed over the models."""
    usable: Fraction
    """Bytes of one GPU's memory that weights and KV cache may use."""
    unit: int
    """GPUs per replica."""
    seconds: Fraction
    """GPU-seconds per query (all queries, each role weighted by its share)."""
    background: Fraction
    """GPU-seconds per second of background work (corpus embedding)."""
    kv: Fraction
    """KV-cache byte-seconds per query."""
    kv_budget: Fraction
    """Bytes of one replica's memory left for the KV cache."""

    def replicas(self, peak: Fraction) -> tuple[Fraction, Fraction]:
        """Replicas needed at a peak rate (queries a second): for GPU time, for KV memory."""
        return (self.seconds * peak + self.background) / self.unit, self.kv * peak / self.kv_budget


PoolSize = tuple[Count, dict[str, Fraction], Fraction, tuple[str, ...], SizingFacts]
"""What `_pool_count` gives: count, GPU-seconds per second of each role, usable memory,
sources, and the facts the count rests on."""


def pool_sizes(
    gpu_id: str,
    placements: list[Placement],
    profile: OrganisationProfile,
    kb: KnowledgeBase,
    w: Workload,
) -> dict[BandName, PoolSize]:
    return {b: _pool_count(gpu_id, placements, profile, kb, w, b) for b in BANDS}


def redundancy_of(profile: OrganisationProfile) -> tuple[int, int]:
    """(sites, spare servers) the profile's `workload.redundancy` asks for."""
    mode = profile.workload.redundancy
    if mode == "two_sites":
        return 2, 0
    return 1, 1 if mode == "n_plus_1" else 0


def server_configs(
    kb: KnowledgeBase, venue_id: str, gpu_id: str, as_of: dt.date
) -> list[ServerPrice]:
    """Server configurations for a GPU type at a premises venue on a day, by id."""
    return sorted(
        (
            sp
            for sp in kb.server_prices
            if (sp.venue, sp.gpu) == (venue_id, gpu_id) and sp.valid_on(as_of)
        ),
        key=lambda sp: sp.id,
    )


def build_pool(
    venue_id: str,
    gpu_price: GpuPrice,
    placements: list[Placement],
    profile: OrganisationProfile,
    kb: KnowledgeBase,
    w: Workload,
    pricing: Pricing,
    sized: dict[BandName, PoolSize] | None = None,
    server: ServerPrice | None = None,
) -> Pool:
    """The GPU pool of `placements` at one venue and GPU type (in `server`s, for purchased
    GPUs). `sized` is the pool's sizing (`pool_sizes`), which depends on the GPU type only,
    not on the venue: pass it to reuse it."""
    gpu = kb.gpus[gpu_price.gpu]
    if sized is None:
        sized = pool_sizes(gpu.id, placements, profile, kb, w)
    sites, spare = redundancy_of(profile)
    load_counts = {b: sized[b][0] for b in BANDS}
    if server is not None:
        owned = profile.capabilities.owned_gpus.get(gpu.id, 0)
        counts = {
            b: replace(
                c,
                per_server=server.gpus_per_server,
                fully_populated=server.fully_populated,
                sites=sites,
                spare=spare,
                owned=owned,
            )
            for b, c in load_counts.items()
        }
    else:  # rented GPUs (or a purchase without a server record): a spare is one replica
        counts = {
            b: replace(c, per_server=c.unit, sites=sites, spare=spare)
            for b, c in load_counts.items()
        }
    server_counts = {b: replace(c, of="servers") for b, c in counts.items()}
    _, by_role, _, sources, facts = sized["typical"]
    average = sum(by_role.values(), F(0))
    n = counts["typical"].at(w.volume)
    roles = tuple(p.role.id for p in placements)
    label = f"{gpu.name} ({', '.join(roles)})"
    hours = frac(kb.assumption("hours_per_month").value.typical)
    sizing = _source("vllm.gpu_memory_utilization", "serving.activation_reserve_gb", *sources)
    if spare or sites > 1:
        sizing = _source(sizing, "workload.redundancy")

    def per_gpu(amount: dict[BandName, Fraction], owned: int = 0) -> dict[BandName, Quantity]:
        return {b: Quantity(count=counts[b], per_count=amount[b], owned=owned) for b in BANDS}

    lines: list[Line] = []
    if gpu_price.rental_per_hour is not None:
        prices, fx = pricing.convert(gpu_price.rental_per_hour, gpu_price.currency)
        lines.append(
            Line(
                f"GPU rental: {label}",
                None,
                "always_on",
                "GPU-hour",
                _source(gpu_price.id, "hours_per_month", fx, sizing),
                prices,
                per_gpu(dict.fromkeys(BANDS, hours)),
                scales_with=_ids(gpu_price.id, fx),
            )
        )
        staff, staff_source = staff_prices(profile, kb, pricing)
        lines.append(
            Line(
                f"Operations staff: rented GPUs at {venue_id}",
                None,
                "always_on",
                "FTE-month",
                _source("ops.fte_per_gpu", staff_source),
                staff,
                per_gpu(assumed(kb, "ops.fte_per_gpu")),
                scales_with=_ids("ops.fte_per_gpu", staff_source),
            )
        )
    else:
        assert gpu_price.purchase is not None
        lines.extend(
            _premises_lines(
                gpu_price, server, counts, server_counts, roles, sizing, profile, kb, pricing
            )
        )
    shares = {r: float(t / average) if average else 0.0 for r, t in by_role.items()}
    return Pool(
        venue_id,
        gpu.id,
        counts,
        tuple(lines),
        float(average / n),
        roles,
        shares,
        facts,
        server,
        server_counts["typical"] if server is not None else None,
    )


def _premises_lines(
    gpu_price: GpuPrice,
    server: ServerPrice | None,
    counts: dict[BandName, Count],
    server_counts: dict[BandName, Count],
    roles: tuple[str, ...],
    sizing: str,
    profile: OrganisationProfile,
    kb: KnowledgeBase,
    pricing: Pricing,
) -> list[Line]:
    """Bought GPUs: cards and servers amortised over their life, their power at the facility's
    PUE, the rack space and facility per kW, and the staff per server."""
    assert gpu_price.purchase is not None
    gpu = kb.gpus[gpu_price.gpu]
    label = f"{gpu.name} ({', '.join(roles)})"
    hours = frac(kb.assumption("hours_per_month").value.typical)
    life = for_cost(assumed(kb, "gpu.life_months"), cheaper_when_higher=True)
    # with a server configuration the counts know the owned GPUs (they serve first); bare cards
    # (a knowledge base without server records) subtract them here
    owned = profile.capabilities.owned_gpus.get(gpu.id, 0) if server is None else 0
    bought = {b: replace(c, of="bought_gpus") for b, c in counts.items()}

    def purchase(
        name: str,
        unit: str,
        record_id: str,
        band: Band,
        currency: Currency,
        units: dict[BandName, Count],
        owned_units: int = 0,
    ) -> Line:
        """Equipment bought: its upfront price spread over its life, per unit bought."""
        upfront, fx = pricing.convert(band, currency)
        return Line(
            name,
            None,
            "always_on",
            unit,
            _source(record_id, "gpu.life_months", fx, sizing),
            {b: q6(frac(upfront[b]) / life[b]) for b in BANDS},
            {b: Quantity(count=units[b], per_count=ONE, owned=owned_units) for b in BANDS},
            scales_with=_ids(record_id, fx),
            inverse_with=("gpu.life_months",),
            upfront=upfront,
            life=life,
        )

    lines = [
        purchase(
            f"GPU purchase, amortised: {label}",
            "GPU-month",
            gpu_price.id,
            gpu_price.purchase,
            gpu_price.currency,
            bought,
            owned,
        )
    ]
    kw_gpu = frac(gpu.power_w) / 1000
    kw_server = frac(server.power_w) / 1000 if server is not None else ZERO

    def it_load(
        per_gpu: dict[BandName, Fraction] | None, per_server: dict[BandName, Fraction]
    ) -> dict[BandName, Quantity]:
        """A quantity per GPU (none when `per_gpu` is None) plus one per server (power, rack
        space, staff). The servers bought count whole; the organisation's own servers, which
        may hold other cards too, count for the share of a server (of this configuration) that
        its GPUs in the pool fill."""
        out = {}
        for b in BANDS:
            also: tuple[tuple[Count, Fraction, int], ...] = ()
            if server is not None:
                k = server.gpus_per_server
                also = (
                    (replace(counts[b], of="bought_servers"), per_server[b], 0),
                    (replace(counts[b], of="owned_gpus"), per_server[b] / k, 0),
                )
            if per_gpu is None:
                out[b] = Quantity(also=also)
            else:
                out[b] = Quantity(count=counts[b], per_count=per_gpu[b], also=also)
        return out

    if server is not None:
        lines.append(
            purchase(
                f"GPU servers, amortised: {server.name} ({', '.join(roles)})",
                "server-month",
                server.id,
                server.purchase,
                server.currency,
                {b: replace(c, of="bought_servers") for b, c in counts.items()},
            )
        )
    energy = kb.assumption("energy.price_per_kwh", profile.premises_country)
    pue = assumed(kb, "datacentre.pue")
    assert energy.currency is not None
    eprices, efx = pricing.convert(energy.value, energy.currency)
    server_id = server.id if server is not None else None
    lines.append(
        Line(
            f"Power: {label}",
            None,
            "always_on",
            "kWh",
            _source(energy.id, "datacentre.pue", "hours_per_month", gpu.id, server_id, efx),
            eprices,
            it_load(
                {b: kw_gpu * hours * pue[b] for b in BANDS},
                {b: kw_server * hours * pue[b] for b in BANDS},
            ),
            scales_with=_ids(energy.id, "datacentre.pue", efx),
        )
    )
    colo = kb.assumption("datacentre.colocation_per_kw_month", profile.premises_country)
    assert colo.currency is not None
    cprices, cfx = pricing.convert(colo.value, colo.currency)
    lines.append(
        Line(
            f"Rack space and facility: {label}",
            None,
            "always_on",
            "kW-month",
            _source(colo.id, gpu.id, server_id, cfx),
            cprices,
            it_load(dict.fromkeys(BANDS, kw_gpu), dict.fromkeys(BANDS, kw_server)),
            scales_with=_ids(colo.id, cfx),
        )
    )
    staff, staff_source = staff_prices(profile, kb, pricing)
    per_server = assumed(kb, "ops.fte_per_server")
    lines.append(
        Line(
            f"Operations staff: GPU servers ({', '.join(roles)})",
            None,
            "always_on",
            "FTE-month",
            _source("ops.fte_per_server", staff_source),
            staff,
            it_load(None, per_server)
            if server is not None
            else {b: Quantity(count=server_counts[b], per_count=per_server[b]) for b in BANDS},
            scales_with=_ids("ops.fte_per_server", staff_source),
        )
    )
    return lines


def staff_prices(
    profile: OrganisationProfile, kb: KnowledgeBase, pricing: Pricing
) -> tuple[dict[BandName, Decimal], str]:
    record = kb.assumption("ops.monthly_cost_per_fte", profile.organisation.headquarters)
    assert record.currency is not None
    prices, fx = pricing.convert(record.value, record.currency)
    return prices, _source(record.id, fx)


def role_staff_line(
    role_id: str, profile: OrganisationProfile, kb: KnowledgeBase, pricing: Pricing
) -> Line:
    """Staff time for a software component the organisation runs itself (a model server, an
    embedder, a vector store on its own host), whatever its size: patches, upgrades,
    monitoring. The hardware under it is counted per server or per rented GPU."""
    prices, source = staff_prices(profile, kb, pricing)
    fte = assumed(kb, "ops.fte_per_self_hosted_service")
    return Line(
        f"Operations staff: {role_id}",
        role_id,
        "always_on",
        "FTE-month",
        _source("ops.fte_per_self_hosted_service", source),
        prices,
        {b: Quantity(fixed=fte[b]) for b in BANDS},
        scales_with=_ids("ops.fte_per_self_hosted_service", source),
    )


def api_lines(
    placement: Placement,
    venue_id: str,
    model_id: str,
    profile: OrganisationProfile,
    kb: KnowledgeBase,
    w: Workload,
    pricing: Pricing,
) -> list[Line]:
    price = offered_price(kb, venue_id, model_id, pricing.as_of)
    assert price is not None
    role = placement.role
    share = {b: role_share(placement, profile, w, b) for b in BANDS}
    million = F(10**6)
    inp, fx = pricing.convert(price.input_per_mtok, price.currency)
    src = _source(price.id, fx)

    def tokens(
        what: str,
        prices: dict[BandName, Decimal],
        source: str,
        per_query: dict[BandName, Fraction] | None = None,
        fixed: Fraction = ZERO,
    ) -> Line:
        name = f"{role.id}: {what} ({model_id} @ {venue_id})"
        quantities = {
            b: Quantity(per_query=per_query[b] if per_query else ZERO, fixed=fixed) for b in BANDS
        }
        return Line(
            name, role.id, "usage", "1M tokens", source, prices, quantities, _ids(price.id, fx)
        )

    def per_query(tokens: Fraction | dict[BandName, Fraction]) -> dict[BandName, Fraction]:
        if isinstance(tokens, Fraction):
            return {b: share[b] * tokens / million for b in BANDS}
        return {b: share[b] * tokens[b] / million for b in BANDS}

    if role.kind == "embedding":
        corpus_source = _source(src, "rag.initial_load_amortisation_months")
        return [
            tokens("query embeddings", inp, src, per_query(w.tokens_in)),
            tokens("corpus embeddings", inp, corpus_source, fixed=w.corpus_per_month / million),
        ]
    out, _ = pricing.convert(price.output_per_mtok, price.currency)
    if role.serves == "classification":
        label_source = _source(src, "routing.label_output_tokens")
        return [
            tokens("routing input tokens", inp, src, per_query(w.tokens_in)),
            tokens("routing label tokens", out, label_source, per_query(w.label_tokens)),
        ]
    if role.serves == "complex_routed_queries":
        drift = _source(src, "routing.escalation_share_drift")
        return [
            tokens(
                "input tokens, context re-sent on escalation", inp, drift, per_query(w.tokens_in)
            ),
            tokens("output tokens", out, drift, per_query(w.tokens_out)),
        ]
    return [
        tokens("input tokens", inp, src, per_query(w.tokens_in)),
        tokens("output tokens", out, src, per_query(w.tokens_out)),
    ]


def vector_store_lines(
    placement: Placement,
    venue_id: str,
    embedder: LanguageModel,
    kb: KnowledgeBase,
    w: Workload,
    pricing: Pricing,
    profile: OrganisationProfile,
) -> list[tuple[tuple[Line, ...], dict[BandName, int]]]:
    """One option per host type (or managed plan) the venue offers: its lines (the hosts, and
    the staff to run the store unless the service is managed) and the hosts each end of the
    band needs."""
    chunk = for_cost(assumed(kb, "rag.chunk_tokens"), cheaper_when_higher=True)
    overhead = assumed(kb, "qdrant.memory_overhead")
    dims = embedder.embedding_dims or 0
    out: list[tuple[tuple[Line, ...], dict[BandName, int]]] = []
    for h in sorted(kb.host_prices, key=lambda h: h.id):
        if h.venue != venue_id or not h.valid_on(pricing.as_of):
            continue
        hosts = {}
        for b in BANDS:
            # Qdrant: vectors x dimensions x 4 bytes x 1.5
            memory_gb = w.corpus_tokens / chunk[b] * dims * 4 * overhead[b] / 10**9
            hosts[b] = max(1, math.ceil(memory_gb / frac(h.memory_gb)))
        prices, fx = pricing.convert(h.per_month, h.currency)
        what = h.name or f"vector store hosts ({h.memory_gb:g} GB)"
        if h.name:
            what = f"{'managed vector store' if h.managed else 'vector store host'}, {h.name}"
        line = Line(
            f"{placement.role.id}: {what} @ {venue_id}",
            placement.role.id,
            "always_on",
            "plan-month" if h.managed else "host-month",
            _source(h.id, fx, "rag.chunk_tokens", "qdrant.memory_overhead"),
            prices,
            {b: Quantity(fixed=F(hosts[b])) for b in BANDS},
            scales_with=_ids(h.id, fx),
        )
        if h.managed:
            out.append(((line,), hosts))
        else:
            out.append(((line, role_staff_line(placement.role.id, profile, kb, pricing)), hosts))
    return out


@dataclass(frozen=True)
class Choice:
    """Where each role of an eligible architecture runs, and what it costs."""

    venue_of: dict[str, tuple[str, str | None]]
    pools: tuple[Pool, ...]
    """GPU pools chosen at the profile's volume."""
    hosts: dict[str, int]
    model: CostModel
    """Cost as a function of volume: every venue/GPU alternative, cheapest chosen per volume."""
    owned_alternatives: dict[str, tuple[Fraction, Fraction]] = field(default_factory=dict)
    """For each owned GPU type a chosen premises pool does not run on: (the cheapest pool on it
    at the premises, the chosen pool), monthly typical, at the profile's volume."""


def _pool_options(
    venue_ids: list[str],
    placements: list[Placement],
    profile: OrganisationProfile,
    kb: KnowledgeBase,
    w: Workload,
    pricing: Pricing,
) -> list[Pool]:
    options = []
    sizes: dict[str, dict[BandName, PoolSize]] = {}  # sizing depends on the GPU, not the venue
    # GPUs the organisation owns cost nothing to buy: a pool on an owned type at the premises
    # uses them first and buys only what they cannot carry, in whole servers of a configuration
    # (see Count); it still pays their power, rack space and staff. Every type and venue is an
    # alternative, owned types included, and the cheapest wins at every volume (so that the
    # cost never falls when the load rises): owning one card of a type sold only in 8-GPU
    # servers does not force buying such a server when another type is cheaper. The advice
    # says why owned GPUs are not used, with both amounts (`OwnedGpuUse.reason`).
    gpu_ids = sorted(kb.gpus)
    for venue_id in venue_ids:
        for gpu_id in gpu_ids:
            price = _gpu_price(kb, venue_id, gpu_id, pricing.as_of)
            if price is None:
                continue
            if gpu_id not in sizes:
                sizes[gpu_id] = pool_sizes(gpu_id, placements, profile, kb, w)
            sized = sizes[gpu_id]
            servers: list[ServerPrice | None] = [None]
            if price.purchase is not None:
                # bought GPUs sit in servers: each configuration that holds a replica is an
                # alternative (a knowledge base without server records prices bare cards)
                unit = max(sized[b][0].unit for b in BANDS)
                configs = server_configs(kb, venue_id, gpu_id, pricing.as_of)
                fitting = [c for c in configs if c.gpus_per_server >= unit]
                servers = [*fitting] if configs else [None]
                if configs and not fitting:
                    continue
            for server in servers:
                options.append(
                    build_pool(venue_id, price, placements, profile, kb, w, pricing, sized, server)
                )
    assert options, "eligibility guarantees a priced venue"
    return options


def choose(
    result: Eligibility,
    profile: OrganisationProfile,
    kb: KnowledgeBase,
    w: Workload,
    pricing: Pricing,
) -> Choice:
    """Build the cost model of an eligible architecture and pick venues at the profile's volume.

    Each decision (the venue of an API role, the venue and GPU type of a GPU pool, the venue
    and host type of a vector store) is a group of alternatives; the cheapest typical total
    wins, at the profile's volume for the breakdown and at every volume for break-even.
    """
    groups: list[Group] = []
    venue_of: dict[str, tuple[str, str | None]] = {}
    hosts: dict[str, int] = {}
    owned_alternatives: dict[str, tuple[Fraction, Fraction]] = {}
    gpu_roles = [
        p
        for p in result.placements
        if p.role.deployment == "self_hosted" and p.role.kind != "vector_store" and is_active(p, w)
    ]
    pools: list[Pool] = []
    if gpu_roles:
        common = sorted(set.intersection(*({v for v, _ in p.options} for p in gpu_roles)))
        specs = (
            [(common, gpu_roles)]
            if common
            else [(sorted(v for v, _ in p.options), [p]) for p in gpu_roles]
        )
        owned = {g for g, n in profile.capabilities.owned_gpus.items() if n > 0}
        for venue_ids, members in specs:
            options = _pool_options(venue_ids, members, profile, kb, w, pricing)
            group = Group(tuple(pool.lines for pool in options))
            groups.append(group)
            pool = options[group.chosen(w.volume)]
            pools.append(pool)
            chosen_total = lines_total(pool.lines, w.volume)
            for gpu_id in sorted(owned - {pool.gpu_id}):
                on_it = [
                    lines_total(o.lines, w.volume)
                    for o in options
                    if o.gpu_id == gpu_id and kb.venues[o.venue_id].kind == "premises"
                ]
                if on_it:
                    owned_alternatives[gpu_id] = (min(on_it), chosen_total)
            for p in members:
                venue_of[p.role.id] = (pool.venue_id, p.role.models[0])
    embedder = next(
        (kb.models[p.role.models[0]] for p in result.placements if p.role.kind == "embedding"),
        None,
    )
    for p in result.placements:
        role = p.role
        if role.id in venue_of:
            if role.kind != "classifier":  # a detector runs inside the router: fleet staff
                groups.append(Group(((role_staff_line(role.id, profile, kb, pricing),),)))
            continue
        if not is_active(p, w):
            preferred = [v for v, _ in p.options if pools and v == pools[0].venue_id]
            venue_of[role.id] = (preferred or [p.options[0][0]])[0], p.options[0][1]
            continue
        if role.deployment == "api":
            api_options = [(v, m) for v, m in p.options if m is not None]
            group = Group(
                tuple(tuple(api_lines(p, v, m, profile, kb, w, pricing)) for v, m in api_options)
            )
            groups.append(group)
            venue_of[role.id] = api_options[group.chosen(w.volume)]
        else:  # vector store
            if embedder is None:
                raise InputError(f"architecture has a vector store `{role.id}` but no embedder")
            store_options = [
                (venue_id, lines, n)
                for venue_id, _ in p.options
                for lines, n in vector_store_lines(p, venue_id, embedder, kb, w, pricing, profile)
            ]
            group = Group(tuple(lines for _, lines, _ in store_options))
            groups.append(group)
            venue_id, _, n = store_options[group.chosen(w.volume)]
            venue_of[role.id] = (venue_id, None)
            hosts[role.id] = n["typical"]
    groups = [_fx_direction(g, pricing.inverted) for g in groups]
    return Choice(venue_of, tuple(pools), hosts, CostModel(tuple(groups)), owned_alternatives)


def _fx_direction(group: Group, inverted: set[str]) -> Group:
    """Move FX rates used inverted (1 / rate) from `scales_with` to `inverse_with`."""

    def fix(line: Line) -> Line:
        moved = tuple(i for i in line.scales_with if i in inverted)
        if not moved:
            return line
        return replace(
            line,
            scales_with=tuple(i for i in line.scales_with if i not in inverted),
            inverse_with=line.inverse_with + moved,
        )

    return Group(tuple(tuple(fix(line) for line in option) for option in group.options))


@dataclass(frozen=True)
class ServingCost:
    """What one GPU costs per hour and per million output tokens at a measured throughput."""

    currency: Currency
    per_gpu_hour: Decimal
    """Rental price per hour, or purchase amortised per hour plus power x PUE."""
    output_tokens_per_hour: Fraction
    per_million_output_tokens: Decimal
    """Cost of one million output tokens with the GPU fully busy (rounded to six decimals)."""
    source: str


def serving_cost(
    kb: KnowledgeBase,
    *,
    throughput_id: str,
    gpu_price_id: str,
    currency: Currency,
    as_of: dt.date,
    country: str | None = None,
) -> ServingCost:
    """Cost per million output tokens of a measured throughput record on a priced GPU, at full
    utilisation: the figure self-hosting calculators quote (typical band)."""
    throughput = next((t for t in kb.throughputs if t.id == throughput_id), None)
    price = next((g for g in kb.gpu_prices if g.id == gpu_price_id), None)
    if throughput is None or price is None:
        raise InputError(f"unknown throughput `{throughput_id}` or GPU price `{gpu_price_id}`")
    if throughput.gpu != price.gpu or not price.valid_on(as_of):
        raise InputError(f"`{gpu_price_id}` does not price {throughput.gpu} on {as_of}")
    pricing = Pricing(kb, currency, as_of)
    hours = frac(kb.assumption("hours_per_month").value.typical)
    sources: list[str | None] = [price.id]
    if price.rental_per_hour is not None:
        prices, fx = pricing.convert(price.rental_per_hour, price.currency)
        per_hour = frac(prices["typical"])
        sources.append(fx)
    else:
        assert price.purchase is not None
        life = frac(kb.assumption("gpu.life_months").value.typical)
        prices, fx = pricing.convert(price.purchase, price.currency)
        energy = kb.assumption("energy.price_per_kwh", country)
        assert energy.currency is not None
        eprices, efx = pricing.convert(energy.value, energy.currency)
        pue = frac(kb.assumption("datacentre.pue").value.typical)
        kw = frac(kb.gpus[price.gpu].power_w) / 1000
        per_hour = frac(prices["typical"]) / (life * hours) + kw * pue * frac(eprices["typical"])
        sources += [fx, "gpu.life_months", "hours_per_month", energy.id, "datacentre.pue", efx]
    tokens_per_hour = frac(throughput.output_tokens_per_s) * 3600
    return ServingCost(
        currency=currency,
        per_gpu_hour=q6(per_hour),
        output_tokens_per_hour=tokens_per_hour,
        per_million_output_tokens=q6(per_hour * 10**6 / tokens_per_hour),
        source=_source(*sources, throughput.id),
    )


def _gb(value: Fraction) -> Decimal:
    return q6(value / 10**9).quantize(Decimal("0.01"))


def explain_pool(
    pool: Pool, profile: OrganisationProfile, kb: KnowledgeBase, w: Workload
) -> GpuPool:
    """Why a pool has the GPUs it has at the profile's volume: the replica's size (memory), the
    replicas peak load needs (GPU time, KV cache), and the spares redundancy adds."""
    v = w.volume
    facts = pool.facts
    assert facts is not None
    gpu = kb.gpus[pool.gpu_id]
    peak = w.peak_slope * v + w.peak_fixed
    for_time, for_memory = facts.replicas(peak)
    load = Count(pool.count.minimum, pool.count.terms, pool.count.unit)
    replicas = load.at(v) // load.unit
    gpus = pool.count.at(v)
    spare_gpus = gpus - replicas * load.unit
    if replicas <= 1 and for_time <= 1 and for_memory <= 1:
        deciding: Literal["minimum", "throughput", "memory"] = "minimum"
    elif math.ceil(for_time) >= math.ceil(for_memory):
        deciding = "throughput"
    else:
        deciding = "memory"
    servers = pool.servers.at(v) if pool.servers is not None else None
    where = f"{gpus} x {gpu.name}"
    if pool.server is not None and servers is not None:
        where += f" in {servers} x {pool.server.name}"
    replica = (
        f"one replica needs {load.unit} GPU{'s' if load.unit > 1 else ''} (weights "
        f"{_gb(facts.weights)} GB + one full-context sequence's KV cache "
        f"{_gb(facts.context_kv)} GB; {_gb(facts.usable)} GB usable per GPU)"
    )
    kv_peak = facts.kv * peak
    need = (
        f"at the peak of {q6(peak).normalize():f} queries a second, GPU time "
        f"({q6(facts.seconds).quantize(Decimal('0.0001'))} GPU-seconds a query, prefill and "
        f"decode) needs {q6(for_time).quantize(Decimal('0.01'))} replicas and the KV cache "
        f"in flight ({_gb(kv_peak)} GB) {q6(for_memory).quantize(Decimal('0.01'))}"
    )
    decided = {
        "minimum": "so one replica carries the load",
        "throughput": f"so GPU time decides: {replicas} replicas",
        "memory": f"so the KV cache decides: {replicas} replicas",
    }[deciding]
    mode = profile.workload.redundancy
    if mode == "n_plus_1" and pool.server is not None:
        spare = (
            f"; N+1 adds a spare server ({spare_gpus} GPU{'s' if spare_gpus != 1 else ''}) so "
            "that peak capacity survives a server failure"
        )
    elif mode == "n_plus_1":
        spare = "; N+1 adds a spare replica so that peak capacity survives a failure"
    elif mode == "two_sites":
        spare = "; two sites: the whole pool runs in each"
    else:
        spare = "; no redundancy (workload.redundancy: none)"
    return GpuPool(
        venue_id=pool.venue_id,
        gpu_id=pool.gpu_id,
        roles=pool.roles,
        gpus=gpus,
        servers=servers,
        server_config=pool.server.id if pool.server is not None else None,
        deciding=deciding,
        replica_gpus=load.unit,
        weights_gb=_gb(facts.weights),
        context_kv_gb=_gb(facts.context_kv),
        usable_gb_per_gpu=_gb(facts.usable),
        peak_queries_per_second=q6(peak),
        replicas_for_throughput=q6(for_time),
        kv_cache_gb_at_peak=_gb(kv_peak),
        replicas_for_memory=q6(for_memory),
        redundancy=mode,
        spare_gpus=spare_gpus,
        explanation=f"{where}: {replica}; {need}, {decided}{spare}.",
    )
