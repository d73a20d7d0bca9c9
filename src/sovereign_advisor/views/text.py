"""Plain text for a terminal: the decision on one screen, everything else with `--detail`.

The default view (`render_text(advice)`) fits one screen (at most 40 lines at 100 columns for
every example profile; a test holds it): the decision with its reason, the architectures with
their monthly band and what sizes them, the exclusions grouped by cause (each sentence once,
with the venues it refuses counted), the top risks, the obligations now and coming, the nearest
change that would alter the decision, and where the rest is. `detail=True` appends every
architecture's venues and cost lines, every refusal, the break-even, the sensitivity and the
assumptions.
"""

from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING

from sovereign_advisor.advice import Advice, Assessment, MisroutedFlow, RoleVenue, Sensitivity
from sovereign_advisor.engine.sensitivity import (
    PLAUSIBLE_PRICE_FACTOR,
    PLAUSIBLE_VOLUME_FACTOR,
    PRICE_FACTOR_ID,
    VOLUME_FACTOR_ID,
    VOLUME_INPUT,
    change_sentence,
    input_label,
    no_plausible_change_sentence,
)
from sovereign_advisor.formatting import money, money_in
from sovereign_advisor.views.exclusions import exclusion_groups

if TYPE_CHECKING:
    from sovereign_advisor.knowledge.loader import KnowledgeBase

WIDTH = 100
"""Columns of a terminal line."""

SCREEN_LINES = 40
"""The default view's budget of lines, for every example profile."""

RISKS_SHOWN = 3
"""How many of the recommended architecture's risks the one-screen view lists."""


def render_text(advice: Advice, *, kb: KnowledgeBase | None = None, detail: bool = False) -> str:
    """The decision on one screen (at most 100 columns wide); with `detail`, everything.

    `kb` (the knowledge base the advice was made with) lets the view cite the law behind an
    exclusion and count refused venues by kind; without it the view names ids.
    """
    out = one_screen(advice, kb)
    if detail:
        out += ["", "=" * 40 + " detail " + "=" * 40]
        if advice.recommended is None and advice.no_recommendation_reason:
            out += ["", f"NO RECOMMENDATION: {advice.no_recommendation_reason}"]
        for a in advice.assessments:
            out += _assessment(a, advice.currency)
        out += _tail(advice, kb)
    return wrap_lines(out)


def one_screen(advice: Advice, kb: KnowledgeBase | None = None) -> list[str]:
    """The default view, as lines (some wider than 100 columns: `wrap_lines` folds them)."""
    out = [
        f"sovereign-advisor: {advice.organisation}, as of {advice.as_of}",
        fx_rate_text(advice),
        "",
        *decision_lines(advice),
        "",
        *_table(advice),
    ]
    rec = advice.recommended
    best = next(
        (a for a in advice.assessments if rec and a.architecture_id == rec.architecture_id), None
    )
    over_time = over_time_line(best) if best is not None else None
    if over_time:
        out.append(over_time)
    out += _causes(advice, kb)
    tail = [
        "",
        *nearest_change_lines(advice, kb),
        "more: --detail, explain PROFILE ARCH, --format markdown|html|json|csv; kb "
        + advice.knowledge_base_version,
    ]
    # Everything when it fits the screen; else without the blank line under the header; else
    # fewer obligations in force (those coming, with their dates, stay) and how many more
    # --detail lists
    duties = _risks_and_duties(advice)
    if _height([*out, *duties, *tail]) <= SCREEN_LINES:
        return [*out, *duties, *tail]
    out = out[:2] + out[3:]
    in_force = sum(1 for o in advice.obligations if o.in_force)
    while in_force > 0 and _height([*out, *duties, *tail]) > SCREEN_LINES:
        in_force -= 1
        duties = _risks_and_duties(advice, in_force)
    return [*out, *duties, *tail]


def _height(lines: list[str]) -> int:
    """Screen lines once folded at the view's width."""
    return len(wrap_lines(lines).splitlines())


def fx_rate_text(advice: Advice) -> str:
    """The one phrase saying which day's exchange rates the amounts use."""
    if advice.fx_rate_date is None:
        return f"amounts in {advice.currency}; no exchange rate needed"
    return f"amounts in {advice.currency}, at ECB reference rates of {advice.fx_rate_date}"


def decision_lines(advice: Advice) -> list[str]:
    """The decision in a sentence, then what a reader must not miss (misses, warnings, bans)."""
    out: list[str] = []
    rec = advice.recommended
    if rec is not None and advice.decision == "cost_equivalent":
        others = ", ".join(rec.equivalent_to) or "the next"
        out.append(f"COST-EQUIVALENT: {rec.architecture_id} preferred over {others} — {rec.reason}")
    elif rec is not None:
        out.append(f"RECOMMENDED: {rec.architecture_id} — {rec.reason}")
    else:
        out.append(f"NO RECOMMENDATION: {no_recommendation_headline(advice)}")
    if rec is not None:
        chosen = next(a for a in advice.assessments if a.architecture_id == rec.architecture_id)
        out += [f"  {line}" for line in misrouting_lines(chosen)]
    for b in advice.blocked_use_cases:
        out.append(f"BLOCKED use case '{b.use_case}': {b.reason} [{b.rule_id}]")
    for b in advice.coming_blocked_use_cases:
        out.append(
            f"BLOCKED FROM {b.applies_from}: use case '{b.use_case}': {b.reason} [{b.rule_id}]"
        )
    out += [f"WARNING: {w}" for w in advice.warnings]
    return out


def no_recommendation_headline(advice: Advice) -> str:
    """Why nothing is recommended, without repeating each architecture's decisive reason (the
    one-screen view lists those under the exclusions; `--detail` gives the whole sentence)."""
    reason = advice.no_recommendation_reason or "no architecture can be recommended"
    excluded = [a for a in advice.assessments if not a.eligible]
    head, sep, _ = reason.partition(". ")
    if sep and excluded and all(a.decisive_reason for a in excluded):
        return head + " (each architecture's decisive reason below)"
    return reason


REDUNDANCY = {"none": "", "n_plus_1": ", N+1", "two_sites": ", 2 sites"}
DECIDED = {"minimum": "1 replica", "throughput": "GPU time", "memory": "KV cache"}
"""What set a pool's replicas at peak (`GpuPool.deciding`), in the fewest words."""


def deciding_constraint(a: Assessment) -> str:
    """What sizes an architecture, as the advice states it: GPU pools, or pay per token."""
    if not a.eligible:
        return "excluded (causes below)"
    pools = []
    for p in a.gpu_pools:
        where = ", premises" if p.venue_id == "own-premises" else f" at {p.venue_id}"
        pools.append(
            f"{p.gpus} x {p.gpu_id}{where}: {DECIDED[p.deciding]}{REDUNDANCY[p.redundancy]}"
        )
    return "; ".join(pools) or "API only, pay per token"


def over_time_line(a: Assessment) -> str | None:
    """Capex and the 3- and 5-year TCO of an architecture (typical), in a line."""
    if a.cost is None or a.cost.capex is None:
        return None
    cur = a.cost.currency
    tco = "TCO " + ", ".join(f"{t.years} years {money(t.total.typical, cur)}" for t in a.cost.tco)
    return f"{a.architecture_id}: capex {money(a.cost.capex.typical, cur)} {cur}; {tco} (no resale)"


def _table(advice: Advice) -> list[str]:
    cur = advice.currency
    head = f"architecture ({cur}/month)"
    out = [f"{'':<3}{head:<22}{'low':>9}{'typical':>10}{'high':>10}  deciding constraint"]
    for a in advice.assessments:
        if a.cost:
            t = a.cost.monthly_total
            cur = advice.currency
            money_cells = f"{money(t.low, cur):>9}" + "".join(
                f"{money(v, cur):>10}" for v in (t.typical, t.high)
            )
        else:
            money_cells = f"{'-':>9}{'-':>10}{'-':>10}"
        rank = str(a.rank) if a.rank else "-"
        out.append(f"{rank:<3}{a.architecture_id:<22}{money_cells}  {deciding_constraint(a)}")
    return out


def _causes(advice: Advice, kb: KnowledgeBase | None) -> list[str]:
    excluded = [a for a in advice.assessments if not a.eligible]
    if not excluded:
        return []
    out = ["excluded, by cause:"]
    for g in exclusion_groups(advice, kb):
        # a rule's own sentence names its law; a policy's refusal cites the law that exposes
        cite = (
            f" ({g.short_citation})" if g.short_citation and g.rule_id.startswith("policy.") else ""
        )
        archs = ", ".join(g.architectures)
        out.append(f"  - {g.sentence}{cite}: refuses {g.where} to {archs}")
    for a in excluded:
        line = f"  {a.architecture_id}, decisive: {a.decisive_reason or 'no venue left for a role'}"
        if a.remedy is not None:
            line += (
                f"; would change it: {a.remedy.sentence}, at "
                f"{money_in(a.remedy.monthly_total, advice.currency)} a month"
            )
        out.append(line)
    return out


def _risks_and_duties(advice: Advice, shown: int | None = None) -> list[str]:
    """The recommended architecture's risks and the obligations: every one coming and the first
    `shown` of those in force (all when None)."""
    out: list[str] = []
    chosen = next(
        (
            a
            for a in advice.assessments
            if advice.recommended and a.architecture_id == advice.recommended.architecture_id
        ),
        None,
    )
    risks = [r for r in (chosen.risks if chosen else ()) if r.id != "residual_leak_risk"]
    out.append("")
    if risks:
        out += [clip(f"RISK {r.id}: {r.summary}") for r in risks[:RISKS_SHOWN]]
        if len(risks) > RISKS_SHOWN:
            out.append(f"  ... and {len(risks) - RISKS_SHOWN} more (--detail)")
    if advice.obligations:
        now = sum(1 for o in advice.obligations if o.in_force)
        later = len(advice.obligations) - now
        out += [f"obligations ({now} in force, {later} coming):"]
        order = sorted(advice.obligations, key=lambda o: (not o.in_force, str(o.applies_from)))
        hidden = 0 if shown is None else max(0, now - shown)
        for i, o in enumerate(order):
            if o.in_force and i >= now - hidden:
                continue
            when = "in force" if o.in_force else f"from {o.applies_from}"
            who = f" [{o.use_case}]" if o.use_case else ""
            out.append(clip(f"  - {when}{who}: {o.summary}"))
            if hidden and i == now - hidden - 1:
                out.append(f"  - ... and {hidden} more in force (--detail)")
    return out


def nearest_change_lines(advice: Advice, kb: KnowledgeBase | None = None) -> list[str]:
    """The nearest change that would alter the decision, as the advice computed it; with two or
    more eligible architectures and no move within the plausible ranges, says so."""
    if advice.sensitivity:
        sentence = sensitivity_sentence(advice, advice.sensitivity[0], kb)
        sentence = sentence.removesuffix(" (venues and GPU counts as chosen)")
        if advice.decision == "cost_equivalent":
            # the moves flip the order of the costs; within the margin the recommendation rests
            # on the reason given above, so say which order they change
            return [f"nearest change in the cost order: {sentence}"]
        return [f"nearest change: {sentence}"]
    if sum(a.eligible for a in advice.assessments) >= 2:
        if "sensitivity" in advice.not_computed:
            return ["nearest change: not computed (the advice was asked without the sensitivity)"]
        return [f"nearest change: {no_plausible_change_sentence(*plausible_ranges(advice))}"]
    remedies = [(a, a.remedy) for a in advice.assessments if a.remedy is not None]
    if remedies:
        a, r = min(remedies, key=lambda ar: (len(ar[1].changes), ar[1].monthly_total))
        at = money_in(r.monthly_total, advice.currency)
        return [f"nearest change: {r.sentence} ({a.architecture_id}, at {at} a month)"]
    return ["nearest change: none found (no input within the searched range changes it)"]


def plausible_ranges(advice: Advice) -> tuple[Decimal, Decimal]:
    """The factors within which the advice reported moves (price, rate or assumption; volume):
    as its assumptions list them, else the engine's defaults."""
    price, volume = PLAUSIBLE_PRICE_FACTOR, PLAUSIBLE_VOLUME_FACTOR
    for a in advice.assumptions:
        head = a.value.split(" ")[0]
        if a.id in (PRICE_FACTOR_ID, VOLUME_FACTOR_ID) and head.replace(".", "", 1).isdigit():
            if a.id == PRICE_FACTOR_ID:
                price = Decimal(head)
            else:
                volume = Decimal(head)
    return price, volume


def sensitivity_sentence(advice: Advice, s: Sensitivity, kb: KnowledgeBase | None) -> str:
    """The advice's sentence for a move, labelled from `kb` when the advice carries no label."""
    if s.label or kb is None or s.input_id == VOLUME_INPUT:
        return s.note
    label = input_label(s.input_id, kb)
    best = next((a.architecture_id for a in advice.assessments if a.rank == 1), None)
    if not label or best is None:
        return s.note
    return change_sentence(s.input_id, label, float(s.factor), s.flips_to, best)


def clip(line: str, width: int = WIDTH) -> str:
    """One line at most `width` wide, cut at a word with an ellipsis."""
    if len(line) <= width:
        return line
    cut = line[: width - 1].rsplit(" ", 1)[0]
    return cut.rstrip(",;:") + "…"


def _assessment(a: Assessment, currency: str) -> list[str]:
    out = ["", f"== {a.architecture_id}: {a.name}"]
    if not a.eligible:
        if a.decisive_reason:
            out.append(f"  decisive: {a.decisive_reason}")
        if a.remedy:
            out.append(
                f"  would change it: {a.remedy.sentence}, at {money_in(a.remedy.monthly_total, currency, cents=True)} a "
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
    out += [f"  sizing: {p.explanation}" for p in a.gpu_pools]
    out.append(f"  {'component':<82}{'monthly':>14}")
    for c in a.cost.components:
        if len(c.name) <= 80:
            out.append(f"  {c.name:<82}{money(c.monthly_cost, currency, cents=True):>14}")
        else:  # the full name on its own line, the amount under it
            out += [f"  {c.name}", f"  {'':<82}{money(c.monthly_cost, currency, cents=True):>14}"]
    if a.cost.capex is not None and a.cost.monthly_operating is not None:
        out.append(
            f"  capex {money(a.cost.capex.typical, currency)} upfront; operating "
            f"{money(a.cost.monthly_operating.typical, currency)} a month; "
            + "; ".join(
                f"{t.years}-year TCO {money(t.total.typical, currency)} (band "
                f"{money(t.total.low, currency)}-{money(t.total.high, currency)})"
                for t in a.cost.tco
            )
        )
    out += [f"  RISK {r.id}: {r.summary}" for r in a.risks]
    return out


def misrouting_lines(a: Assessment) -> list[str]:
    """What a detector's misses send where, per venue, with the volume of each class."""
    by_venue: dict[str, list[MisroutedFlow]] = {}
    for f in a.misrouted:
        by_venue.setdefault(f.venue_id, []).append(f)
    out = []
    for venue_id, flows in by_venue.items():
        classes = ", ".join(f"{f.queries_per_month:,.0f} {f.data_class}" for f in flows)
        stated = all(f.accepted_by.startswith("policy.") for f in flows)
        how = (
            "accepted by the policy"
            if stated
            else "accepted by default; misrouting: refuse excludes it"
        )
        out.append(
            f"DETECTOR MISSES ({float(flows[0].recall):.0%} recall): about {classes} queries a "
            f"month reach {venue_id} (reach {', '.join(flows[0].exposure) or '-'}); {how}"
        )
    return out


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


def _tail(advice: Advice, kb: KnowledgeBase | None = None) -> list[str]:
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
        out += [f"  - {sensitivity_sentence(advice, s, kb)}" for s in shown]
    elif sum(a.eligible for a in advice.assessments) >= 2:
        nothing = no_plausible_change_sentence(*plausible_ranges(advice))
        if "sensitivity" in advice.not_computed:
            nothing = "not computed (the advice was asked without the sensitivity)"
        out += ["", f"what would change the recommendation: {nothing}"]
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
