"""The Markdown report: an advice a CTO, a data-protection officer and a controller can forward.

Summary first, in the order of the one-screen text view: the decision, the architectures with
their band and what sizes them, the exclusions grouped by cause, the top risks, the
obligations now and coming, the nearest change. The detail follows: where each role runs, the
cost breakdown, every refusal, the break-even, the sensitivity, the obligations' legal basis,
the assumptions, the sources and the rules that fired. Citations put the primary source and
article first; record ids follow in code, for machine checking.

`render_markdown(advice)` needs nothing but the advice. Given the knowledge base it also
resolves the fact and price ids the advice cites into citations, sources and dates; given cost
curves (`sovereign_advisor.views.curves`) it adds a table of cost at other volumes; given the file
name of a chart (`sovereign_advisor.views.chart`) it embeds it. Same inputs, same bytes: no clock.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from decimal import Decimal

from sovereign_advisor.advice import Advice, Assessment, CostComponent, Exclusion, RoleVenue
from sovereign_advisor.engine.sensitivity import no_plausible_change_sentence
from sovereign_advisor.formatting import money, unit_price
from sovereign_advisor.knowledge.loader import KnowledgeBase
from sovereign_advisor.knowledge.models import Fact, Provenance
from sovereign_advisor.views.chart import INSTALL_HINT, human_volume
from sovereign_advisor.views.curves import CostCurves, table_volumes
from sovereign_advisor.views.exclusions import exclusion_groups
from sovereign_advisor.views.text import (
    RISKS_SHOWN,
    SENSITIVITY_SHOWN,
    deciding_constraint,
    misrouting_lines,
    nearest_change_lines,
    plausible_ranges,
    pool_share_text,
    sensitivity_sentence,
)


def quantity(value: Decimal) -> str:
    """A quantity with as many decimals as it needs (at most four)."""
    if value == value.to_integral_value():
        return f"{value:,.0f}"
    if abs(value) >= 100:
        return f"{value:,.1f}"
    return f"{value.normalize():,.4f}".rstrip("0").rstrip(".")


def cell(text: object) -> str:
    """Text safe inside a Markdown table cell (no HTML: names from the profile reach cells)."""
    return (
        str(text)
        .replace("&", "&amp;")
        .replace("<", "&lt;")
        .replace(">", "&gt;")
        .replace("|", "\\|")
        .replace("](", "]\\(")  # no link: `[x](javascript:...)` in a name stays text
        .replace("\n", " ")
    )


_MARKDOWN_SPECIAL = str.maketrans(
    {
        "&": "&amp;",
        "<": "&lt;",
        ">": "&gt;",
        **{c: "\\" + c for c in "\\`*_[]|~"},
        "\n": " ",
        "\r": " ",
    }
)


def user_text(text: object) -> str:
    """Text from the profile (an organisation or use-case name) as literal Markdown: no HTML
    (`<script>`), no link (`[x](javascript:...)`), no emphasis or heading, on one line."""
    return str(text).translate(_MARKDOWN_SPECIAL)


def render_markdown(
    advice: Advice,
    *,
    kb: KnowledgeBase | None = None,
    curves: CostCurves | None = None,
    chart: str | None = None,
) -> str:
    """The report as Markdown. `chart` is the (relative) file name of a chart to embed."""
    ranked = [a for a in advice.assessments if a.eligible]
    excluded = [a for a in advice.assessments if not a.eligible]
    best = _recommended(advice)
    cur = advice.currency
    out = [
        f"# LLM deployment advice: {user_text(advice.organisation)}",
        "",
        (
            f"As of **{advice.as_of}**, knowledge base `{advice.knowledge_base_version}`. "
            f"Amounts are {cur} per month; {_fx_sentence(advice)}."
        ),
        "",
        *[f"> **Warning:** {w}.\n" for w in advice.warnings],
        "## Summary",
        "",
        _summary(advice, best, ranked, excluded),
        "",
        *summary_block(advice, kb),
    ]
    if advice.blocked_use_cases:
        out += ["## Blocked use cases", ""]
        out += [
            f"- **{user_text(b.use_case)}** may not be run: {b.reason} (rule `{b.rule_id}`; "
            f"facts {_ids(b.fact_ids)})"
            for b in advice.blocked_use_cases
        ]
        out.append("")
    out += _recommendation(advice, best)
    out += ["## All architectures, ranked", ""]
    out += _ranking_table(advice, best)
    if best is not None and best.cost is not None:
        out += [f"## Cost breakdown of {best.architecture_id}", ""]
        out += _breakdown(best, cur)
    out += _excluded(excluded, kb)
    out += _break_even(advice, curves, chart)
    out += _sensitivity(advice, kb)
    out += _obligations(advice)
    out += _assumptions(advice)
    out += _sources(advice, kb)
    out += _findings(advice)
    return "\n".join(out).rstrip("\n") + "\n"


def _recommended(advice: Advice) -> Assessment | None:
    if advice.recommended is None:
        return None
    wanted = advice.recommended.architecture_id
    return next((a for a in advice.assessments if a.architecture_id == wanted), None)


def _ids(ids: Iterable[str]) -> str:
    return ", ".join(f"`{i}`" for i in ids) or "none"


def _typical(a: Assessment) -> Decimal:
    assert a.cost is not None
    return a.cost.monthly_total.typical


def _summary(
    advice: Advice,
    best: Assessment | None,
    ranked: list[Assessment],
    excluded: list[Assessment],
) -> str:
    cur = advice.currency
    if best is None or best.cost is None:
        return (
            f"**No architecture can be recommended** for {user_text(advice.organisation)}: "
            f"{advice.no_recommendation_reason}. "
            + _excluded_sentence(excluded)
            + _obligation_sentence(advice)
        )
    total = best.cost.monthly_total
    band = (
        "the prices behind it are published without a range"
        if total.low == total.high
        else f"between {money(total.low)} and {money(total.high)} across the price bands"
    )
    text = (
        f"**Recommendation: {best.architecture_id}** ({best.name}), at about "
        f"{cur} {money(total.typical)} a month ({band}). "
    )
    if advice.decision == "cost_equivalent" and advice.recommended is not None:
        text += f"{advice.recommended.reason}. "  # it opens with an architecture id: no capital
    elif len(ranked) == 1:
        text += "It is the only eligible architecture; the others are excluded as listed below. "
    else:
        runner = ranked[1]
        gap = _typical(runner) - total.typical
        share = gap / total.typical if total.typical else Decimal(0)
        text += (
            f"It is the cheapest of {len(ranked)} eligible architectures; the next, "
            f"{runner.architecture_id}, costs {cur} {money(_typical(runner))} "
            f"({money(gap)} or {share:.1%} more). "
        )
        pair = next(
            (
                be
                for be in advice.break_even
                if be.architectures == (best.architecture_id, runner.architecture_id)
            ),
            None,
        )
        if pair is not None and pair.queries_per_month is not None:
            text += (
                f"The order of the two flips at about {human_volume(pair.queries_per_month)} "
                "queries a month. "
            )
    text += "".join(f"{line}. " for line in misrouting_lines(best))
    text += "".join(
        f"**From {b.applies_from} the use case '{user_text(b.use_case)}' is prohibited** "
        f"({b.rule_id}). "
        for b in advice.coming_blocked_use_cases
    )
    if best.risks:
        text += "Risks the cost does not show: " + ", ".join(r.id for r in best.risks) + ". "
    return (text + _obligation_sentence(advice)).strip()


def _nearest(line: str) -> str:
    """The one-screen view's nearest-change line with its label in bold."""
    label, _, rest = line.partition(": ")
    return f"**{label[0].upper()}{label[1:]}:** {rest}"


def summary_block(advice: Advice, kb: KnowledgeBase | None) -> list[str]:
    """The rest of the summary: architectures, causes, risks, obligations, nearest change."""
    cur = advice.currency
    out = [
        f"| rank | architecture | low | typical | high ({cur} a month) | deciding constraint |",
        "|---:|---|---:|---:|---:|---|",
    ]
    for a in advice.assessments:
        if a.cost is None:
            money_cells = "- | - | -"
        else:
            t = a.cost.monthly_total
            money_cells = f"{money(t.low)} | {money(t.typical)} | {money(t.high)}"
        out.append(
            f"| {a.rank or '-'} | {a.architecture_id} | {money_cells} | "
            f"{cell(deciding_constraint(a))} |"
        )
    out.append("")
    best = _recommended(advice)
    c = best.cost if best is not None else None
    if best is not None and c is not None and c.capex is not None and c.monthly_operating:
        tco = ", ".join(f"{money(t.total.typical)} over {t.years} years" for t in c.tco)
        out += [
            (
                f"Over time, {best.architecture_id} costs {money(c.capex.typical)} {cur} upfront "
                f"(the equipment bought) and {money(c.monthly_operating.typical)} a month to run "
                f"(the monthly total above spreads the purchases over their life): a total cost "
                f"of ownership of {tco}, typical, with no resale value counted."
            ),
            "",
        ]
        out += [f"- {cell(p.explanation)}" for p in best.gpu_pools]
        if best.gpu_pools:
            out.append("")
    excluded = [a for a in advice.assessments if not a.eligible]
    if excluded:
        out += ["**Excluded, by cause:**", ""]
        for g in exclusion_groups(advice, kb):
            cited = g.short_citation if g.rule_id.startswith("policy.") else None
            cite = f" ({cited})" if cited else ""
            out.append(
                f"- {cell(g.sentence)}{cell(cite)}: refuses {g.where} to "
                f"{', '.join(g.architectures)} (`{g.rule_id}`, {g.refusals} refusals)"
            )
        for a in excluded:
            line = f"- **{a.architecture_id}**, decisive: {a.decisive_reason or 'no venue left'}"
            if a.remedy is not None:
                line += (
                    f". What would change it: {a.remedy.sentence}, at {cur} "
                    f"{money(a.remedy.monthly_total)} a month"
                )
            out.append(line + ".")
        out.append("")
    best = _recommended(advice)
    risks = [r for r in (best.risks if best else ()) if r.id != "residual_leak_risk"]
    if risks:
        out += ["**Risks the cost does not show:**", ""]
        out += [f"- **{r.id}**: {r.summary}" for r in risks[:RISKS_SHOWN]]
        out.append("")
    if advice.obligations:
        out += ["**Obligations, now and coming:**", ""]
        order = sorted(advice.obligations, key=lambda o: (not o.in_force, str(o.applies_from)))
        for o in order:
            when = "in force" if o.in_force else f"from {o.applies_from}"
            who = f" ({user_text(o.use_case)})" if o.use_case else ""
            out.append(f"- {when}{who}: {o.summary} ({_first_citation(o.citation)})")
        out.append("")
    out += [
        _nearest(nearest_change_lines(advice, kb)[0]),
        "",
    ]
    out += [
        (
            "*The detail follows: where each role runs, the cost breakdown, every refusal, the "
            "break-even, the sensitivity, the legal basis of each obligation, the assumptions and "
            "the sources.*"
        ),
        "",
    ]
    return out


def _first_citation(citation: str) -> str:
    """The first legal text of an obligation's citation (the rest is in the detail)."""
    first, _, rest = citation.partition("; ")
    return first + (" and others" if rest else "")


def _excluded_sentence(excluded: list[Assessment]) -> str:
    if not excluded:
        return "No architecture is excluded. "
    parts = []
    for a in excluded:
        part = f"{a.architecture_id}: {a.decisive_reason or 'ineligible'}"
        if a.remedy is not None:
            part += f" ({a.remedy.sentence}, at {money(a.remedy.monthly_total)} a month)"
        parts.append(part)
    return "Excluded: " + "; ".join(parts) + ". "


def _obligation_sentence(advice: Advice) -> str:
    now = sum(1 for o in advice.obligations if o.in_force)
    later = [o for o in advice.obligations if not o.in_force]
    text = f"{now} legal obligation(s) apply now"
    if later:
        first = min(o.applies_from for o in later if o.applies_from is not None)
        text += f" and {len(later)} start later, the first on {first}"
    return text + "."


def _recommendation(advice: Advice, best: Assessment | None) -> list[str]:
    out = ["## Recommendation", ""]
    if advice.recommended is None or best is None:
        return [*out, f"None: {advice.no_recommendation_reason}.", ""]
    out += [f"**{best.architecture_id}**: {best.name}. {advice.recommended.reason}.", ""]
    for line in misrouting_lines(best):
        out += [f"**{line}.**", ""]
    out += _venues(best.venues)
    if best.risks:
        out += ["Risks the cost does not show:", ""]
        out += [f"- **{r.id}**: {r.summary}" for r in best.risks]
        out.append("")
    return out


def _venues(venues: Iterable[RoleVenue]) -> list[str]:
    out = [
        "| role | venue | model | data classes routed | who can compel access | sizing |",
        "|---|---|---|---|---|---|",
    ]
    for v in venues:
        out.append(
            f"| {v.role} | {v.venue_id} | {v.model_id or '-'} | "
            f"{', '.join(v.data_classes) or '-'} | {', '.join(v.exposure) or '-'} | "
            f"{cell(_sizing(v))} |"
        )
    return [*out, ""]


def _sizing(v: RoleVenue) -> str:
    if not v.active:
        return "inactive (no corpus)"
    if v.gpu_count is not None:
        busy = v.utilisation_at_average_load or 0.0
        return f"{v.gpu_count} x {v.gpu_id} (pool), {busy:.0%} busy on average" + pool_share_text(
            v.share_of_pool_load
        )
    if v.hosts is not None:
        return f"{v.hosts} host(s)"
    return "pay per token"


def _ranking_table(advice: Advice, best: Assessment | None) -> list[str]:
    out = [
        (
            "| rank | architecture | eligible | low | typical | high | vs recommended | capex "
            "| 3-year TCO | 5-year TCO |"
        ),
        "|---:|---|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    base = _typical(best) if best is not None and best.cost is not None else None
    for a in advice.assessments:
        if a.cost is None:
            why = sorted({e.rule_id for e in a.exclusions})
            out.append(
                f"| - | {a.architecture_id} | no ({cell(', '.join(why))}) | - | - | - | - | - | - "
                "| - |"
            )
            continue
        t = a.cost.monthly_total
        gap = t.typical - base if base is not None else Decimal(0)
        delta = "-" if base is None or a is best else f"{'+' if gap >= 0 else '-'}{money(abs(gap))}"
        capex = money(a.cost.capex.typical) if a.cost.capex is not None else "-"
        tco = {x.years: money(x.total.typical) for x in a.cost.tco}
        out.append(
            f"| {a.rank} | {a.architecture_id} | yes | {money(t.low)} | {money(t.typical)} | "
            f"{money(t.high)} | {delta} | {capex} | {tco.get(3, '-')} | {tco.get(5, '-')} |"
        )
    out += [
        "",
        (
            f"{advice.currency} a month (low, typical, high); capex is the equipment bought "
            "upfront and the TCO the purchases (with a refresh when their life ends inside the "
            "horizon; no resale value) plus the monthly operating cost, typical."
        ),
    ]
    return [*out, ""]


def _breakdown(a: Assessment, currency: str) -> list[str]:
    assert a.cost is not None
    out = [
        (
            f"| component | monthly quantity | unit | unit price ({currency}) | "
            f"monthly cost ({currency}) | source |"
        ),
        "|---|---:|---|---:|---:|---|",
    ]
    kinds: dict[str, list[CostComponent]] = {}
    for c in a.cost.components:
        kinds.setdefault(c.kind, []).append(c)
    titles = {"always_on": "Always on", "usage": "Usage-based"}
    for kind, lines in kinds.items():
        subtotal = sum((c.monthly_cost for c in lines), Decimal(0))
        out.append(
            f"| **{titles.get(kind, kind)}** | | | | **{money(subtotal, currency, cents=True)}** | |"
        )
        for c in lines:
            out.append(
                f"| {cell(c.name)} | {quantity(c.monthly_quantity)} | {cell(c.unit)} | "
                f"{unit_price(c.unit_price, currency)} | {money(c.monthly_cost, currency, cents=True)} | "
                f"{cell(_ids(s.strip() for s in c.source.split('+')))} |"
            )
    t = a.cost.monthly_total
    out += [
        f"| **Total (typical)** | | | | **{money(t.typical, currency, cents=True)}** | |",
        "",
        (
            f"Band: low {money(t.low, currency, cents=True)}, high {money(t.high, currency, cents=True)} {currency} a month "
            "(every unit price at the low or the high end of its published range)."
        ),
        "",
    ]
    out += _over_time(a, currency)
    if a.gpu_pools:
        out += ["Why this many GPUs:", ""]
        out += [f"- {cell(p.explanation)}" for p in a.gpu_pools]
        out.append("")
    return out


def _bought(name: str) -> str:
    """What a purchase line buys: `GPU purchase, amortised: NVIDIA H100 80GB PCIe (roles)` ->
    `NVIDIA H100 80GB PCIe`."""
    return name.split(": ", 1)[-1].rsplit(" (", 1)[0]


def _over_time(a: Assessment, currency: str) -> list[str]:
    """Capex, the monthly operating cost and the TCO of an architecture, with their bands."""
    assert a.cost is not None
    c = a.cost
    if c.capex is None or c.monthly_operating is None:
        return []
    bought = [x for x in c.components if x.unit_purchase_price is not None]
    rows = [
        "| over time | low | typical | high |",
        "|---|---:|---:|---:|",
        (
            f"| capex (upfront) | {money(c.capex.low)} | {money(c.capex.typical)} | "
            f"{money(c.capex.high)} |"
        ),
        (
            f"| operating cost a month | {money(c.monthly_operating.low)} | "
            f"{money(c.monthly_operating.typical)} | {money(c.monthly_operating.high)} |"
        ),
    ]
    rows += [
        f"| {x.years}-year TCO | {money(x.total.low)} | {money(x.total.typical)} | "
        f"{money(x.total.high)} |"
        for x in c.tco
    ]
    what = (
        "; ".join(
            f"{quantity(x.monthly_quantity)} x {cell(_bought(x.name))} at "
            f"{money(x.unit_purchase_price or Decimal(0))}"
            for x in bought
        )
        or "nothing: every component is rented or paid per use"
    )
    return [
        *rows,
        "",
        (
            f"Bought upfront ({currency}): {what}. The monthly breakdown spreads each purchase over "
            "its life (`gpu.life_months`); the TCO counts the purchase, a refresh each time that "
            "life ends inside the horizon, and no resale value."
        ),
        "",
    ]


def _excluded(excluded: list[Assessment], kb: KnowledgeBase | None) -> list[str]:
    if not excluded:
        return []
    out = ["## Excluded architectures", ""]
    for a in excluded:
        out += [f"### {a.architecture_id}: {a.name}", ""]
        if a.decisive_reason:
            out += [f"Decisive: {a.decisive_reason}.", ""]
        if a.remedy is not None:
            total = money(a.remedy.monthly_total)
            out += [f"What would change it: {a.remedy.sentence}, at {total} a month (typical).", ""]
        out += ["Every refusal:", ""]
        by_rule: dict[str, list[Exclusion]] = {}
        for e in a.exclusions:
            by_rule.setdefault(e.rule_id, []).append(e)
        for rule_id, found in by_rule.items():
            facts = sorted({f for e in found for f in e.fact_ids})
            cites = f"; cites {_citations(facts, kb)}" if facts else ""
            out.append(f"- `{rule_id}`{cites}:")
            # one line per (data class, venue): the reason is the same for every role there
            roles: dict[tuple[str | None, str | None], list[str]] = {}
            reasons: dict[tuple[str | None, str | None], str] = {}
            for e in found:
                key = (e.data_class, e.venue_id)
                reasons.setdefault(key, e.reason)
                if e.role not in roles.setdefault(key, []):
                    roles[key].append(e.role)
            for (data_class, venue_id), who in roles.items():
                where = ", ".join(who)
                where += f": {data_class}" if data_class else ""
                where += f" at {venue_id}" if venue_id else ""
                out.append(f"  - {where}: {reasons[(data_class, venue_id)]}")
        out.append("")
    return out


def _citations(fact_ids: list[str], kb: KnowledgeBase | None) -> str:
    if kb is None:
        return _ids(fact_ids)
    parts = []
    for f in fact_ids:
        fact = kb.facts.get(f)
        if fact is None:
            parts.append(f"`{f}`")
        else:
            parts.append(f"{citation_text(fact)} (`{f}`)")
    return "; ".join(parts)


def _break_even(advice: Advice, curves: CostCurves | None, chart: str | None) -> list[str]:
    eligible = [a for a in advice.assessments if a.eligible]
    if len(eligible) < 2 and curves is None:
        return []
    out = ["## Break-even", ""]
    if advice.break_even:
        out += [
            (
                "Monthly query volume at which two architectures' typical costs cross "
                "(peak load scaled with volume):"
            ),
            "",
            "| cheaper now | then | crosses at (queries/month) | note |",
            "|---|---|---:|---|",
        ]
        for be in advice.break_even:
            at = (
                "never in range" if be.queries_per_month is None else f"{be.queries_per_month:,.0f}"
            )
            out.append(
                f"| {be.architectures[0]} | {be.architectures[1]} | {at} | {cell(be.note)} |"
            )
        out.append("")
    elif len(eligible) < 2:
        out += ["Only one architecture is eligible, so there is nothing to break even with.", ""]
    if chart is not None:
        out += [f"![Monthly cost against monthly query volume]({chart})", ""]
    elif curves is not None:
        out += [f"(No chart: {INSTALL_HINT}.)", ""]
    if curves is not None and curves.curves:
        out += _curve_table(curves)
    return out


def _sensitivity(advice: Advice, kb: KnowledgeBase | None = None) -> list[str]:
    if not advice.sensitivity:
        if sum(a.eligible for a in advice.assessments) < 2:
            return []
        nothing = no_plausible_change_sentence(*plausible_ranges(advice))
        if "sensitivity" in advice.not_computed:
            nothing = "not computed (the advice was asked without the sensitivity)"
        return [
            "## What would change the recommendation",
            "",
            f"{nothing[0].upper()}{nothing[1:]}.",
            "",
        ]
    shown = advice.sensitivity[:SENSITIVITY_SHOWN]
    price, volume = plausible_ranges(advice)
    out = [
        "## What would change the recommendation",
        "",
        (
            f"The {len(shown)} inputs (of {len(advice.sensitivity)} that can within the plausible "
            f"ranges: {_range_text(price, volume)}) nearest to changing the recommendation, each "
            "moved alone with venues and GPU counts as chosen:"
        ),
        "",
        "| what would have to happen | then cheapest | input | multiply by |",
        "|---|---|---|---:|",
    ]
    out += [
        f"| {cell(sensitivity_sentence(advice, s, kb))} | {s.flips_to} | `{s.input_id}` | "
        f"{s.factor} |"
        for s in shown
    ]
    return [*out, ""]


def _range_text(price: Decimal, volume: Decimal) -> str:
    """'each price, rate and assumption from half to double, volume from a tenth to ten times'."""
    sentence = no_plausible_change_sentence(price, volume)
    return sentence[sentence.index("(") + 1 : -1]


def _curve_table(curves: CostCurves) -> list[str]:
    volumes = table_volumes(curves.profile_volume)
    head = "| queries/month | " + " | ".join(c.architecture_id for c in curves.curves) + " |"
    out = [
        f"Typical monthly cost ({curves.currency}) at other volumes:",
        "",
        head,
        "|---:|" + "---:|" * len(curves.curves),
    ]
    for v in volumes:
        label = f"{human_volume(v)}" + (" (this profile)" if v == curves.profile_volume else "")
        row = []
        for c in curves.curves:
            totals = c.totals["typical"]
            values = [totals[i] for i, x in enumerate(curves.volumes) if x == v]
            row.append(money(values[0]) if values else "-")
        out.append(f"| {label} | " + " | ".join(row) + " |")
    return [*out, ""]


def _obligations(advice: Advice) -> list[str]:
    if not advice.obligations:
        return ["## Obligations", "", "No obligation found for this profile.", ""]
    out = [
        "## Obligations",
        "",
        f"In force on {advice.as_of} first, then those that start later, by date.",
        "",
        "| applies from | when | obligation | use case | legal basis | status |",
        "|---|---|---|---|---|---|",
    ]
    order = sorted(
        advice.obligations, key=lambda o: (not o.in_force, o.applies_from or dt.date.min)
    )
    for o in order:
        start = str(o.applies_from) if o.applies_from else "-"
        when = "in force" if o.in_force else f"coming ({_days(advice.as_of, o.applies_from)})"
        out.append(
            f"| {start} | {when} | {cell(o.summary)} (rule `{o.rule_id}`) | "
            f"{cell(user_text(o.use_case or 'all'))} | {cell(o.citation)} | {o.status} |"
        )
    return [*out, ""]


def _fx_sentence(advice: Advice) -> str:
    if advice.fx_rate_date is None:
        return "no exchange rate was needed"
    return f"prices in other currencies converted at ECB reference rates of {advice.fx_rate_date}"


def _days(as_of: dt.date, start: dt.date | None) -> str:
    if start is None:
        return "date unknown"
    return f"in {(start - as_of).days} days"


def _assumptions(advice: Advice) -> list[str]:
    out = [
        "## Assumptions",
        "",
        (
            f"Knowledge base `{advice.knowledge_base_version}` (content hash), law and prices as of "
            f"{advice.as_of}."
        ),
        "",
        "| id | value | what it means | source |",
        "|---|---|---|---|",
    ]
    out += [
        f"| `{a.id}` | {cell(a.value)} | {cell(a.summary)} | {cell(a.source)} |"
        for a in advice.assumptions
    ]
    return [*out, ""]


def _sources(advice: Advice, kb: KnowledgeBase | None) -> list[str]:
    """Every fact and price record the advice cites, with its source and date."""
    if kb is None:
        return []
    fact_ids = sorted(
        {f for o in advice.obligations for f in o.fact_ids}
        | {f for a in advice.assessments for e in a.exclusions for f in e.fact_ids}
        | {f for b in advice.blocked_use_cases for f in b.fact_ids}
    )
    records = _price_records(kb)
    price_ids = sorted(
        {
            s.strip()
            for a in advice.assessments
            if a.cost is not None
            for c in a.cost.components
            for s in c.source.split("+")
            if s.strip() in records
        }
    )
    if not fact_ids and not price_ids:
        return []
    out = ["## Sources", ""]
    if fact_ids:
        out += ["Legal facts cited above:", ""]
        for f in fact_ids:
            fact = kb.facts.get(f)
            if fact is None:
                out.append(f"- `{f}` (not in this knowledge base)")
                continue
            c = fact.citation
            text = citation_text(fact)
            if fact.status != "guidance":
                text += f" ({c.version})"
            out.append(f"- {text}; {fact.status}; {_source(fact)} (fact `{f}`)")
        out.append("")
    if price_ids:
        out += ["Prices, rates and assumptions behind the costs:", ""]
        out += [f"- {_source(records[p])} (record `{p}`)" for p in price_ids]
        out.append("")
    return out


def citation_text(fact: Fact) -> str:
    """Primary source and article; guidance has no primary text and is not cited as law."""
    if fact.status == "guidance":
        return "a general principle (guidance, no primary legal text)"
    return f"{fact.citation.instrument}, {fact.citation.article}"


def _price_records(kb: KnowledgeBase) -> dict[str, Provenance]:
    records: dict[str, Provenance] = {}
    for group in (
        kb.token_prices,
        kb.gpu_prices,
        kb.server_prices,
        kb.host_prices,
        kb.assumptions,
        kb.throughputs,
        kb.fx_rates,
    ):
        for r in group:
            records[r.id] = r
    return records


def _source(record: Provenance) -> str:
    s = record.source
    if s.url is None and s.publisher is None:  # a seed note: nothing a reader can follow
        return f"internal reading note (no public source), checked {record.checked_on}"
    where = f" <{s.url}>" if s.url else ""
    publisher = f", {s.publisher}" if s.publisher else ""
    return f"{cell(s.title)}{publisher}{where}, checked {record.checked_on}"


def _subject(scope: str, subject: str) -> str:
    """Organisation and use-case subjects are names from the profile; the others are ids."""
    return user_text(subject) if scope in ("organisation", "use_case") else subject


def _findings(advice: Advice) -> list[str]:
    if not advice.findings:
        return []
    out = [
        "## Rules that fired",
        "",
        (
            "<details><summary>"
            f"{len(advice.findings)} rule firings, for machine checking of the reasons above"
            "</summary>"
        ),
        "",
        "| rule | scope | subject | effect | detail |",
        "|---|---|---|---|---|",
    ]
    out += [
        f"| `{f.rule_id}` | {f.scope} | {cell(_subject(f.scope, f.subject))} | {f.effect} | "
        f"{cell(f.detail)} |"
        for f in advice.findings
    ]
    return [*out, "", "</details>", ""]
