"""Plain-text explanations for a terminal: one architecture rule by rule, and the break-even.

Everything here is read from the Advice (and, for citations, the knowledge base it was made
with), so the explanation can never disagree with the recommendation.
"""

from __future__ import annotations

from collections.abc import Iterable

from sovereign_advisor.advice import Advice, Assessment, Exclusion, Finding
from sovereign_advisor.errors import InputError
from sovereign_advisor.formatting import money, unit_price
from sovereign_advisor.knowledge.loader import KnowledgeBase
from sovereign_advisor.views.chart import human_volume
from sovereign_advisor.views.curves import CostCurves, table_volumes
from sovereign_advisor.views.text import wrap_lines


def render_explanation(
    advice: Advice,
    architecture_id: str,
    kb: KnowledgeBase,
    *,
    without_policy: Advice | None = None,
) -> str:
    """Why `architecture_id` is or is not eligible for the advice's profile, and its cost.

    `without_policy` is the advice for the same profile with the `open` preset: for an
    architecture the policy excludes, it says what it would cost if the policy allowed it.
    """
    found = [a for a in advice.assessments if a.architecture_id == architecture_id]
    if not found:
        known = ", ".join(a.architecture_id for a in advice.assessments)
        raise InputError(
            f"unknown architecture {architecture_id!r}; the knowledge base has: {known}",
            field="ARCHITECTURE",
        )
    a = found[0]
    arch = next((x for x in kb.architectures if x.id == architecture_id), None)
    out = [
        f"explain {a.architecture_id} ({a.name}) for {advice.organisation}",
        f"as of {advice.as_of}, knowledge base {advice.knowledge_base_version}",
    ]
    if arch is not None:
        out += ["", arch.summary]
    out += ["", _verdict(advice, a)]
    if arch is not None:
        out += ["", "roles (data classes the architecture routes to each):"]
        for role in arch.roles:
            models = " or ".join(role.models) or "no model"
            out.append(f"  {role.id:<17} {role.deployment:<12} {models}")
            out.append(f"  {'':<17} carries {', '.join(role.data_classes)}")
    if a.eligible:
        out += _eligible(advice, a)
    else:
        out += _ineligible(a, kb)
        out += _what_it_would_cost(advice, architecture_id, without_policy)
    return wrap_lines(out)


def _what_it_would_cost(
    advice: Advice, architecture_id: str, without_policy: Advice | None
) -> list[str]:
    if without_policy is None:
        return [
            "",
            (
                "an ineligible architecture is not priced: change the policy (or the knowledge base) "
                "and run `advise` again to see its cost"
            ),
        ]
    other = next(
        (a for a in without_policy.assessments if a.architecture_id == architecture_id), None
    )
    if other is None or other.cost is None:
        rules = sorted({e.rule_id for e in other.exclusions}) if other else []
        return [
            "",
            "even with the `open` policy preset (any venue) it stays excluded"
            + (f", by {', '.join(rules)}" if rules else ""),
        ]
    t = other.cost.monthly_total
    cur = other.cost.currency
    venues = ", ".join(f"{v.role} at {v.venue_id}" for v in other.venues)
    out = [
        "",
        (
            f"if the policy allowed it (`open` preset, any venue) it would cost "
            f"{money(t.typical, cur, cents=True)} {cur} a month typical (low "
            f"{money(t.low, cur, cents=True)}, high {money(t.high, cur, cents=True)}), with {venues}"
        ),
    ]
    best = next((a for a in advice.assessments if a.rank == 1), None)
    if best is not None and best.cost is not None:
        gap = best.cost.monthly_total.typical - t.typical
        if gap > 0:
            out.append(
                f"so the sovereignty policy costs {money(gap, cur, cents=True)} {cur} a month against it (the "
                f"recommended {best.architecture_id} costs "
                f"{money(best.cost.monthly_total.typical, cur, cents=True)})"
            )
    return out


def _verdict(advice: Advice, a: Assessment) -> str:
    if not a.eligible:
        rules = sorted({e.rule_id for e in a.exclusions})
        return f"NOT ELIGIBLE: excluded by {', '.join(rules)} (not priced)"
    eligible = sum(1 for x in advice.assessments if x.eligible)
    best = advice.recommended.architecture_id if advice.recommended else None
    verdict = f"ELIGIBLE, rank {a.rank} of {eligible}"
    if a.architecture_id == best:
        return verdict + ": RECOMMENDED"
    winner = next((x for x in advice.assessments if x.architecture_id == best), None)
    if winner is not None and winner.cost is not None and a.cost is not None:
        gap = a.cost.monthly_total.typical - winner.cost.monthly_total.typical
        cost = money(gap, advice.currency, cents=True)
        verdict += f": costs {cost} {advice.currency} a month more than {best}"
    return verdict


def _eligible(advice: Advice, a: Assessment) -> list[str]:
    out = ["", "steps 1-3, venue by venue (exposure, then the data routed there):"]
    for v in a.venues:
        out.append(f"  {v.role} -> {v.venue_id}" + (f" running {v.model_id}" if v.model_id else ""))
        reach = _fired(advice.findings, scope="venue", subject=v.venue_id)
        for f in reach:
            out.append(f"    {f.detail} [{f.rule_id}; facts {', '.join(f.fact_ids)}]")
        out.append(f"    who can compel access: {', '.join(v.exposure) or 'nobody listed'}")
        if v.data_classes:
            out.append(
                f"    admitted by the policy and every flow rule: {', '.join(v.data_classes)}"
            )
        for c in v.data_classes:
            for f in _fired(advice.findings, scope="flow", subject=f"{c}@{v.venue_id}"):
                out.append(f"    {f.effect} for {c}: {f.detail} [{f.rule_id}]")
    assert a.cost is not None
    cur = a.cost.currency
    out += ["", f"step 4, cost ({cur} a month; quantity x unit price = cost; sources):"]
    out += [f"  sizing: {p.explanation}" for p in a.gpu_pools]
    for line in a.cost.components:
        out.append(f"  {line.name} [{line.kind}]")
        out.append(
            f"    {line.monthly_quantity.normalize():,f} {line.unit} x "
            f"{unit_price(line.unit_price, cur)} = {money(line.monthly_cost, cur, cents=True)}   "
            f"({line.source})"
        )
    t = a.cost.monthly_total
    low, typical, high = (money(x, cur, cents=True) for x in (t.low, t.typical, t.high))
    out.append(f"  total: {typical} typical (low {low}, high {high})")
    cost = a.cost
    if cost.capex is not None and cost.monthly_operating is not None:
        out.append(
            f"  over time: capex {money(cost.capex.typical, cur)} upfront, operating "
            f"{money(cost.monthly_operating.typical, cur)} a month; "
            + ", ".join(f"{t.years}-year TCO {money(t.total.typical, cur)}" for t in cost.tco)
            + " (purchases, a refresh when their life ends inside the horizon, no resale value)"
        )
    out += ["", "step 5, ranking and risks:"]
    out += [f"  RISK {r.id}: {r.summary}" for r in a.risks] or ["  no risk flagged"]
    for be in advice.break_even:
        if a.architecture_id in be.architectures:
            at = f"{be.queries_per_month:,.0f}" if be.queries_per_month is not None else "none"
            out.append(f"  break-even {be.architectures[0]} vs {be.architectures[1]}: {at}")
            out.append(f"    {be.note}")
    return out


def _fired(findings: Iterable[Finding], *, scope: str, subject: str) -> list[Finding]:
    return [f for f in findings if f.scope == scope and f.subject == subject]


def _ineligible(a: Assessment, kb: KnowledgeBase) -> list[str]:
    out = [
        "",
        "venues refused, role by role (the architecture is excluded because at least one role has no venue left):",
    ]
    by_role: dict[str, list[Exclusion]] = {}
    for e in a.exclusions:
        by_role.setdefault(e.role, []).append(e)
    for role, exclusions in by_role.items():
        out.append(f"  {role}:")
        for e in exclusions:
            where = " ".join(x for x in (e.data_class, "->" if e.venue_id else "", e.venue_id) if x)
            out.append(f"    {where or 'no venue'}: {e.reason} [{e.rule_id}]")
    cited = sorted({f for e in a.exclusions for f in e.fact_ids})
    if cited:
        out += ["", "facts the exclusions rest on:"]
        for fact_id in cited:
            fact = kb.facts.get(fact_id)
            if fact is None:
                out.append(f"  {fact_id}: not in this knowledge base")
                continue
            cite = f"{fact.citation.instrument}, {fact.citation.article}"
            out.append(f"  {fact_id} ({fact.status}): {cite}")
    return out


def render_break_even(advice: Advice, curves: CostCurves) -> str:
    """Break-even volumes and a table of monthly cost at other volumes, for a terminal."""
    cur = advice.currency
    out = [
        f"break-even for {advice.organisation}",
        (
            f"as of {advice.as_of}, knowledge base {advice.knowledge_base_version}; "
            f"costs in {cur} a month, typical; peak load scaled with volume"
        ),
        "",
    ]
    if not curves.curves:
        out.append("no eligible architecture: nothing to compare")
        return wrap_lines(out)
    if len(curves.curves) == 1:
        out.append(f"only {curves.curves[0].architecture_id} is eligible: nothing to break even")
    for be in advice.break_even:
        at = f"{be.queries_per_month:,.0f}" if be.queries_per_month is not None else "none"
        out.append(f"{be.architectures[0]} vs {be.architectures[1]}: {at} queries a month")
        out.append(f"  {be.note}")
    width = max(14, *(len(c.architecture_id) + 2 for c in curves.curves))
    header = f"{'queries/month':>16}" + "".join(
        f"{c.architecture_id:>{width}}" for c in curves.curves
    )
    out += ["", header]
    for v in table_volumes(curves.profile_volume):
        mark = " *" if v == curves.profile_volume else "  "
        row = f"{human_volume(v):>14}{mark}"
        for c in curves.curves:
            row += f"{money(curves.at(c.architecture_id, v), advice.currency, cents=True):>{width}}"
        out.append(row)
    out += ["", "* the profile's volume"]
    return wrap_lines(out)
