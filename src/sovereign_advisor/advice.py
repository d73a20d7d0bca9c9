"""The Advice: the engine's output, a frozen, JSON-serialisable contract."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Literal

from pydantic import Field

from sovereign_advisor.types import Currency, DataClass, Model, Status


class Recommendation(Model):
    """The architecture the advisor recommends."""

    architecture_id: str
    """Id of the recommended architecture."""
    reason: str
    """Why it wins, in a sentence."""
    equivalent_to: tuple[str, ...] = ()
    """Architectures cost-equivalent to it (the decision then rests on other criteria)."""


class BlockedUseCase(Model):
    """A use case that may not be run at all (or, when coming, may not from `applies_from`)."""

    use_case: str
    rule_id: str
    fact_ids: tuple[str, ...]
    reason: str
    applies_from: dt.date | None = None
    """The day the prohibition starts to apply, when it is coming (after the as-of date)."""


class Exclusion(Model):
    """Why a data class may not go to a venue, or why a role has no venue."""

    rule_id: str
    """The rule (or `policy.*` / `capability.*` check) that excludes."""
    fact_ids: tuple[str, ...]
    """The facts it rests on (for policy exclusions: the facts behind the venue's exposure)."""
    role: str
    """The architecture role that needed the venue."""
    data_class: DataClass | None
    """The data class concerned, when the exclusion is about one."""
    venue_id: str | None
    """The venue concerned, when there is one."""
    reason: str
    """One sentence."""
    jurisdiction: str | None = None
    """For `policy.reachable_by`: the jurisdiction that can compel access at the venue."""


class Remedy(Model):
    """The smallest change of capability or policy that would make an architecture eligible."""

    changes: tuple[str, ...]
    """The profile fields that would change."""
    sentence: str
    """The change, in words (`with capabilities.operates_gpus: true, it would be eligible`)."""
    monthly_total: Decimal
    """What it would then cost a month (typical), in the advice's currency."""


class RoleVenue(Model):
    """Where a role of an eligible architecture runs."""

    role: str
    venue_id: str
    model_id: str | None
    data_classes: tuple[DataClass, ...]
    """Classes routed to this role."""
    exposure: tuple[str, ...]
    """Jurisdictions that can compel access to data at the venue."""
    gpu_id: str | None = None
    """GPU type, for self-hosted model roles."""
    gpu_count: int | None = None
    """GPUs in the pool this role runs on (shared by the roles on the same venue)."""
    utilisation_at_average_load: float | None = None
    """Share of the pool's GPU time used at the average (not peak) load."""
    share_of_pool_load: float | None = None
    """Share of the pool's busy GPU time spent on this role (e.g. what detecting personal data
    costs in a hybrid router's GPUs)."""
    hosts: int | None = None
    """Hosts, for a vector store."""
    active: bool = True
    """False when the role has nothing to do (e.g. retrieval without a corpus)."""


class MonthlyTotal(Model):
    """Monthly total cost with its uncertainty band."""

    low: Decimal
    typical: Decimal
    high: Decimal


class CostComponent(Model):
    """One line of the cost breakdown: `monthly_cost` = `monthly_quantity` x `unit_price`."""

    name: str
    role: str | None
    kind: Literal["always_on", "usage"]
    unit: str
    monthly_quantity: Decimal
    unit_price: Decimal
    """In the report's currency."""
    monthly_cost: Decimal
    source: str
    """Price record, assumption or FX ids the line rests on."""
    unit_purchase_price: Decimal | None = None
    """For purchased equipment (GPU cards, servers): the upfront price of one unit in the
    report's currency (`unit_price` is that price spread over its life); `monthly_quantity`
    then counts the units bought, so the line's capital expenditure is their product."""


class CostBand(Model):
    """An amount with its uncertainty band, in the report's currency."""

    low: Decimal
    typical: Decimal
    high: Decimal


class TotalCostOfOwnership(Model):
    """What an architecture costs over a horizon: the purchases (and their refreshes when the
    equipment's life ends inside the horizon; no residual value is counted) plus the monthly
    operating cost times the months."""

    years: int
    total: CostBand


class Cost(Model):
    """Infracost-style breakdown of one architecture's monthly cost."""

    currency: Currency
    monthly_total: MonthlyTotal
    components: tuple[CostComponent, ...]
    capex: CostBand | None = None
    """Upfront capital expenditure: the equipment bought (owned units excluded)."""
    monthly_operating: CostBand | None = None
    """The monthly total less the amortisation of purchases: what is paid every month."""
    tco: tuple[TotalCostOfOwnership, ...] = ()
    """Total cost of ownership over 3 and 5 years."""


class Risk(Model):
    """Something the cost does not show."""

    id: Literal["quality_risk", "budget_exceeded", "no_gpu_operations", "residual_leak_risk"]
    summary: str


class MisroutedFlow(Model):
    """Queries of a class a detector should keep on the premises that reach a cloud venue all
    the same, because the detector misses what they carry."""

    data_class: DataClass
    from_role: str
    """The role the class is routed to (the local model)."""
    to_role: str
    """The role its missed queries reach (the cloud model)."""
    venue_id: str
    """Where they go."""
    exposure: tuple[str, ...]
    """Jurisdictions that can compel access to data there."""
    queries_per_month: Decimal
    """Expected missed queries a month, at the detector's typical recall."""
    recall: Decimal
    """The detector's typical recall (share of such queries it catches)."""
    recall_source: str
    """Assumption id of the recall."""
    accepted_by: str
    """Why the policy lets them go: the default or the profile's own `misrouting: accept`."""


class OwnedGpuUse(Model):
    """What an architecture does with GPUs the organisation already owns."""

    gpu_id: str
    owned: int
    used: int
    """How many of them the architecture's pools use at the profile's volume."""
    reason: str | None = None
    """Why not all of them are used (nothing to run, premises not usable, fewer needed)."""


class GpuPool(Model):
    """Why a self-hosted pool has the GPUs it has: the constraint that decided the count."""

    venue_id: str
    gpu_id: str
    roles: tuple[str, ...]
    gpus: int
    """GPUs in the pool at the profile's volume (spares for redundancy included)."""
    servers: int | None = None
    """Servers holding them, for purchased GPUs (`server_config` names the configuration)."""
    server_config: str | None = None
    deciding: Literal["minimum", "throughput", "memory"]
    """What set the number of replicas at peak load: one replica (`minimum`: the load needs
    less), GPU time (`throughput`: prefill and decode), or the KV cache the requests in flight
    hold (`memory`)."""
    replica_gpus: int
    """GPUs one replica needs to hold every model's weights and one full-context sequence."""
    weights_gb: Decimal
    context_kv_gb: Decimal
    """KV cache of one sequence at each model's full context, GB."""
    usable_gb_per_gpu: Decimal
    peak_queries_per_second: Decimal
    replicas_for_throughput: Decimal
    """Replicas the GPU time at peak load needs (before rounding up)."""
    kv_cache_gb_at_peak: Decimal
    replicas_for_memory: Decimal
    """Replicas the KV cache held at peak load needs (before rounding up)."""
    redundancy: Literal["none", "n_plus_1", "two_sites"]
    spare_gpus: int
    """GPUs added for redundancy."""
    explanation: str
    """The sizing in a sentence, with the numbers that decided it."""


class Assessment(Model):
    """One architecture, assessed."""

    architecture_id: str
    name: str
    eligible: bool
    rank: int | None
    """1 for the cheapest eligible architecture; null for ineligible ones."""
    exclusions: tuple[Exclusion, ...]
    venues: tuple[RoleVenue, ...]
    cost: Cost | None
    risks: tuple[Risk, ...] = ()
    decisive_reason: str | None = None
    """For an excluded architecture: the one cause that sank it, in a sentence (the rule
    refusing most of the venues a role could use; a law before a policy)."""
    remedy: Remedy | None = None
    """For an excluded architecture: the smallest change of capability or policy that would
    make it eligible, and its cost then; null when no such change exists (a law excludes it)."""
    owned_gpus: tuple[OwnedGpuUse, ...] = ()
    """For an eligible architecture: each GPU type the organisation owns, used or why not."""
    gpu_pools: tuple[GpuPool, ...] = ()
    """For an eligible architecture: each self-hosted GPU pool and why it has that many GPUs."""
    misrouted: tuple[MisroutedFlow, ...] = ()
    """Flows a detector's misses create (hybrid routing): per class, how many queries a month
    reach which venue. Only flows the policy accepts and no law forbids reach an eligible
    architecture."""


class BreakEven(Model):
    """The monthly query volume at which two architectures' typical totals cross."""

    architectures: tuple[str, str]
    """The two architectures; the first is cheaper at the profile's volume."""
    queries_per_month: Decimal | None
    """Volume nearest the profile's at which the order flips for good (peak load scaled with
    volume; the order differs at 0.8x and 1.25x of it), or null if it does not between 1/10
    and 10 times the profile's volume."""
    note: str


class Sensitivity(Model):
    """How far one input can move before the recommendation changes."""

    input_id: str
    """Price record, FX rate or assumption id, or `workload.queries_per_month`."""
    factor: Decimal
    """Multiply the input by this (venues and GPU counts held as chosen) and the recommended
    architecture stops being the cheapest: e.g. 1.25 means a 25% rise."""
    flips_to: str
    """The architecture that becomes the cheapest."""
    note: str
    """The move in plain words, names before ids: "Mistral Large 3's token prices at Mistral La
    Plateforme would have to rise 40% (record lp.mistral-large-3.eur) for ..."."""
    label: str = ""
    """What the input is, in words from the knowledge base ("the EUR/USD exchange rate (USD per
    EUR)"); empty when the knowledge base has no record of it."""


class Obligation(Model):
    """Something the organisation must do, now or from a later date."""

    rule_id: str
    fact_ids: tuple[str, ...]
    jurisdiction: str
    citation: str
    summary: str
    applies_from: dt.date | None
    in_force: bool
    """Whether it applies on the as-of date (false: it starts later)."""
    status: Status
    use_case: str | None = None
    """The use case it arises from, for use-case rules."""


class Finding(Model):
    """A rule that fired, so a machine can check the explanation."""

    rule_id: str
    fact_ids: tuple[str, ...]
    scope: Literal["organisation", "use_case", "venue", "flow"]
    subject: str
    """What it fired for: the organisation, a use case name, a venue id or `class@venue`."""
    effect: Literal["exposes_to", "excludes", "obligation", "blocker", "note"]
    detail: str


class AssumptionUsed(Model):
    """A default the engine filled in, or an assumption record it used."""

    id: str
    value: str
    summary: str
    source: str


Analysis = Literal["break_even", "sensitivity", "remedies"]
"""The analyses `advise` computes on request, beyond the decision itself: the volumes where the
cost order flips, the smallest plausible change of an input that would alter the
recommendation, and for each excluded architecture the smallest change that would admit it."""

ANALYSES: tuple[Analysis, ...] = ("break_even", "sensitivity", "remedies")
"""All of them, what `advise` computes unless asked for fewer."""


class Advice(Model):
    """What the advisor recommends and why."""

    as_of: dt.date
    knowledge_base_version: str
    organisation: str
    decision: Literal["recommended", "cost_equivalent", "none"] = "none"
    """`recommended`: one architecture is clearly the cheapest eligible one; `cost_equivalent`:
    the cheapest lie within the cost model's uncertainty and `recommended` names the one
    preferred on residual risk, sovereignty and operations; `none`: nothing can be recommended
    (`no_recommendation_reason` says why and what would change it)."""
    recommended: Recommendation | None
    no_recommendation_reason: str | None = None
    blocked_use_cases: tuple[BlockedUseCase, ...]
    coming_blocked_use_cases: tuple[BlockedUseCase, ...] = ()
    """Use cases a prohibition already enacted will block from a later day (`applies_from`):
    they are not blocked on the as-of date, but must stop by then."""
    assessments: tuple[Assessment, ...]
    break_even: tuple[BreakEven, ...]
    sensitivity: tuple[Sensitivity, ...] = ()
    """Inputs that can change the recommendation, the one that needs the smallest change first
    (it moves the recommendation most)."""
    obligations: tuple[Obligation, ...]
    findings: tuple[Finding, ...]
    assumptions: tuple[AssumptionUsed, ...]
    currency: Currency = Field(description="Currency of every amount in the advice.")
    fx_rate_date: dt.date | None = None
    """The one day whose exchange rates every converted price of this advice uses (the latest
    on or before `as_of` with a rate for every currency priced in); None when nothing needed
    converting."""
    warnings: tuple[str, ...] = ()
    """What the reader must know, each in a sentence: contradictions in the profile (owned GPUs
    nobody operates) and doubts about the data behind the numbers (exchange rates more than 90
    days older than the as-of date)."""
    not_computed: tuple[Analysis, ...] = Field(default=(), exclude_if=lambda v: not v)
    """The analyses left out of this advice because the caller did not ask for them
    (`advise(..., analyses=...)`): an empty `break_even` or `sensitivity`, or an excluded
    architecture without a `remedy`, then means "not computed", not "none". Absent from the JSON
    of a full advice."""
