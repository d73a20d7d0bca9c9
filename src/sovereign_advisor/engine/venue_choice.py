"""Step 4, venue choice: for an eligible architecture, the cheapest admissible venue, model and
GPU configuration of every role, kept as alternatives of a cost envelope over volume."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field, replace
from decimal import Decimal
from fractions import Fraction

from sovereign_advisor.errors import InputError
from sovereign_advisor.knowledge.loader import KnowledgeBase
from sovereign_advisor.knowledge.models import (
    GpuPrice,
    ServerPrice,
)
from sovereign_advisor.profile import OrganisationProfile
from sovereign_advisor.types import Currency

from .cost_lines import api_lines, build_pool, role_staff_line, vector_store_lines
from .costmodel import (
    Bands,
    CostModel,
    Group,
    Line,
    lines_total,
    q6,
)
from .eligibility import Eligibility, Placement
from .pricing import Pricing, _source, frac
from .sizing import (
    Pool,
    PoolSize,
    Workload,
    _gpu_price,
    is_active,
    pool_sizes,
    replica_gpus,
    role_share,
    server_configs,
)


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
    sizes: dict[str, Bands[PoolSize]] = {}  # sizing depends on the GPU, not the venue
    # GPUs the organisation owns cost nothing to buy: a pool on an owned type at the premises
    # uses them first and buys only what they cannot carry, in whole servers of a configuration
    # (see Count); it still pays their power, rack space and staff. Every type and venue is an
    # alternative, owned types included, and the cheapest wins at every volume (so that the
    # cost never falls when the load rises): owning one card of a type sold only in 8-GPU
    # servers does not force buying such a server when another type is cheaper. The advice
    # says why owned GPUs are not used, with both amounts (`OwnedGpuUse.reason`).
    gpu_ids = sorted(kb.gpus)
    priced = [
        (venue_id, gpu_id, price)
        for venue_id in venue_ids
        for gpu_id in gpu_ids
        if (price := _gpu_price(kb, venue_id, gpu_id, pricing.as_of)) is not None
    ]
    dearer = _dearer_rentals(priced, pricing, kb)
    shares = Bands.of(lambda b: [role_share(p, profile, w, b) for p in placements])
    for venue_id, gpu_id, price in priced:
        if (venue_id, gpu_id) in dearer:
            continue
        if gpu_id not in sizes:
            sizes[gpu_id] = pool_sizes(gpu_id, placements, profile, kb, w, shares)
        sized = sizes[gpu_id]
        servers: list[ServerPrice | None] = [None]
        if price.purchase is not None:
            # bought GPUs sit in servers: each configuration that holds a replica is an
            # alternative (a knowledge base without server records prices bare cards)
            unit = replica_gpus(gpu_id, placements, kb)
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


def _dearer_rentals(
    priced: list[tuple[str, str, GpuPrice]], pricing: Pricing, kb: KnowledgeBase
) -> set[tuple[str, str]]:
    """The (venue, GPU type) rentals never chosen: a rented pool of a GPU type costs its count
    (the same at every venue: sizing depends on the GPU type only, and a spare is one replica)
    times the hours times the venue's typical hourly price, plus the same staff per GPU, so
    only the venue with the lowest hourly price for the type can be the cheapest (the first
    of them on a tie, as `Group.chosen` takes), and no output shows another, except a pool at
    the premises (kept: the advice compares owned GPUs with it). Every price is still
    converted, so that the FX records noted are those of every alternative."""
    best: dict[str, tuple[Decimal, str]] = {}
    rented: list[tuple[str, str]] = []
    for venue_id, gpu_id, price in priced:
        if price.rental_per_hour is None:
            continue
        rented.append((venue_id, gpu_id))
        per_hour = pricing.convert(price.rental_per_hour, price.currency)[0]["typical"]
        if gpu_id not in best or per_hour < best[gpu_id][0]:
            best[gpu_id] = (per_hour, venue_id)
    # a pool at the premises is kept: the advice compares owned GPUs with it (`choose`)
    return {(v, g) for v, g in rented if best[g][1] != v and kb.venues[v].kind != "premises"}


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
            others = sorted(owned - {pool.gpu_id})  # owned GPU types compared with the choice
            chosen_total = lines_total(pool.lines, w.volume) if others else Fraction(0)
            for gpu_id in others:
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
    """Move FX rates used inverted (1 / rate) from `scales_with` to `inverse_with` (the group
    itself when no line of it moves any: its choice, made already, is kept either way)."""
    if not inverted or not any(
        i in inverted for option in group.options for line in option for i in line.scales_with
    ):
        return group

    def fix(line: Line) -> Line:
        moved = tuple(i for i in line.scales_with if i in inverted)
        if not moved:
            return line
        return replace(
            line,
            scales_with=tuple(i for i in line.scales_with if i not in inverted),
            inverse_with=line.inverse_with + moved,
        )

    return group.relabelled(tuple(tuple(fix(line) for line in option) for option in group.options))


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
