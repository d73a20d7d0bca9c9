"""Renderers: JSON (the contract) and plain text for a terminal."""

from __future__ import annotations

from decimal import ROUND_HALF_EVEN, Decimal

from sovereign_advisor.advice import Advice, Assessment, RoleVenue


def money2(value: Decimal) -> str:
    """Two decimals, thousands grouped, half to even."""
    return f"{value.quantize(Decimal('0.01'), rounding=ROUND_HALF_EVEN):,.2f}"


def render_text(advice: Advice) -> str:
    """A report for a terminal, at most 100 columns wide."""
    out = _summary(advice)
    for a in advice.assessments:
        out += _assessment(a)
    out += _tail(advice)
    return wrap_lines(out)


def _summary(advice: Advice) -> list[str]:
    cur = advice.currency
    out = [
        f"sovereign-advisor: {advice.organisation}",
        f"as of {advice.as_of}, knowledge base {advice.knowledge_base_version}",
        "",
    ]
    if advice.recommended:
        label = (
            "COST-EQUIVALENT, PREFERRED" if advice.decision == "cost_equivalent" else "RECOMMENDED"
        )
        out.append(f"{label}: {advice.recommended.architecture_id}")
        out.append(f"  {advice.recommended.reason}")
        chosen = next(
            a for a in advice.assessments if a.architecture_id == advice.recommended.architecture_id
        )
        out += [f"  {line}" for line in misrouting_lines(chosen)]
    else:
        out.append(f"NO RECOMMENDATION: {advice.no_recommendation_reason}")
    for b in advice.blocked_use_cases:
        out.append(f"BLOCKED use case '{b.use_case}': {b.reason} [{b.rule_id}]")
    for b in advice.coming_blocked_use_cases:
        out.append(
            f"BLOCKED FROM {b.applies_from}: use case '{b.use_case}': {b.reason} [{b.rule_id}]"
        )
    out += [f"WARNING: {w}" for w in advice.warnings]
    header = f"{'rank':<5}{'architecture':<24}{'eligible':<10}"
    header += f"{'low':>14}{'typical':>14}{'high':>14}  {cur}"
    out += ["", header]
    for a in advice.assessments:
        if a.cost:
            t = a.cost.monthly_total
            money = f"{money2(t.low):>14}{money2(t.typical):>14}{money2(t.high):>14}"
        else:
            money = f"{'-':>14}{'-':>14}{'-':>14}"
        rank = str(a.rank) if a.rank else "-"
        out.append(f"{rank:<5}{a.architecture_id:<24}{'yes' if a.eligible else 'no':<10}{money}")
    return out


def _assessment(a: Assessment) -> list[str]:
    out = ["", f"== {a.architecture_id}: {a.name}"]
    if not a.eligible:
        if a.decisive_reason:
            out.append(f"  decisive: {a.decisive_reason}")
        if a.remedy:
            out.append(
                f"  would change it: {a.remedy.sentence}, at {money2(a.remedy.monthly_total)} a "
                "month (typical)"
            )
        out.append("  excluded because:")
        seen = set()
        for e in a.exclusions:
            key = (e.rule_id, e.venue_id, e.role)
            if key not in seen:
                seen.add(key)
                where = f" {e.data_class} -> {e.venue_id}" if e.venue_id else ""
                out.append(f"  - [{e.role}{where}] {e.reason} ({e.rule_id})")
        return out
    for v in a.venues:
        exposure = ",".join(v.exposure) or "-"
        line = f"  {v.role:<17} {v.venue_id:<22} {v.model_id or '':<18} reach {exposure}"
        size = _size(v).removeprefix(", ")
        if size and len(line) + 2 + len(size) > 100:
            out += [line, f"  {'':<17} {size}"]
        else:
            out.append(f"{line}, {size}" if size else line)
    assert a.cost is not None
    out.append(f"  {'component':<82}{'monthly':>14}")
    for c in a.cost.components:
        if len(c.name) <= 80:
            out.append(f"  {c.name:<82}{money2(c.monthly_cost):>14}")
        else:  # the full name on its own line, the amount under it
            out += [f"  {c.name}", f"  {'':<82}{money2(c.monthly_cost):>14}"]
    out += [f"  RISK {r.id}: {r.summary}" for r in a.risks]
    return out


def misrouting_lines(a: Assessment) -> list[str]:
    """What a detector's misses send where, per data class, in the architecture's words."""
    return [
        f"DETECTOR MISSES: about {f.queries_per_month:,.0f} {f.data_class} queries a month "
        f"reach {f.venue_id} (reachable by {', '.join(f.exposure) or 'no one'}) instead of the "
        f"premises, at a recall of {float(f.recall):.0%}; accepted by {f.accepted_by}"
        for f in a.misrouted
    ]


def _size(v: RoleVenue) -> str:
    if not v.active:
        return ", inactive (no corpus)"
    if v.gpu_count is not None:
        busy = v.utilisation_at_average_load or 0.0
        shared = pool_share_text(v.share_of_pool_load)
        return f", {v.gpu_count} x {v.gpu_id}, {busy:.0%} busy on average{shared}"
    if v.hosts is not None:
        return f", {v.hosts} host(s)"
    return ""


def pool_share_text(share: float | None) -> str:
    """What share of a shared GPU pool's load a role takes, when it shares one."""
    return "" if share is None or share >= 1 else f", {share:.0%} of the pool's load"


SENSITIVITY_SHOWN = 5
"""How many of the inputs nearest to changing the recommendation the reports list."""


def _tail(advice: Advice) -> list[str]:
    out: list[str] = []
    if advice.break_even:
        out += ["", "break-even (queries per month, peak scaled with volume):"]
        for be in advice.break_even:
            volume = f"{be.queries_per_month:,.0f}" if be.queries_per_month is not None else "none"
            out.append(f"  {be.architectures[0]} vs {be.architectures[1]}: {volume} ({be.note})")
    if advice.sensitivity:
        shown = advice.sensitivity[:SENSITIVITY_SHOWN]
        head = f"what would change the recommendation ({len(shown)} nearest of "
        out += ["", f"{head}{len(advice.sensitivity)}):"]
        out += [f"  - {s.input_id} x{s.factor}: {s.note}" for s in shown]
    if advice.obligations:
        out += ["", "obligations:"]
        for o in advice.obligations:
            when = "in force" if o.in_force else f"from {o.applies_from}"
            who = f" [{o.use_case}]" if o.use_case else ""
            out.append(f"  - {when}{who}: {o.summary} ({o.citation}; {o.status})")
    out += ["", "assumptions:"]
    out += [f"  - {a.id} = {a.value}: {a.summary}" for a in advice.assumptions]
    return out


def wrap_lines(lines: list[str], width: int = 100) -> str:
    """Join lines, wrapping each longer than `width` at spaces (continuations indented)."""
    return "\n".join(_wrap(line, width) for line in lines) + "\n"


def _wrap(line: str, width: int = 100) -> str:
    if len(line) <= width:
        return line
    lead = len(line) - len(line.lstrip())
    indent = " " * (lead + 2)
    parts, current = [], " " * lead
    for word in line.lstrip().split(" "):
        if current.strip() and len(current) + 1 + len(word) > width:
            parts.append(current)
            current = indent + word
        else:
            current = f"{current} {word}" if current.strip() else current + word
        while len(current) > width:  # a word (a long URL) wider than a line: cut it
            parts.append(current[:width])
            current = indent + current[width:]
    parts.append(current)
    return "\n".join(parts)
