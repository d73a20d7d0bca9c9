"""The organisation profile: what a user states about themselves (input of `advise`)."""

from __future__ import annotations

import math
from decimal import Decimal
from pathlib import Path
from typing import Annotated, Any

from pydantic import Field, ValidationError, field_validator

from sovereign_advisor.errors import InputError
from sovereign_advisor.types import (
    DATA_CLASSES,
    AnnexIIIArea,
    CountryCode,
    Currency,
    DataClass,
    Id,
    Model,
    NonNegativeFloat,
    Preset,
    ProhibitedPractice,
    Sector,
    Share,
)
from sovereign_advisor.yamlio import Document, describe_validation_error, load, parse

Reachable = Annotated[str, Field(pattern=r"^([A-Z]{2}|EU|\*)$")]
"""A jurisdiction allowed to be able to compel access: a country code, `EU`, or `*` (any)."""


class Organisation(Model):
    """Who the organisation is."""

    name: str = Field(min_length=1)
    """Name, for the report."""
    headquarters: CountryCode
    """Country of the head office (ISO 3166-1 alpha-2)."""
    operates_in: tuple[CountryCode, ...] = ()
    """Countries where it operates or where its AI output is used."""
    sector: Sector
    """Sector, which decides sector rules (health-data hosting, DORA, ...)."""
    sme: bool = False
    """Whether it is a small or medium-sized enterprise (EU AI Act fines differ, Art. 99(6))."""
    us_person: bool = False
    """Whether it is a US person, e.g. has a US parent (CLOUD Act reaches it directly)."""
    premises_in: CountryCode | None = None
    """Country of its own data centre; defaults to `headquarters` (listed in the assumptions)."""
    provides_models: bool = False
    """Whether it places a general-purpose AI model on the market (EU AI Act Arts. 51-55)."""


class Data(Model):
    """What data the queries carry."""

    query_shares: dict[DataClass, Share]
    """Share of queries whose most sensitive content is each data class; shares sum to 1.
    Classes left out have share 0."""
    subjects_in: tuple[CountryCode, ...] = ()
    """Countries where the data subjects are."""

    @field_validator("query_shares")
    @classmethod
    def _sum_to_one(cls, shares: dict[DataClass, float]) -> dict[DataClass, float]:
        total = math.fsum(shares.values())
        if abs(total - 1.0) > 1e-9:
            raise ValueError(f"shares must sum to 1, they sum to {total:g}")
        return shares

    def share(self, data_class: DataClass) -> float:
        """The share of queries of one class (0 when not listed)."""
        return self.query_shares.get(data_class, 0.0)

    @property
    def present(self) -> tuple[DataClass, ...]:
        """Classes with a share above zero, in canonical order."""
        return tuple(c for c in DATA_CLASSES if self.share(c) > 0)


class ClassPolicy(Model):
    """Where one data class may go; unset fields come from the preset."""

    leave_premises: bool | None = None
    """Whether this class may leave the organisation's premises."""
    reachable_by: tuple[Reachable, ...] | None = None
    """Jurisdictions that may be able to compel access to it: country codes, `EU`, or `*`."""


class Policy(Model):
    """The sovereignty policy: a preset, adjusted per data class."""

    preset: Preset
    """`strict` (nothing leaves the premises), `eu_only` (only venues no non-EU authority can
    compel), `jp_only` (likewise for Japan) or `open` (anything)."""
    overrides: dict[DataClass, ClassPolicy] = Field(default_factory=dict)
    """Per-class adjustments of the preset."""

    def resolve(self) -> dict[DataClass, tuple[bool, frozenset[str]]]:
        """For each data class: may it leave the premises, and who may be able to compel access."""
        leave, reach = PRESETS[self.preset]
        out: dict[DataClass, tuple[bool, frozenset[str]]] = {}
        for data_class in DATA_CLASSES:
            override = self.overrides.get(data_class, ClassPolicy())
            out[data_class] = (
                leave if override.leave_premises is None else override.leave_premises,
                frozenset(reach if override.reachable_by is None else override.reachable_by),
            )
        return out


PRESETS: dict[str, tuple[bool, tuple[str, ...]]] = {
    "strict": (False, ()),
    "eu_only": (True, ("EU",)),
    "jp_only": (True, ("JP",)),
    "open": (True, ("*",)),
}
"""What each preset means: (may leave the premises, jurisdictions that may compel access).
The jurisdiction of the organisation's own premises is always acceptable: no architecture
avoids it."""


class UseCase(Model):
    """One AI use case, described the way the EU AI Act classifies it."""

    name: str = Field(min_length=1)
    """Name."""
    annex_iii_area: AnnexIIIArea = "none"
    """The EU AI Act Annex III high-risk area it falls in, or `none`."""
    prohibited_practice: ProhibitedPractice = "none"
    """The Art. 5(1) practice it amounts to ((a)-(h); (ba), (bb) from 2 Dec 2026), or `none`."""
    profiles_people: bool = False
    """Whether it profiles natural persons (the Art. 6(3) derogation is then unavailable)."""
    interacts_with_people: bool = False
    """Whether people interact with it directly (Art. 50(1))."""
    generates_synthetic_content: bool = False
    """Whether it generates synthetic audio, image, video or text (Art. 50(2))."""
    military_only: bool = False
    """Whether it is used exclusively for military, defence or national security (Art. 2(3))."""
    placed_on_market: bool = False
    """Whether the organisation places it on the market or puts it into service under its own
    name (provider duties) rather than only using it (deployer duties)."""
    annex_i_product: bool = False
    """Whether it is a product, or the safety component of a product, covered by the Union
    harmonisation legislation of AI Act Annex I that must undergo third-party conformity
    assessment (high risk under Art. 6(1))."""


class Workload(Model):
    """How much the system is used."""

    queries_per_month: NonNegativeFloat
    """Queries per month."""
    input_tokens_per_query: NonNegativeFloat
    """Input (prompt plus retrieved context) tokens per query."""
    output_tokens_per_query: NonNegativeFloat
    """Output tokens per query."""
    peak_queries_per_second: NonNegativeFloat
    """Queries per second at the busiest time; GPUs are sized for it."""
    corpus_tokens: NonNegativeFloat = 0.0
    """Size of the retrieval (RAG) corpus, in tokens; 0 when there is no retrieval."""
    corpus_refreshes_per_month: NonNegativeFloat = 0.0
    """How many times a month the whole corpus is re-embedded."""
    complex_share: Share = 0.0
    """Share of queries that need the large model's deep reasoning."""


class Capabilities(Model):
    """What the organisation can run itself."""

    operates_gpus: bool = False
    """Whether it can run GPU servers in its own facility."""
    owned_gpus: dict[Id, Annotated[int, Field(ge=0)]] = Field(default_factory=dict)
    """GPUs it already owns on its premises, by GPU id (see the catalogue)."""


class Finance(Model):
    """Money."""

    currency: Currency = "EUR"
    """Currency of the report."""
    monthly_budget: Decimal | None = Field(default=None, ge=0, allow_inf_nan=False)
    """Monthly budget in `currency`; architectures above it are flagged."""


class OrganisationProfile(Model):
    """Everything the advisor needs to know about an organisation."""

    organisation: Organisation
    data: Data
    policy: Policy
    use_cases: tuple[UseCase, ...] = ()
    workload: Workload
    capabilities: Capabilities = Field(default_factory=Capabilities)
    finance: Finance = Field(default_factory=Finance)

    @property
    def premises_country(self) -> str:
        return self.organisation.premises_in or self.organisation.headquarters


def _validate(data: Any, name: str | None, document: Document | None) -> OrganisationProfile:
    try:
        return OrganisationProfile.model_validate(data)
    except ValidationError as error:
        raise InputError(describe_validation_error(error, file=name, document=document)) from None


def load_profile(path: str | Path) -> OrganisationProfile:
    """Read an organisation profile from a YAML or JSON file.

    Raises `InputError` naming the file, the line, the field and the offending value.
    """
    document = load(Path(path))
    return _validate(document.data, str(path), document)


def profile_from_text(text: str, name: str = "<profile>") -> OrganisationProfile:
    """Parse a profile from YAML or JSON text."""
    document = parse(text, name)
    return _validate(document.data, name, document)
