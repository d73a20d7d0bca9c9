"""Step 5: rank eligible architectures, flag risks, find break-even volumes, collect obligations."""

from __future__ import annotations

import bisect
import datetime as dt
import math
from decimal import ROUND_HALF_EVEN, Decimal
from fractions import Fraction
from itertools import combinations
from typing import Any

from sovereign_advisor.advice import (
    BlockedUseCase,
    BreakEven,
    Finding,
    MisroutedFlow,
    Obligation,
    Risk,
    Sensitivity,
)
from sovereign_advisor.conditions import Activation, Scope
from sovereign_advisor.formatting import money_in, volume_words
from sovereign_advisor.knowledge.loader import KnowledgeBase
from sovereign_advisor.knowledge.models import Rule
from sovereign_advisor.profile import OrganisationProfile
from sovereign_advisor.types import Status

from .context import organisation_vars, use_case_vars
from .costing import Choice, Workload, frac
from .costmodel import CostModel, Piece, crossings_of, lines_total
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
) -> tuple[list[Obligation], list[BlockedUseCase], list[BlockedUseCase], list[Finding]]:
    """Obligations (in force and coming), blocked use cases, use cases a prohibition already
    enacted blocks from a later day, and the findings of every rule that fired."""
    obligations: list[Obligation] = []
    blocked: list[BlockedUseCase] = []
    coming: list[BlockedUseCase] = []
    findings: list[Finding] = []
    base = organisation_vars(profile, kb)
    subjects: list[tuple[Scope, dict[str, Any], str | None]] = [("organisation", base, None)]
    for use_case in profile.use_cases:
        subjects.append(("use_case", use_case_vars(base, use_case), use_case.name))
    for scope, variables, use_case_name in subjects:
        activation = Activation(scope, variables)
        for compiled in kb.rules:
            rule = compiled.rule
            if rule.scope != scope:
                continue
            later = rule.coming(as_of)
            if not (later or rule.in_force(as_of)):
                continue
            if not evaluate(rule.id, compiled.condition, activation, compiled.file):
                continue
            cited = cited_facts(rule, variables)
            if not later:
                findings.append(
                    Finding(
                        rule_id=rule.id,
                        fact_ids=cited + rule.see_also,
                        scope=rule.scope,
                        subject=use_case_name or profile.organisation.name,
                        effect=rule.effect,
                        detail=rule.summary,
                    )
                )
            _collect(kb, rule, cited, use_case_name, as_of, later, obligations, blocked, coming)
    obligations.sort(key=lambda o: (o.applies_from or dt.date.min, o.rule_id, o.use_case or ""))
    return obligations, blocked, coming, findings


def _collect(
    kb: KnowledgeBase,
    rule: Rule,
    cited: tuple[str, ...],
    use_case_name: str | None,
    as_of: dt.date,
    later: bool,
    obligations: list[Obligation],
    blocked: list[BlockedUseCase],
    coming: list[BlockedUseCase],
) -> None:
    """An obligation or blocker that fired: in force, or (`later`) enacted and applying from
    the rule's `valid_from`."""
    starts = rule.applies_from
    if later:
        assert rule.valid_from is not None
        starts = max(rule.valid_from, rule.applies_from or rule.valid_from)
    if rule.effect == "obligation":
        obligations.append(
            Obligation(
                rule_id=rule.id,
                fact_ids=cited,
                jurisdiction=rule.jurisdiction,
                citation=citation(kb, cited),
                summary=rule.summary,
                applies_from=starts,
                in_force=not later and (starts is None or starts <= as_of),
                status=weakest_status(kb, cited),
                use_case=use_case_name,
            )
        )
    elif rule.effect == "blocker":
        assert use_case_name is not None
        (coming if later else blocked).append(
            BlockedUseCase(
                use_case=use_case_name,
                rule_id=rule.id,
                fact_ids=cited,
                reason=rule.summary,
                applies_from=starts if later else None,
            )
        )


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


SEARCH_FACTOR = 10
"""Break-even volumes are searched from 1/10 to 10 times the profile's volume."""

DECISIVE_BELOW = Fraction(4, 5)
DECISIVE_ABOVE = Fraction(5, 4)
"""A crossing is a break-even when the order differs at 0.8x and at 1.25x of it (and right
next to it, in the same direction); crossings closer together than that are GPU steps of two
nearly equal totals, not a change of order."""


_NUDGES = (1 - Fraction(1, 10**6), Fraction(1), 1 + Fraction(1, 10**6))


def _value(model: CostModel, pieces: list[Piece], v: Fraction) -> Fraction:
    """The typical total at `v`, read from the pieces when they cover it."""
    if pieces and pieces[0][0] < v <= pieces[-1][1]:
        _, _, slope, intercept = pieces[bisect.bisect_left(pieces, v, key=lambda p: p[1])]
        return slope * v + intercept
    return model.total(v)


class _Crossings:
    """The crossings of two architectures' typical totals over the searched range, and how the
    order runs around each (between two neighbouring crossings it is constant)."""

    def __init__(
        self,
        a: tuple[CostModel, list[Piece]],
        b: tuple[CostModel, list[Piece]],
        found: list[Fraction],
        bounds: tuple[Fraction, Fraction],
        volume: Fraction,
    ) -> None:
        self.a, self.b, self.found, self.bounds, self.volume = a, b, found, bounds, volume

    def gap(self, x: Fraction) -> Fraction:
        """Typical total of `a` minus that of `b` at volume `x`."""
        return _value(*self.a, x) - _value(*self.b, x)

    def _sides(self, near: tuple[Fraction, ...], far: tuple[Fraction, ...]) -> bool:
        """`a` cheaper at every `near` volume (the profile's side of crossing i), `b` at every
        `far` one."""
        return all(self.gap(x) < 0 for x in near) and all(self.gap(x) > 0 for x in far)

    def _next_to(self, i: int) -> tuple[Fraction, Fraction]:
        """A volume right below and right above crossing i: the midpoints to the neighbouring
        crossings (or to the ends of the searched range)."""
        v, found = self.found[i], self.found
        before = ((found[i - 1] if i > 0 else self.bounds[0]) + v) / 2
        after = ((found[i + 1] if i + 1 < len(found) else self.bounds[1]) + v) / 2
        return before, after

    def local(self, i: int) -> bool:
        """The order flips the right way at crossing i: `a` cheaper right next to it on the
        profile's side, `b` right next to it on the far side."""
        before, after = self._next_to(i)
        near, far = (before, after) if self.found[i] > self.volume else (after, before)
        return self._sides((near,), (far,))

    def decisive(self, i: int) -> bool:
        """Crossing i flips the order right next to it and also between 0.8x and 1.25x of it.
        GPU steps are evenly spaced, so 0.8x of one step can be exactly another: each of 0.8x
        and 1.25x is read a millionth either way too, and all must agree."""
        v = self.found[i]
        low = tuple(v * DECISIVE_BELOW * f for f in _NUDGES)
        high = tuple(v * DECISIVE_ABOVE * f for f in _NUDGES)
        near, far = (low, high) if v > self.volume else (high, low)
        return self.local(i) and self._sides(near, far)

    def final(self, i: int) -> bool:
        """Crossing i is the last on its side of the profile's volume and flips the order the
        right way: from it to the end of the searched range the other architecture stays
        cheaper (the crossings nearer the profile are GPU steps of two nearly equal totals)."""
        last = i == len(self.found) - 1 if self.found[i] > self.volume else i == 0
        return last and self.local(i)


def break_even(ranked: list[tuple[str, Choice]], w: Workload) -> list[BreakEven]:
    """For each pair of eligible architectures, the volume nearest the profile's where the order
    of their typical totals flips for good (peak load scaled with volume), exactly."""
    out: list[BreakEven] = []
    volume = w.volume if w.volume > 0 else Fraction(1)
    low, high = volume / SEARCH_FACTOR, volume * SEARCH_FACTOR
    span = f"{float(low):,.0f} to {float(high):,.0f} queries a month"
    pieces: dict[str, list[Piece] | None] = {}
    for aid, choice in ranked:
        try:
            pieces[aid] = choice.model.pieces(low, high)
        except OverflowError:
            pieces[aid] = None
    for (id_a, a), (id_b, b) in combinations(ranked, 2):
        pa, pb = pieces[id_a], pieces[id_b]
        if pa is None or pb is None:
            out.append(
                BreakEven(
                    architectures=(id_a, id_b),
                    queries_per_month=None,
                    note=f"too many GPU steps from {span} to search exactly",
                )
            )
            continue
        found = crossings_of(pa, pb, low, high)
        crossing = _Crossings((a.model, pa), (b.model, pb), found, (low, high), volume)
        by_nearness = sorted(range(len(found)), key=lambda i: (abs(found[i] - volume), found[i]))
        pick = next((i for i in by_nearness if crossing.decisive(i)), None)
        after_sawtooth = pick is None  # then only the last crossing on its side can count
        if after_sawtooth:
            pick = next((i for i in by_nearness if crossing.final(i)), None)
        if pick is None:
            touching = (
                f"; their totals cross {len(found)} time(s) within GPU-step noise of each other "
                "but the order does not change for good"
                if found
                else ""
            )
            out.append(
                BreakEven(
                    architectures=(id_a, id_b),
                    queries_per_month=None,
                    note=f"{id_a} stays cheaper from {span}{touching}",
                )
            )
            continue
        nearest = found[pick]
        shown = (Decimal(nearest.numerator) / Decimal(nearest.denominator)).quantize(
            Decimal("0.01"), rounding=ROUND_HALF_EVEN
        )
        direction = "more" if nearest > volume else "fewer"
        others = ""
        if after_sawtooth:
            end = f"{float(high if nearest > volume else low):,.0f}"
            others = (
                f" and stays so up to {end} (the totals cross {len(found) - 1} time(s) before, "
                "GPU steps of two nearly equal totals)"
            )
        elif len(found) > 1:
            others = f"; the totals cross {len(found) - 1} other time(s) from {span}"
        out.append(
            BreakEven(
                architectures=(id_a, id_b),
                queries_per_month=shown,
                note=f"with {direction} queries than this, {id_b} becomes the cheaper{others}",
            )
        )
    return out


def _flip_factor(gap: Fraction, direct: Fraction, inverse: Fraction) -> float | None:
    """Smallest change factor t > 0 (nearest 1 in ratio) at which
    `gap + (t - 1) * direct + (1/t - 1) * inverse` reaches 0, or None.

    `gap` < 0 is how much cheaper the recommended architecture is; `direct` and `inverse` are the
    differences (recommended minus other) of the costs proportional and inversely proportional
    to the input. Multiplying by t: direct*t^2 + (gap - direct - inverse)*t + inverse = 0.
    """
    qa, qb, qc = float(direct), float(gap - direct - inverse), float(inverse)
    roots: list[float] = []
    if qa == 0:
        if qb != 0:
            roots.append(-qc / qb)
    else:
        disc = qb * qb - 4 * qa * qc
        if disc >= 0:
            sq = math.sqrt(disc)
            roots += [(-qb - sq) / (2 * qa), (-qb + sq) / (2 * qa)]
    roots = [t for t in roots if t > 0 and math.isfinite(t) and abs(t - 1) > 1e-12]
    return min(roots, key=lambda t: abs(math.log(t))) if roots else None


PLAUSIBLE_PRICE_FACTOR = Decimal(2)
"""A price, an exchange rate or an assumption is reported as able to change the recommendation
only when the move lies within this factor either way: from half (1/2) to double (x2). Larger
moves are still computed (`_flip_factor`) but not reported: a person reading "a price would
have to rise 497,882%" learns nothing. The packaged knowledge base states the same value as the
assumption `sensitivity.plausible_price_factor`; `sensitivity` reads that record (so that
`--assume` changes it) when it is given the knowledge base, and this default otherwise."""

PLAUSIBLE_VOLUME_FACTOR = Decimal(10)
"""The query volume is reported as able to change the recommendation only from a tenth (1/10)
to ten times (x10) the profile's volume (the break-even search spans the same range,
`SEARCH_FACTOR`); the assumption `sensitivity.plausible_volume_factor` states it."""

PRICE_FACTOR_ID = "sensitivity.plausible_price_factor"
VOLUME_FACTOR_ID = "sensitivity.plausible_volume_factor"
VOLUME_INPUT = "workload.queries_per_month"


def plausible_factors(kb: KnowledgeBase | None = None) -> tuple[Decimal, Decimal]:
    """How far (a factor either way) a price, rate or assumption and the volume may move and
    still be reported as a plausible change: the knowledge base's assumptions when it states
    them, else `PLAUSIBLE_PRICE_FACTOR` and `PLAUSIBLE_VOLUME_FACTOR`."""
    factors = []
    for assumption_id, default in (
        (PRICE_FACTOR_ID, PLAUSIBLE_PRICE_FACTOR),
        (VOLUME_FACTOR_ID, PLAUSIBLE_VOLUME_FACTOR),
    ):
        try:
            factors.append(kb.assumption(assumption_id).value.typical if kb else default)
        except KeyError:
            factors.append(default)
    return factors[0], factors[1]


def _within(t: float, factor: Decimal) -> bool:
    return 1 / float(factor) <= t <= float(factor)


def _bare_name(name: str) -> str:
    """A catalogue name without its trailing parenthesis: 'Mistral Large 3 (mistral-large-2512)'
    -> 'Mistral Large 3'."""
    head, sep, _ = name.partition(" (")
    return head if sep and head else name


def _first_clause(summary: str) -> str:
    """The opening words of an assumption's summary, up to the first comma, colon, semicolon,
    parenthesis or full stop, with a lower-case initial unless it starts an acronym."""
    cut = min(
        (i for i in (summary.find(m) for m in (", ", ": ", "; ", " (", ". ")) if i > 0),
        default=len(summary),
    )
    clause = summary[:cut].rstrip(".")
    if len(clause) > 1 and not clause[1].isupper():
        clause = clause[0].lower() + clause[1:]
    return clause


def input_label(input_id: str, kb: KnowledgeBase) -> str:
    """What a sensitivity input is, in words from the knowledge base, names before ids:
    "Mistral Large 3's token prices at Mistral La Plateforme", "the EUR/USD exchange rate (USD
    per EUR)", "the assumed depreciation life of a purchased GPU server"; "" when the knowledge
    base has no record of that id."""
    if input_id == VOLUME_INPUT:
        return "the query volume"
    for f in kb.fx_rates:
        if f.id == input_id:
            return f"the {f.base}/{f.quote} exchange rate ({f.quote} per {f.base})"
    for a in kb.assumptions:
        if a.id == input_id:
            return f"the assumed {_first_clause(a.summary)}"
    return _price_label(input_id, kb)


def _price_label(input_id: str, kb: KnowledgeBase) -> str:
    """A token, GPU or host price record in words, or ""."""

    def venue(venue_id: str) -> str:
        found = kb.venues.get(venue_id)
        return _bare_name(found.name) if found else venue_id

    for t in kb.token_prices:
        if t.id == input_id:
            model = kb.models.get(t.model)
            return (
                f"{_bare_name(model.name) if model else t.model}'s token prices at {venue(t.venue)}"
            )
    for g in kb.gpu_prices:
        if g.id == input_id:
            gpu = kb.gpus.get(g.gpu)
            kind = "rental" if g.rental_per_hour is not None else "purchase"
            return f"the {kind} price of the {gpu.name if gpu else g.gpu} at {venue(g.venue)}"
    for h in kb.host_prices:
        if h.id == input_id:
            return f"the price of the {h.memory_gb:g} GB host at {venue(h.venue)}"
    return ""


def _percent(change: float) -> str:
    return f"{change:.1%}" if change < 0.1 else f"{change:.0%}"


def change_sentence(
    input_id: str,
    label: str,
    factor: float,
    flips_to: str,
    best_id: str,
    target_volume: Decimal | None = None,
) -> str:
    """The move that changes the recommendation, in plain words, the id behind the name:
    "Mistral Large 3's token prices at Mistral La Plateforme would have to rise 40% (record
    lp.mistral-large-3.eur) for on_prem_rag to become cheaper than hybrid_routing"."""
    then = f"for {flips_to} to become cheaper than {best_id}"
    if input_id == VOLUME_INPUT and target_volume is not None:
        move = "reach" if factor > 1 else "fall to"
        return (
            f"the volume would have to {move} {volume_words(target_volume)} queries a month "
            f"(peak scaled with volume) {then}"
        )
    move = f"rise {_percent(factor - 1)}" if factor > 1 else f"fall {_percent(1 - factor)}"
    if not label:
        return f"{input_id} would have to {move} {then} (venues and GPU counts as chosen)"
    kind = "assumption" if label.startswith("the assumed ") else "record"
    return (
        f"{label} would have to {move} ({kind} {input_id}) {then} (venues and GPU counts as chosen)"
    )


def no_plausible_change_sentence(price_factor: Decimal, volume_factor: Decimal) -> str:
    """What the advice says when no single move within the plausible ranges changes it."""
    return (
        "no plausible single change alters the recommendation (each price, rate and assumption "
        f"from {_range_words(price_factor)}, volume from {_range_words(volume_factor)})"
    )


def _range_words(factor: Decimal) -> str:
    words = {Decimal(2): "half to double", Decimal(10): "a tenth to ten times"}
    return words.get(
        factor.normalize(), f"1/{factor.normalize():f} to {factor.normalize():f} times"
    )


def sensitivity(
    ranked: list[tuple[str, Choice]],
    w: Workload,
    found: list[BreakEven],
    kb: KnowledgeBase | None = None,
) -> list[Sensitivity]:
    """For every input the recommended architecture's cost (or a rival's) is proportional to,
    the factor that makes the recommendation change, holding venues and GPU counts as chosen;
    and the query volume from the break-even volumes. Smallest change first.

    Only moves within the plausible ranges (`plausible_factors`) are reported: a price, rate or
    assumption from half to double, the volume from a tenth to ten times. With `kb` each entry
    is labelled from the knowledge base (model, venue and GPU names, the FX pair, the
    assumption's summary)."""
    if len(ranked) < 2:
        return []
    price_factor, volume_factor = plausible_factors(kb)
    best_id = ranked[0][0]
    v = w.volume
    lines = {aid: c.model.lines_at(v) for aid, c in ranked}
    totals = {aid: lines_total(ls, v) for aid, ls in lines.items()}
    inputs = sorted(
        {i for ls in lines.values() for line in ls for i in line.scales_with + line.inverse_with}
    )

    def share(aid: str, input_id: str, inverse: bool) -> Fraction:
        return sum(
            (
                line.cost(v)
                for line in lines[aid]
                if input_id in (line.inverse_with if inverse else line.scales_with)
            ),
            Fraction(0),
        )

    out: list[tuple[float, Sensitivity]] = []
    for input_id in inputs:
        best_change: tuple[float, float, str] | None = None
        for other_id, _ in ranked[1:]:
            gap = totals[best_id] - totals[other_id]
            direct = share(best_id, input_id, False) - share(other_id, input_id, False)
            inverse = share(best_id, input_id, True) - share(other_id, input_id, True)
            t = _flip_factor(gap, direct, inverse)
            if t is not None and (best_change is None or abs(math.log(t)) < best_change[0]):
                best_change = (abs(math.log(t)), t, other_id)
        if best_change is not None and _within(best_change[1], price_factor):
            _, t, other_id = best_change
            label = input_label(input_id, kb) if kb is not None else ""
            out.append(
                (
                    best_change[0],
                    Sensitivity(
                        input_id=input_id,
                        factor=Decimal(repr(round(t, 4))),
                        flips_to=other_id,
                        note=change_sentence(input_id, label, t, other_id, best_id),
                        label=label,
                    ),
                )
            )
    for be in found:
        if be.queries_per_month is None or best_id not in be.architectures:
            continue
        other_id = be.architectures[1] if be.architectures[0] == best_id else be.architectures[0]
        t = float(be.queries_per_month) / float(v) if v > 0 else 0.0
        if t > 0 and _within(t, volume_factor):
            out.append(
                (
                    abs(math.log(t)),
                    Sensitivity(
                        input_id=VOLUME_INPUT,
                        factor=Decimal(repr(round(t, 4))),
                        flips_to=other_id,
                        note=change_sentence(
                            VOLUME_INPUT, "", t, other_id, best_id, be.queries_per_month
                        ),
                        label=input_label(VOLUME_INPUT, kb) if kb is not None else "",
                    ),
                )
            )
    out.sort(key=lambda item: (item[0], item[1].input_id))
    seen: set[str] = set()
    unique = []
    for _, item in out:
        if item.input_id not in seen:
            seen.add(item.input_id)
            unique.append(item)
    return unique
