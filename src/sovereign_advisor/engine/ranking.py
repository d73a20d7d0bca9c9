"""Step 5: rank eligible architectures, flag risks, find break-even volumes, collect obligations."""

from __future__ import annotations

import datetime as dt
from decimal import ROUND_HALF_EVEN, Decimal
from fractions import Fraction
from itertools import combinations
from typing import Any

from sovereign_advisor.advice import (
    BlockedUseCase,
    BreakEven,
    Finding,
    Obligation,
    Risk,
)
from sovereign_advisor.conditions import Activation, Scope
from sovereign_advisor.knowledge.loader import KnowledgeBase
from sovereign_advisor.knowledge.models import Rule
from sovereign_advisor.profile import OrganisationProfile
from sovereign_advisor.types import Status

from .context import organisation_vars, use_case_vars
from .costing import Choice, Workload, frac
from .costmodel import crossings
from .eligibility import Eligibility
from .exposure import evaluate

_ORDER = {"binding": 0, "guidance": 1, "provisional": 2}


def weakest_status(kb: KnowledgeBase, fact_ids: tuple[str, ...]) -> Status:
    """A conclusion is only as reliable as the weakest fact it rests on."""
    statuses = [kb.facts[f].status for f in fact_ids]
    return max(statuses, key=lambda s: _ORDER[s])


def citation(kb: KnowledgeBase, fact_ids: tuple[str, ...]) -> str:
    return "; ".join(
        f"{kb.facts[f].citation.instrument}, {kb.facts[f].citation.article}" for f in fact_ids
    )


def cited_facts(rule: Rule, variables: dict[str, Any]) -> tuple[str, ...]:
    """The facts a rule rests on, plus the one its `cites_for` picks for these variables."""
    if rule.cites_for is None:
        return rule.rests_on
    extra = rule.cites_for.facts.get(str(variables[rule.cites_for.variable]))
    return rule.rests_on if extra is None or extra in rule.rests_on else (*rule.rests_on, extra)


def obligations_and_blockers(
    profile: OrganisationProfile, kb: KnowledgeBase, as_of: dt.date
) -> tuple[list[Obligation], list[BlockedUseCase], list[Finding]]:
    obligations: list[Obligation] = []
    blocked: list[BlockedUseCase] = []
    findings: list[Finding] = []
    base = organisation_vars(profile, kb)
    subjects: list[tuple[Scope, dict[str, Any], str | None]] = [("organisation", base, None)]
    for use_case in profile.use_cases:
        subjects.append(("use_case", use_case_vars(base, use_case), use_case.name))
    for scope, variables, use_case_name in subjects:
        activation = Activation(scope, variables)
        for compiled in kb.rules:
            rule = compiled.rule
            if rule.scope != scope or not rule.in_force(as_of):
                continue
            if not evaluate(rule.id, compiled.condition, activation):
                continue
            subject = use_case_name or profile.organisation.name
            cited = cited_facts(rule, variables)
            findings.append(
                Finding(
                    rule_id=rule.id,
                    fact_ids=cited + rule.see_also,
                    scope=rule.scope,
                    subject=subject,
                    effect=rule.effect,
                    detail=rule.summary,
                )
            )
            if rule.effect == "obligation":
                obligations.append(
                    Obligation(
                        rule_id=rule.id,
                        fact_ids=cited,
                        jurisdiction=rule.jurisdiction,
                        citation=citation(kb, cited),
                        summary=rule.summary,
                        applies_from=rule.applies_from,
                        in_force=rule.applies_from is None or rule.applies_from <= as_of,
                        status=weakest_status(kb, cited),
                        use_case=use_case_name,
                    )
                )
            elif rule.effect == "blocker":
                assert use_case_name is not None
                blocked.append(
                    BlockedUseCase(
                        use_case=use_case_name,
                        rule_id=rule.id,
                        fact_ids=cited,
                        reason=rule.summary,
                    )
                )
    obligations.sort(key=lambda o: (o.applies_from or dt.date.min, o.rule_id, o.use_case or ""))
    return obligations, blocked, findings


def risks(
    result: Eligibility,
    choice: Choice,
    typical: Decimal,
    profile: OrganisationProfile,
    kb: KnowledgeBase,
    w: Workload,
) -> list[Risk]:
    out: list[Risk] = []
    advanced_for: set[str] = set()
    for p in result.placements:
        model_id = choice.venue_of[p.role.id][1]
        if p.role.kind == "generation" and model_id and kb.models[model_id].reasoning == "advanced":
            advanced_for.update(p.classes)
    uncovered = [c for c in profile.data.present if c not in advanced_for]
    exposed = w.complex_share * sum((frac(profile.data.share(c)) for c in uncovered), Fraction(0))
    threshold = kb.assumption("quality.complex_share_on_basic_model_threshold").value.typical
    if exposed > Fraction(threshold):
        out.append(
            Risk(
                id="quality_risk",
                summary=f"{float(exposed):.0%} of queries need deep reasoning but only reach a basic "
                f"model ({', '.join(uncovered)} data); threshold {float(threshold):.0%}",
            )
        )
    venues = {
        choice.venue_of[p.role.id][0] for p in result.placements if p.role.kind == "generation"
    }
    if len(venues) > 1:
        out.append(
            Risk(
                id="residual_leak_risk",
                summary="queries are routed by data class: a query whose personal data the router "
                "misses reaches the cloud venue",
            )
        )
    rented = [
        pool.venue_id for pool in choice.pools if kb.venues[pool.venue_id].kind == "gpu_cloud"
    ]
    if rented and not profile.capabilities.operates_gpus:
        out.append(
            Risk(
                id="no_gpu_operations",
                summary="the organisation does not operate GPUs; self-hosted models run on rented "
                f"GPUs at {', '.join(sorted(set(rented)))} and still need staff to run them",
            )
        )
    budget = profile.finance.monthly_budget
    if budget is not None and typical > budget:
        out.append(
            Risk(
                id="budget_exceeded",
                summary=f"typical monthly cost {typical:.2f} exceeds the budget of {budget:.2f} "
                f"{profile.finance.currency}",
            )
        )
    return out


SEARCH_FACTOR = 100
"""Break-even volumes are searched from 1/100 to 100 times the profile's volume."""


def break_even(ranked: list[tuple[str, Choice]], w: Workload) -> list[BreakEven]:
    """For each pair of eligible architectures, the volume nearest the profile's where the order
    of their typical totals flips (peak load scaled with volume)."""
    out: list[BreakEven] = []
    volume = w.volume if w.volume > 0 else Fraction(1)
    low, high = max(Fraction(1), volume / SEARCH_FACTOR), volume * SEARCH_FACTOR
    span = f"{float(low):,.0f} to {float(high):,.0f} queries a month"
    for (id_a, a), (id_b, b) in combinations(ranked, 2):
        try:
            found = crossings(a.model, b.model, low, high)
        except OverflowError:
            out.append(
                BreakEven(
                    architectures=(id_a, id_b),
                    queries_per_month=None,
                    note=f"too many GPU steps from {span} to search exactly",
                )
            )
            continue
        if not found:
            out.append(
                BreakEven(
                    architectures=(id_a, id_b),
                    queries_per_month=None,
                    note=f"{id_a} stays cheaper from {span}",
                )
            )
            continue
        nearest = min(found, key=lambda v: (abs(v - volume) / volume, v))
        shown = (Decimal(nearest.numerator) / Decimal(nearest.denominator)).quantize(
            Decimal("0.01"), rounding=ROUND_HALF_EVEN
        )
        direction = "more" if nearest > volume else "fewer"
        others = f"; {len(found) - 1} other crossing(s) in range" if len(found) > 1 else ""
        out.append(
            BreakEven(
                architectures=(id_a, id_b),
                queries_per_month=shown,
                note=f"with {direction} queries than this, {id_b} becomes the cheaper{others}",
            )
        )
    return out
