"""Step 4: size every role and price it, choosing the cheapest admissible venue."""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction

from sovereign_advisor.errors import InputError
from sovereign_advisor.knowledge.loader import KnowledgeBase
from sovereign_advisor.knowledge.models import Band, GpuPrice, HostPrice, LanguageModel
from sovereign_advisor.profile import OrganisationProfile
from sovereign_advisor.types import Currency

from .costmodel import BANDS, BandName, CostModel, Count, Line, q6
from .eligibility import Eligibility, Placement, offered_price

F = Fraction
ONE = Fraction(1)
ZERO = Fraction(0)


def frac(x: float | Decimal) -> Fraction:
    """Exact fraction of a number as written in decimal (0.1 -> 1/10)."""
    if isinstance(x, float):
        return Fraction(repr(x))
    return Fraction(x)


class Pricing:
    """Unit prices in the report currency, on the as-of date, through dated FX records."""

    def __init__(self, kb: KnowledgeBase, currency: Currency, as_of: dt.date) -> None:
        self.kb = kb
        self.currency = currency
        self.as_of = as_of
        self._rates: dict[str, tuple[dict[BandName, Decimal], str | None]] = {}

    def rate(self, source: Currency) -> tuple[dict[BandName, Decimal], str | None]:
        """Units of the report currency per unit of `source`, with the FX record id(s).

        Uses the latest rate dated on or before the as-of date, directly, inverted, or crossed
        through a third currency when no direct rate exists.
        """
        if source == self.currency:
            return {b: Decimal(1) for b in BANDS}, None
        if source not in self._rates:
            found = self._direct(source, self.currency)
            if found is None:
                for via in ("EUR", "USD", "JPY"):
                    first = self._direct(source, via)
                    second = self._direct(via, self.currency)
                    if via not in (source, self.currency) and first and second:
                        found = (
                            {b: q6(first[0][b] * second[0][b]) for b in BANDS},
                            f"{first[1]} + {second[1]}",
                        )
                        break
            if found is None:
                raise InputError(
                    f"no exchange rate {source}->{self.currency} dated on or before {self.as_of} "
                    "in the knowledge base; add one to prices/fx.yaml or report in another "
                    "currency",
                    field="finance.currency",
                )
            self._rates[source] = found
        return self._rates[source]

    def _direct(
        self, source: Currency, target: Currency
    ) -> tuple[dict[BandName, Decimal], str] | None:
        best = None
        for fx in self.kb.fx_rates:
            if fx.date > self.as_of:
                continue
            if (fx.base, fx.quote) == (source, target):
                rates = {b: fx.rate.pick(b) for b in BANDS}
            elif (fx.base, fx.quote) == (target, source):
                # inverting swaps the ends of the band: a high rate gives a low conversion
                rates = {
                    "low": q6(1 / fx.rate.hi),
                    "typical": q6(1 / fx.rate.typical),
                    "high": q6(1 / fx.rate.lo),
                }
            else:
                continue
            if best is None or fx.date > best[2]:
                best = (rates, fx.id, fx.date)
        return None if best is None else (best[0], best[1])

    def convert(
        self, band: Band, currency: Currency, divide_by: Fraction = ONE
    ) -> tuple[dict[BandName, Decimal], str | None]:
        rates, fx_id = self.rate(currency)
        prices = {b: q6(frac(band.pick(b) * rates[b]) / divide_by) for b in BANDS}
        return prices, fx_id


def _source(*ids: str | None) -> str:
    return " + ".join(i for i in ids if i)


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
    complex_share: Fraction
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
    return Workload(
        volume=volume,
        tokens_in=frac(w.input_tokens_per_query),
        tokens_out=frac(w.output_tokens_per_query),
        peak_slope=peak / volume if volume > 0 else F(0),
        peak_fixed=F(0) if volume > 0 else peak,
        corpus_tokens=corpus,
        corpus_per_month=corpus * frac(w.corpus_refreshes_per_month) + corpus / amortise,
        complex_share=frac(w.complex_share),
        seconds_per_month=hours * 3600,
    )


def role_share(placement: Placement, profile: OrganisationProfile, w: Workload) -> Fraction:
    """Fraction of all queries that reach a role."""
    share = sum((frac(profile.data.share(c)) for c in placement.classes), F(0))
    if placement.role.serves == "complex_routed_queries":
        share *= w.complex_share
    return share


def is_active(placement: Placement, w: Workload) -> bool:
    return placement.role.serves != "retrieval" or w.corpus_tokens > 0


@dataclass(frozen=True)
class Sizing:
    """Per-query GPU time and memory of one model on one GPU type."""

    weights_bytes: Fraction
    seconds_per_input_token: Fraction
    """GPU-seconds to prefill (or embed) one input token."""
    gpu_seconds_per_query: Fraction
    kv_byte_seconds_per_query: Fraction
    """KV-cache bytes held x seconds held, per query (Little's law gives memory at a rate)."""
    source: str


def size(
    model: LanguageModel, gpu_id: str, kb: KnowledgeBase, w: Workload, *, embedding: bool
) -> Sizing:
    gpu = kb.gpus[gpu_id]
    a = kb.assumption
    flops = frac(gpu.bf16_dense_tflops) * 10**12
    active = frac(model.active_params_b or 0) * 10**9
    bytes_per_param = frac(model.bytes_per_param)
    weights = frac(model.total_params_b or 0) * 10**9 * bytes_per_param
    per_token = size_per_token(model, gpu_id, kb)
    prefill = w.tokens_in * per_token
    sources = ["serving.prefill_efficiency"]
    if embedding:
        return Sizing(weights, per_token, prefill, F(0), _source(*sources))
    measured = sorted(
        (t for t in kb.throughputs if (t.model, t.gpu, t.gpus) == (model.id, gpu_id, 1)),
        key=lambda t: t.id,
    )
    if measured:
        decode_rate = frac(measured[0].output_tokens_per_s)
        sources.append(measured[0].id)
    else:
        decode_rate = flops * frac(a("serving.decode_efficiency").value.typical) / (2 * active)
        sources.append("serving.decode_efficiency")
    gpu_seconds = prefill + w.tokens_out / decode_rate
    single_stream = (
        frac(gpu.bandwidth_gb_s) * 10**9 * frac(a("serving.bandwidth_efficiency").value.typical)
    ) / (active * bytes_per_param)
    latency = prefill + w.tokens_out / single_stream
    kv_per_token = 2 * (model.layers or 0) * (model.kv_heads or 0) * (model.head_dim or 0)
    kv_bytes = (w.tokens_in + w.tokens_out) * kv_per_token * bytes_per_param
    sources.append("serving.bandwidth_efficiency")
    return Sizing(weights, per_token, gpu_seconds, kv_bytes * latency, _source(*sources))


def size_per_token(model: LanguageModel, gpu_id: str, kb: KnowledgeBase) -> Fraction:
    """GPU-seconds to embed (prefill) one token: compute bound."""
    flops = frac(kb.gpus[gpu_id].bf16_dense_tflops) * 10**12
    efficiency = frac(kb.assumption("serving.prefill_efficiency").value.typical)
    return 2 * frac(model.active_params_b or 0) * 10**9 / (flops * efficiency)


@dataclass(frozen=True)
class Pool:
    """Self-hosted model roles sharing the GPUs of one venue."""

    venue_id: str
    gpu_id: str
    count: Count
    lines: tuple[Line, ...]
    utilisation: float
    roles: tuple[str, ...]


def _gpu_price(kb: KnowledgeBase, venue_id: str, gpu_id: str, as_of: dt.date) -> GpuPrice | None:
    found = [
        g for g in kb.gpu_prices if (g.venue, g.gpu) == (venue_id, gpu_id) and g.valid_on(as_of)
    ]
    found.sort(key=lambda g: (g.status != "binding", g.id))
    return found[0] if found else None


def build_pool(
    venue_id: str,
    gpu_price: GpuPrice,
    placements: list[Placement],
    profile: OrganisationProfile,
    kb: KnowledgeBase,
    w: Workload,
    pricing: Pricing,
) -> Pool:
    gpu = kb.gpus[gpu_price.gpu]
    a = kb.assumption
    usable = (
        frac(gpu.memory_gb) * 10**9 * frac(a("vllm.gpu_memory_utilization").value.typical)
        - frac(a("serving.activation_reserve_gb").value.typical) * 10**9
    )
    weights, seconds, kv, corpus_load = F(0), F(0), F(0), F(0)
    sources = []
    for p in placements:
        model = kb.models[p.role.models[0]]
        s = size(model, gpu.id, kb, w, embedding=p.role.kind == "embedding")
        sources.append(s.source)
        share = role_share(p, profile, w)
        weights += s.weights_bytes
        seconds += share * s.gpu_seconds_per_query
        kv += share * s.kv_byte_seconds_per_query
        if p.role.serves == "retrieval":
            # the corpus is embedded in the background, spread over the month
            corpus_load += w.corpus_per_month * s.seconds_per_input_token / w.seconds_per_month
    # GPUs for throughput (GPU-seconds per second) and for memory (weights plus the KV cache the
    # requests in flight hold), each at peak and at average load
    memory_terms = [(m / usable, c / usable) for m, c in w.load_terms(kv, weights)]
    # sizing coefficients are estimates: bounded denominators keep exact arithmetic fast
    terms = [
        (slope.limit_denominator(10**15), intercept.limit_denominator(10**9))
        for slope, intercept in w.load_terms(seconds, corpus_load) + memory_terms
    ]
    count = Count(1, tuple(terms))
    n = count.at(w.volume)
    average = seconds * w.volume / w.seconds_per_month + corpus_load
    utilisation = float(average / n)
    roles = tuple(p.role.id for p in placements)
    label = f"{gpu.name} ({', '.join(roles)})"
    hours = frac(a("hours_per_month").value.typical)
    lines: list[Line] = []
    sizing = _source("vllm.gpu_memory_utilization", "serving.activation_reserve_gb", *sources)
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
                count=count,
                per_count=hours,
            )
        )
    else:
        assert gpu_price.purchase is not None
        life = frac(a("gpu.life_months").value.typical)
        prices, fx = pricing.convert(gpu_price.purchase, gpu_price.currency, divide_by=life)
        owned = profile.capabilities.owned_gpus.get(gpu.id, 0)
        lines.append(
            Line(
                f"GPU purchase, amortised: {label}",
                None,
                "always_on",
                "GPU-month",
                _source(gpu_price.id, "gpu.life_months", fx, sizing),
                prices,
                count=count,
                per_count=F(1),
                owned=owned,
            )
        )
        energy = a("energy.price_per_kwh", profile.premises_country)
        pue = frac(a("datacentre.pue").value.typical)
        kwh = frac(gpu.power_w) / 1000 * hours * pue
        assert energy.currency is not None
        eprices, efx = pricing.convert(energy.value, energy.currency)
        lines.append(
            Line(
                f"GPU power: {label}",
                None,
                "always_on",
                "kWh",
                _source(energy.id, "datacentre.pue", gpu.id, efx),
                eprices,
                count=count,
                per_count=kwh,
            )
        )
    staff = staff_prices(profile, kb, pricing)
    fte_gpu = frac(a("ops.fte_per_gpu").value.typical)
    lines.append(
        Line(
            f"Operations staff: GPU fleet at {venue_id}",
            None,
            "always_on",
            "FTE-month",
            _source("ops.fte_per_gpu", staff[1]),
            staff[0],
            count=count,
            per_count=fte_gpu,
        )
    )
    return Pool(venue_id, gpu.id, count, tuple(lines), utilisation, roles)


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
    prices, source = staff_prices(profile, kb, pricing)
    fte = frac(kb.assumption("ops.fte_per_self_hosted_role").value.typical)
    return Line(
        f"Operations staff: {role_id}",
        role_id,
        "always_on",
        "FTE-month",
        _source("ops.fte_per_self_hosted_role", source),
        prices,
        fixed=fte,
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
    share = role_share(placement, profile, w)
    role = placement.role.id
    million = F(10**6)
    inp, fx = pricing.convert(price.input_per_mtok, price.currency)
    src = _source(price.id, fx)

    def tokens(
        what: str,
        prices: dict[BandName, Decimal],
        source: str,
        per_query: Fraction = ZERO,
        fixed: Fraction = ZERO,
    ) -> Line:
        name = f"{role}: {what} ({model_id} @ {venue_id})"
        return Line(name, role, "usage", "1M tokens", source, prices, per_query, fixed)

    if placement.role.kind == "embedding":
        corpus_source = _source(src, "rag.initial_load_amortisation_months")
        return [
            tokens("query embeddings", inp, src, per_query=share * w.tokens_in / million),
            tokens("corpus embeddings", inp, corpus_source, fixed=w.corpus_per_month / million),
        ]
    out, _ = pricing.convert(price.output_per_mtok, price.currency)
    return [
        tokens("input tokens", inp, src, per_query=share * w.tokens_in / million),
        tokens("output tokens", out, src, per_query=share * w.tokens_out / million),
    ]


def vector_store_lines(
    placement: Placement,
    venue_id: str,
    architecture_embedder: LanguageModel,
    kb: KnowledgeBase,
    w: Workload,
    pricing: Pricing,
) -> tuple[list[Line], int]:
    a = kb.assumption
    vectors = w.corpus_tokens / frac(a("rag.chunk_tokens").value.typical)
    dims = architecture_embedder.embedding_dims or 0
    memory_gb = vectors * dims * 4 * frac(a("qdrant.memory_overhead").value.typical) / 10**9
    best: tuple[Decimal, int, HostPrice] | None = None
    for h in sorted(kb.host_prices, key=lambda h: h.id):
        if h.venue != venue_id or not h.valid_on(pricing.as_of):
            continue
        hosts = math.ceil(memory_gb / frac(h.memory_gb))
        prices, _ = pricing.convert(h.per_month, h.currency)
        cost = hosts * prices["typical"]
        if best is None or cost < best[0]:
            best = (cost, hosts, h)
    assert best is not None
    _, hosts, host = best
    prices, fx = pricing.convert(host.per_month, host.currency)
    line = Line(
        f"{placement.role.id}: vector store hosts ({host.memory_gb:g} GB) @ {venue_id}",
        placement.role.id,
        "always_on",
        "host-month",
        _source(host.id, fx, "rag.chunk_tokens", "qdrant.memory_overhead"),
        prices,
        fixed=F(hosts),
    )
    return [line], hosts


@dataclass(frozen=True)
class Choice:
    """Where each role of an eligible architecture runs, and what it costs."""

    venue_of: dict[str, tuple[str, str | None]]
    pools: tuple[Pool, ...]
    hosts: dict[str, int]
    model: CostModel


def _cheapest_pool(
    venue_ids: list[str],
    placements: list[Placement],
    profile: OrganisationProfile,
    kb: KnowledgeBase,
    w: Workload,
    pricing: Pricing,
) -> Pool:
    best: tuple[Decimal, str, str, Pool] | None = None
    for venue_id in venue_ids:
        for gpu_id in sorted(kb.gpus):
            price = _gpu_price(kb, venue_id, gpu_id, pricing.as_of)
            if price is None:
                continue
            pool = build_pool(venue_id, price, placements, profile, kb, w, pricing)
            cost = CostModel(pool.lines).presented_total(w.volume, "typical")
            key = (cost, venue_id, gpu_id)
            if best is None or key < best[:3]:
                best = (*key, pool)
    assert best is not None, "eligibility guarantees a priced venue"
    return best[3]


def choose(
    result: Eligibility,
    profile: OrganisationProfile,
    kb: KnowledgeBase,
    w: Workload,
    pricing: Pricing,
) -> Choice:
    """Pick venues and build the cost model of an eligible architecture."""
    lines: list[Line] = []
    venue_of: dict[str, tuple[str, str | None]] = {}
    hosts: dict[str, int] = {}
    gpu_roles = [
        p
        for p in result.placements
        if p.role.deployment == "self_hosted" and p.role.kind != "vector_store" and is_active(p, w)
    ]
    pools: list[Pool] = []
    if gpu_roles:
        common = sorted(set.intersection(*({v for v, _ in p.options} for p in gpu_roles)))
        groups = (
            [(common, gpu_roles)]
            if common
            else [(sorted(v for v, _ in p.options), [p]) for p in gpu_roles]
        )
        for venue_ids, members in groups:
            pool = _cheapest_pool(venue_ids, members, profile, kb, w, pricing)
            pools.append(pool)
            lines.extend(pool.lines)
            for p in members:
                venue_of[p.role.id] = (pool.venue_id, p.role.models[0])
    embedder = next(
        (kb.models[p.role.models[0]] for p in result.placements if p.role.kind == "embedding"),
        None,
    )
    for p in result.placements:
        role = p.role
        if role.id in venue_of:
            lines.append(role_staff_line(role.id, profile, kb, pricing))
            continue
        if not is_active(p, w):
            preferred = [v for v, _ in p.options if pools and v == pools[0].venue_id]
            venue_of[role.id] = (preferred or [p.options[0][0]])[0], p.options[0][1]
            continue
        if role.deployment == "api":
            options = []
            for venue_id, model_id in p.options:
                assert model_id is not None
                candidate = api_lines(p, venue_id, model_id, profile, kb, w, pricing)
                cost = CostModel(tuple(candidate)).presented_total(w.volume, "typical")
                options.append((cost, venue_id, model_id, candidate))
            cost, venue_id, model_id, chosen = min(options, key=lambda o: o[:3])
            venue_of[role.id] = (venue_id, model_id)
            lines.extend(chosen)
        else:  # vector store
            if embedder is None:
                raise InputError(f"architecture has a vector store `{role.id}` but no embedder")
            options2 = []
            for venue_id, _ in p.options:
                candidate, n = vector_store_lines(p, venue_id, embedder, kb, w, pricing)
                cost = CostModel(tuple(candidate)).presented_total(w.volume, "typical")
                options2.append((cost, venue_id, candidate, n))
            cost, venue_id, chosen, n = min(options2, key=lambda o: o[:2])
            venue_of[role.id] = (venue_id, None)
            hosts[role.id] = n
            lines.extend(chosen)
            lines.append(role_staff_line(role.id, profile, kb, pricing))
    return Choice(venue_of, tuple(pools), hosts, CostModel(tuple(lines)))
