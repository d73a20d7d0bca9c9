"""Step 5, risks: what the recommended numbers rest on (quality, misrouting, budget, estimates)."""

from __future__ import annotations

from decimal import Decimal
from fractions import Fraction

from sovereign_advisor.advice import (
    MisroutedFlow,
    Risk,
)
from sovereign_advisor.formatting import money_in
from sovereign_advisor.knowledge.loader import KnowledgeBase
from sovereign_advisor.profile import OrganisationProfile

from .eligibility import Eligibility
from .pricing import frac
from .sizing import Workload
from .venue_choice import Choice


def risks(
    result: Eligibility,
    choice: Choice,
    typical: Decimal,
    profile: OrganisationProfile,
    kb: KnowledgeBase,
    w: Workload,
    flows: tuple[MisroutedFlow, ...] = (),
) -> list[Risk]:
    out: list[Risk] = []
    advanced_for: set[str] = set()
    for p in result.placements:
        model_id = choice.venue_of[p.role.id][1]
        if p.role.kind == "generation" and model_id and kb.models[model_id].reasoning == "advanced":
            advanced_for.update(p.classes)
    uncovered = [c for c in profile.data.present if c not in advanced_for]
    exposed = w.complex_share["typical"] * sum(
        (frac(profile.data.share(c)) for c in uncovered), Fraction(0)
    )
    threshold = kb.assumption("quality.complex_share_on_basic_model_threshold").value.typical
    if exposed > Fraction(threshold):
        out.append(
            Risk(
                id="quality_risk",
                summary=f"{float(exposed):.0%} of queries need deep reasoning but only reach a basic "
                f"model ({', '.join(uncovered)} data); threshold {float(threshold):.0%}",
            )
        )
    # routing by data class: a query whose personal data the detector misses goes the wrong way
    if flows:
        parts = [f"{f.queries_per_month:,.0f} {f.data_class}" for f in flows]
        where = sorted({f.venue_id for f in flows})
        reach = sorted({j for f in flows for j in f.exposure})
        out.append(
            Risk(
                id="residual_leak_risk",
                summary=f"the detector misses about {', '.join(parts)} queries a month (recall "
                f"{float(flows[0].recall):.0%}, {flows[0].recall_source}); they reach "
                f"{', '.join(where)} (reachable by {', '.join(reach) or 'no one'}) instead of "
                "staying on the premises",
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
    budget, currency = profile.finance.monthly_budget, profile.finance.currency
    if budget is not None and typical > budget:
        out.append(
            Risk(
                id="budget_exceeded",
                summary=f"typical monthly cost {money_in(typical, currency)} exceeds the budget of "
                f"{money_in(budget, currency)}",
            )
        )
    return out
