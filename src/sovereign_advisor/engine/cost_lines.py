"""Step 4, cost lines: what each role costs as lines of the cost model: a GPU pool bought (cards,
servers, power, rack space, staff) or rented, API tokens, a vector store and the staff to run it."""

from __future__ import annotations

import datetime as dt
import functools
import math
from collections.abc import Callable, Mapping
from decimal import Decimal
from fractions import Fraction

from sovereign_advisor.knowledge.loader import KnowledgeBase
from sovereign_advisor.knowledge.models import (
    Band,
    GpuPrice,
    HostPrice,
    LanguageModel,
    ServerPrice,
)
from sovereign_advisor.profile import OrganisationProfile
from sovereign_advisor.types import Currency

from .costmodel import (
    BANDS,
    BandName,
    Bands,
    Count,
    Line,
    Quantity,
    q6,
    q6_ratio,
)
from .eligibility import Placement, offered_price
from .pricing import ONE, ZERO, F, Pricing, _ids, _source, assumed, for_cost, frac
from .sizing import Pool, PoolSize, Workload, pool_sizes, redundancy_of, role_share


def build_pool(
    venue_id: str,
    gpu_price: GpuPrice,
    placements: list[Placement],
    profile: OrganisationProfile,
    kb: KnowledgeBase,
    w: Workload,
    pricing: Pricing,
    sized: Mapping[BandName, PoolSize] | None = None,
    server: ServerPrice | None = None,
) -> Pool:
    """The GPU pool of `placements` at one venue and GPU type (in `server`s, for purchased
    GPUs). `sized` is the pool's sizing (`pool_sizes`), which depends on the GPU type only,
    not on the venue: pass it to reuse it.

    The counts and quantities of the low and high ends are `Bands`, computed on first use
    from the sizing's ends: only a chosen pool's band totals read them."""
    gpu = kb.gpus[gpu_price.gpu]
    if sized is None:
        sized = pool_sizes(gpu.id, placements, profile, kb, w)
    sites, spare = redundancy_of(profile)
    owned = profile.capabilities.owned_gpus.get(gpu.id, 0)
    sizes = sized

    def count(b: BandName) -> Count:
        c = sizes[b][0]
        if server is not None:
            return c.but(
                per_server=server.gpus_per_server,
                fully_populated=server.fully_populated,
                sites=sites,
                spare=spare,
                owned=owned,
            )
        # rented GPUs (or a purchase without a server record): a spare is one replica
        return c.but(per_server=c.unit, sites=sites, spare=spare)

    counts = Bands.of(count)
    server_counts = Bands.of(lambda b: counts[b].but(of="servers"))
    _, by_role, _, sources, facts = sized["typical"]
    # the average load, unreduced: the floats below are correctly rounded quotients of ints,
    # which depend on the value alone, as float(Fraction) does
    average_n, average_d = 0, 1
    for t in by_role.values():
        average_n, average_d = (
            average_n * t.denominator + t.numerator * average_d,
            average_d * t.denominator,
        )
    n = counts["typical"].at(w.volume)
    roles = tuple(p.role.id for p in placements)
    label = f"{gpu.name} ({', '.join(roles)})"
    hours = frac(kb.assumption("hours_per_month").value.typical)
    sizing = _source("vllm.gpu_memory_utilization", "serving.activation_reserve_gb", *sources)
    if spare or sites > 1:
        sizing = _source(sizing, "workload.redundancy")

    def per_gpu(amount: dict[BandName, Fraction]) -> Bands[Quantity]:
        return Bands.of(lambda b: Quantity(count=counts[b], per_count=amount[b]))

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
    shares = {
        r: t.numerator * average_d / (t.denominator * average_n) if average_n else 0.0
        for r, t in by_role.items()
    }
    return Pool(
        venue_id,
        gpu.id,
        counts,
        tuple(lines),
        average_n / (average_d * n),
        roles,
        shares,
        facts,
        server,
        server_counts["typical"] if server is not None else None,
    )


def _premises_lines(
    gpu_price: GpuPrice,
    server: ServerPrice | None,
    counts: Mapping[BandName, Count],
    server_counts: Mapping[BandName, Count],
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
    bought = Bands.of(lambda b: counts[b].but(of="bought_gpus"))
    bought_servers = Bands.of(lambda b: counts[b].but(of="bought_servers"))
    owned_gpus = Bands.of(lambda b: counts[b].but(of="owned_gpus"))

    def purchase(
        name: str,
        unit: str,
        record_id: str,
        band: Band,
        currency: Currency,
        units: Mapping[BandName, Count],
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
            {b: _per_month(upfront[b], life[b]) for b in BANDS},
            Bands.of(lambda b: Quantity(count=units[b], per_count=ONE, owned=owned_units)),
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
    kw_gpu = _kw(gpu.power_w)
    kw_server = _kw(server.power_w) if server is not None else ZERO

    def it_load(
        per_gpu: Callable[[BandName], Fraction] | None, per_server: Callable[[BandName], Fraction]
    ) -> Bands[Quantity]:
        """A quantity per GPU (none when `per_gpu` is None) plus one per server (power, rack
        space, staff). The servers bought count whole; the organisation's own servers, which
        may hold other cards too, count for the share of a server (of this configuration) that
        its GPUs in the pool fill."""

        def at(b: BandName) -> Quantity:
            also: tuple[tuple[Count, Fraction, int], ...] = ()
            if server is not None:
                k = server.gpus_per_server
                also = (
                    (bought_servers[b], per_server(b), 0),
                    (owned_gpus[b], per_server(b) / k, 0),
                )
            if per_gpu is None:
                return Quantity(also=also)
            return Quantity(count=counts[b], per_count=per_gpu(b), also=also)

        return Bands.of(at)

    if server is not None:
        lines.append(
            purchase(
                f"GPU servers, amortised: {server.name} ({', '.join(roles)})",
                "server-month",
                server.id,
                server.purchase,
                server.currency,
                bought_servers,
            )
        )
    energy = kb.assumption("energy.price_per_kwh", profile.premises_country)
    pue = assumed(kb, "datacentre.pue")
    assert energy.currency is not None
    eprices, efx = pricing.convert(energy.value, energy.currency)
    server_id = server.id if server is not None else None
    gpu_kwh, server_kwh = kw_gpu * hours, kw_server * hours  # a month's kWh at full power
    lines.append(
        Line(
            f"Power: {label}",
            None,
            "always_on",
            "kWh",
            _source(energy.id, "datacentre.pue", "hours_per_month", gpu.id, server_id, efx),
            eprices,
            it_load(lambda b: gpu_kwh * pue[b], lambda b: server_kwh * pue[b]),
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
            it_load(lambda b: kw_gpu, lambda b: kw_server),
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
            it_load(None, per_server.__getitem__)
            if server is not None
            else Bands.of(lambda b: Quantity(count=server_counts[b], per_count=per_server[b])),
            scales_with=_ids("ops.fte_per_server", staff_source),
        )
    )
    return lines


@functools.lru_cache(maxsize=1024)
def _kw(watts: float) -> Fraction:
    """Kilowatts of a power in watts as written (a GPU's or a server's), exactly."""
    return frac(watts) / 1000


def _per_month(upfront: Decimal, life: Fraction) -> Decimal:
    """`q6(frac(upfront) / life)`: an upfront price spread over a life of months, in integers
    (the Decimal quotient is correctly rounded, so it depends on the value alone, as `q6` of
    the Fraction does); a life of zero or less divides as Fractions do."""
    if life <= 0:
        return q6(frac(upfront) / life)
    u = frac(upfront)
    return q6_ratio(u.numerator * life.denominator, u.denominator * life.numerator)


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
        Bands.of(lambda b: Quantity(fixed=fte[b])),
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
    # each line's low and high ends are computed when read (`Bands`): an API venue never
    # chosen is read at its typical end only
    share = Bands.of(lambda b: role_share(placement, profile, w, b))
    million = F(10**6)
    inp, fx = pricing.convert(price.input_per_mtok, price.currency)
    src = _source(price.id, fx)

    def tokens(
        what: str,
        prices: dict[BandName, Decimal],
        source: str,
        per_query: Bands[Fraction] | None = None,
        fixed: Fraction = ZERO,
    ) -> Line:
        name = f"{role.id}: {what} ({model_id} @ {venue_id})"
        if per_query is None:
            quantities = Bands.of(lambda b: Quantity(fixed=fixed))
        else:
            quantities = Bands.of(lambda b: Quantity(per_query=per_query[b], fixed=fixed))
        return Line(
            name, role.id, "usage", "1M tokens", source, prices, quantities, _ids(price.id, fx)
        )

    def per_query(tokens: Fraction | dict[BandName, Fraction]) -> Bands[Fraction]:
        """The role's share of the queries times tokens per query, in millions: one Fraction
        of the product's terms, the value `share * tokens / million` gives."""

        def at(b: BandName) -> Fraction:
            s, t = share[b], tokens if isinstance(tokens, Fraction) else tokens[b]
            return Fraction(s.numerator * t.numerator, s.denominator * t.denominator * 10**6)

        return Bands.of(at)

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
) -> list[tuple[tuple[Line, ...], Mapping[BandName, int]]]:
    """One option per host type (or managed plan) the venue offers: its lines (the hosts, and
    the staff to run the store unless the service is managed) and the hosts each end of the
    band needs (the low and high ends computed when read: `Bands`)."""
    chunk = for_cost(assumed(kb, "rag.chunk_tokens"), cheaper_when_higher=True)
    overhead = assumed(kb, "qdrant.memory_overhead")
    dims = embedder.embedding_dims or 0
    out: list[tuple[tuple[Line, ...], Mapping[BandName, int]]] = []
    offered = _host_prices(kb, venue_id, pricing.as_of)
    # Qdrant: vectors x dimensions x 4 bytes x 1.5
    memory_gb = {b: w.corpus_tokens / chunk[b] * dims * 4 * overhead[b] / 10**9 for b in BANDS}

    def hosts_of(h: HostPrice) -> Bands[int]:
        # a host holds at least 1 GB (`HostPrice.memory_gb`): the division cannot fail
        per_host = frac(h.memory_gb)
        return Bands.of(lambda b: max(1, math.ceil(memory_gb[b] / per_host)))

    for h in offered:
        hosts = hosts_of(h)
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
            _fixed(hosts),
            scales_with=_ids(h.id, fx),
        )
        if h.managed:
            out.append(((line,), hosts))
        else:
            out.append(((line, role_staff_line(placement.role.id, profile, kb, pricing)), hosts))
    return out


def _fixed(hosts: Bands[int]) -> Bands[Quantity]:
    return Bands.of(lambda b: Quantity(fixed=F(hosts[b])))


def _host_prices(kb: KnowledgeBase, venue_id: str, as_of: dt.date) -> list[HostPrice]:
    """The host prices of a venue on a day, by id (kept per knowledge base)."""
    key = ("host_prices", venue_id, as_of)
    found: list[HostPrice] | None = kb.derived.get(key)
    if found is None:
        found = kb.derived[key] = sorted(
            (h for h in kb.host_prices if h.venue == venue_id and h.valid_on(as_of)),
            key=lambda h: h.id,
        )
    return found
