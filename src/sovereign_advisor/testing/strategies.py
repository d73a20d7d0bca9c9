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
    MAX_CORPUS_TOKENS,
    MAX_TOKENS_PER_QUERY,
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
from sovereign_advisor.profile import MAX_PEAK_QUERIES_PER_SECOND as MAX_PEAK_QPS
from sovereign_advisor.profile import MAX_QUERIES_PER_MONTH as MAX_QUERIES_PER_MONTH_ACCEPTED
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


# Hypothesis draws integers of a wide range mostly small (bit size first), so that
# `st.integers(1_000, 2_000_000)` has a median near 25,000. Magnitudes are drawn instead as a
# step on a logarithmic grid of a narrow index range, which it draws about uniformly: every
# decade is about equally likely, and the index, hence the value, shrinks to the low end.

GRID_STEPS = 100
"""Steps of the logarithmic grid between the bounds of a drawn magnitude."""


def _rounded(value: float, low: float, high: float) -> float:
    """`value` to two significant digits (readable counterexamples), kept within the bounds."""
    return min(max(float(f"{value:.2g}"), low), high)


def spread(low: float, high: float, *, steps: int = GRID_STEPS) -> st.SearchStrategy[float]:
    """Numbers from `low` to `high`, about log-uniform (each decade about as likely), rounded to
    two significant digits; they shrink to `low`."""
    if not 0 <= low <= high or not math.isfinite(high):
        raise ValueError(f"need 0 <= low <= high < inf, got {low}, {high}")
    if low == high:
        return st.just(float(low))
    start = max(low, min(1.0, high))
    ratio = high / start

    def at(i: int) -> float:
        return float(low) if i == 0 else _rounded(start * ratio ** (i / steps), low, high)

    return st.integers(0, steps).map(at)


@st.composite
def _query_shares(
    draw: st.DrawFn, classes: tuple[DataClass, ...], required: tuple[DataClass, ...]
) -> dict[DataClass, float]:
    others = [c for c in classes if c not in required]
    room = max(0, 4 - len(required))
    extra = (
        draw(
            st.lists(
                st.sampled_from(others), min_size=0 if required else 1, max_size=room, unique=True
            )
        )
        if others and room
        else []
    )
    present = [*required, *extra]
    weights = [draw(st.integers(1, 10)) for _ in present]
    total = sum(weights)
    shares: dict[DataClass, float] = {c: w / total for c, w in zip(present, weights, strict=True)}
    # the last class takes the remainder, so the shares sum to 1 within rounding
    shares[present[-1]] = 1.0 - math.fsum(v for c, v in shares.items() if c != present[-1])
    absent = [c for c in classes if c not in shares]
    for data_class in draw(st.lists(st.sampled_from(absent), unique=True)) if absent else []:
        shares[data_class] = 0.0  # listed with share 0: the same as not listed
    return shares


MIN_QUERIES_PER_MONTH = 2_000
MAX_QUERIES_PER_MONTH = 300_000_000
"""Default bounds of generated volumes: a team's pilot to a national service."""

MAX_PEAK_TOKENS_PER_SECOND = 100_000
"""Default ceiling of a generated workload's peak load, in tokens a second (peak queries a
second times input plus output tokens): about twenty of the self-hosted model's GPUs. The
exact break-even search walks every GPU-count step between 1/10 and 10 times the volume, so one
advice on a fleet of hundreds of GPUs takes seconds; above the ceiling, prompts, answers and
peak-to-average factors are drawn smaller for the largest volumes."""


def workloads(
    *,
    min_queries_per_month: int = MIN_QUERIES_PER_MONTH,
    max_queries_per_month: int = MAX_QUERIES_PER_MONTH,
    min_input_tokens_per_query: int = 200,
    max_input_tokens_per_query: int = 8_000,
    max_output_tokens_per_query: int = 1_500,
    max_peak_to_average: int = 20,
    max_peak_tokens_per_second: float | None = MAX_PEAK_TOKENS_PER_SECOND,
    corpus: bool | None = None,
) -> st.SearchStrategy[Workload]:
    """Workloads like real ones: volumes about log-uniform between the bounds (by default 2,000
    to 300 million queries a month), prompts of hundreds to thousands of tokens, answers of tens
    to 1,500, and a peak of the average load over 730 hours times a factor of 1 to
    `max_peak_to_average`, all within `max_peak_tokens_per_second` (None: no ceiling; the
    lower token bounds and a factor of 1 are always allowed). `corpus=True` always draws a
    retrieval corpus, `False` never, None either. A workload shrinks to the lower bounds, a
    peak equal to the average and no corpus."""
    if not 0 <= min_queries_per_month <= max_queries_per_month:
        raise ValueError("need 0 <= min_queries_per_month <= max_queries_per_month")
    if max_queries_per_month > MAX_QUERIES_PER_MONTH_ACCEPTED:
        raise ValueError(f"max_queries_per_month must be at most {MAX_QUERIES_PER_MONTH_ACCEPTED}")
    if not 1 <= min_input_tokens_per_query <= max_input_tokens_per_query <= MAX_TOKENS_PER_QUERY:
        raise ValueError("need 1 <= min_input_tokens_per_query <= max_input_tokens_per_query")
    if not 10 <= max_output_tokens_per_query <= MAX_TOKENS_PER_QUERY:
        raise ValueError("max_output_tokens_per_query must be at least 10")
    if max_peak_to_average < 1:
        raise ValueError("max_peak_to_average must be at least 1")
    if max_queries_per_month / SECONDS_PER_MONTH * max_peak_to_average > MAX_PEAK_QPS:
        raise ValueError(
            "max_queries_per_month times max_peak_to_average gives peaks above "
            f"{MAX_PEAK_QPS:,} queries a second, the profile's limit"
        )
    if max_peak_tokens_per_second is not None and not max_peak_tokens_per_second > 0:
        raise ValueError("max_peak_tokens_per_second must be above 0 (or None)")
    limits = _Limits(
        min_input_tokens_per_query,
        max_input_tokens_per_query,
        max_output_tokens_per_query,
        max_peak_to_average,
        math.inf if max_peak_tokens_per_second is None else max_peak_tokens_per_second,
    )
    return _workloads(spread(min_queries_per_month, max_queries_per_month), limits, corpus)


@dataclasses.dataclass(frozen=True)
class _Limits:
    min_input: int
    max_input: int
    max_output: int
    max_factor: int
    max_peak_tokens: float


@st.composite
def _workloads(
    draw: st.DrawFn, volumes: st.SearchStrategy[float], limits: _Limits, corpus: bool | None
) -> Workload:
    volume = draw(volumes)
    average = volume / SECONDS_PER_MONTH
    # tokens a query may carry at a peak equal to the average, within the ceiling
    room = limits.max_peak_tokens / average if average else math.inf
    top_input = max(limits.min_input, min(limits.max_input, room - 10))
    input_tokens = draw(spread(limits.min_input, top_input))
    top_output = max(10.0, min(limits.max_output, room - input_tokens))
    output_tokens = draw(spread(10, top_output))
    fits = room / (input_tokens + output_tokens)
    most = limits.max_factor if math.isinf(fits) else min(limits.max_factor, math.floor(fits))
    factor = draw(st.integers(1, max(1, most)))
    sizes = [0, 1_000_000, 20_000_000, 200_000_000]
    if corpus is True:
        sizes = sizes[1:]
    elif corpus is False:
        sizes = [0]
    corpus_tokens = draw(st.sampled_from(sizes))
    return Workload(
        queries_per_month=volume,
        input_tokens_per_query=input_tokens,
        output_tokens_per_query=output_tokens,
        peak_queries_per_second=_peak(volume, factor),
        corpus_tokens=float(corpus_tokens),
        corpus_refreshes_per_month=float(draw(st.integers(0, 4))) if corpus_tokens else 0.0,
        complex_share=draw(st.integers(0, 20)) / 20,
    )


def _peak(volume: float, factor: float) -> float:
    """The average load over 730 hours times `factor`, rounded up to 1/10,000 (never below the
    average, which the profile refuses)."""
    return min(math.ceil(volume / SECONDS_PER_MONTH * factor * 10_000) / 10_000, MAX_PEAK_QPS)


def policies(
    *,
    preset: str | None = None,
    presets: Collection[str] | None = None,
    data_classes: Collection[str] | None = None,
    overrides: bool = True,
) -> st.SearchStrategy[Policy]:
    """Sovereignty policies: the `preset` given, or one of `presets` (all by default), and,
    unless `overrides=False`, per-class overrides for some of `data_classes`."""
    if preset is not None:
        if presets is not None:
            raise ValueError("give preset= or presets=, not both")
        presets = [preset]
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
    sector: str | None = None,
    sectors: Collection[str] | None = None,
    preset: str | None = None,
    presets: Collection[str] | None = None,
    headquarters: Collection[str] | None = None,
    countries: Collection[str] | None = None,
    data_classes: Collection[str] | None = None,
    require_classes: Collection[str] | None = None,
    currencies: Collection[str] | None = None,
    min_queries_per_month: int = MIN_QUERIES_PER_MONTH,
    max_queries_per_month: int = MAX_QUERIES_PER_MONTH,
    max_use_cases: int = 2,
    operates_gpus: bool | None = None,
    us_person: bool | None = None,
    workload: st.SearchStrategy[Workload] | None = None,
    policy: st.SearchStrategy[Policy] | None = None,
    use_case: st.SearchStrategy[UseCase] | None = None,
) -> st.SearchStrategy[OrganisationProfile]:
    """Organisation profiles, with realistic workloads (see `workloads()`).

    Pin parts with: `sector` (every profile is in exactly this sector), `preset` (every policy
    has it), `require_classes` (classes every profile has queries of, with a share above 0).
    Narrow them with: `sectors`, `presets`, `headquarters` (countries the head office may be
    in), `countries` (where it operates, its premises and data subjects; the headquarters too
    unless `headquarters` is given), `data_classes` (classes that may carry queries),
    `currencies`, the volume bounds, `max_use_cases`, `operates_gpus` and `us_person` (None:
    either). `workload`, `policy` and `use_case` replace the strategies of those parts outright
    (the narrowing arguments above then do not apply to them).
    """
    if max_use_cases < 0:
        raise ValueError("max_use_cases must be >= 0")
    if sector is not None:
        if sectors is not None:
            raise ValueError("give sector= or sectors=, not both")
        sectors = [sector]
    if preset is not None and policy is not None:
        raise ValueError("give preset= or policy=, not both")
    where = _countries("countries", countries)
    classes = _choices("data_classes", data_classes, DATA_CLASSES)
    required = _choices("require_classes", require_classes, classes) if require_classes else ()
    if len(required) > 4:
        raise ValueError("require_classes: at most 4 classes")
    parts = {
        "sectors": _choices("sectors", sectors, SECTORS),
        "headquarters": _countries("headquarters", headquarters) if headquarters else where,
        "countries": where,
        "classes": classes,
        "required": tuple(c for c in DATA_CLASSES if c in required),
        "currencies": _choices("currencies", currencies, CURRENCIES),
    }
    if workload is None:
        workload = workloads(
            min_queries_per_month=min_queries_per_month,
            max_queries_per_month=max_queries_per_month,
        )
    if policy is None:
        policy = policies(preset=preset) if preset is not None else policies(presets=presets)
    return _profiles(
        parts,
        workload,
        policy,
        use_cases() if use_case is None else use_case,
        max_use_cases,
        operates_gpus,
        us_person,
    )


# Rare values are drawn as the *largest* of a small range, so that Hypothesis, which shrinks
# towards small numbers, shrinks them away and counterexamples come out plain.


def _flag(draw: st.DrawFn, fixed: bool | None) -> bool:
    return draw(st.booleans()) if fixed is None else fixed


BUDGETS = spread(1_000, 1_000_000)
"""Monthly budgets, in the profile's currency."""


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
    # the workload is drawn first: Hypothesis fills choices it drew late with simpler values
    # more often, and the workload is what most sizes a realistic organisation
    drawn_workload = draw(workload)
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
    required = tuple(c for c in DATA_CLASSES if c in parts["required"])
    data_fields: dict[str, Any] = {"query_shares": draw(_query_shares(classes, required))}
    if draw(st.integers(0, 3)):  # sometimes left out: headquarters and operates_in are assumed
        # stated as one or two countries; rarely as none at all (an edge case, shrunk away)
        stated: st.SearchStrategy[list[str]] = st.one_of(
            st.lists(where, min_size=1, max_size=2), st.just([])
        )
        data_fields["subjects_in"] = tuple(draw(stated))
    data = Data.model_validate(data_fields)
    gpu_ids = sorted(default_knowledge_base().gpus)
    owned = draw(st.dictionaries(st.sampled_from(gpu_ids), st.integers(0, 4), max_size=2))
    budget = draw(st.none() | BUDGETS.map(lambda b: Decimal(int(b))))
    return OrganisationProfile(
        organisation=organisation,
        data=data,
        policy=draw(policy),
        use_cases=tuple(
            draw(st.lists(use_case, max_size=max_use_cases, unique_by=lambda u: u.name))
        ),
        workload=drawn_workload,
        capabilities=Capabilities(operates_gpus=_flag(draw, operates_gpus), owned_gpus=owned),
        finance=Finance.model_validate(
            {"currency": draw(st.sampled_from(parts["currencies"])), "monthly_budget": budget}
        ),
    )


# --- profiles near a given one ----------------------------------------------------------------

NEAR_FACTORS: tuple[float, ...] = (1.0, 0.9, 1.1, 0.8, 1.25, 0.67, 1.5, 0.5, 2.0)
"""Factors `profiles_near()` multiplies numbers by, identity first (so it shrinks to it)."""


def profiles_near(
    profile: OrganisationProfile, *, max_factor: float = 2.0, lists: bool = True
) -> st.SearchStrategy[OrganisationProfile]:
    """Profiles near `profile` (e.g. your own, from `load_profile`): its numbers (volume,
    tokens, peak, corpus, complex share, data-class shares, owned GPUs, budget) multiplied by
    factors between 1/`max_factor` and `max_factor`, and with `lists=True` its lists perturbed
    (a country of operation or of data subjects added or dropped, a use case dropped, a data
    class added with a small share). Everything else is kept, fields it leaves out stay out, and
    each profile is validated again. It shrinks to `profile` itself."""
    if not isinstance(profile, OrganisationProfile):
        raise TypeError(f"profiles_near() needs an OrganisationProfile, got {type(profile)}")
    if not max_factor >= 1:
        raise ValueError("max_factor must be at least 1")
    factors = tuple(f for f in NEAR_FACTORS if 1 / max_factor - 1e-9 <= f <= max_factor + 1e-9)
    return _profiles_near(profile, factors, lists)


@st.composite
def _profiles_near(
    draw: st.DrawFn, profile: OrganisationProfile, factors: tuple[float, ...], lists: bool
) -> OrganisationProfile:
    factor = st.sampled_from(factors)
    data = profile.model_dump(exclude_unset=True)
    work = data["workload"]
    w = profile.workload
    volume = min(w.queries_per_month * draw(factor), MAX_QUERIES_PER_MONTH_ACCEPTED)
    average = w.queries_per_month / SECONDS_PER_MONTH
    peak_factor = draw(factor)
    if volume > 0 and average > 0:  # keep the peak-to-average ratio about the same
        peak = _peak(volume, max(1.0, w.peak_queries_per_second / average * peak_factor))
    else:
        peak = min(w.peak_queries_per_second * peak_factor, MAX_PEAK_QPS)
    work["queries_per_month"] = volume
    work["peak_queries_per_second"] = peak
    for name in ("input_tokens_per_query", "output_tokens_per_query"):
        work[name] = min(getattr(w, name) * draw(factor), MAX_TOKENS_PER_QUERY)
    if "corpus_tokens" in work:
        work["corpus_tokens"] = min(w.corpus_tokens * draw(factor), MAX_CORPUS_TOKENS)
    if "complex_share" in work:
        step = draw(st.sampled_from((0.0, -0.05, 0.05, -0.1, 0.1)))
        work["complex_share"] = min(1.0, max(0.0, w.complex_share + step))
    data["data"]["query_shares"] = _near_shares(draw, profile, factor, lists)
    owned = data.get("capabilities", {}).get("owned_gpus")
    if owned:
        change = st.sampled_from((0, -1, 1))
        data["capabilities"]["owned_gpus"] = {g: max(0, n + draw(change)) for g, n in owned.items()}
    budget = data.get("finance", {}).get("monthly_budget")
    if budget is not None:
        data["finance"]["monthly_budget"] = (Decimal(str(draw(factor))) * budget).quantize(ONE)
    if lists:
        org = data["organisation"]
        org["operates_in"] = _near_list(draw, tuple(org.get("operates_in", ())))
        if data["data"].get("subjects_in") is not None:
            data["data"]["subjects_in"] = _near_list(draw, tuple(data["data"]["subjects_in"]))
        if data.get("use_cases"):
            dropped = draw(st.sampled_from((None, *range(len(data["use_cases"])))))
            if dropped is not None:
                data["use_cases"] = [u for i, u in enumerate(data["use_cases"]) if i != dropped]
    return OrganisationProfile.model_validate(data)


def _near_list(draw: st.DrawFn, countries: tuple[str, ...]) -> list[str]:
    """The countries with one dropped or one of `COUNTRIES` added (or unchanged)."""
    change = draw(st.sampled_from(("same", "drop", "add")))
    out = list(countries)
    if change == "drop" and out:
        del out[draw(st.integers(0, len(out) - 1))]
    elif change == "add":
        others = [c for c in COUNTRIES if c not in out]
        if others:
            out.append(draw(st.sampled_from(others)))
    return out


def _near_shares(
    draw: st.DrawFn, profile: OrganisationProfile, factor: st.SearchStrategy[float], lists: bool
) -> dict[DataClass, float]:
    """The data-class shares reweighted (each class present stays present), and with `lists`
    sometimes one more class with a small share."""
    weights = {c: s * draw(factor) for c, s in profile.data.query_shares.items() if s > 0}
    absent = [c for c in DATA_CLASSES if c not in weights]
    if lists and absent and draw(st.booleans()):
        weights[draw(st.sampled_from(absent))] = 0.05 * math.fsum(weights.values())
    if all(weights[c] == s for c, s in profile.data.query_shares.items() if s > 0) and len(
        weights
    ) == len(profile.data.present):
        return dict(profile.data.query_shares)  # unchanged: not renormalised (no rounding)
    total = math.fsum(weights.values())
    shares = {c: w / total for c, w in weights.items()}
    largest = max(shares, key=lambda c: shares[c])
    shares[largest] = 1.0 - math.fsum(v for c, v in shares.items() if c != largest)
    return {c: shares.get(c, 0.0) for c in profile.data.query_shares} | shares


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
