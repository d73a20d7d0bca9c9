"""`advise`: the five steps, from a profile and a knowledge base to an Advice."""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
from collections.abc import Iterable
from decimal import Decimal
from typing import Any

from pydantic import BaseModel

from sovereign_advisor.advice import (
    ANALYSES,
    Advice,
    Analysis,
    Assessment,
    AssumptionUsed,
    BlockedUseCase,
    Cost,
    CostComponent,
    Finding,
    MonthlyTotal,
    OwnedGpuUse,
    Recommendation,
    RoleVenue,
)
from sovereign_advisor.errors import InputError
from sovereign_advisor.knowledge.loader import KnowledgeBase, load_knowledge_base
from sovereign_advisor.knowledge.models import Assumption
from sovereign_advisor.profile import (
    Capabilities,
    ClassPolicy,
    Data,
    Finance,
    Organisation,
    OrganisationProfile,
    Policy,
    UseCase,
    check_against_knowledge_base,
    defaults_applied,
)
from sovereign_advisor.profile import Workload as ProfileWorkload
from sovereign_advisor.types import DATA_CLASSES, DataClass

from .admissibility import FlowNote, Refusal, admissibility
from .break_even import break_even
from .costmodel import BANDS, BandName, q6
from .decision import (
    Decision,
    apply_changes,
    cause_sentence,
    decide,
    decisive_cause,
    remedy,
)
from .eligibility import Eligibility, eligibility, misrouted_flows
from .exposure import VenueExposure, venue_exposures
from .obligations import obligations_and_blockers
from .ownership import ownership
from .pricing import FX_STALE_AFTER_DAYS, Pricing
from .risks import risks
from .sensitivity import PRICE_FACTOR_ID, VOLUME_FACTOR_ID, sensitivity
from .sizing import Workload, explain_pool, is_active, workload_of
from .venue_choice import Choice, choose

_DEFAULT_KB: KnowledgeBase | None = None


def default_knowledge_base() -> KnowledgeBase:
    """The packaged knowledge base, loaded once per process."""
    global _DEFAULT_KB
    if _DEFAULT_KB is None:
        _DEFAULT_KB = load_knowledge_base()
    return _DEFAULT_KB


def advise(
    profile: OrganisationProfile,
    *,
    kb: KnowledgeBase | None = None,
    as_of: dt.date | None = None,
    analyses: Iterable[Analysis] = ANALYSES,
) -> Advice:
    """Recommend a deployment architecture for an organisation.

    `kb` defaults to the packaged knowledge base; `as_of` (the day whose law and prices apply)
    is required here so that the engine never reads the clock: the command line defaults it to
    today.

    `analyses` names what to compute beyond the decision itself (eligibility, costs, ranking,
    risks, obligations, findings, which are always there): `"break_even"`, `"sensitivity"` and
    `"remedies"`, all three unless asked for fewer. `analyses=()` gives the core decision, the
    same in every field it fills as the full advice; `Advice.not_computed` lists what was left
    out.
    """
    as_of = _check_arguments(profile, kb, as_of)
    wanted = _check_analyses(analyses)
    kb = _Recording.of(kb or default_knowledge_base())
    check_against_knowledge_base(profile, kb)
    assumptions = _defaults(profile)
    exposures = venue_exposures(profile, kb, as_of)
    refusals, flow_notes = admissibility(profile, kb, as_of, exposures)
    results = [eligibility(a, profile, kb, as_of, refusals) for a in kb.architectures]
    pricing = Pricing(kb, profile.finance.currency, as_of)
    w = workload_of(profile, kb)
    choices: dict[str, Choice] = {}
    for result in results:
        if result.eligible:
            choices[result.architecture.id] = choose(result, profile, kb, w, pricing)
    bands = {aid: _band_totals(c, w) for aid, c in choices.items()}
    totals = {aid: band["typical"] for aid, band in bands.items()}
    ranked = sorted(choices, key=lambda aid: (totals[aid], aid))
    exposure_of = {v: e.jurisdictions for v, e in exposures.items()}  # read by each assessment
    assessments = [
        _assessment(r, choices.get(r.architecture.id), bands, ranked, exposure_of, profile, kb, w)
        for r in results
    ]
    memo: dict[Any, Any] = {}  # admissibility of each changed profile, shared by architectures
    assessments = [
        _explained(a, r, profile, kb, as_of, memo, refusals, "remedies" in wanted)
        for a, r in zip(assessments, results, strict=True)
    ]
    assessments.sort(key=lambda a: (a.rank is None, a.rank or 0, a.architecture_id))
    obligations, blocked, coming, findings = obligations_and_blockers(profile, kb, as_of)
    findings = _venue_findings(exposures, kb) + _flow_findings(refusals, flow_notes) + findings
    margin = Decimal(kb.assumption("decision.cost_equivalence_margin").value.typical)
    decision, recommended, why_not = _recommend(
        assessments, margin, blocked, profile, "remedies" in wanted
    )
    used = {
        part.strip()
        for c in choices.values()
        for line in c.model.lines_at(w.volume)
        for part in line.source.split("+")
    }
    if choices:  # risks read these
        used.add("quality.complex_share_on_basic_model_threshold")
    if any(r.id == "residual_leak_risk" for a in assessments for r in a.risks):
        used.add("routing.pii_detection_recall")
    if len(choices) >= 2 and "sensitivity" in wanted:  # it reports moves within these ranges
        used.update((PRICE_FACTOR_ID, VOLUME_FACTOR_ID))
    read = {r.id for r in kb.read}  # every assumption the steps above consulted
    assumptions += [
        AssumptionUsed(
            id=a.id, value=_show(a.value.typical, a.unit), summary=a.summary, source=a.source.title
        )
        for a in kb.assumptions
        if a.id in used or a.id in read
    ]
    ranked_choices = [(aid, choices[aid]) for aid in ranked]
    # the sensitivity of volume reads the break-even volumes, asked for or not
    crossings = break_even(ranked_choices, w) if wanted & {"break_even", "sensitivity"} else []
    moves = sensitivity(ranked_choices, w, crossings, kb) if "sensitivity" in wanted else []
    fx_date = pricing.rate_date if pricing.used else None
    return Advice(
        as_of=as_of,
        knowledge_base_version=kb.version,
        organisation=profile.organisation.name,
        decision=decision,
        recommended=recommended,
        no_recommendation_reason=why_not,
        blocked_use_cases=tuple(blocked),
        coming_blocked_use_cases=tuple(coming),
        assessments=tuple(assessments),
        break_even=tuple(crossings) if "break_even" in wanted else (),
        sensitivity=tuple(moves),
        obligations=tuple(obligations),
        findings=tuple(findings),
        assumptions=tuple(assumptions),
        currency=profile.finance.currency,
        fx_rate_date=fx_date,
        warnings=(*_warnings(profile), *_fx_warnings(fx_date, as_of)),
        not_computed=tuple(a for a in ANALYSES if a not in wanted),
    )


def _check_analyses(analyses: object) -> frozenset[Analysis]:
    """The analyses asked for, or one InputError naming the value that is not one."""
    known = ", ".join(repr(a) for a in ANALYSES)
    if isinstance(analyses, str) or not isinstance(analyses, Iterable):
        raise InputError(
            f"advise() needs analyses to be a tuple of names ({known}), got {analyses!r}"
            + (
                f"; for one analysis write analyses=({analyses!r},)"
                if isinstance(analyses, str)
                else ""
            )
        )
    wanted: set[Analysis] = set()
    for name in analyses:
        if name not in ANALYSES:
            raise InputError(f"advise() knows the analyses {known}; got {name!r}")
        wanted.add(name)
    return frozenset(wanted)


def _check_arguments(
    profile: OrganisationProfile, kb: KnowledgeBase | None, as_of: dt.date | None
) -> dt.date:
    """One clear InputError for arguments `advise` cannot use; the as-of date when they do."""
    if not isinstance(profile, OrganisationProfile):
        raise InputError("advise() needs an OrganisationProfile (see load_profile)")
    # model_copy(update=...) does not validate: a part given as a dict would crash deep inside
    # the engine. Checking the parts' types is cheap; a valid profile is not validated again.
    parts: list[tuple[str, object, type[BaseModel]]] = [
        ("organisation", profile.organisation, Organisation),
        ("data", profile.data, Data),
        ("policy", profile.policy, Policy),
        ("workload", profile.workload, ProfileWorkload),
        ("capabilities", profile.capabilities, Capabilities),
        ("finance", profile.finance, Finance),
        *((f"use_cases[{i}]", u, UseCase) for i, u in enumerate(profile.use_cases)),
    ]
    if isinstance(profile.policy, Policy):
        parts += [
            (f"policy.overrides.{c}", o, ClassPolicy) for c, o in profile.policy.overrides.items()
        ]
    for field, value, kind in parts:
        if not isinstance(value, kind):
            raise InputError(
                f"a {type(value).__name__} where a {kind.__name__} belongs: this profile was "
                "not validated (model_copy(update=...) does not validate); derive one with "
                "sovereign_advisor.replace(profile, **{'section.field': value})",
                field=field,
            )
    if as_of is None:
        raise InputError("advise() needs as_of=datetime.date(...): the engine reads no clock")
    if not isinstance(as_of, dt.date) or isinstance(as_of, dt.datetime):
        raise InputError(f"advise() needs as_of to be a datetime.date, got {as_of!r}")
    if kb is not None and not isinstance(kb, KnowledgeBase):
        raise InputError(f"advise() needs kb from load_knowledge_base(), got {type(kb).__name__}")
    return as_of


def _fx_warnings(fx_date: dt.date | None, as_of: dt.date) -> tuple[str, ...]:
    """A warning when the exchange rates used are stale."""
    if fx_date is None or (as_of - fx_date).days <= FX_STALE_AFTER_DAYS:
        return ()
    warning = (
        f"exchange rates of {fx_date} are {(as_of - fx_date).days} days older than the as-of "
        f"date (more than {FX_STALE_AFTER_DAYS}): converted prices may be off; add newer rates "
        "to prices/fx.yaml (tools/refresh_fx.py)"
    )
    return (warning,)


@dataclasses.dataclass(frozen=True)
class _Recording(KnowledgeBase):
    """The knowledge base, noting every assumption the engine reads (all of them are listed in
    the advice, not only those a cost line cites)."""

    read: list[Assumption] = dataclasses.field(default_factory=list, compare=False)

    @classmethod
    def of(cls, kb: KnowledgeBase) -> _Recording:
        """A recording view sharing the knowledge base's records and caches (no copying: the
        instance dictionary, cached indexes included, is shared by reference)."""
        kb.assumptions_by_id  # noqa: B018 -- build the index and the cache on the shared
        kb.derived  # noqa: B018 -- instance, so that every view reads and fills the same ones
        kb.rules_derived  # noqa: B018
        view = object.__new__(cls)
        view.__dict__.update(kb.__dict__)
        object.__setattr__(view, "read", [])
        return view

    def assumption(self, assumption_id: str, country: str | None = None) -> Assumption:
        record = super().assumption(assumption_id, country)
        self.read.append(record)
        return record


def _band_totals(choice: Choice, w: Workload) -> dict[BandName, Decimal]:
    """Low, typical and high totals. Each line's low and high ends come from its uncertain
    inputs; a line whose quantity falls when another's rises (router mode: fewer simple queries
    when more escalate) could in principle cross over, so the ends are kept around typical."""
    totals = {b: choice.model.presented_total(w.volume, b) for b in BANDS}
    totals["low"] = min(totals["low"], totals["typical"])
    totals["high"] = max(totals["high"], totals["typical"])
    return totals


def _show(value: object, unit: str) -> str:
    return f"{value} {unit}"


def _defaults(profile: OrganisationProfile) -> list[AssumptionUsed]:
    out = []
    for section, fields in defaults_applied(profile):
        named = re.fullmatch(r"use_cases\[(\d+)\]", section)
        which = f" ({profile.use_cases[int(named[1])].name})" if named else ""
        out.append(
            AssumptionUsed(
                id=f"default.{section}",
                value=fields,
                summary=f"not given in the profile's {section}{which}: these defaults apply",
                source="sovereign-advisor default",
            )
        )
    missing = [c for c in DATA_CLASSES if c not in profile.data.query_shares]
    if missing:
        out.append(
            AssumptionUsed(
                id="default.query_shares",
                value="0",
                summary=f"data classes not listed in data.query_shares have share 0: "
                f"{', '.join(missing)}",
                source="sovereign-advisor default",
            )
        )
    out.append(
        AssumptionUsed(
            id="policy.premises_jurisdiction",
            value=profile.premises_country,
            summary="under a preset, the jurisdiction of the organisation's own premises is "
            "acceptable at those premises only (no on-premises architecture avoids it); a "
            "reachable_by stated for a data class is honoured there too",
            source="sovereign-advisor policy semantics",
        )
    )
    return out


_VENUE_FINDINGS_TAG = "venue_findings"
"""The tag of the venue findings kept in `kb.rules_derived` (any distinct value would do)."""


def _venue_findings(exposures: dict[str, VenueExposure], kb: KnowledgeBase) -> list[Finding]:
    """The venue-scope rules that fired. A venue's exposure is kept per knowledge base (see
    `venue_exposures`), so its findings are built once per exposure and kept beside it."""
    out: list[Finding] = []
    for venue_id, exposure in exposures.items():
        key = (_VENUE_FINDINGS_TAG, venue_id, id(exposure))
        kept: tuple[VenueExposure, tuple[Finding, ...]] | None = kb.rules_derived.get(key)
        if kept is None or kept[0] is not exposure:  # the exposure is kept: its id not reused
            kept = kb.rules_derived[key] = (exposure, tuple(_findings_of(venue_id, exposure)))
        out.extend(kept[1])
    return out


def _findings_of(venue_id: str, exposure: VenueExposure) -> list[Finding]:
    out = []
    for reach in exposure.reaches:
        out.append(
            Finding(
                rule_id=reach.rule_id,
                fact_ids=reach.fact_ids + reach.see_also,
                scope="venue",
                subject=venue_id,
                effect="exposes_to",
                detail=f"{reach.jurisdiction} can compel access to data here",
            )
        )
    for rule_id, fact_ids, summary in exposure.notes:
        out.append(
            Finding(
                rule_id=rule_id,
                fact_ids=fact_ids,
                scope="venue",
                subject=venue_id,
                effect="note",
                detail=summary,
            )
        )
    return out


def _flow_findings(
    refusals: dict[tuple[DataClass, str], tuple[Refusal, ...]], notes: tuple[FlowNote, ...]
) -> list[Finding]:
    """Flow-scope rules that fired: notes first, then exclusions (policy checks are not rules)."""
    fired = [(n.rule_id, n.fact_ids, n.data_class, n.venue_id, "note", n.summary) for n in notes]
    fired += [
        (r.rule_id, r.fact_ids, data_class, venue_id, "excludes", r.reason)
        for (data_class, venue_id), found in sorted(refusals.items())
        for r in found
        if not r.rule_id.startswith("policy.")
    ]
    return [
        Finding(
            rule_id=rule_id,
            fact_ids=fact_ids,
            scope="flow",
            subject=f"{data_class}@{venue_id}",
            effect=effect,
            detail=detail,
        )
        for rule_id, fact_ids, data_class, venue_id, effect, detail in fired
    ]


def _recommend(
    assessments: list[Assessment],
    margin: Decimal,
    blocked: list[BlockedUseCase],
    profile: OrganisationProfile,
    remedies: bool = True,
) -> tuple[Decision, Recommendation | None, str | None]:
    blocked_names = {b.use_case for b in blocked}
    if profile.use_cases and all(u.name in blocked_names for u in profile.use_cases):
        return "none", None, "every use case is blocked (see blocked_use_cases)"
    currency = profile.finance.currency
    decision, recommended = decide(assessments, margin, currency)
    if recommended is not None:
        return decision, recommended, None
    parts = []
    for a in assessments:
        part = f"{a.architecture_id}: {a.decisive_reason or 'ineligible'}"
        if a.remedy is not None:
            part += f"; {a.remedy.sentence} at {a.remedy.monthly_total:,.0f} {currency} a month"
        parts.append(part)
    if any(a.remedy is not None for a in assessments):
        head = "the policy cannot be met as stated: no architecture is eligible"
    elif not remedies:
        head = "no architecture is eligible (remedies not computed: advise(analyses=...))"
    else:
        head = (
            "no architecture is eligible, and no change of GPU capability or of the policy "
            "(one or two fields) would make one eligible"
        )
    return "none", None, head + ". " + ". ".join(parts)


def _class_refusals(
    changed: OrganisationProfile,
    touched: tuple[DataClass, ...],
    kb: KnowledgeBase,
    as_of: dt.date,
    memo: dict[Any, Any],
) -> dict[tuple[DataClass, str], tuple[Refusal, ...]]:
    """The refusals of the classes a remedy's policy change touches. A remedy changes only
    capabilities and class policies, never what the organisation is or where its data subjects
    are, so a class's row of the admissibility table depends on its policy alone: what it
    resolves to and whether `reachable_by` is stated. Each such row is evaluated once per
    advice, however many candidate changes (and architectures) share it."""
    rows: dict[Any, dict[tuple[DataClass, str], tuple[Refusal, ...]]]
    rows = memo.setdefault("class rows", {})
    policy = changed.policy.resolve()
    keys = {c: (c, policy[c], changed.policy.explicit_reach(c)) for c in touched}
    missing = tuple(c for c in touched if keys[c] not in rows)
    if missing:
        exposures = venue_exposures(changed, kb, as_of)
        table = admissibility(changed, kb, as_of, exposures, missing)[0]
        for c in missing:
            rows[keys[c]] = {k: v for k, v in table.items() if k[0] == c}
    out: dict[tuple[DataClass, str], tuple[Refusal, ...]] = {}
    for c in touched:
        out.update(rows[keys[c]])
    return out


def _explained(
    assessment: Assessment,
    result: Eligibility,
    profile: OrganisationProfile,
    kb: KnowledgeBase,
    as_of: dt.date,
    memo: dict[Any, Any],
    base: dict[tuple[DataClass, str], tuple[Refusal, ...]],
    remedies: bool = True,
) -> Assessment:
    """An excluded architecture with its decisive cause and the change that would lift it.
    A change of policy for a class only changes that class's refusals (`base` holds the
    profile's own), and a change of capability none: only those rows are evaluated again."""
    if result.eligible:
        return assessment
    cause = decisive_cause(result)
    reason = cause_sentence(cause, result, profile) if cause else None
    if not remedies:
        return assessment.model_copy(update={"decisive_reason": reason})
    arch = result.architecture
    currency = profile.finance.currency

    def evaluate(changes: Any, changed: OrganisationProfile) -> tuple[bool, Decimal | None]:
        if changes not in memo:
            touched = tuple(
                sorted({path.split(".")[2] for path, _ in changes if path.startswith("policy.")})
            )
            refusals = dict(base)
            if touched:
                refusals.update(_class_refusals(changed, touched, kb, as_of, memo))
            memo[changes] = refusals
        refusals = memo[changes]
        again = eligibility(arch, changed, kb, as_of, refusals, explain=False)
        if not again.eligible:
            return False, None
        w = workload_of(changed, kb)
        choice = choose(again, changed, kb, w, Pricing(kb, currency, as_of))
        return True, _band_totals(choice, w)["typical"]

    def changed_profile(changes: Any) -> OrganisationProfile:
        # the architectures an advice explains try many of the same changes: each changed
        # profile is derived (and validated) once; an invalid one raises again
        key = ("changed profile", changes)
        if key not in memo:
            try:
                memo[key] = apply_changes(profile, changes)
            except ValueError as error:
                memo[key] = error
        found: OrganisationProfile | ValueError = memo[key]
        if isinstance(found, ValueError):
            raise found
        return found

    return assessment.model_copy(
        update={
            "decisive_reason": reason,
            "remedy": remedy(profile, result, kb, evaluate, changed_profile),
        }
    )


def _assessment(
    result: Eligibility,
    choice: Choice | None,
    bands: dict[str, dict[BandName, Decimal]],
    ranked: list[str],
    exposure_of: dict[str, tuple[str, ...]],
    profile: OrganisationProfile,
    kb: KnowledgeBase,
    w: Workload,
) -> Assessment:
    arch = result.architecture
    if choice is None:
        return Assessment(
            architecture_id=arch.id,
            name=arch.name,
            eligible=False,
            rank=None,
            exclusions=result.exclusions,
            venues=(),
            cost=None,
        )
    venues = []
    pool_of = {role: pool for pool in choice.pools for role in pool.roles}
    for p in result.placements:
        venue_id, model_id = choice.venue_of[p.role.id]
        pool = pool_of.get(p.role.id)
        venues.append(
            RoleVenue(
                role=p.role.id,
                venue_id=venue_id,
                model_id=model_id,
                data_classes=p.classes,
                exposure=exposure_of[venue_id],
                gpu_id=pool.gpu_id if pool else None,
                gpu_count=pool.count.at(w.volume) if pool else None,
                utilisation_at_average_load=round(pool.utilisation, 4) if pool else None,
                share_of_pool_load=round(pool.load_share[p.role.id], 4) if pool else None,
                hosts=choice.hosts.get(p.role.id),
                active=is_active(p, w),
            )
        )
    components = []
    for line in choice.model.lines_at(w.volume):
        quantity = line.rounded_quantity(w.volume)
        price = line.prices["typical"]
        components.append(
            CostComponent(
                name=line.name,
                role=line.role,
                kind=line.kind,
                unit=line.unit,
                monthly_quantity=quantity,
                unit_price=price,
                monthly_cost=quantity * price,
                source=line.source,
                unit_purchase_price=line.upfront["typical"] if line.upfront else None,
            )
        )
    totals = bands[arch.id]
    owned = _owned_gpu_use(choice, profile, kb, w)
    flows = misrouted_flows(result, choice.venue_of, exposure_of, profile, kb, w.volume)
    capex, operating, tco = ownership(choice, w, totals)
    cost = Cost(
        currency=profile.finance.currency,
        monthly_total=MonthlyTotal(**totals),
        components=tuple(components),
        capex=capex,
        monthly_operating=operating,
        tco=tco,
    )
    return Assessment(
        architecture_id=arch.id,
        name=arch.name,
        eligible=True,
        rank=ranked.index(arch.id) + 1,
        exclusions=(),
        venues=tuple(venues),
        cost=cost,
        risks=tuple(risks(result, choice, totals["typical"], profile, kb, w, flows)),
        owned_gpus=owned,
        gpu_pools=tuple(explain_pool(pool, profile, kb, w) for pool in choice.pools),
        misrouted=flows,
    )


def _owned_gpu_use(
    choice: Choice, profile: OrganisationProfile, kb: KnowledgeBase, w: Workload
) -> tuple[OwnedGpuUse, ...]:
    """Each owned GPU type: how many the architecture's premises pools use, and why not more."""
    out = []
    at_premises = [p for p in choice.pools if kb.venues[p.venue_id].kind == "premises"]
    for gpu_id, owned in sorted(profile.capabilities.owned_gpus.items()):
        if owned <= 0:
            continue
        used = min(owned, sum(p.count.at(w.volume) for p in at_premises if p.gpu_id == gpu_id))
        reason = None
        if not choice.pools:
            reason = "the architecture runs no model on GPUs of the organisation's"
        elif not profile.capabilities.operates_gpus:
            reason = (
                "the organisation does not operate GPUs (capabilities.operates_gpus is false), "
                "so its own are not used"
            )
        elif used == 0 and gpu_id in choice.owned_alternatives:
            on_owned, chosen = choice.owned_alternatives[gpu_id]
            where = ", ".join(
                sorted(
                    {
                        f"{p.gpu_id} {'on the premises' if p in at_premises else 'at ' + p.venue_id}"
                        for p in choice.pools
                    }
                )
            )
            currency = profile.finance.currency
            reason = (
                f"a premises pool on them would cost {q6(on_owned):,.0f} {currency} a month "
                f"against {q6(chosen):,.0f} {currency} on {where} (on them: their power, rack "
                "space and staff, and what they cannot carry of the load and the spare capacity, "
                "bought in whole servers of their type)"
            )
        elif not at_premises:
            reason = (
                "no self-hosted role may run on the premises (see the venues refused): the "
                "pools run at a GPU cloud"
            )
        elif used == 0:
            other = ", ".join(sorted({p.gpu_id for p in at_premises}))
            reason = (
                f"the premises pools run on {other}: no purchase record (or server "
                f"configuration) for {gpu_id} on the as-of date to size a pool on it"
            )
        elif used < owned:
            reason = f"{owned - used} of them idle: the pools need only {used} at this volume"
        out.append(OwnedGpuUse(gpu_id=gpu_id, owned=owned, used=used, reason=reason))
    return tuple(out)


def _warnings(profile: OrganisationProfile) -> list[str]:
    out = []
    owned = {g: n for g, n in profile.capabilities.owned_gpus.items() if n > 0}
    if owned and not profile.capabilities.operates_gpus:
        listed = ", ".join(f"{n} x {g}" for g, n in sorted(owned.items()))
        out.append(
            f"capabilities.owned_gpus lists {listed}, but capabilities.operates_gpus is false: "
            "GPUs nobody operates cannot serve, so they are not used; set operates_gpus: true if "
            "the organisation runs them"
        )
    return out
