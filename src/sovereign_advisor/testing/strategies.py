"""Hypothesis strategies for the advisor's inputs: profiles, their parts, and knowledge bases.

Every value is valid by construction (built from the models' constraints, never filtered), so
a property test spends its examples on the engine, not on rejected inputs. Each strategy takes
keyword-only arguments that narrow what it generates.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import math
from collections.abc import Callable, Collection, Sequence
from decimal import Decimal
from typing import Any, TypeVar, get_args

from hypothesis import strategies as st

from sovereign_advisor.engine.advise import default_knowledge_base
from sovereign_advisor.knowledge.loader import CompiledRule, KnowledgeBase
from sovereign_advisor.knowledge.models import (
    Assumption,
    Band,
    GpuPrice,
    HostPrice,
    Source,
    TokenPrice,
    Venue,
)
from sovereign_advisor.profile import (
    Capabilities,
    ClassPolicy,
    Data,
    Finance,
    Organisation,
    OrganisationProfile,
    Policy,
    UseCase,
    Workload,
)
from sovereign_advisor.types import (
    DATA_CLASSES,
    AnnexIIIArea,
    Currency,
    DataClass,
    Model,
    Preset,
    ProhibitedPractice,
    Sector,
)

T = TypeVar("T")
R = TypeVar("R", bound=Model)
P = TypeVar("P", TokenPrice, GpuPrice, HostPrice)

SECTORS: tuple[str, ...] = get_args(Sector)
PRESETS: tuple[str, ...] = get_args(Preset)
CURRENCIES: tuple[str, ...] = get_args(Currency)
ANNEX_III_AREAS: tuple[str, ...] = get_args(AnnexIIIArea)
PROHIBITED_PRACTICES: tuple[str, ...] = get_args(ProhibitedPractice)

COUNTRIES: tuple[str, ...] = ("FR", "DE", "NL", "IE", "IT", "BE", "JP", "US", "GB", "CH")
"""Countries drawn by default: EU members, Japan, the US and two European non-members."""

REACHABLE: tuple[str, ...] = ("EU", "JP", "US", "FR", "DE", "*")
"""Jurisdictions drawn for `reachable_by` overrides."""

CERTIFICATIONS: tuple[str, ...] = ("ISO27001", "SOC2", "HDS", "SecNumCloud", "C5", "ISMAP")

ONE = Decimal(1)

SECONDS_PER_MONTH = 730 * 3600
"""Only used to keep generated peaks in proportion to volumes (the engine reads its own)."""

PRICE_FACTORS: tuple[Decimal, ...] = (
    Decimal("0.5"),
    Decimal("0.8"),
    Decimal(1),
    Decimal(1),
    Decimal("1.25"),
    Decimal(2),
)
"""Factors `knowledge_bases()` multiplies prices by (identity twice as likely)."""


def _choices(name: str, given: Collection[str] | None, allowed: Sequence[str]) -> tuple[str, ...]:
    """Validate a keyword argument naming a subset of `allowed`; None means all of them."""
    if given is None:
        return tuple(allowed)
    if isinstance(given, str):
        raise TypeError(f"{name} must be a collection of strings, not the string {given!r}")
    chosen = tuple(dict.fromkeys(given))
    if not chosen:
        raise ValueError(f"{name} must not be empty")
    unknown = [c for c in chosen if c not in allowed]
    if unknown:
        raise ValueError(f"{name}: unknown value(s) {unknown}; allowed: {', '.join(allowed)}")
    return chosen


def _countries(name: str, given: Collection[str] | None) -> tuple[str, ...]:
    if given is None:
        return COUNTRIES
    chosen = tuple(dict.fromkeys(given))
    bad = [c for c in chosen if len(c) != 2 or not c.isascii() or not c.isupper()]
    if not chosen or bad:
        raise ValueError(f"{name} must be non-empty ISO 3166-1 alpha-2 codes, got {bad or given}")
    return chosen


def as_of_dates(
    *, min_value: dt.date = dt.date(2026, 1, 1), max_value: dt.date = dt.date(2027, 12, 31)
) -> st.SearchStrategy[dt.date]:
    """As-of dates. The default span starts with the first premises GPU prices (2026-01-01) and
    crosses API retirements (May and July 2026), the EU AI Act's amended dates (2026-07-27) and
    obligations that start in August and December 2027."""
    return st.dates(min_value=min_value, max_value=max_value)


@st.composite
def _query_shares(draw: st.DrawFn, classes: tuple[DataClass, ...]) -> dict[DataClass, float]:
    present = draw(st.lists(st.sampled_from(classes), min_size=1, max_size=4, unique=True))
    weights = [draw(st.integers(1, 10)) for _ in present]
    total = sum(weights)
    shares: dict[DataClass, float] = {c: w / total for c, w in zip(present, weights, strict=True)}
    # the last class takes the remainder, so the shares sum to 1 within rounding
    shares[present[-1]] = 1.0 - math.fsum(v for c, v in shares.items() if c != present[-1])
    absent = [c for c in classes if c not in shares]
    for data_class in draw(st.lists(st.sampled_from(absent), unique=True)) if absent else []:
        shares[data_class] = 0.0  # listed with share 0: the same as not listed
    return shares


def workloads(
    *,
    min_queries_per_month: int = 1_000,
    max_queries_per_month: int = 2_000_000,
    max_peak_to_average: int = 10,
    corpus: bool | None = None,
) -> st.SearchStrategy[Workload]:
    """Workloads. The peak is the average load times a factor up to `max_peak_to_average`, as in
    real traffic; `corpus=True` always draws a retrieval corpus, `False` never, None either."""
    if not 0 <= min_queries_per_month <= max_queries_per_month:
        raise ValueError("need 0 <= min_queries_per_month <= max_queries_per_month")
    if max_peak_to_average < 1:
        raise ValueError("max_peak_to_average must be at least 1")
    return _workloads(min_queries_per_month, max_queries_per_month, max_peak_to_average, corpus)


@st.composite
def _workloads(
    draw: st.DrawFn, low: int, high: int, peak_factor: int, corpus: bool | None
) -> Workload:
    volume = draw(st.integers(low, high))
    factor = draw(st.integers(1, peak_factor))
    peak = math.ceil(volume / SECONDS_PER_MONTH * factor * 10_000) / 10_000  # never below average
    sizes = [0, 1_000_000, 20_000_000, 200_000_000]
    if corpus is True:
        sizes = sizes[1:]
    elif corpus is False:
        sizes = [0]
    corpus_tokens = draw(st.sampled_from(sizes))
    return Workload(
        queries_per_month=float(volume),
        input_tokens_per_query=float(draw(st.integers(50, 8_000))),
        output_tokens_per_query=float(draw(st.integers(10, 1_500))),
        peak_queries_per_second=peak,
        corpus_tokens=float(corpus_tokens),
        corpus_refreshes_per_month=float(draw(st.integers(0, 4))) if corpus_tokens else 0.0,
        complex_share=draw(st.integers(0, 20)) / 20,
    )


def policies(
    *,
    presets: Collection[str] | None = None,
    data_classes: Collection[str] | None = None,
    overrides: bool = True,
) -> st.SearchStrategy[Policy]:
    """Sovereignty policies: a preset from `presets` and, unless `overrides=False`, per-class
    overrides for some of `data_classes`."""
    chosen = _choices("presets", presets, PRESETS)
    classes = _choices("data_classes", data_classes, DATA_CLASSES)
    return _policies(chosen, classes, overrides)


@st.composite
def _policies(
    draw: st.DrawFn, presets: tuple[str, ...], classes: tuple[str, ...], overrides: bool
) -> Policy:
    preset = draw(st.sampled_from(presets))
    adjusted: dict[str, ClassPolicy] = {}
    if overrides:
        for data_class in draw(st.lists(st.sampled_from(classes), max_size=3, unique=True)):
            reach = draw(st.none() | st.lists(st.sampled_from(REACHABLE), max_size=2, unique=True))
            fields: dict[str, Any] = {
                "leave_premises": draw(st.none() | st.booleans()),
                "reachable_by": None if reach is None else tuple(reach),
            }
            misrouting = draw(st.sampled_from((None, None, "accept", "refuse")))
            if misrouting is not None:  # usually left out: the default (accept) applies
                fields["misrouting"] = misrouting
            adjusted[data_class] = ClassPolicy(**fields)
    return Policy.model_validate({"preset": preset, "overrides": adjusted})


_USE_CASE_NAMES = (
    "customer chatbot",
    "contract review",
    "credit pre-check",
    "cv screening",
    "internal search",
    "claims triage",
)


def use_cases(*, prohibited: bool | None = None) -> st.SearchStrategy[UseCase]:
    """Use cases. `prohibited=True` always draws an EU AI Act Art. 5 practice, `False` never;
    None draws one about one time in five."""
    return _use_cases(prohibited)


@st.composite
def _use_cases(draw: st.DrawFn, prohibited: bool | None) -> UseCase:
    practices = [p for p in PROHIBITED_PRACTICES if p != "none"]
    if prohibited is None:
        prohibited = draw(st.integers(0, 4)) == 4
    return UseCase.model_validate(
        {
            "name": draw(st.sampled_from(_USE_CASE_NAMES)),
            "annex_iii_area": draw(st.sampled_from(ANNEX_III_AREAS)),
            "prohibited_practice": draw(st.sampled_from(practices)) if prohibited else "none",
            "profiles_people": draw(st.booleans()),
            "interacts_with_people": draw(st.booleans()),
            "generates_synthetic_content": draw(st.booleans()),
            "military_only": draw(st.integers(0, 9)) == 9,
            "placed_on_market": draw(st.booleans()),
        }
    )


def profiles(
    *,
    sectors: Collection[str] | None = None,
    presets: Collection[str] | None = None,
    headquarters: Collection[str] | None = None,
    countries: Collection[str] | None = None,
    data_classes: Collection[str] | None = None,
    currencies: Collection[str] | None = None,
    min_queries_per_month: int = 1_000,
    max_queries_per_month: int = 2_000_000,
    max_use_cases: int = 2,
    operates_gpus: bool | None = None,
    us_person: bool | None = None,
    workload: st.SearchStrategy[Workload] | None = None,
    policy: st.SearchStrategy[Policy] | None = None,
    use_case: st.SearchStrategy[UseCase] | None = None,
) -> st.SearchStrategy[OrganisationProfile]:
    """Organisation profiles.

    Narrow them with: `sectors`, `presets`, `headquarters` (countries the head office may be in),
    `countries` (where it operates, its premises and data subjects), `data_classes` (classes that
    may carry queries), `currencies`, the volume bounds, `max_use_cases`, `operates_gpus` and
    `us_person` (None: either). `workload`, `policy` and `use_case` replace the strategies of
    those parts outright (the narrowing arguments above then do not apply to them).
    """
    if max_use_cases < 0:
        raise ValueError("max_use_cases must be >= 0")
    where = _countries("countries", countries)
    parts = {
        "sectors": _choices("sectors", sectors, SECTORS),
        "headquarters": _countries("headquarters", headquarters) if headquarters else where,
        "countries": where,
        "classes": _choices("data_classes", data_classes, DATA_CLASSES),
        "currencies": _choices("currencies", currencies, CURRENCIES),
    }
    if workload is None:
        workload = workloads(
            min_queries_per_month=min_queries_per_month,
            max_queries_per_month=max_queries_per_month,
        )
    return _profiles(
        parts,
        workload,
        policies(presets=presets) if policy is None else policy,
        use_cases() if use_case is None else use_case,
        max_use_cases,
        operates_gpus,
        us_person,
    )


# Rare values are drawn as the *largest* of a small range, so that Hypothesis, which shrinks
# towards small numbers, shrinks them away and counterexamples come out plain.


def _flag(draw: st.DrawFn, fixed: bool | None) -> bool:
    return draw(st.booleans()) if fixed is None else fixed


@st.composite
def _profiles(
    draw: st.DrawFn,
    parts: dict[str, tuple[str, ...]],
    workload: st.SearchStrategy[Workload],
    policy: st.SearchStrategy[Policy],
    use_case: st.SearchStrategy[UseCase],
    max_use_cases: int,
    operates_gpus: bool | None,
    us_person: bool | None,
) -> OrganisationProfile:
    where = st.sampled_from(parts["countries"])
    organisation = Organisation.model_validate(
        {
            "name": draw(st.sampled_from(("Example SA", "Beispiel GmbH", "Rei KK", "Acme"))),
            "headquarters": draw(st.sampled_from(parts["headquarters"])),
            "operates_in": tuple(draw(st.lists(where, max_size=3))),
            "sector": tuple(
                sorted(
                    set(draw(st.lists(st.sampled_from(parts["sectors"]), min_size=1, max_size=2)))
                )
            ),
            "sme": draw(st.booleans()),
            "us_person": _flag(draw, us_person),
            # usually unset (premises in the headquarters country), as in most profiles
            "premises_in": draw(where) if draw(st.integers(0, 3)) == 3 else None,
            "provides_models": draw(st.integers(0, 4)) == 4,
        }
    )
    classes = tuple(c for c in DATA_CLASSES if c in parts["classes"])
    data_fields: dict[str, Any] = {"query_shares": draw(_query_shares(classes))}
    if draw(st.integers(0, 3)):  # sometimes left out: headquarters and operates_in are assumed
        data_fields["subjects_in"] = tuple(draw(st.lists(where, max_size=2)))
    data = Data.model_validate(data_fields)
    gpu_ids = sorted(default_knowledge_base().gpus)
    owned = draw(st.dictionaries(st.sampled_from(gpu_ids), st.integers(0, 4), max_size=2))
    budget = draw(st.none() | st.integers(0, 60_000).map(Decimal))
    return OrganisationProfile(
        organisation=organisation,
        data=data,
        policy=draw(policy),
        use_cases=tuple(
            draw(st.lists(use_case, max_size=max_use_cases, unique_by=lambda u: u.name))
        ),
        workload=draw(workload),
        capabilities=Capabilities(operates_gpus=_flag(draw, operates_gpus), owned_gpus=owned),
        finance=Finance.model_validate(
            {"currency": draw(st.sampled_from(parts["currencies"])), "monthly_budget": budget}
        ),
    )


# --- knowledge bases --------------------------------------------------------------------------


def scale_band(band: Band, factor: Decimal) -> Band:
    """A band with each end multiplied by `factor` (> 0 keeps low <= typical <= high)."""
    return Band(
        typical=band.typical * factor,
        low=None if band.low is None else band.low * factor,
        high=None if band.high is None else band.high * factor,
    )


def _scale_record(record: R, factor: Decimal) -> R:
    """A price or money assumption with every amount multiplied by `factor`."""
    if factor == 1:
        return record
    if isinstance(record, TokenPrice):
        update: dict[str, Any] = {
            "input_per_mtok": scale_band(record.input_per_mtok, factor),
            "output_per_mtok": scale_band(record.output_per_mtok, factor),
        }
    elif isinstance(record, GpuPrice):
        update = {
            name: scale_band(band, factor)
            for name, band in (
                ("rental_per_hour", record.rental_per_hour),
                ("purchase", record.purchase),
            )
            if band is not None
        }
    elif isinstance(record, HostPrice):
        update = {"per_month": scale_band(record.per_month, factor)}
    elif isinstance(record, Assumption) and record.currency is not None:
        update = {"value": scale_band(record.value, factor)}
    else:
        return record
    return record.model_copy(update=update)


def _money_record_ids(kb: KnowledgeBase) -> list[str]:
    """Ids of the records `scale_prices` changes."""
    ids = [p.id for p in kb.token_prices] + [p.id for p in kb.gpu_prices]
    ids += [p.id for p in kb.host_prices] + [a.id for a in kb.assumptions if a.currency]
    return sorted(ids)


def _ids(venue: Venue, *groups: tuple[TokenPrice | GpuPrice | HostPrice, ...]) -> list[str]:
    return [venue.id] + [r.id for group in groups for r in group]


@dataclasses.dataclass(frozen=True, repr=False)
class KnowledgeBaseVariant(KnowledgeBase):
    """A knowledge base derived from another, which says how in its (short) repr."""

    changes: tuple[str, ...] = ()
    """What was changed, in order."""

    def __repr__(self) -> str:
        return f"<knowledge base {self.version}: {'; '.join(self.changes) or 'unchanged'}>"

    def _repr_pretty_(self, printer: Any, cycle: bool) -> None:
        """Hypothesis' pretty printer shows dataclasses field by field; keep it short."""
        printer.text(repr(self))


def _changed(kb: KnowledgeBase, change: str, **fields: Any) -> KnowledgeBaseVariant:
    """A variant of `kb` with some fields replaced; its version is the base's plus a hash of the
    change, so advice computed on it never claims to come from the base."""
    done = kb.changes if isinstance(kb, KnowledgeBaseVariant) else ()
    values = {f.name: getattr(kb, f.name) for f in dataclasses.fields(KnowledgeBase)}
    values.update(fields)
    values["version"] = f"{kb.version}+{hashlib.sha256(change.encode()).hexdigest()[:8]}"
    return KnowledgeBaseVariant(**values, changes=(*done, change))


def described(kb: KnowledgeBase) -> KnowledgeBaseVariant:
    """`kb` unchanged (same version), with a short repr for Hypothesis' reports."""
    if isinstance(kb, KnowledgeBaseVariant):
        return kb
    values = {f.name: getattr(kb, f.name) for f in dataclasses.fields(KnowledgeBase)}
    return KnowledgeBaseVariant(**values)


def scale_prices(kb: KnowledgeBase, factor: Callable[[str], Decimal] | Decimal) -> KnowledgeBase:
    """A copy of `kb` with every price (token, GPU, host) and every money assumption (energy,
    staff) multiplied by `factor`, a number or a function of the record id. FX rates are kept."""
    if not callable(factor):
        constant = factor
        factor = lambda _id: constant
    of = factor
    for_record = {record_id: of(record_id) for record_id in _money_record_ids(kb)}
    if any(f <= 0 for f in for_record.values()):
        raise ValueError("price factors must be > 0")
    scaled = [f"{i} x{f}" for i, f in sorted(for_record.items()) if f != 1]
    return _changed(
        kb,
        f"prices scaled: {', '.join(scaled) or 'none'}",
        token_prices=tuple(_scale_record(p, for_record[p.id]) for p in kb.token_prices),
        gpu_prices=tuple(_scale_record(p, for_record[p.id]) for p in kb.gpu_prices),
        host_prices=tuple(_scale_record(p, for_record[p.id]) for p in kb.host_prices),
        assumptions=tuple(_scale_record(a, for_record.get(a.id, ONE)) for a in kb.assumptions),
    )


_GENERATED_SOURCE = Source(title="generated by sovereign_advisor.testing", publisher="hypothesis")


def add_venue(kb: KnowledgeBase, venue: Venue, *, prices_like: str) -> KnowledgeBase:
    """A copy of `kb` with a new venue priced like an existing one of the same kind (its token,
    GPU and host price records copied under new ids)."""
    template = kb.venues[prices_like]
    if venue.id in kb.venues or venue.kind != template.kind or venue.kind == "premises":
        raise ValueError("add an api or gpu_cloud venue with a new id, priced like one of its kind")

    def copy(record: P) -> P:
        return record.model_copy(update={"id": f"{venue.id}.{record.id}", "venue": venue.id})

    token = tuple(copy(p) for p in kb.token_prices if p.venue == prices_like)
    gpu = tuple(copy(p) for p in kb.gpu_prices if p.venue == prices_like)
    host = tuple(copy(p) for p in kb.host_prices if p.venue == prices_like)
    origin = dict(kb.origin)
    origin.update({record_id: "generated" for record_id in _ids(venue, token, gpu, host)})
    where = ", ".join(venue.data_locations)
    return _changed(
        kb,
        f"venue {venue.id} added ({venue.kind}, seat {venue.seat}, controlled from "
        f"{venue.controlled_from}, data in {where}, certified {list(venue.certifications)}, "
        f"priced like {prices_like})",
        venues={**kb.venues, venue.id: venue},
        token_prices=kb.token_prices + token,
        gpu_prices=kb.gpu_prices + gpu,
        host_prices=kb.host_prices + host,
        origin=origin,
    )


def remove_rules(
    kb: KnowledgeBase, rule_ids: Collection[str], *, prune_facts: bool
) -> KnowledgeBase:
    """A copy of `kb` without some rules; with `prune_facts`, also without every fact no
    remaining rule rests on."""
    unknown = set(rule_ids) - {r.rule.id for r in kb.rules}
    if unknown:
        raise ValueError(f"unknown rule ids: {sorted(unknown)}")
    rules: tuple[CompiledRule, ...] = tuple(r for r in kb.rules if r.rule.id not in rule_ids)
    facts = kb.facts
    if prune_facts:
        used = {f for r in rules for f in r.rule.fact_ids}
        facts = {k: v for k, v in kb.facts.items() if k in used}
    pruned = f", {len(kb.facts) - len(facts)} facts no rule rests on" if prune_facts else ""
    what = f"removed rules {sorted(rule_ids)}{pruned}"
    return _changed(kb, what, rules=rules, facts=facts)


def knowledge_bases(
    base: KnowledgeBase | None = None,
    *,
    perturb_prices: bool = True,
    add_venues: bool = True,
    remove_facts: bool = True,
) -> st.SearchStrategy[KnowledgeBase]:
    """Variations of a knowledge base (the packaged one by default): prices multiplied by
    factors between 0.5 and 2 (`perturb_prices`), up to two venues with generated control and
    location priced like an existing venue (`add_venues`), and up to four rules removed together
    with the facts no remaining rule rests on (`remove_facts`). The base itself is among them.
    """
    return _knowledge_bases(base, perturb_prices, add_venues, remove_facts)


@st.composite
def _knowledge_bases(
    draw: st.DrawFn,
    base: KnowledgeBase | None,
    perturb_prices: bool,
    add_venues: bool,
    remove_facts: bool,
) -> KnowledgeBase:
    kb: KnowledgeBase = described(base or default_knowledge_base())
    if perturb_prices and draw(st.booleans()):
        factors = {i: draw(st.sampled_from(PRICE_FACTORS)) for i in _money_record_ids(kb)}
        kb = scale_prices(kb, lambda record_id: factors[record_id])
    if add_venues:
        templates = sorted(v.id for v in kb.venues.values() if v.kind != "premises")
        for n in range(draw(st.integers(0, 2))):
            template = kb.venues[draw(st.sampled_from(templates))]
            venue = Venue(
                id=f"generated-{n}",
                name=f"Generated venue {n}",
                kind=template.kind,
                operator=f"Generated operator {n}",
                seat=draw(st.sampled_from(COUNTRIES)),
                controlled_from=draw(st.sampled_from((*COUNTRIES, "EU"))),
                data_locations=tuple(
                    draw(st.lists(st.sampled_from(COUNTRIES), min_size=1, max_size=2, unique=True))
                ),
                certifications=tuple(
                    draw(st.lists(st.sampled_from(CERTIFICATIONS), max_size=3, unique=True))
                ),
                models=template.models,
                source=_GENERATED_SOURCE,
                checked_on=dt.date(2026, 1, 1),
                status="provisional",
            )
            kb = add_venue(kb, venue, prices_like=template.id)
    if remove_facts:
        rule_ids = sorted(r.rule.id for r in kb.rules)
        removed = draw(st.lists(st.sampled_from(rule_ids), max_size=4, unique=True))
        prune = draw(st.booleans())
        if removed or prune:
            kb = remove_rules(kb, removed, prune_facts=True)
    return kb
