"""The organisation profile: what a user states about themselves (input of `advise`)."""

from __future__ import annotations

import difflib
import math
import os
import unicodedata
import weakref
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    Field,
    ValidationError,
    ValidationInfo,
    field_validator,
)

from sovereign_advisor.errors import InputError
from sovereign_advisor.types import (
    DATA_CLASSES,
    ISO_3166_ALPHA_2,
    Amount,
    AnnexIIIArea,
    CountryCode,
    Currency,
    DataClass,
    Flag,
    Id,
    Model,
    NonNegativeFloat,
    Preset,
    ProhibitedPractice,
    Sector,
    Share,
    frozen_dict,
    numbers_only,
    shown_value,
)
from sovereign_advisor.yamlio import MAX_DEPTH, Document, describe_validation_error, load, parse

if TYPE_CHECKING:
    from sovereign_advisor.knowledge.loader import KnowledgeBase


def _reachable(value: object) -> object:
    if isinstance(value, str) and value not in ("EU", "*") and value not in ISO_3166_ALPHA_2:
        raise ValueError(
            f"`{shown_value(value)}` is not `EU`, `*` (anyone) or an ISO 3166-1 alpha-2 country "
            "code"
        )
    return value


def _one_or_many(value: object) -> object:
    return (value,) if isinstance(value, str) else value


def _not_empty(value: tuple[str, ...]) -> tuple[str, ...]:
    if not value:
        raise ValueError("name at least one sector")
    return value


Sectors = Annotated[tuple[Sector, ...], BeforeValidator(_one_or_many), AfterValidator(_not_empty)]
"""One sector, or a list of them (a public hospital is `[healthcare, public_sector]`)."""


Reachable = Annotated[str, Field(pattern=r"^([A-Z]{2}|EU|\*)$"), BeforeValidator(_reachable)]
"""A jurisdiction allowed to be able to compel access: a country code, `EU`, or `*` (any)."""


MAX_NAME_LENGTH = 200
"""Longest organisation or use-case name accepted, in characters."""

_BIDI = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")


def _one_line(name: str) -> str:
    """Names are shown in terminals, reports and charts: a newline or an ANSI escape in one
    could fake an error line or repaint the screen, a bidi override could reverse the text."""
    if name.isprintable():  # no control character (Cc) and no bidi control (Cf) in it
        return name
    bad = next((c for c in name if unicodedata.category(c) == "Cc" or c in _BIDI), None)
    if bad is not None:
        raise ValueError(
            f"a name is one line of printable text; remove the control character U+{ord(bad):04X}"
        )
    return name


Name = Annotated[str, Field(min_length=1, max_length=MAX_NAME_LENGTH), AfterValidator(_one_line)]
"""A name shown in outputs: 1 to 200 characters of one line, without control characters."""

MAX_USE_CASES = 500
"""Most use cases a profile may list (each is classified against every use-case rule)."""


class Organisation(Model):
    """Who the organisation is."""

    name: Name
    """Name, for the report."""
    headquarters: CountryCode
    """Country of the head office (ISO 3166-1 alpha-2)."""
    operates_in: tuple[CountryCode, ...] = ()
    """Countries where it operates or where its AI output is used."""
    sector: Sectors
    """Sector, or a list of every sector it belongs to; each brings its sector rules
    (health-data hosting, SecNumCloud for public bodies, DORA, ...)."""
    sme: Flag = False
    """Whether it is a small or medium-sized enterprise (EU AI Act fines differ, Art. 99(6))."""
    small_mid_cap: Flag | None = None
    """Whether it is a small mid-cap enterprise (larger than an SME; EU AI Act Art. 99(6a), from
    27 July 2026, caps its Art. 99(4)-(5) fines at the lower amount). Unknown counts as not one."""
    us_person: Flag | None = None
    """Whether it is a US person, e.g. has a US parent (CLOUD Act reaches it directly); defaults
    to whether the headquarters are in the US (listed in the assumptions)."""
    premises_in: CountryCode | None = None
    """Country of its own data centre; defaults to `headquarters` (listed in the assumptions)."""
    provides_models: Flag = False
    """Whether it places a general-purpose AI model on the market (EU AI Act Arts. 51-55)."""


class Data(Model):
    """What data the queries carry."""

    query_shares: Annotated[dict[DataClass, Share], AfterValidator(frozen_dict)]
    """Share of queries whose most sensitive content is each data class; shares sum to 1.
    Classes left out have share 0."""
    subjects_in: tuple[CountryCode, ...] | None = None
    """Countries where the data subjects are; defaults to the headquarters and `operates_in`
    countries (listed in the assumptions), so that no data-protection rule is switched off by
    leaving it out."""

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
        shares = self.query_shares
        return tuple(c for c in DATA_CLASSES if shares.get(c, 0.0) > 0)


class ClassPolicy(Model):
    """Where one data class may go; unset fields come from the preset."""

    leave_premises: Flag | None = None
    """Whether this class may leave the organisation's premises."""
    reachable_by: tuple[Reachable, ...] | None = None
    """Jurisdictions that may be able to compel access to it: country codes, `EU`, or `*`."""
    misrouting: Literal["accept", "refuse"] | None = None
    """For a class kept on the premises: whether queries a detector fails to recognise may
    still reach a cloud venue (`accept`: the residual risk is stated with its monthly volume;
    `refuse`: detector-based routing is excluded for this class). Default `accept`; a class a
    law confines is never sent to a venue that law forbids, whatever this says."""


class Policy(Model):
    """The sovereignty policy: a preset, adjusted per data class."""

    preset: Preset
    """`strict` (nothing leaves the premises), `eu_only` (only venues no non-EU authority can
    compel), `jp_only` (likewise for Japan) or `open` (anything)."""
    overrides: Annotated[dict[DataClass, ClassPolicy], AfterValidator(frozen_dict)] = Field(
        default_factory=dict
    )
    """Per-class adjustments of the preset."""

    def resolve(self) -> dict[DataClass, tuple[bool, frozenset[str]]]:
        """For each data class: may it leave the premises, and who may be able to compel access."""
        leave, reach = PRESETS[self.preset]
        preset = (leave, frozenset(reach))
        out: dict[DataClass, tuple[bool, frozenset[str]]] = {}
        for data_class in DATA_CLASSES:
            override = self.overrides.get(data_class)
            if override is None:
                out[data_class] = preset
                continue
            out[data_class] = (
                leave if override.leave_premises is None else override.leave_premises,
                frozenset(reach if override.reachable_by is None else override.reachable_by),
            )
        return out

    def accepts_misrouting(self, data_class: DataClass) -> bool:
        """Whether detector misses of this class may leave the premises (default: yes)."""
        override = self.overrides.get(data_class)
        return override is None or override.misrouting != "refuse"

    def explicit_reach(self, data_class: DataClass) -> bool:
        """Whether the profile states `reachable_by` for this class itself (not from the preset):
        then it is honoured exactly, at the organisation's own premises too."""
        override = self.overrides.get(data_class)
        return override is not None and override.reachable_by is not None


PRESETS: dict[str, tuple[bool, tuple[str, ...]]] = {
    "strict": (False, ()),
    "eu_only": (True, ("EU",)),
    "jp_only": (True, ("JP",)),
    "open": (True, ("*",)),
}
"""What each preset means: (may leave the premises, jurisdictions that may compel access).
Under a preset, the jurisdiction of the organisation's own premises is acceptable at those
premises (and only there): no on-premises architecture avoids it. A `reachable_by` the profile
states for a class is honoured exactly, at the premises too."""


SECONDS_PER_MONTH = 730 * 3600
"""Seconds in a billing month of 730 hours, for the monthly average rate of queries."""

MAX_QUERIES_PER_MONTH = 10**10
MAX_TOKENS_PER_QUERY = 10**7
MAX_PEAK_QUERIES_PER_SECOND = 10**5
MAX_CORPUS_TOKENS = 10**13
MAX_REFRESHES_PER_MONTH = 10**4
MAX_OWNED_GPUS = 10**4
"""Most GPUs a profile may own, all types together: break-even volumes are found exactly across
every step of the owned fleet, which costs time in proportion (10^4 keeps the slowest command
near 10 s on a small machine; see the README's limits)."""

GpuCount = Annotated[int, Field(ge=0, le=MAX_OWNED_GPUS), BeforeValidator(numbers_only)]
"""A number of GPUs, 0 to 10^4."""


class UseCase(Model):
    """One AI use case, described the way the EU AI Act classifies it."""

    name: Name
    """Name."""
    annex_iii_area: AnnexIIIArea = "none"
    """The EU AI Act Annex III high-risk area it falls in, or `none`."""
    prohibited_practice: ProhibitedPractice = "none"
    """The Art. 5(1) practice it amounts to ((a)-(h); (ba), (bb) from 2 Dec 2026), or `none`."""
    profiles_people: Flag = False
    """Whether it profiles natural persons (the Art. 6(3) derogation is then unavailable)."""
    interacts_with_people: Flag = False
    """Whether people interact with it directly (Art. 50(1))."""
    generates_synthetic_content: Flag = False
    """Whether it generates synthetic audio, image, video or text (Art. 50(2))."""
    military_only: Flag = False
    """Whether it is used exclusively for military, defence or national security (Art. 2(3))."""
    placed_on_market: Flag = False
    """Whether the organisation places it on the market or puts it into service under its own
    name (provider duties) rather than only using it (deployer duties)."""
    annex_i_product: Flag = False
    """Whether it is a product, or the safety component of a product, covered by the Union
    harmonisation legislation of AI Act Annex I that must undergo third-party conformity
    assessment (high risk under Art. 6(1))."""


class Workload(Model):
    """How much the system is used."""

    # The upper bounds are far above any real organisation's figures; they keep every amount
    # within exact decimal arithmetic, so a typo of a few extra zeros is an error, not a crash.
    queries_per_month: NonNegativeFloat = Field(le=MAX_QUERIES_PER_MONTH)
    """Queries per month (at most 10^10)."""
    input_tokens_per_query: NonNegativeFloat = Field(le=MAX_TOKENS_PER_QUERY)
    """Input (prompt plus retrieved context) tokens per query (at most 10^7)."""
    output_tokens_per_query: NonNegativeFloat = Field(le=MAX_TOKENS_PER_QUERY)
    """Output tokens per query (at most 10^7)."""
    peak_queries_per_second: NonNegativeFloat = Field(le=MAX_PEAK_QUERIES_PER_SECOND)
    """Queries per second at the busiest time; GPUs are sized for it (at most 10^5)."""
    corpus_tokens: NonNegativeFloat = Field(default=0.0, le=MAX_CORPUS_TOKENS)
    """Size of the retrieval (RAG) corpus, in tokens; 0 when there is no retrieval (at most
    10^13)."""
    corpus_refreshes_per_month: NonNegativeFloat = Field(default=0.0, le=MAX_REFRESHES_PER_MONTH)
    """How many times a month the whole corpus is re-embedded (at most 10^4)."""
    complex_share: Share = 0.0
    """Share of queries that need the large model's deep reasoning."""
    redundancy: Literal["none", "n_plus_1", "two_sites"] = "n_plus_1"
    """How self-hosted GPU pools survive a failure: `n_plus_1` (the default) adds one server
    (one replica on rented GPUs) beyond what peak load needs, so the service keeps its peak
    capacity when one fails; `two_sites` runs the whole pool in each of two sites; `none` sizes
    for load only (a pilot, or a service that may stop for a repair)."""

    @field_validator("peak_queries_per_second")
    @classmethod
    def _not_below_average(cls, peak: float, info: ValidationInfo) -> float:
        volume = info.data.get("queries_per_month")
        if volume is None:
            return peak
        average = volume / SECONDS_PER_MONTH
        if peak < average * (1 - 1e-9):
            raise ValueError(
                f"{peak:g} is below the monthly average of {average:.4g} queries a second "
                f"({volume:,.0f} queries a month over 730 hours): the busiest second cannot be "
                "quieter than the average"
            )
        return peak


class Capabilities(Model):
    """What the organisation can run itself."""

    operates_gpus: Flag = False
    """Whether it can run GPU servers in its own facility."""
    owned_gpus: Annotated[dict[Id, GpuCount], AfterValidator(frozen_dict)] = Field(
        default_factory=dict
    )

    @field_validator("owned_gpus")
    @classmethod
    def _fleet_within_limit(cls, owned: dict[str, int]) -> dict[str, int]:
        if sum(owned.values()) > MAX_OWNED_GPUS:
            raise ValueError(
                f"{sum(owned.values()):,} GPUs owned in total; the limit is {MAX_OWNED_GPUS:,}"
            )
        return owned

    """GPUs it already owns on its premises, by GPU id (see the catalogue)."""


class Finance(Model):
    """Money."""

    currency: Currency = "EUR"
    """Currency of the report."""
    monthly_budget: Amount | None = None
    """Monthly budget in `currency`; architectures above it are flagged."""


class OrganisationProfile(Model):
    """Everything the advisor needs to know about an organisation."""

    organisation: Organisation
    data: Data
    policy: Policy
    use_cases: tuple[UseCase, ...] = Field(default=(), max_length=MAX_USE_CASES)
    workload: Workload
    capabilities: Capabilities = Field(default_factory=Capabilities)
    finance: Finance = Field(default_factory=Finance)

    @field_validator("use_cases")
    @classmethod
    def _distinct_names(cls, use_cases: tuple[UseCase, ...]) -> tuple[UseCase, ...]:
        seen: set[str] = set()
        for use_case in use_cases:
            # "café" typed two ways (é, or e + combining accent) is one name
            key = unicodedata.normalize("NFC", use_case.name)
            if key in seen:
                raise ValueError(
                    f"two use cases are named `{shown_value(key)}`; names identify "
                    "use cases in the advice, so make them distinct"
                )
            seen.add(key)
        return use_cases

    @property
    def premises_country(self) -> str:
        return self.organisation.premises_in or self.organisation.headquarters

    @property
    def us_person(self) -> bool:
        """Stated, or whether the headquarters are in the US."""
        stated = self.organisation.us_person
        return self.organisation.headquarters == "US" if stated is None else stated

    @property
    def subjects_in(self) -> tuple[str, ...]:
        """Stated, or the headquarters and `operates_in` countries (the conservative default:
        the data subjects are at least where the organisation is)."""
        if self.data.subjects_in is not None:
            return self.data.subjects_in
        org = self.organisation
        return tuple(sorted({org.headquarters, *org.operates_in}))


_SOURCES: dict[int, tuple[str | None, Document | None]] = {}
"""Where each live profile was read from (by object id), so that checks made later, against the
knowledge base, can name the file and line. Kept outside the model: a profile read from two
files is still the same profile."""


def source_of(profile: OrganisationProfile) -> tuple[str | None, Document | None]:
    """The file name and parsed document a profile was read from, when it was read from one."""
    return _SOURCES.get(id(profile), (None, None))


def _validate(data: Any, name: str | None, document: Document | None) -> OrganisationProfile:
    try:
        profile = OrganisationProfile.model_validate(data)
    except ValidationError as error:
        raise InputError(
            describe_validation_error(
                error, file=name, document=document, model=OrganisationProfile
            )
        ) from None
    _SOURCES[id(profile)] = (name, document)
    weakref.finalize(profile, _SOURCES.pop, id(profile), None)
    return profile


def load_profile(path: str | Path) -> OrganisationProfile:
    """Read an organisation profile from a YAML or JSON file.

    Raises `InputError` naming the file, the line, the field and the offending value.
    """
    if not isinstance(path, str | os.PathLike):
        raise InputError(f"load_profile() needs a file path, got {type(path).__name__}")
    text = os.fspath(path)
    if not isinstance(text, str) or not text or "\0" in text:
        raise InputError(f"load_profile(): {text!r} is not a usable file path")
    document = load(Path(path))
    return _validate(document.data, str(path), document)


def profile_from_text(text: str, name: str = "<profile>") -> OrganisationProfile:
    """Parse a profile from YAML or JSON text; raises `InputError` like `load_profile`."""
    if not isinstance(text, str):
        raise InputError(f"profile_from_text() needs text (str), got {type(text).__name__}")
    document = parse(text, name)
    return _validate(document.data, name, document)


def profile_from_dict(data: Mapping[str, Any], name: str = "<profile>") -> OrganisationProfile:
    """Validate a profile given as a dict; raises `InputError` (not pydantic's error) naming the
    field path and the offending value."""
    if not isinstance(data, Mapping):
        raise InputError(f"a profile is a mapping, got {type(data).__name__}", file=name)
    _check_depth(data, name)
    return _validate(dict(data), name, None)


def replace(profile: OrganisationProfile, /, **changes: Any) -> OrganisationProfile:
    """A copy of `profile` with fields replaced, validated again as a loaded profile is.

    Name a field by its dotted path, as `--set` does: `replace(profile,
    **{"workload.queries_per_month": 5e6, "use_cases[0].annex_iii_area": "employment"})`; a
    bare section name replaces the whole section (`replace(profile, policy={"preset":
    "strict"})`). Values may be models, dicts, lists or scalars. Fields the profile left out
    stay out (their defaults are still listed in the advice's assumptions). Raises `InputError`
    naming the field path and the offending value, like `load_profile`.

    Unlike `profile.model_copy(update=...)`, which does not validate and leaves nested parts as
    plain dicts that `advise` refuses, the result is a profile like any loaded one.
    """
    from sovereign_advisor.whatif import set_field  # whatif imports this module

    if not isinstance(profile, OrganisationProfile):
        raise InputError(f"replace() needs an OrganisationProfile, got {type(profile).__name__}")
    data = _plain(profile.model_dump(exclude_unset=True))
    for path, value in changes.items():
        if isinstance(value, BaseModel):
            value = value.model_dump(exclude_unset=True)
        set_field(data, path, _plain(value), "replace()")
    return _validate(data, "replace()", None)


def _plain(value: Any) -> Any:
    """Dumped model data as a file would give it: dicts and lists (so paths can index lists)."""
    if isinstance(value, Mapping):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value


def _check_depth(data: object, name: str) -> None:
    """Refuse nesting deeper than files may have (`yamlio.MAX_DEPTH`), without recursion: a
    dict nested 100,000 deep would otherwise exhaust Python's stack in the validator."""
    level: list[object] = [data]
    for _ in range(MAX_DEPTH + 1):
        level = [
            child
            for item in level
            if isinstance(item, Mapping | list | tuple)
            for child in (item.values() if isinstance(item, Mapping) else item)
            if isinstance(child, Mapping | list | tuple)
        ]
        if not level:
            return
    raise InputError(f"nesting deeper than {MAX_DEPTH} levels", file=name)


def check_against_knowledge_base(profile: OrganisationProfile, kb: KnowledgeBase) -> None:
    """Refuse ids in the profile that the knowledge base does not know (owned GPU ids)."""
    name, document = source_of(profile)
    for gpu_id in profile.capabilities.owned_gpus:
        if gpu_id not in kb.gpus:
            known = sorted(kb.gpus)
            close = difflib.get_close_matches(gpu_id, known, n=1)
            hint = f"; did you mean `{close[0]}`?" if close else ""
            line = document.line_of(("capabilities", "owned_gpus", gpu_id)) if document else None
            where = f"line {line}: " if line else ""
            raise InputError(
                f"{where}capabilities.owned_gpus.{gpu_id}: `{gpu_id}` is not a GPU of the "
                f"knowledge base (known: {', '.join(known)}){hint}",
                file=name,
            )


_MEANING: dict[str, str] = {
    "organisation.premises_in": "the headquarters country",
    "organisation.operates_in": "no other country",
    "policy.overrides": "the preset applies to every data class",
    "use_cases": "no use case: no EU AI Act classification",
    "capabilities.owned_gpus": "none owned",
    "finance.monthly_budget": "no budget: nothing is flagged as over budget",
}
"""How a default that is `None` or empty reads in the assumptions."""


def _shown(path: str, value: Any) -> str:
    field = path.rsplit(".", 1)[-1]
    generic = path.split("[")[0] + ("." + field if "[" in path else "")
    meaning = _MEANING.get(generic)
    if meaning is None and field in ("leave_premises", "reachable_by"):
        meaning = "from the preset"
    if meaning is None and field == "misrouting":
        meaning = "accept (detector misses stated as a residual risk)"
    if meaning is not None and (value is None or value in ((), {})):
        return f"{field}={meaning}"
    if isinstance(value, bool):
        return f"{field}={str(value).lower()}"
    return f"{field}={value}"


_FIELD_NAMES: dict[type[BaseModel], tuple[str, ...]] = {}
"""The field names of each profile model, in declaration order (read once per class)."""


def _unset(
    model: BaseModel, path: str, all_unset: bool, out: list[tuple[str, str, Any]]
) -> list[tuple[str, str, Any]]:
    """(parent path, field, default) for every field the user did not give, at any depth,
    appended to `out` in field order."""
    kind = type(model)
    names = _FIELD_NAMES.get(kind)
    if names is None:
        names = _FIELD_NAMES[kind] = tuple(kind.model_fields)
    given = model.model_fields_set
    for name in names:
        value = getattr(model, name)
        here = f"{path}.{name}" if path else name
        unset = all_unset or name not in given
        if isinstance(value, BaseModel):
            _unset(value, here, unset, out)
        elif unset:
            out.append((path, here, value))
        elif isinstance(value, tuple):
            for i, item in enumerate(value):
                if isinstance(item, BaseModel):
                    _unset(item, f"{here}[{i}]", False, out)
        elif isinstance(value, dict):
            for key, item in sorted(value.items()):  # the same listing whatever the map order
                if isinstance(item, BaseModel):
                    _unset(item, f"{here}.{key}", False, out)
    return out


_DERIVED: dict[str, Any] = {
    "organisation.premises_in": lambda p: (
        f"premises_in={p.premises_country} (the headquarters country)"
    ),
    "organisation.us_person": lambda p: (
        f"us_person={str(p.us_person).lower()} (headquarters "
        f"{'in' if p.us_person else 'outside'} the US)"
    ),
    "data.subjects_in": lambda p: (
        f"subjects_in={', '.join(p.subjects_in)} (the headquarters and operates_in countries: "
        "data-protection rules of each apply)"
    ),
}
"""Defaults derived from other fields, and how each reads in the assumptions."""


def defaults_applied(profile: OrganisationProfile) -> list[tuple[str, str]]:
    """Every field the profile leaves out, grouped by section: (section path, `field=value, ...`).

    The engine lists these in `advice.assumptions` so that nothing is filled in silently.
    """
    groups: dict[str, list[str]] = {}
    for parent, path, value in _unset(profile, "", False, []):
        derived = _DERIVED.get(path)
        if derived is not None:
            groups.setdefault(parent, []).append(derived(profile))
            continue
        if path == "organisation.small_mid_cap":
            groups.setdefault(parent, []).append(
                "small_mid_cap=unknown (read as not one: the higher AI Act fine ceilings)"
            )
            continue
        groups.setdefault(parent or path, []).append(_shown(path, value))
    return [(parent, ", ".join(items)) for parent, items in groups.items()]
