"""Step 5, sensitivity: for each uncertain input, the plausible single change that would alter
the recommendation (or the cost order), in words."""

from __future__ import annotations

import math
from decimal import Decimal
from fractions import Fraction

from sovereign_advisor.advice import (
    BreakEven,
    Sensitivity,
)
from sovereign_advisor.formatting import volume_words
from sovereign_advisor.knowledge.loader import KnowledgeBase

from .costmodel import lines_total
from .sizing import Workload
from .venue_choice import Choice


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
        if _within(t, volume_factor):  # t = 0 (no volume) is within no factor
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
