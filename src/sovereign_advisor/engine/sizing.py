"""Step 4, sizing: the workload a profile describes, and how many GPUs (in replicas and whole
servers) each self-hosted pool needs for it: GPU time, KV cache, the minimum and the spares."""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction
from typing import Literal

from sovereign_advisor.advice import GpuPool
from sovereign_advisor.knowledge.loader import KnowledgeBase
from sovereign_advisor.knowledge.models import (
    GpuPrice,
    LanguageModel,
    Role,
    ServerPrice,
)
from sovereign_advisor.profile import OrganisationProfile

from .costmodel import (
    BANDS,
    BandName,
    Bands,
    Count,
    Line,
    q6,
)
from .eligibility import Placement
from .pricing import ONE, ZERO, F, assumed, for_cost, frac, kb_cached


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


@dataclass(frozen=True)
class _ModelOnGpu:
    """What sizing reads of one model on one GPU type at one end of the band: the knowledge
    base alone decides it, so it is kept per knowledge base (`_model_on_gpu`)."""

    weights_bytes: Fraction
    context_kv_bytes: Fraction
    per_token: Fraction
    """GPU-seconds to prefill one input token."""
    rate: Fraction
    """Aggregate output tokens per second (decode); 1 for an embedder or classifier."""
    single_stream: Fraction
    """Output tokens per second of one stream; 1 for an embedder or classifier."""
    kv_per_token: Fraction
    context_tokens: Fraction
    sources: tuple[str, ...]


def _model_on_gpu(
    model: LanguageModel, role: Role, gpu_id: str, kb: KnowledgeBase, band: BandName
) -> _ModelOnGpu:
    encoder = role.kind in ("embedding", "classifier")
    if kb.models.get(model.id) is not model:  # a model the knowledge base does not hold
        return _model_on_gpu_of(model, encoder, gpu_id, kb, band)
    key = ("model_on_gpu", model.id, encoder, gpu_id, band)
    return kb_cached(kb, key, lambda: _model_on_gpu_of(model, encoder, gpu_id, kb, band))


def _model_on_gpu_of(
    model: LanguageModel, encoder: bool, gpu_id: str, kb: KnowledgeBase, band: BandName
) -> _ModelOnGpu:
    per_token = size_per_token(model, gpu_id, kb, band)
    weights = weights_bytes(model)
    if encoder:
        return _ModelOnGpu(
            weights, F(0), per_token, ONE, ONE, F(0), F(0), ("serving.prefill_efficiency",)
        )
    gpu = kb.gpus[gpu_id]
    rate, rate_sources = decode_rate(model, gpu_id, kb, band)
    bandwidth = for_cost(assumed(kb, "serving.bandwidth_efficiency"), cheaper_when_higher=True)
    active = frac(model.active_params_b or 0) * 10**9
    # one stream decodes at the memory-bandwidth roofline: every step reads the active weights
    single_stream = frac(gpu.bandwidth_gb_s) * 10**9 * bandwidth[band]
    single_stream /= active * frac(model.bytes_per_param)
    kv_per_token = kv_bytes_per_token(model)
    return _ModelOnGpu(
        weights,
        F(model.context_tokens) * kv_per_token,
        per_token,
        rate,
        single_stream,
        kv_per_token,
        F(model.context_tokens),
        ("serving.prefill_efficiency", *rate_sources, "serving.bandwidth_efficiency"),
    )


def size(
    model: LanguageModel,
    role: Role,
    gpu_id: str,
    kb: KnowledgeBase,
    w: Workload,
    band: BandName = "typical",
) -> Sizing:
    c = _model_on_gpu(model, role, gpu_id, kb, band)
    prefill = w.tokens_in * c.per_token
    if role.kind in ("embedding", "classifier"):
        return Sizing(c.weights_bytes, F(0), c.per_token, prefill, F(0), c.sources)
    gpu_seconds = prefill + w.tokens_out / c.rate
    latency = prefill + w.tokens_out / c.single_stream
    # a request holds the KV cache of its tokens (never more than the model's context)
    held = min(w.tokens_in + w.tokens_out, c.context_tokens) * c.kv_per_token
    return Sizing(
        c.weights_bytes,
        c.context_kv_bytes,
        c.per_token,
        gpu_seconds,
        held * latency,
        c.sources,
    )


@dataclass(frozen=True)
class Pool:
    """Self-hosted model roles sharing the GPUs of one venue."""

    venue_id: str
    gpu_id: str
    counts: Mapping[BandName, Count]
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
    """The GPU price of a venue and GPU type on a day (binding before provisional, then by id),
    from an index kept per knowledge base and day."""
    key = ("gpu_prices_on", as_of)
    index: dict[tuple[str, str], GpuPrice] | None = kb.derived.get(key)
    if index is None:
        index = {}
        for g in sorted(kb.gpu_prices, key=lambda g: (g.status != "binding", g.id)):
            if g.valid_on(as_of):
                index.setdefault((g.venue, g.gpu), g)
        kb.derived[key] = index
    return index.get((venue_id, gpu_id))


def _pool_count(
    gpu_id: str,
    placements: list[Placement],
    profile: OrganisationProfile,
    kb: KnowledgeBase,
    w: Workload,
    band: BandName,
    shares: list[Fraction] | None = None,
) -> PoolSize:
    """GPUs needed at one end of the band: (count, average GPU-seconds per second of each role,
    usable memory per GPU, sources).

    What the knowledge base alone decides (each model's constants on the GPU type, the memory
    a replica needs, hence its GPUs and its KV-cache budget) is kept per knowledge base
    (`_layout`); what the profile adds is computed in integers, each value an unreduced
    numerator and denominator made a Fraction once at the end: the same exact values as
    Fraction arithmetic (`tests/test_fast_path.py` compares them), without a gcd per step."""
    layout = _layout(gpu_id, placements, kb, band)
    tin_n, tin_d = w.tokens_in.numerator, w.tokens_in.denominator
    tout_n, tout_d = w.tokens_out.numerator, w.tokens_out.denominator
    tokens = w.tokens_in + w.tokens_out
    spm_n, spm_d = w.seconds_per_month.numerator, w.seconds_per_month.denominator
    vol_n, vol_d = w.volume.numerator, w.volume.denominator
    cpm_n, cpm_d = w.corpus_per_month.numerator, w.corpus_per_month.denominator
    sec_n, sec_d, kv_n, kv_d, bg_n, bg_d = 0, 1, 0, 1, 0, 1
    by_role: dict[str, Fraction] = {}
    if shares is None:
        shares = [role_share(p, profile, w, band) for p in placements]
    for p, c, share in zip(placements, layout.models, shares, strict=True):
        sh_n, sh_d = share.numerator, share.denominator
        pt_n, pt_d = c.per_token.numerator, c.per_token.denominator
        # prefill = tokens_in * per_token
        pf_n, pf_d = tin_n * pt_n, tin_d * pt_d
        if p.role.kind in ("embedding", "classifier"):
            gs_n, gs_d = pf_n, pf_d
        else:
            # GPU time: prefill + tokens_out / rate; latency: prefill + tokens_out / stream
            r_n, r_d = c.rate.numerator, c.rate.denominator
            gs_n, gs_d = pf_n * tout_d * r_n + tout_n * r_d * pf_d, pf_d * tout_d * r_n
            st_n, st_d = c.single_stream.numerator, c.single_stream.denominator
            lat_n, lat_d = pf_n * tout_d * st_n + tout_n * st_d * pf_d, pf_d * tout_d * st_n
            # a request holds the KV cache of its tokens (never more than the model's context)
            held = min(tokens, c.context_tokens) * c.kv_per_token
            q_n, q_d = held.numerator * lat_n, held.denominator * lat_d
            kv_n, kv_d = kv_n * sh_d * q_d + sh_n * q_n * kv_d, kv_d * sh_d * q_d
        # seconds += share * gpu_seconds; the role's GPU-seconds per second at average load
        role_n, role_d = sh_n * gs_n, sh_d * gs_d
        sec_n, sec_d = sec_n * role_d + role_n * sec_d, sec_d * role_d
        role_n, role_d = role_n * vol_n * spm_d, role_d * vol_d * spm_n
        if p.role.serves == "retrieval":
            # the corpus is embedded in the background, spread over the month
            b_n, b_d = cpm_n * pt_n * spm_d, cpm_d * pt_d * spm_n
            bg_n, bg_d = bg_n * b_d + b_n * bg_d, bg_d * b_d
            role_n, role_d = role_n * b_d + b_n * role_d, role_d * b_d
        by_role[p.role.id] = Fraction(role_n, role_d)
    # A replica (tensor-parallel group) needs the GPUs that hold every model's weights and one
    # sequence at full context; replicas are added for throughput (GPU-seconds per second) and
    # for the KV cache the requests in flight hold, at peak and at average load.
    unit, budget = layout.unit, layout.kv_budget
    if budget == 0:
        raise ZeroDivisionError("a replica leaves no memory for the KV cache")
    bu_n, bu_d = budget.numerator, budget.denominator
    ps_n, ps_d = w.peak_slope.numerator, w.peak_slope.denominator
    pf_n, pf_d = w.peak_fixed.numerator, w.peak_fixed.denominator
    # sizing coefficients are estimates: bounded denominators keep exact arithmetic fast
    slope, intercept = 10**15, 10**9
    terms = (
        # GPU time at peak: (seconds * peak_slope, seconds * peak_fixed + background) / unit
        (
            _limited(sec_n * ps_n, sec_d * ps_d * unit, slope),
            _limited(
                sec_n * pf_n * bg_d + bg_n * sec_d * pf_d, sec_d * pf_d * bg_d * unit, intercept
            ),
        ),
        # and at average load: (seconds / seconds_per_month, background) / unit
        (
            _limited(sec_n * spm_d, sec_d * spm_n * unit, slope),
            _limited(bg_n, bg_d * unit, intercept),
        ),
        # KV cache at peak and at average load: the slope over the replica's budget (the peak's
        # intercept, nonzero only at zero volume, is kept as `load_terms` gives it)
        (
            _limited(kv_n * ps_n * bu_d, kv_d * ps_d * bu_n, slope),
            _limited(kv_n * pf_n, kv_d * pf_d, intercept),
        ),
        (_limited(kv_n * spm_d * bu_d, kv_d * spm_n * bu_n, slope), ZERO),
    )
    facts = SizingFacts(
        layout.weights,
        layout.context_kv,
        layout.usable,
        unit,
        Fraction(sec_n, sec_d),
        Fraction(bg_n, bg_d),
        Fraction(kv_n, kv_d),
        budget,
    )
    return Count(1, terms, unit), by_role, layout.usable, layout.sources, facts


def _limited(n: int, d: int, max_denominator: int) -> Fraction:
    """`Fraction(n, d).limit_denominator(max_denominator)`, in integers: the same continued
    fraction and the same choice of the closer bound (the second on a tie)."""
    if d < 0:
        n, d = -n, -d
    g = math.gcd(n, d)
    if g != 1:
        n, d = n // g, d // g
    if d <= max_denominator:
        return Fraction(n, d)
    num, den = n, d
    p0, q0, p1, q1 = 0, 1, 1, 0
    while True:
        a = n // d
        q2 = q0 + a * q1
        if q2 > max_denominator:
            break
        p0, q0, p1, q1 = p1, q1, p0 + a * p1, q2
        n, d = d, n - a * d
    k = (max_denominator - q0) // q1
    b1_n, b1_d = p0 + k * p1, q0 + k * q1
    # |p1/q1 - num/den| <= |b1_n/b1_d - num/den|, cross-multiplied (denominators positive)
    if abs(p1 * den - num * q1) * b1_d <= abs(b1_n * den - num * b1_d) * q1:
        return Fraction(p1, q1)
    return Fraction(b1_n, b1_d)


@dataclass(frozen=True)
class _Layout:
    """The models of a pool on one GPU type at one end of the band, as the knowledge base
    decides them: their constants, the memory of a replica and the sources they read."""

    models: tuple[_ModelOnGpu, ...]
    weights: Fraction
    context_kv: Fraction
    usable: Fraction
    unit: int
    kv_budget: Fraction
    sources: tuple[str, ...]


def _layout(gpu_id: str, placements: list[Placement], kb: KnowledgeBase, band: BandName) -> _Layout:
    roles = tuple((p.role.models[0], p.role.kind, p.role.serves) for p in placements)
    key = ("pool_layout", gpu_id, band, roles)
    return kb_cached(kb, key, lambda: _layout_of(gpu_id, placements, kb, band))


def _layout_of(
    gpu_id: str, placements: list[Placement], kb: KnowledgeBase, band: BandName
) -> _Layout:
    usable = _usable(kb, gpu_id, band)
    weights, context_kv = F(0), F(0)
    models = []
    sources: list[str] = []
    for p in placements:
        c = _model_on_gpu(kb.models[p.role.models[0]], p.role, gpu_id, kb, band)
        models.append(c)
        sources.extend(x for x in c.sources if x not in sources)
        weights += c.weights_bytes
        context_kv += c.context_kv_bytes
        if p.role.serves == "retrieval" and "rag.initial_load_amortisation_months" not in sources:
            sources.append("rag.initial_load_amortisation_months")
    unit = max(1, math.ceil((weights + context_kv) / usable))
    return _Layout(
        tuple(models), weights, context_kv, usable, unit, unit * usable - weights, tuple(sources)
    )


def _usable(kb: KnowledgeBase, gpu_id: str, band: BandName) -> Fraction:
    """Bytes of one GPU's memory that weights and KV cache may use."""
    reserve = assumed(kb, "serving.activation_reserve_gb")[band] * 10**9
    usable = frac(kb.gpus[gpu_id].memory_gb) * 10**9
    return usable * assumed(kb, "vllm.gpu_memory_utilization")[band] - reserve


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
    shares: Mapping[BandName, list[Fraction]] | None = None,
) -> Bands[PoolSize]:
    """The pool's size at each end of the band; `shares` are the roles' shares of the queries
    (`role_share`) at each end, the same for every GPU type: pass them to reuse them.

    The typical size is computed at once; the low and high ones, which only a chosen pool's
    band totals read, on first use (`Bands`), when sizing them cannot raise
    (`_sizing_cannot_raise`); otherwise every end at once, in the order low, typical, high,
    so that the error raised is the one raised before."""

    def count(b: BandName) -> PoolSize:
        return _pool_count(gpu_id, placements, profile, kb, w, b, shares[b] if shares else None)

    # each end's layout is read (and its assumptions noted) at once, in the order sizing read
    # them: a layout that raises does so after every earlier end was found unable to raise
    for b in BANDS:
        if not _sizing_cannot_raise(_layout(gpu_id, placements, kb, b), w):
            return Bands.eager(count("low"), count("typical"), count("high"))
    return Bands.of(count)


def replica_gpus(gpu_id: str, placements: list[Placement], kb: KnowledgeBase) -> int:
    """GPUs of one replica of a pool at the widest end of the band (what a server holding a
    replica must fit), from the knowledge base alone."""
    return max(_layout(gpu_id, placements, kb, b).unit for b in BANDS)


def _sizing_cannot_raise(layout: _Layout, w: Workload) -> bool:
    """Whether `_pool_count` on this layout returns for any profile. Its only divisions are by
    products of denominators (never zero), of the models' decode rates and single-stream
    rates (as numerators), of the replica's KV budget and of the seconds in a month: it raises
    exactly when one of those is zero."""
    return (
        layout.kv_budget != 0
        and w.seconds_per_month != 0
        and all(c.rate != 0 and c.single_stream != 0 for c in layout.models)
    )


def redundancy_of(profile: OrganisationProfile) -> tuple[int, int]:
    """(sites, spare servers) the profile's `workload.redundancy` asks for."""
    mode = profile.workload.redundancy
    if mode == "two_sites":
        return 2, 0
    return 1, 1 if mode == "n_plus_1" else 0


def server_configs(
    kb: KnowledgeBase, venue_id: str, gpu_id: str, as_of: dt.date
) -> list[ServerPrice]:
    """Server configurations for a GPU type at a premises venue on a day, by id (kept per
    knowledge base)."""
    key = ("server_configs", venue_id, gpu_id, as_of)
    found: list[ServerPrice] | None = kb.derived.get(key)
    if found is None:
        found = kb.derived[key] = _server_configs(kb, venue_id, gpu_id, as_of)
    return list(found)


def _server_configs(
    kb: KnowledgeBase, venue_id: str, gpu_id: str, as_of: dt.date
) -> list[ServerPrice]:
    return sorted(
        (
            sp
            for sp in kb.server_prices
            if (sp.venue, sp.gpu) == (venue_id, gpu_id) and sp.valid_on(as_of)
        ),
        key=lambda sp: sp.id,
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
