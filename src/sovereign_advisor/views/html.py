"""The HTML report: one self-contained file a board member opens in a browser.

The same order as the Markdown report (summary first, detail after), with the break-even chart
inline as SVG. No script, no font, no stylesheet and no image is fetched: a Content Security
Policy in the page forbids any request, so the file reads the same offline, and every piece of
text from the profile or the knowledge base is escaped. Same inputs, same bytes: no clock.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from html import escape

from sovereign_advisor.advice import Advice, Assessment, RoleVenue
from sovereign_advisor.engine.sensitivity import no_plausible_change_sentence
from sovereign_advisor.formatting import money, unit_price
from sovereign_advisor.knowledge.loader import KnowledgeBase
from sovereign_advisor.views.chart import INSTALL_HINT, human_volume
from sovereign_advisor.views.curves import CostCurves, table_volumes
from sovereign_advisor.views.exclusions import exclusion_groups
from sovereign_advisor.views.markdown import citation_text, quantity
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

CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:"
"""Nothing may be fetched: styles are inline, the chart is inline SVG."""

STYLE = """
body{font:15px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:#1b1f24;
margin:0 auto;max-width:1100px;padding:24px 32px 64px}
h1{font-size:26px;margin:0 0 4px}h2{font-size:20px;margin:32px 0 8px;border-bottom:1px solid
#d0d7de;padding-bottom:4px}h3{font-size:16px;margin:20px 0 6px}
.meta{color:#57606a;margin:0 0 16px}.decision{font-size:17px;padding:12px 16px;border-left:5px
solid #1f6feb;background:#f0f6ff;margin:12px 0}.decision.none{border-color:#cf222e;
background:#fff0f0}.decision.cost_equivalent{border-color:#bf8700;background:#fff8e5}
.warn{color:#9a6700}.note{color:#57606a;font-size:13px}
table{border-collapse:collapse;margin:8px 0 12px;font-size:14px}th,td{border:1px solid #d0d7de;
padding:4px 8px;vertical-align:top;text-align:left}th{background:#f6f8fa}td.n,th.n{text-align:right;
font-variant-numeric:tabular-nums}tr.best td{font-weight:600;background:#f0f6ff}
tr.out td{color:#57606a}ul{margin:6px 0 12px;padding-left:22px}li{margin:3px 0}
code{font-size:12.5px;background:#f6f8fa;padding:0 3px;border-radius:3px}
figure{margin:12px 0}figure svg{max-width:100%;height:auto}
details{margin:8px 0}summary{cursor:pointer;font-weight:600}
"""


def render_html(
    advice: Advice,
    *,
    kb: KnowledgeBase | None = None,
    curves: CostCurves | None = None,
    chart_svg: str | None = None,
) -> str:
    """The report as one HTML document. `chart_svg` is an `<svg>` element to inline."""
    title = f"LLM deployment advice: {advice.organisation}"
    body = [
        f"<h1>{escape(title)}</h1>",
        (
            f'<p class="meta">As of <strong>{advice.as_of}</strong>, knowledge base '
            f"<code>{escape(advice.knowledge_base_version)}</code>. Amounts are "
            f"{escape(advice.currency)} per month.</p>"
        ),
        '<section id="summary"><h2>Summary</h2>',
        *_decision(advice),
        *_architectures(advice),
        *_causes(advice, kb),
        *_risks(advice),
        *_obligations_summary(advice),
        _nearest(nearest_change_lines(advice, kb)[0]),
        "</section>",
        *_chart(curves, chart_svg),
        '<section id="detail"><h2>Detail</h2>',
        *_detail(advice, kb),
        "</section>",
    ]
    head = (
        '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        f'<meta http-equiv="Content-Security-Policy" content="{CSP}">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title>{escape(title)}</title>\n<style>{STYLE}</style>\n</head>\n<body>\n"
    )
    return head + "\n".join(body) + "\n</body>\n</html>\n"


def _nearest(line: str) -> str:
    """The one-screen view's nearest-change line, its label in bold."""
    label, _, rest = line.partition(": ")
    return f"<p><strong>{escape(label[0].upper() + label[1:])}:</strong> {escape(rest)}</p>"


def _recommended(advice: Advice) -> Assessment | None:
    if advice.recommended is None:
        return None
    wanted = advice.recommended.architecture_id
    return next((a for a in advice.assessments if a.architecture_id == wanted), None)


def _decision(advice: Advice) -> list[str]:
    rec = advice.recommended
    if rec is not None and advice.decision == "cost_equivalent":
        others = ", ".join(rec.equivalent_to) or "the next"
        head = f"Cost-equivalent: <strong>{escape(rec.architecture_id)}</strong> preferred over "
        head += f"{escape(others)}"
        text = rec.reason
    elif rec is not None:
        head = f"Recommended: <strong>{escape(rec.architecture_id)}</strong>"
        text = rec.reason
    else:
        head = "<strong>No recommendation</strong>"
        text = advice.no_recommendation_reason or ""
    out = [f'<p class="decision {advice.decision}">{head}. {escape(text)}.</p>']
    notes: list[str] = []
    best = _recommended(advice)
    if best is not None:
        notes += misrouting_lines(best)
    notes += [f"Use case '{b.use_case}' is blocked: {b.reason}" for b in advice.blocked_use_cases]
    notes += [
        f"From {b.applies_from} the use case '{b.use_case}' is prohibited: {b.reason}"
        for b in advice.coming_blocked_use_cases
    ]
    notes += [f"Warning: {w}" for w in advice.warnings]
    if notes:
        out += ['<ul class="warn">', *(f"<li>{escape(n)}</li>" for n in notes), "</ul>"]
    return out


def _architectures(advice: Advice) -> list[str]:
    best = _recommended(advice)
    out = [
        (
            "<table><thead><tr><th>rank</th><th>architecture</th><th class=n>low</th>"
            "<th class=n>typical</th><th class=n>high</th><th class=n>capex</th>"
            "<th class=n>5-year TCO</th><th>deciding constraint</th></tr></thead>"
            "<tbody>"
        )
    ]
    for a in advice.assessments:
        css = "best" if a is best else ("out" if not a.eligible else "")
        if a.cost is None:
            cells = "<td class=n>-</td>" * 5
        else:
            t = a.cost.monthly_total
            cells = "".join(f"<td class=n>{money(v)}</td>" for v in (t.low, t.typical, t.high))
            capex = money(a.cost.capex.typical) if a.cost.capex is not None else "-"
            five = next((money(x.total.typical) for x in a.cost.tco if x.years == 5), "-")
            cells += f"<td class=n>{capex}</td><td class=n>{five}</td>"
        out.append(
            f'<tr class="{css}"><td>{a.rank or "-"}</td><td>{escape(a.architecture_id)}<br>'
            f'<span class="note">{escape(a.name)}</span></td>{cells}'
            f"<td>{escape(deciding_constraint(a))}</td></tr>"
        )
    out.append("</tbody></table>")
    out.append(
        f'<p class="note">{escape(advice.currency)} a month (low, typical, high); capex is the '
        "equipment bought upfront, the 5-year TCO the purchases (with a refresh when their life "
        "ends inside the horizon; no resale value) plus the monthly operating cost, typical.</p>"
    )
    if best is not None:
        out += [f'<p class="note">{escape(p.explanation)}</p>' for p in best.gpu_pools]
    return out


def _causes(advice: Advice, kb: KnowledgeBase | None) -> list[str]:
    excluded = [a for a in advice.assessments if not a.eligible]
    if not excluded:
        return []
    out = ["<h3>Excluded, by cause</h3>", "<ul>"]
    for g in exclusion_groups(advice, kb):
        cited = g.short_citation if g.rule_id.startswith("policy.") else None
        cite = f" ({escape(cited)})" if cited else ""
        out.append(
            f"<li>{escape(g.sentence)}{cite}: refuses {escape(g.where)} to "
            f"{escape(', '.join(g.architectures))} <code>{escape(g.rule_id)}</code></li>"
        )
    out.append("</ul><ul>")
    for a in excluded:
        line = (
            f"<li><strong>{escape(a.architecture_id)}</strong>, decisive: "
            f"{escape(a.decisive_reason or 'no venue left')}"
        )
        if a.remedy is not None:
            line += (
                f". <em>What would change it:</em> {escape(a.remedy.sentence)}, at "
                f"{escape(advice.currency)} {money(a.remedy.monthly_total)} a month"
            )
        out.append(line + ".</li>")
    out.append("</ul>")
    return out


def _risks(advice: Advice) -> list[str]:
    best = _recommended(advice)
    risks = [r for r in (best.risks if best else ()) if r.id != "residual_leak_risk"]
    if not risks:
        return []
    items = [f"<li><strong>{escape(r.id)}</strong>: {escape(r.summary)}</li>" for r in risks]
    return ["<h3>Risks the cost does not show</h3>", "<ul>", *items[:RISKS_SHOWN], "</ul>"]


def _obligations_summary(advice: Advice) -> list[str]:
    if not advice.obligations:
        return ["<h3>Obligations</h3>", "<p>No obligation found for this profile.</p>"]
    out = ["<h3>Obligations, now and coming</h3>", "<ul>"]
    for o in sorted(advice.obligations, key=lambda o: (not o.in_force, str(o.applies_from))):
        when = "in force" if o.in_force else f"from {o.applies_from}"
        who = f" ({o.use_case})" if o.use_case else ""
        first = o.citation.partition("; ")[0]
        out.append(
            f"<li><strong>{escape(when)}</strong>{escape(who)}: {escape(o.summary)} "
            f'<span class="note">({escape(first)})</span></li>'
        )
    out.append("</ul>")
    return out


def _chart(curves: CostCurves | None, chart_svg: str | None) -> list[str]:
    if curves is None or not curves.curves:
        return []
    out = ['<section id="break-even"><h2>Monthly cost by query volume</h2>']
    if chart_svg is not None:
        out.append(
            '<figure role="img" aria-label="Monthly cost against monthly query volume">'
            f"{chart_svg}</figure>"
        )
    else:
        out.append(f'<p class="note">No chart: {escape(INSTALL_HINT)}.</p>')
    volumes = table_volumes(curves.profile_volume)
    head = "".join(f"<th class=n>{escape(c.architecture_id)}</th>" for c in curves.curves)
    out.append(f"<table><thead><tr><th class=n>queries/month</th>{head}</tr></thead><tbody>")
    for v in volumes:
        label = human_volume(v) + (" (this profile)" if v == curves.profile_volume else "")
        cells = "".join(
            f"<td class=n>{money(curves.at(c.architecture_id, v))}</td>" for c in curves.curves
        )
        out.append(f"<tr><td class=n>{escape(label)}</td>{cells}</tr>")
    out += ["</tbody></table>", "</section>"]
    return out


def _table(head: Sequence[str], rows: Iterable[Sequence[str]], numeric: set[int]) -> str:
    """A table of already escaped cells."""
    th = "".join(f"<th{' class=n' if i in numeric else ''}>{h}</th>" for i, h in enumerate(head))
    body = "".join(
        "<tr>"
        + "".join(f"<td{' class=n' if i in numeric else ''}>{c}</td>" for i, c in enumerate(r))
        + "</tr>"
        for r in rows
    )
    return f"<table><thead><tr>{th}</tr></thead><tbody>{body}</tbody></table>"


def _detail(advice: Advice, kb: KnowledgeBase | None) -> list[str]:
    out: list[str] = []
    rows: list[tuple[str, ...]]
    best = _recommended(advice)
    if best is not None:
        out += [f"<h3>Where {escape(best.architecture_id)} runs</h3>", _venues(best.venues)]
    for a in advice.assessments:
        if a.cost is None:
            continue
        rows = [
            (
                escape(c.name),
                escape(c.kind),
                quantity(c.monthly_quantity),
                escape(c.unit),
                unit_price(c.unit_price, advice.currency),
                money(c.monthly_cost, advice.currency, cents=True),
                escape(c.source),
            )
            for c in a.cost.components
        ]
        t = a.cost.monthly_total
        open_ = " open" if a is best else ""
        out += [
            (
                f"<details{open_}><summary>Cost breakdown of {escape(a.architecture_id)}: "
                f"{escape(advice.currency)} {money(t.typical, advice.currency, cents=True)} typical (low "
                f"{money(t.low, advice.currency, cents=True)}, high {money(t.high, advice.currency, cents=True)})</summary>"
            ),
            _table(
                ("component", "kind", "quantity", "unit", "unit price", "monthly", "records"),
                rows,
                {2, 4, 5},
            ),
            *_over_time(a),
            "</details>",
        ]
    for a in advice.assessments:
        if a.eligible:
            continue
        rows = [
            (
                escape(e.role),
                escape(e.data_class or "-"),
                escape(e.venue_id or "-"),
                escape(e.reason),
                f"<code>{escape(e.rule_id)}</code>",
            )
            for e in a.exclusions
        ]
        out += [
            (
                f"<details><summary>Every refusal that excludes {escape(a.architecture_id)} "
                f"({len(rows)})</summary>"
            ),
            _table(("role", "data class", "venue", "reason", "rule"), rows, set()),
            "</details>",
        ]
    if advice.break_even:
        rows = [
            (
                escape(b.architectures[0]),
                escape(b.architectures[1]),
                "never in range" if b.queries_per_month is None else f"{b.queries_per_month:,.0f}",
                escape(b.note),
            )
            for b in advice.break_even
        ]
        out += [
            "<h3>Break-even</h3>",
            _table(("cheaper now", "then", "crosses at (queries/month)", "note"), rows, {2}),
        ]
    if advice.sensitivity:
        rows = [
            (
                escape(sensitivity_sentence(advice, s, kb)),
                escape(s.flips_to),
                f"<code>{escape(s.input_id)}</code>",
                f"{s.factor}",
            )
            for s in advice.sensitivity[:SENSITIVITY_SHOWN]
        ]
        out += [
            "<h3>What would change the recommendation</h3>",
            _table(
                ("what would have to happen", "then cheapest", "input", "multiply by"), rows, {3}
            ),
        ]
    elif sum(a.eligible for a in advice.assessments) >= 2:
        nothing = no_plausible_change_sentence(*plausible_ranges(advice))
        if "sensitivity" in advice.not_computed:
            nothing = "not computed (the advice was asked without the sensitivity)"
        out += [
            "<h3>What would change the recommendation</h3>",
            f"<p>{escape(nothing[0].upper() + nothing[1:])}.</p>",
        ]
    out += _obligations_detail(advice)
    rows = [
        (f"<code>{escape(a.id)}</code>", escape(a.value), escape(a.summary), escape(a.source))
        for a in advice.assumptions
    ]
    out += [
        f"<details><summary>Assumptions ({len(rows)})</summary>",
        _table(("id", "value", "what it means", "source"), rows, set()),
        "</details>",
    ]
    out += _sources(advice, kb)
    return out


def _over_time(a: Assessment) -> list[str]:
    """Capex, monthly operating cost and TCO of an architecture, with their bands."""
    assert a.cost is not None
    c = a.cost
    if c.capex is None or c.monthly_operating is None:
        return []
    rows = [
        ("capex (upfront)", *(money(v) for v in (c.capex.low, c.capex.typical, c.capex.high))),
        (
            "operating cost a month",
            *(
                money(v)
                for v in (
                    c.monthly_operating.low,
                    c.monthly_operating.typical,
                    c.monthly_operating.high,
                )
            ),
        ),
        *(
            (
                f"{x.years}-year TCO",
                *(money(v) for v in (x.total.low, x.total.typical, x.total.high)),
            )
            for x in c.tco
        ),
    ]
    return [_table(("over time", "low", "typical", "high"), rows, {1, 2, 3})]


def _venues(venues: Iterable[RoleVenue]) -> str:
    rows: list[tuple[str, ...]] = []
    for v in venues:
        if not v.active:
            sizing = "inactive (no corpus)"
        elif v.gpu_count is not None:
            busy = v.utilisation_at_average_load or 0.0
            sizing = f"{v.gpu_count} x {v.gpu_id}, {busy:.0%} busy on average"
            sizing += pool_share_text(v.share_of_pool_load)
        elif v.hosts is not None:
            sizing = f"{v.hosts} host(s)"
        else:
            sizing = "pay per token"
        rows.append(
            (
                escape(v.role),
                escape(v.venue_id),
                escape(v.model_id or "-"),
                escape(", ".join(v.data_classes) or "-"),
                escape(", ".join(v.exposure) or "-"),
                escape(sizing),
            )
        )
    head = ("role", "venue", "model", "data classes", "who can compel access", "sizing")
    return _table(head, rows, set())


def _obligations_detail(advice: Advice) -> list[str]:
    if not advice.obligations:
        return []
    rows: list[tuple[str, ...]] = []
    for o in sorted(
        advice.obligations, key=lambda o: (not o.in_force, o.applies_from or dt.date.min)
    ):
        rows.append(
            (
                str(o.applies_from or "-"),
                "in force" if o.in_force else "coming",
                f"{escape(o.summary)} <code>{escape(o.rule_id)}</code>",
                escape(o.use_case or "all"),
                escape(o.citation),
                escape(o.status),
            )
        )
    return [
        "<h3>Obligations and their legal basis</h3>",
        _table(
            ("applies from", "when", "obligation", "use case", "legal basis", "status"), rows, set()
        ),
    ]


def _sources(advice: Advice, kb: KnowledgeBase | None) -> list[str]:
    if kb is None:
        return []
    fact_ids = sorted(
        {f for o in advice.obligations for f in o.fact_ids}
        | {f for a in advice.assessments for e in a.exclusions for f in e.fact_ids}
        | {f for b in advice.blocked_use_cases for f in b.fact_ids}
    )
    items = []
    for f in fact_ids:
        fact = kb.facts.get(f)
        if fact is None:
            continue
        s = fact.source
        link = f' <a href="{escape(s.url)}">{escape(s.title)}</a>' if s.url else ""
        items.append(
            f"<li>{escape(citation_text(fact))}; {escape(fact.status)}; checked "
            f"{fact.checked_on}{link} <code>{escape(f)}</code></li>"
        )
    if not items:
        return []
    return [
        f"<details><summary>Legal sources cited ({len(items)})</summary><ul>",
        *items,
        "</ul></details>",
    ]
