"""Pydantic models of knowledge-base records: the one source of truth for their JSON Schemas."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Annotated, Literal

from pydantic import Field, field_validator, model_validator

from sovereign_advisor.types import (
    DATA_CLASSES,
    CountryCode,
    Currency,
    DataClass,
    Id,
    JurisdictionCode,
    Model,
    Money,
    PositiveFloat,
    Status,
    bounded_decimal,
)

SourceKind = Literal["primary", "official_guidance", "vendor", "secondary", "seed", "internal"]
"""What kind of document a source is: `primary` (the legal text or an official register:
EUR-Lex, Légifrance, e-Gov, uscode.house.gov, an ISMAP or ANSSI list), `official_guidance` (a
government or regulator's guidance page), `vendor` (the provider's own page about its service or
prices), `secondary` (press, law-firm notes, mirrors, third-party copies), `seed` (a seed document
of this project: tells what the product is for, never the source of a fact in a report) or
`internal` (a definition this knowledge base makes, e.g. the organisation's own premises)."""

PRIMARY_HOSTS = (
    "eur-lex.europa.eu",
    "data.europa.eu",
    "www.legifrance.gouv.fr",
    "laws.e-gov.go.jp",
    "elaws.e-gov.go.jp",
    "uscode.house.gov",
    "www.govinfo.gov",
    "www.legislation.gov.uk",
    "www.fedlex.admin.ch",
    "www.ismap.go.jp",
    "rm.coe.int",
)
"""Hosts whose documents are primary texts: the one place a source without an explicit `kind`
is classified from its URL (`Source.classified_kind`)."""


class Source(Model):
    """Where a record comes from: a public document (title and URL) or a seed document."""

    title: str = Field(min_length=3)
    """Title of the document, with the section or table when that helps find the value."""
    url: str | None = Field(default=None, pattern=r"^https?://")
    """Address of the document, when it is public."""
    seed: str | None = Field(default=None, pattern=r"^\d{3}_[0-9a-f]{16}\.txt$")
    """File name of the seed document in shared/seeds, when the record comes from one."""
    publisher: str | None = None
    """Who published it, when there is no stable URL (the record is then `provisional`)."""
    kind: SourceKind | None = None
    """What kind of document it is (see `SourceKind`); when omitted it is classified from the
    URL host (`PRIMARY_HOSTS`) or the seed, else reported as `unclassified`."""
    also: tuple[Source, ...] = ()
    """Further documents read beside this one (e.g. a secondary commentary or mirror beside the
    primary text), each with its own kind."""

    @model_validator(mode="after")
    def _url_or_seed(self) -> Source:
        if self.url is None and self.seed is None and self.publisher is None:
            raise ValueError("a source needs a `url`, a `seed` file name or a `publisher`")
        if self.kind == "seed" and self.seed is None:
            raise ValueError("a source of kind `seed` names its `seed` file")
        if self.kind in ("primary", "official_guidance", "vendor") and self.url is None:
            raise ValueError(f"a source of kind `{self.kind}` needs the `url` where it was read")
        if self.kind not in (None, "seed") and self.seed is not None and self.url is None:
            raise ValueError("a source naming only a seed file is of kind `seed`")
        return self

    @property
    def classified_kind(self) -> str:
        """`kind` when given; otherwise `primary` for a URL on a primary host, `seed` for a
        seed file alone, else `unclassified`."""
        if self.kind is not None:
            return self.kind
        if self.url is not None:
            host = self.url.split("/")[2].lower()
            return "primary" if host in PRIMARY_HOSTS else "unclassified"
        return "seed" if self.seed is not None else "unclassified"

    @property
    def kinds(self) -> tuple[str, ...]:
        """The kinds of this source and of every source read beside it."""
        return (self.classified_kind, *(k for s in self.also for k in s.kinds))


class Provenance(Model):
    """Fields every fact, price and assumption carries."""

    source: Source
    """Where the value comes from."""
    checked_on: dt.date
    """The day someone last checked the value against its source."""
    status: Status
    """`binding` (primary source checked), `provisional` (secondary or unverified), `guidance`."""


class Band(Model):
    """An uncertain amount: the value a user would quote, and how low or high it may be."""

    typical: Decimal = Field(ge=0, allow_inf_nan=False)
    """The value a user would quote."""
    low: Decimal | None = Field(default=None, ge=0, allow_inf_nan=False)
    """The lowest plausible value (defaults to `typical`)."""
    high: Decimal | None = Field(default=None, ge=0, allow_inf_nan=False)
    """The highest plausible value (defaults to `typical`)."""

    @model_validator(mode="before")
    @classmethod
    def _scalar_is_exact(cls, value: object) -> object:
        if isinstance(value, int | float | str | Decimal) and not isinstance(value, bool):
            return {"typical": value}
        return value

    @field_validator("typical", "low", "high", mode="before")
    @classmethod
    def _short_text(cls, value: object) -> object:
        if isinstance(value, str) and len(value) > 100:  # refused before Decimal() reads it
            raise ValueError("must be an amount of at most 100 characters")
        return value

    @field_validator("typical", "low", "high")
    @classmethod
    def _bounded(cls, value: Decimal | None) -> Decimal | None:
        return None if value is None else bounded_decimal(value)

    @model_validator(mode="after")
    def _ordered(self) -> Band:
        if not (self.lo <= self.typical <= self.hi):
            raise ValueError(
                f"need low <= typical <= high, got {self.lo}, {self.typical}, {self.hi}"
            )
        return self

    @property
    def lo(self) -> Decimal:
        return self.typical if self.low is None else self.low

    @property
    def hi(self) -> Decimal:
        return self.typical if self.high is None else self.high

    def pick(self, band: Literal["low", "typical", "high"]) -> Decimal:
        """The value for one end of the band."""
        return {"low": self.lo, "typical": self.typical, "high": self.hi}[band]


# --- law -----------------------------------------------------------------------------------


class Citation(Model):
    """Where in the law a fact is written."""

    instrument: str = Field(min_length=3)
    """The legal instrument, e.g. `Regulation (EU) 2024/1689 (AI Act)` or `18 U.S.C.`."""
    article: str = Field(min_length=1)
    """Article, section or paragraph, e.g. `Art. 5(1)(c)` or `§ 2713`."""
    version: str = Field(min_length=3)
    """Which text: original publication, consolidated version or amendment, with its date."""


class Fact(Provenance):
    """What a law (or a source about it) says, with its citation and validity."""

    id: Id
    """Unique id, conventionally `<jurisdiction>.<instrument>.<article>`."""
    jurisdiction: JurisdictionCode
    """Who made the law: `EU`, `US`, `JP` or another ISO country code."""
    citation: Citation
    """Instrument, article and text version."""
    summary: str = Field(min_length=10)
    """One or two sentences saying what the provision does."""
    valid_from: dt.date | None = None
    """First day this fact is the law (omit when it has always been, for our purposes)."""
    valid_until: dt.date | None = None
    """Last day this fact is the law (omit while it still is)."""
    applies_from: dt.date | None = None
    """The day the obligation it describes starts to bite, when that differs from entry into force."""

    @model_validator(mode="after")
    def _ordered(self) -> Fact:
        if self.valid_from and self.valid_until and self.valid_from > self.valid_until:
            raise ValueError("valid_from is after valid_until")
        return self


Scope = Literal["organisation", "use_case", "venue", "flow"]
Effect = Literal["exposes_to", "excludes", "obligation", "blocker", "note"]

_EFFECTS_BY_SCOPE: dict[str, tuple[str, ...]] = {
    "venue": ("exposes_to", "note"),
    "flow": ("excludes", "note"),
    "organisation": ("obligation", "note"),
    "use_case": ("obligation", "blocker", "note"),
}


class CitesFor(Model):
    """Facts cited by a rule according to the value one scope variable takes."""

    variable: str = Field(min_length=3)
    """A string variable of the rule's scope, e.g. `use_case.annex_iii_area`."""
    facts: dict[str, Id] = Field(min_length=1)
    """Value -> fact id; a value not listed adds no citation."""


class Rule(Model):
    """When a law bites (a CEL condition over one scope) and what follows (a structured effect)."""

    id: Id
    """Unique id."""
    jurisdiction: JurisdictionCode
    """The jurisdiction whose law this rule applies."""
    scope: Scope
    """What the condition is evaluated for: the organisation, each use case, each venue, or each
    data class x venue pair (`flow`)."""
    rests_on: tuple[Id, ...] = Field(min_length=1)
    """Ids of the facts this rule applies."""
    cites_for: CitesFor | None = None
    """Further facts cited depending on the value of one variable (e.g. the Annex III point that
    matches `use_case.annex_iii_area`), so the advice cites the exact provision."""
    see_also: tuple[Id, ...] = ()
    """Background facts that explain the rule (dates, exclusions, superseded numbering) without
    being conditions of it; the advice lists them with the finding."""
    condition: str = Field(min_length=1)
    """A CEL expression of type bool over the scope's variables (see patterns/README.md)."""
    effect: Effect
    """`exposes_to` (venue), `excludes` (flow), `obligation`, `blocker` (use case) or `note`."""
    exposes_to: str | None = None
    """For `exposes_to`: a CEL expression of type list(string) naming the jurisdictions added."""
    summary: str = Field(min_length=10)
    """One sentence: the reason given for an exclusion or blocker, or the obligation itself."""
    applies_from: dt.date | None = None
    """For obligations: the day it starts to apply (may be after the as-of date)."""
    valid_from: dt.date | None = None
    """First day the rule is the law."""
    valid_until: dt.date | None = None
    """Last day the rule is the law."""
    enacted_on: dt.date | None = None
    """For a rule that becomes the law later (`valid_from`): the day the text creating it entered
    into force. From then until `valid_from` the advice reports the rule as coming (a blocker or
    obligation that starts later, with its date); before it, the rule is not yet known."""

    @property
    def fact_ids(self) -> tuple[Id, ...]:
        """Every fact the rule may cite: `rests_on`, the `cites_for` choices and `see_also`."""
        chosen = () if self.cites_for is None else tuple(self.cites_for.facts.values())
        return tuple(dict.fromkeys((*self.rests_on, *chosen, *self.see_also)))

    @model_validator(mode="after")
    def _consistent(self) -> Rule:
        allowed = _EFFECTS_BY_SCOPE[self.scope]
        if self.effect not in allowed:
            raise ValueError(
                f"effect `{self.effect}` is not allowed for scope `{self.scope}` "
                f"(allowed: {', '.join(allowed)})"
            )
        if (self.effect == "exposes_to") != (self.exposes_to is not None):
            raise ValueError("`exposes_to` is required for effect exposes_to, and only for it")
        if self.applies_from is not None and self.effect != "obligation":
            raise ValueError("`applies_from` belongs to obligations only")
        if self.valid_from and self.valid_until and self.valid_from > self.valid_until:
            raise ValueError("valid_from is after valid_until")
        if self.enacted_on is not None and (
            self.valid_from is None or self.enacted_on > self.valid_from
        ):
            raise ValueError("`enacted_on` needs a later or equal `valid_from`")
        if self.enacted_on is not None and self.effect not in ("obligation", "blocker"):
            raise ValueError("`enacted_on` belongs to obligations and blockers only")
        return self

    def coming(self, on: dt.date) -> bool:
        """Whether the rule is known on a given day but becomes the law only later."""
        return (
            self.enacted_on is not None
            and self.valid_from is not None
            and self.enacted_on <= on < self.valid_from
        )

    def in_force(self, on: dt.date) -> bool:
        """Whether the rule is the law on a given day."""
        return (self.valid_from is None or self.valid_from <= on) and (
            self.valid_until is None or on <= self.valid_until
        )


class JurisdictionFile(Model):
    """A file in patterns/jurisdictions/: facts of one body of law and the rules applying them."""

    facts: tuple[Fact, ...] = ()
    """Cited facts."""
    rules: tuple[Rule, ...] = ()
    """Rules with CEL conditions."""


# --- architectures -------------------------------------------------------------------------

RoleKind = Literal["generation", "embedding", "classifier", "vector_store"]
Deployment = Literal["api", "self_hosted"]
Serves = Literal[
    "routed_queries",
    "simple_routed_queries",
    "complex_routed_queries",
    "classification",
    "retrieval",
]
EscalationMode = Literal["cascade", "router"]


class Role(Model):
    """A part of an architecture: what it runs, how it is deployed, which data reaches it."""

    id: Id
    """Role id, unique within the architecture (e.g. `local_model`)."""
    kind: RoleKind
    """`generation` (an LLM), `embedding` (an embedding model), `classifier` (a token
    classifier, e.g. a personal-data detector: reads the input, writes nothing) or
    `vector_store`."""
    deployment: Deployment
    """`api` (a provider's token-priced API) or `self_hosted` (GPUs or hosts we run or rent)."""
    models: tuple[Id, ...] = ()
    """Candidate models in order of preference; the first one offered on the as-of date is used.
    Empty for vector stores."""
    data_classes: tuple[DataClass, ...] = Field(min_length=1)
    """Data classes routed to this role."""
    serves: Serves
    """`routed_queries` (every query of its classes), `complex_routed_queries` (only those that
    need the large model, which receive their whole context again), `simple_routed_queries`
    (only those that do not: router mode), `classification` (reads every query of its classes
    to decide where it goes: a router or a personal-data detector) or `retrieval` (corpus and
    query embeddings, vector search)."""
    description: str = Field(min_length=10)
    """What the role does, in one sentence."""
    misses_reach: Id | None = None
    """For a detector (a classifier that routes queries by data class): the generation role a
    query reaches when the detector misses what it carries. The classes it should have kept
    from that role then flow there too, and admissibility sees that flow like any other."""
    recall: Id | None = None
    """For a detector: the assumption giving the share of queries it catches (its recall)."""

    @model_validator(mode="after")
    def _consistent(self) -> Role:
        if (self.misses_reach is None) != (self.recall is None):
            raise ValueError("misses_reach and recall go together")
        if self.misses_reach is not None and self.kind != "classifier":
            raise ValueError("only a classifier (a detector) has misses_reach")
        if (self.kind == "vector_store") == bool(self.models):
            raise ValueError("vector stores name no model; other roles name at least one")
        if self.kind == "vector_store" and self.deployment != "self_hosted":
            raise ValueError("a vector store is self_hosted")
        if len(set(self.data_classes)) != len(self.data_classes):
            raise ValueError("data_classes has duplicates")
        return self


class Architecture(Provenance):
    """A deployment architecture (one file in patterns/architectures/)."""

    id: Id
    """Architecture id, e.g. `on_prem_rag`."""
    name: str
    """Human-readable name."""
    summary: str = Field(min_length=10)
    """What it is and whom it suits, in a sentence or two."""
    roles: tuple[Role, ...] = Field(min_length=1)
    """Its parts."""
    escalation_mode: EscalationMode | None = None
    """For tiered pipelines: `cascade` (the small model answers every query first; the share
    that needs the large model is escalated with its context) or `router` (a classifier reads
    every query first and sends it to the small or the large model). Omit when no role serves
    `complex_routed_queries`."""

    @model_validator(mode="after")
    def _escalation(self) -> Architecture:
        serves = {r.serves for r in self.roles}
        if ("complex_routed_queries" in serves) != (self.escalation_mode is not None):
            raise ValueError(
                "escalation_mode is required when a role serves complex_routed_queries, "
                "and only then"
            )
        if self.escalation_mode == "router" and "classification" not in serves:
            raise ValueError("router mode needs a role that serves classification")
        if self.escalation_mode == "cascade" and "simple_routed_queries" in serves:
            raise ValueError(
                "in cascade mode the small model serves routed_queries (it sees every query), "
                "not simple_routed_queries"
            )
        for role in self.roles:
            if role.kind == "classifier" and role.serves != "classification":
                raise ValueError(f"classifier role `{role.id}` must serve classification")
        return self

    @model_validator(mode="after")
    def _routes_every_class(self) -> Architecture:
        generation = {c for r in self.roles if r.kind == "generation" for c in r.data_classes}
        missing = [c for c in DATA_CLASSES if c not in generation]
        if missing:
            raise ValueError(f"no generation role takes data classes {missing}")
        ids = [r.id for r in self.roles]
        if len(set(ids)) != len(ids):
            raise ValueError("role ids repeat")
        by_id = {r.id: r for r in self.roles}
        for role in self.roles:
            target = by_id.get(role.misses_reach or "")
            if role.misses_reach is not None and (target is None or target.kind != "generation"):
                raise ValueError(
                    f"role `{role.id}`: misses_reach `{role.misses_reach}` is not a generation "
                    "role of this architecture"
                )
        return self

    def misrouted_to(self, role_id: str) -> tuple[Role, tuple[DataClass, ...]] | None:
        """The detector whose misses reach a role, and the classes it should keep from it."""
        for detector in self.roles:
            if detector.misses_reach == role_id:
                target = next(r for r in self.roles if r.id == role_id)
                kept = tuple(c for c in detector.data_classes if c not in target.data_classes)
                return detector, kept
        return None


# --- catalogue -----------------------------------------------------------------------------


class Bloc(Provenance):
    """A group of countries named as one jurisdiction in policies (e.g. `EU`)."""

    id: str = Field(pattern=r"^[A-Z]{2,4}$")
    """The bloc's code (`EU`, `EEA`): rules read it as `blocs['EEA']`; policies name `EU`."""
    name: str
    """Its name."""
    members: tuple[CountryCode, ...] = Field(min_length=1)
    """Member countries (ISO 3166-1 alpha-2)."""


class LanguageModel(Provenance):
    """A model the architectures can run, with what sizing needs to know."""

    id: Id
    """Model id, e.g. `mistral-nemo-12b`."""
    name: str
    """Published name."""
    kind: Literal["generation", "embedding", "classifier"]
    """Generation (LLM), embedding model, or token classifier (reads input, generates nothing)."""
    reasoning: Literal["basic", "advanced"] = "basic"
    """`advanced` for models fit for queries that need deep reasoning."""
    open_weights: bool
    """Whether the weights are published (needed for self-hosting)."""
    licence: str
    """Licence of the weights (or `proprietary`)."""
    total_params_b: PositiveFloat | None = Field(default=None, le=100_000)
    """Total parameters, in billions (needed to self-host)."""
    active_params_b: PositiveFloat | None = Field(default=None, le=100_000)
    """Parameters active per token, in billions (MoE); equals total for dense models."""
    layers: int | None = Field(default=None, ge=1, le=10_000)
    """Transformer layers."""
    kv_heads: int | None = Field(default=None, ge=1, le=10_000)
    """Key/value heads per layer (grouped-query attention)."""
    head_dim: int | None = Field(default=None, ge=1, le=100_000)
    """Dimension of one attention head."""
    context_tokens: int = Field(ge=1, le=10**9)
    """Maximum context length, in tokens."""
    embedding_dims: int | None = Field(default=None, ge=1, le=10**6)
    """Vector dimensions, for embedding models."""
    bytes_per_param: PositiveFloat = Field(default=2.0, ge=0.125, le=8)
    """Bytes per weight as served (2 for bf16; 0.125 to 8)."""

    @model_validator(mode="after")
    def _sizable(self) -> LanguageModel:
        if self.open_weights and (self.total_params_b is None or self.active_params_b is None):
            raise ValueError("open-weight models need total_params_b and active_params_b")
        if self.kind == "embedding" and self.embedding_dims is None:
            raise ValueError("embedding models need embedding_dims")
        return self

    @property
    def self_hostable(self) -> bool:
        """Open weights and every figure sizing needs."""
        if not self.open_weights:
            return False
        if self.kind in ("embedding", "classifier"):
            return True
        return None not in (self.layers, self.kv_heads, self.head_dim)


VenueKind = Literal["premises", "api", "gpu_cloud"]


class SubProcessor(Model):
    """A company that processes a venue's customer data on the operator's behalf."""

    name: str = Field(min_length=2)
    """Who it is, or what the DPA says about it when it names no company."""
    controlled_from: JurisdictionCode
    """Jurisdiction of its ultimate parent."""
    data_locations: tuple[CountryCode, ...] = Field(min_length=1)
    """Countries where it processes or stores the data."""
    since: dt.date | None = None
    """First day the operator's list names it, when known."""
    optional: bool = False
    """Whether it processes the data only when the customer opts in (a non-default region or
    endpoint named in the DPA): exposure rules then warn instead of counting it."""


class Venue(Provenance):
    """Where a model can run, and who controls it."""

    id: Id
    """Venue id, e.g. `azure-eu`."""
    name: str
    """Human-readable name."""
    kind: VenueKind
    """`premises` (the organisation's own facility), `api` (token-priced model API) or
    `gpu_cloud` (rented GPUs and hosts)."""
    operator: str
    """Legal entity operating the service (`the organisation` for premises)."""
    seat: CountryCode | None = None
    """Country where the operator is seated (premises: taken from the profile)."""
    controlled_from: JurisdictionCode | None = None
    """Jurisdiction of the operator's ultimate parent (premises: taken from the profile)."""
    data_locations: tuple[CountryCode, ...] = ()
    """Countries where the data is processed and stored (premises: taken from the profile)."""
    certifications: tuple[str, ...] = ()
    """Certifications held for this service, e.g. `SecNumCloud`, `HDS`, `C5`, `ISMAP`."""
    sub_processors: tuple[SubProcessor, ...] = ()
    """Sub-processors that hold or process customer data for this service, as the operator's
    data-processing agreement lists them (exposure rules read their control and locations)."""
    present_in: tuple[CountryCode, ...] = ()
    """Countries other than the seat where the operator's group has an establishment offering
    the service (a subsidiary, branch or parent): a court there may order production through it."""
    models: tuple[Id, ...] = ()
    """For `api` venues: the catalogue models it serves (required; every token price at the
    venue must name one of them). For `premises` and `gpu_cloud`: empty, any self-hostable model
    runs there."""

    @model_validator(mode="after")
    def _located(self) -> Venue:
        if self.kind != "premises" and (
            self.seat is None or self.controlled_from is None or not self.data_locations
        ):
            raise ValueError(
                "venues other than premises need seat, controlled_from, data_locations"
            )
        if (self.kind == "api") != bool(self.models):
            raise ValueError("`models` lists what an api venue serves, and only api venues")
        return self


class Gpu(Provenance):
    """A GPU model's data-sheet figures."""

    id: Id
    """GPU id, e.g. `a100-80gb-sxm`."""
    name: str
    """Published name."""
    # Bounds far outside any real card, so a unit slip (GB typed as bytes) is an error and the
    # sizing's arithmetic stays finite.
    memory_gb: PositiveFloat = Field(ge=4, le=10_000)
    """Memory, in GB (10^9 bytes; 4 to 10^4)."""
    bandwidth_gb_s: PositiveFloat = Field(ge=100, le=1_000_000)
    """Memory bandwidth, in GB/s (100 to 10^6: the slowest data-centre cards have 300)."""
    bf16_dense_tflops: PositiveFloat = Field(ge=10, le=1_000_000)
    """Dense (not sparse) bf16 tensor throughput, in TFLOP/s (10 to 10^6: a T4 has 65)."""
    power_w: PositiveFloat = Field(ge=1, le=100_000)
    """Maximum board power, in W (1 to 10^5)."""


class CatalogFile(Model):
    """A file in patterns/catalog/."""

    blocs: tuple[Bloc, ...] = ()
    models: tuple[LanguageModel, ...] = ()
    venues: tuple[Venue, ...] = ()
    gpus: tuple[Gpu, ...] = ()


# --- prices and assumptions ----------------------------------------------------------------


class Dated(Provenance):
    """A record valid over a period."""

    valid_from: dt.date
    """First day the value applies."""
    valid_until: dt.date | None = None
    """Last day it applies (omit while it still does)."""

    @model_validator(mode="after")
    def _ordered(self) -> Dated:
        if self.valid_until and self.valid_from > self.valid_until:
            raise ValueError("valid_from is after valid_until")
        return self

    def valid_on(self, day: dt.date) -> bool:
        return self.valid_from <= day and (self.valid_until is None or day <= self.valid_until)


class TokenPrice(Dated):
    """A model's token prices at one API venue, in the currency they were published in."""

    id: Id
    venue: Id
    """Venue id."""
    model: Id
    """Model id."""
    currency: Currency
    input_per_mtok: Band
    """Price per million input tokens."""
    output_per_mtok: Band
    """Price per million output tokens (0 for embedding models)."""
    deprecated_on: dt.date | None = None
    """Day the provider announced the model's deprecation (still served)."""
    retired_on: dt.date | None = None
    """Day the API stops serving the model: never chosen on or after it."""
    replaced_by: Id | None = None
    """Model id the provider names as successor."""

    def offered_on(self, day: dt.date) -> bool:
        return self.valid_on(day) and (self.retired_on is None or day < self.retired_on)


class GpuPrice(Dated):
    """What one GPU costs at a venue: rented by the hour, or bought."""

    id: Id
    venue: Id
    gpu: Id
    currency: Currency
    rental_per_hour: Band | None = None
    """Rental price per GPU-hour (gpu_cloud venues)."""
    purchase: Band | None = None
    """Purchase price of one GPU card or module (premises); the server it sits in is a
    `ServerPrice`."""

    @model_validator(mode="after")
    def _one_kind(self) -> GpuPrice:
        if (self.rental_per_hour is None) == (self.purchase is None):
            raise ValueError("give exactly one of rental_per_hour or purchase")
        return self


class ServerPrice(Dated):
    """A GPU server configuration bought for the premises: the chassis with its CPUs, memory,
    networking and storage, priced WITHOUT its GPU cards (each card is a `GpuPrice`)."""

    id: Id
    venue: Id
    name: str = Field(min_length=3)
    """What it is, e.g. `8-GPU HGX H100 server`."""
    gpu: Id
    """The GPU type it holds."""
    gpus_per_server: int = Field(ge=1, le=16)
    """GPU slots (PCIe) or modules on the baseboard (SXM)."""
    fully_populated: bool = False
    """True when GPUs come only as the full set (an HGX baseboard): every server holds
    `gpus_per_server` GPUs; False for PCIe slots, which hold as many cards as are needed."""
    currency: Currency
    purchase: Band
    """Price of one server without GPU cards."""
    power_w: PositiveFloat = Field(ge=1, le=100_000)
    """Electrical draw of the server without its GPUs (CPUs, memory, fans, NICs), W."""
    rack_units: int = Field(ge=1, le=48)


class HostPrice(Dated):
    """A host (or managed service) for the vector store at a venue, per month."""

    id: Id
    venue: Id
    currency: Currency
    memory_gb: PositiveFloat = Field(ge=1, le=1_000_000)
    """Memory of the host, in GB (1 to 10^6), or the index size a managed plan holds."""
    per_month: Band
    """Price per host-month (rental, or purchase amortised plus running costs)."""
    managed: bool = False
    """A managed service (the provider patches, backs up and monitors it): no operations staff
    of the organisation's is counted for it."""
    name: str | None = None
    """The product, e.g. `OVHcloud b2-7 instance` or `Scaleway Managed PostgreSQL DB-DEV-S`."""


class Assumption(Provenance):
    """A number the engine needs that is not a price of a thing: stated, sourced, overridable."""

    id: Id
    summary: str = Field(min_length=10)
    """What it is and why this value."""
    unit: str
    """Unit of `value`, e.g. `EUR/kWh`, `fraction`, `months`."""
    value: Band
    """The value (with a band when uncertain)."""
    currency: Currency | None = None
    """Currency, when the value is money."""
    countries: tuple[CountryCode, ...] = ()
    """Countries it applies to; empty for the default."""


class Throughput(Provenance):
    """A measured serving throughput."""

    id: Id
    model: Id
    gpu: Id
    gpus: int = Field(ge=1, le=100_000)
    """GPUs the model was served on (tensor parallel)."""
    output_tokens_per_s: PositiveFloat = Field(ge=0.001, le=10**9)
    """Aggregate output tokens per second."""
    concurrency: int = Field(ge=1, le=10**7)
    """Requests in flight (or prompts submitted at once) during the measurement."""
    server: str
    """Serving software and version, e.g. `vLLM 0.5.4`."""


class FxRate(Provenance):
    """An exchange rate on a date: 1 `base` = `rate` `quote`."""

    id: Id
    base: Currency
    quote: Currency
    date: dt.date
    """The date the rate was published for."""
    rate: Band
    """Units of `quote` per unit of `base`."""


class PriceFile(Model):
    """A file in patterns/prices/."""

    token_prices: tuple[TokenPrice, ...] = ()
    gpu_prices: tuple[GpuPrice, ...] = ()
    host_prices: tuple[HostPrice, ...] = ()
    server_prices: tuple[ServerPrice, ...] = ()
    assumptions: tuple[Assumption, ...] = ()
    throughputs: tuple[Throughput, ...] = ()
    fx_rates: tuple[FxRate, ...] = ()


KnowledgeKind = Annotated[str, Field(pattern="^(architectures|jurisdictions|catalog|prices)$")]

FILE_MODELS: dict[str, type[Model]] = {
    "architectures": Architecture,
    "jurisdictions": JurisdictionFile,
    "catalog": CatalogFile,
    "prices": PriceFile,
}
"""Which model validates a file, by the directory it is in."""

__all__ = [
    "FILE_MODELS",
    "PRIMARY_HOSTS",
    "Architecture",
    "Assumption",
    "Band",
    "Bloc",
    "CatalogFile",
    "Citation",
    "CitesFor",
    "EscalationMode",
    "Fact",
    "FxRate",
    "Gpu",
    "GpuPrice",
    "HostPrice",
    "JurisdictionFile",
    "KnowledgeKind",
    "LanguageModel",
    "Money",
    "PriceFile",
    "Role",
    "Rule",
    "ServerPrice",
    "Source",
    "SourceKind",
    "SubProcessor",
    "Throughput",
    "TokenPrice",
    "Venue",
]
