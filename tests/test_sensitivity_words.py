"""What would change the recommendation, as a person reads it: only plausible moves (a price,
rate or assumption from half to double, the volume from a tenth to ten times), in plain words
with the names from the knowledge base before the ids; otherwise "no plausible single change"."""

from __future__ import annotations

import math
from decimal import Decimal as D
from pathlib import Path
from typing import Any

import pytest
import yaml

import sovereign_advisor as sa
from sovereign_advisor.engine.admissibility import admissibility
from sovereign_advisor.engine.break_even import break_even
from sovereign_advisor.engine.eligibility import eligibility
from sovereign_advisor.engine.exposure import venue_exposures
from sovereign_advisor.engine.pricing import Pricing
from sovereign_advisor.engine.sensitivity import (
    PLAUSIBLE_PRICE_FACTOR,
    PLAUSIBLE_VOLUME_FACTOR,
    VOLUME_INPUT,
    input_label,
    plausible_factors,
    sensitivity,
)
from sovereign_advisor.engine.sizing import Workload, workload_of
from sovereign_advisor.engine.venue_choice import Choice, choose
from sovereign_advisor.views.text import nearest_change_lines, sensitivity_sentence

from .conftest import AS_OF, PROFILES

SCENARIOS = Path(__file__).parent / "scenarios"

NOTHING = (
    "no plausible single change alters the recommendation (each price, rate and assumption from "
    "half to double, volume from a tenth to ten times)"
)


def _flat(text: str) -> str:
    return " ".join(text.split())


def _scenario_profile(name: str) -> sa.OrganisationProfile:
    data: dict[str, Any] = yaml.safe_load((SCENARIOS / f"{name}.yaml").read_text())
    return sa.OrganisationProfile.model_validate(data["profile"])


def test_the_plausible_ranges_are_the_knowledge_base_assumptions(kb: sa.KnowledgeBase) -> None:
    # the constants and the packaged records say the same; a knowledge base without the records
    # falls back on the constants
    assert plausible_factors(kb) == (PLAUSIBLE_PRICE_FACTOR, PLAUSIBLE_VOLUME_FACTOR) == (2, 10)
    assert plausible_factors(None) == (2, 10)
    for assumption_id in (
        "sensitivity.plausible_price_factor",
        "sensitivity.plausible_volume_factor",
    ):
        record = kb.assumption(assumption_id)
        assert record.status == "provisional"
        assert record.source.publisher == "sovereign-advisor"


def test_a_consultancy_no_plausible_change_alters_it(kb: sa.KnowledgeBase) -> None:
    # 2,000 queries a month: the API pipeline is thousands of euros below renting a GPU, so
    # only a token price multiplied by ~5,000 would flip it (once printed as "+497882.0%")
    advice = sa.advise(_scenario_profile("consultancy_40_people"), kb=kb, as_of=AS_OF)
    assert advice.sensitivity == ()
    assert sum(a.eligible for a in advice.assessments) == 3
    text = _flat(sa.render_text(advice, kb=kb))
    assert f"nearest change: {NOTHING}" in text
    assert "%" not in text.split("nearest change:")[1]
    detail = _flat(sa.render_text(advice, kb=kb, detail=True))
    assert f"what would change the recommendation: {NOTHING}" in detail
    markdown = _flat(sa.render_markdown(advice, kb=kb))
    assert f"**Nearest change:** {NOTHING}" in markdown
    assert "## What would change the recommendation No plausible single change" in markdown
    html = _flat(sa.render_html(advice, kb=kb))
    assert f"<strong>Nearest change:</strong> {NOTHING}" in html


def _typical(advice: sa.Advice, architecture_id: str) -> D:
    a = next(a for a in advice.assessments if a.architecture_id == architecture_id)
    assert a.cost is not None
    return a.cost.monthly_total.typical


def _spent_on(advice: sa.Advice, architecture_id: str, record_id: str) -> D:
    a = next(a for a in advice.assessments if a.architecture_id == architecture_id)
    assert a.cost is not None
    parts = [c for c in a.cost.components if record_id in c.source.split(" + ")]
    return sum((c.monthly_cost for c in parts), D(0))


def test_a_token_price_within_range_flips_the_cost_order_in_plain_words(
    kb: sa.KnowledgeBase,
) -> None:
    # The French retail bank: the hybrid is the cheaper (it spends its whole Mistral Large 3
    # bill on lp.mistral-large-3.eur, the premises pattern nothing). With gap = T_on_prem -
    # T_hybrid and L = the hybrid's Large 3 lines, on-prem becomes the cheaper when L rises by
    # gap: at t = 1 + gap / L. The two are cost-equivalent (on-prem preferred), so the move is
    # named for what it changes: the cost order.
    advice = sa.advise(sa.load_profile(PROFILES / "french_retail_bank.yaml"), kb=kb, as_of=AS_OF)
    assert advice.decision == "cost_equivalent"
    (large,) = [s for s in advice.sensitivity if s.input_id == "lp.mistral-large-3.eur"]
    gap = _typical(advice, "on_prem_rag") - _typical(advice, "hybrid_routing")
    spent = _spent_on(advice, "hybrid_routing", "lp.mistral-large-3.eur")
    assert _spent_on(advice, "on_prem_rag", "lp.mistral-large-3.eur") == 0
    assert D(1000) < spent < D(3000) and D(100) < gap < D(1000)
    assert large.factor == (1 + gap / spent).quantize(D("0.0001"))
    assert large.flips_to == "on_prem_rag"
    rise = round((float(large.factor) - 1) * 100)
    sentence = (
        f"Mistral Large 3's token prices at Mistral La Plateforme would have to rise {rise}% "
        "(record lp.mistral-large-3.eur) for on_prem_rag to become cheaper than hybrid_routing"
    )
    assert advice.sensitivity[0] == large  # the nearest change
    assert f"nearest change in the cost order: {sentence}" in _flat(sa.render_text(advice, kb=kb))
    assert sentence in _flat(sa.render_markdown(advice, kb=kb))
    # the volume's move is phrased as the volume it would have to reach or fall to
    (volume,) = [s for s in advice.sensitivity if s.input_id == VOLUME_INPUT]
    assert volume.note.startswith("the volume would have to fall to ")


@pytest.mark.parametrize("path", sorted(PROFILES.glob("*.yaml")), ids=lambda p: p.stem)
def test_only_plausible_moves_are_reported(path: Path, kb: sa.KnowledgeBase) -> None:
    advice = sa.advise(sa.load_profile(path), kb=kb, as_of=AS_OF)
    for s in advice.sensitivity:
        bound = PLAUSIBLE_VOLUME_FACTOR if s.input_id == VOLUME_INPUT else PLAUSIBLE_PRICE_FACTOR
        assert abs(math.log(s.factor)) <= math.log(bound), s
    lines = nearest_change_lines(advice, kb)
    assert len(lines) == 1
    if sum(a.eligible for a in advice.assessments) >= 2 and not advice.sensitivity:
        assert lines[0] == f"nearest change: {NOTHING}"


@pytest.mark.parametrize(
    ("input_id", "label"),
    [
        ("lp.mistral-large-3.eur", "Mistral Large 3's token prices at Mistral La Plateforme"),
        ("ecb.eur-usd.2026-10-30", "the EUR/USD exchange rate (USD per EUR)"),
        ("gpu.life_months", "the assumed depreciation life of a purchased GPU server"),
        (
            "premises.h100-80gb-pcie",
            "the purchase price of the NVIDIA H100 80GB PCIe at the organisation's own premises",
        ),
        ("koyeb.h100-80gb-pcie", "the rental price of the NVIDIA H100 80GB PCIe at Koyeb"),
        ("no.such.record", ""),
    ],
)
def test_inputs_are_named_from_the_knowledge_base(
    input_id: str, label: str, kb: sa.KnowledgeBase
) -> None:
    assert input_label(input_id, kb).startswith(label) if label else not input_label(input_id, kb)


def _ranked(
    profile: sa.OrganisationProfile, kb: sa.KnowledgeBase
) -> tuple[list[tuple[str, Choice]], Workload]:
    """The eligible architectures' choices, cheapest first, as `advise` ranks them."""
    refusals, _ = admissibility(profile, kb, AS_OF, venue_exposures(profile, kb, AS_OF))
    w = workload_of(profile, kb)
    pricing = Pricing(kb, profile.finance.currency, AS_OF)
    ranked = []
    for arch in kb.architectures:
        result = eligibility(arch, profile, kb, AS_OF, refusals)
        if result.eligible:
            ranked.append((arch.id, choose(result, profile, kb, w, pricing)))
    ranked.sort(key=lambda item: (item[1].model.total(w.volume), item[0]))
    return ranked, w


def test_given_the_knowledge_base_the_engine_labels_each_move(kb: sa.KnowledgeBase) -> None:
    profile = sa.load_profile(PROFILES / "french_retail_bank.yaml")
    ranked, w = _ranked(profile, kb)
    found = break_even(ranked, w)
    unlabelled, labelled = sensitivity(ranked, w, found), sensitivity(ranked, w, found, kb)
    advice = sa.advise(profile, kb=kb, as_of=AS_OF)
    # the advice labels its moves; the unlabelled ones carry the same inputs and factors
    assert [(s.input_id, s.factor, s.flips_to) for s in advice.sensitivity] == [
        (s.input_id, s.factor, s.flips_to) for s in unlabelled
    ]
    assert list(advice.sensitivity) == labelled
    # the same moves and factors; the labels and sentences come from the knowledge base
    assert [(s.input_id, s.factor, s.flips_to) for s in labelled] == [
        (s.input_id, s.factor, s.flips_to) for s in unlabelled
    ]
    bare = advice.model_copy(update={"sensitivity": tuple(unlabelled)})
    for mine, theirs in zip(labelled, unlabelled, strict=True):
        if mine.input_id != VOLUME_INPUT:
            assert mine.label == input_label(mine.input_id, kb) != ""
        # a view given the knowledge base phrases an unlabelled advice the same way
        assert sensitivity_sentence(bare, theirs, kb) == mine.note
    large = next(s for s in labelled if s.input_id == "lp.mistral-large-3.eur")
    assert large.note.startswith(
        "Mistral Large 3's token prices at Mistral La Plateforme would have to rise 22% (record "
        "lp.mistral-large-3.eur) for on_prem_rag to become cheaper than hybrid_routing"
    )


def test_a_narrower_range_in_the_knowledge_base_reports_fewer_moves(kb: sa.KnowledgeBase) -> None:
    def narrowed(a: Any) -> Any:
        if a.id != "sensitivity.plausible_price_factor":
            return a
        return a.model_copy(update={"value": a.value.model_copy(update={"typical": D("1.2")})})

    fields = {f: getattr(kb, f) for f in kb.__dataclass_fields__}
    fields["assumptions"] = tuple(narrowed(a) for a in kb.assumptions)
    narrow = kb.__class__(**fields)
    assert plausible_factors(narrow) == (D("1.2"), 10)
    profile = sa.load_profile(PROFILES / "french_retail_bank.yaml")
    ranked, w = _ranked(profile, kb)
    found = break_even(ranked, w)
    wide = {s.input_id for s in sensitivity(ranked, w, found, kb)}
    kept = sensitivity(ranked, w, found, narrow)
    assert "lp.mistral-large-3.eur" in wide  # x1.22: within half to double, not within x1.2
    assert "lp.mistral-large-3.eur" not in {s.input_id for s in kept}
    for s in kept:
        if s.input_id != VOLUME_INPUT:
            assert 1 / D("1.2") <= s.factor <= D("1.2"), s


@pytest.mark.parametrize(
    "summary, clause",
    [
        # cut at the first comma, colon, semicolon, parenthesis or full stop that follows a word
        ("Share of queries that escalate, by use case", "share of queries that escalate"),
        ("GPU memory vLLM may use: the rest is reserved", "GPU memory vLLM may use"),
        ("Staff cost per year; with on-costs", "staff cost per year"),
        ("Recall of the PII detector (measured)", "recall of the PII detector"),
        ("Months a server is used. Then it is replaced", "months a server is used"),
        # no marker: the whole summary, a closing full stop dropped, acronyms kept upper-case
        ("Power usage effectiveness", "power usage effectiveness"),
        ("Hours in a month.", "hours in a month"),
        ("PUE of the data centre", "PUE of the data centre"),
        ("A", "A"),
        ("Memory of an HGX. Then more", "memory of an HGX"),  # only the full stop is dropped
        ("An, then more", "an"),  # two letters, the second lower-case: a word
        ("EU-based hosting, by default", "EU-based hosting"),  # an acronym then a hyphen
    ],
)
def test_an_assumption_is_named_by_the_first_clause_of_its_summary(
    summary: str, clause: str
) -> None:
    from sovereign_advisor.engine.sensitivity import _first_clause

    assert _first_clause(summary) == clause


@pytest.mark.parametrize(
    "factor, words",
    [
        (D(2), "half to double"),
        (D("2.0"), "half to double"),
        (D(10), "a tenth to ten times"),
        (D(3), "1/3 to 3 times"),
        (D("1.5"), "1/1.5 to 1.5 times"),
    ],
)
def test_a_plausible_range_reads_in_words(factor: D, words: str) -> None:
    from sovereign_advisor.engine.sensitivity import _range_words

    assert _range_words(factor) == words


def test_a_host_price_is_named_by_its_memory_and_venue(kb: sa.KnowledgeBase) -> None:
    # OVHcloud's B2-120 instance, 120 GB of memory; the venue named without its parenthesis
    assert input_label("ovhcloud.b2-120", kb) == (
        "the price of the 120 GB host at OVHcloud Public Cloud GPU"
    )


@pytest.mark.parametrize(
    "factor, move",
    [
        (1.4, "rise 40%"),
        (1.05, "rise 5.0%"),  # under a tenth: one decimal
        (0.6, "fall 40%"),
        (0.97, "fall 3.0%"),
    ],
)
def test_a_price_move_is_stated_as_the_percentage_it_takes(factor: float, move: str) -> None:
    from sovereign_advisor.engine.sensitivity import change_sentence

    sentence = change_sentence("lp.x", "", factor, "on_prem_rag", "hybrid_routing")
    assert sentence == (
        f"lp.x would have to {move} for on_prem_rag to become cheaper than hybrid_routing "
        "(venues and GPU counts as chosen)"
    )
    for label, kind in (("the assumed staff cost", "assumption"), ("the price", "record")):
        sentence = change_sentence("x.y", label, factor, "on_prem_rag", "hybrid_routing")
        assert sentence.startswith(f"{label} would have to {move} ({kind} x.y) for on_prem_rag")


@pytest.mark.parametrize(
    "factor, target, words",
    [(D(3), D(3_200_000), "reach 3.2 million"), (D("0.25"), D(45_000), "fall to 45,000")],
)
def test_a_volume_move_is_stated_as_the_volume_it_takes(factor: D, target: D, words: str) -> None:
    from sovereign_advisor.engine.sensitivity import change_sentence

    sentence = change_sentence(
        VOLUME_INPUT, "the query volume", float(factor), "on_prem_rag", "hybrid_routing", target
    )
    assert sentence == (
        f"the volume would have to {words} queries a month (peak scaled with volume) for "
        "on_prem_rag to become cheaper than hybrid_routing"
    )


@pytest.mark.parametrize(
    "name, bare",
    [
        ("Mistral Large 3 (mistral-large-2512)", "Mistral Large 3"),
        ("Llama 3.3 70B (Meta) (instruct)", "Llama 3.3 70B"),  # from the first parenthesis
        ("Qwen3 32B", "Qwen3 32B"),
        (" (no name before)", " (no name before)"),  # nothing would be left: kept whole
    ],
)
def test_a_catalogue_name_is_shown_without_its_parenthesis(name: str, bare: str) -> None:
    from sovereign_advisor.engine.sensitivity import _bare_name

    assert _bare_name(name) == bare


def test_the_query_volume_is_named_in_words(kb: sa.KnowledgeBase) -> None:
    assert input_label(VOLUME_INPUT, kb) == "the query volume"


def test_a_knowledge_base_without_the_range_records_falls_back_on_the_constants(
    kb: sa.KnowledgeBase,
) -> None:
    import dataclasses

    kept = tuple(a for a in kb.assumptions if not a.id.startswith("sensitivity.plausible_"))
    bare = dataclasses.replace(kb, assumptions=kept)
    assert plausible_factors(bare) == (PLAUSIBLE_PRICE_FACTOR, PLAUSIBLE_VOLUME_FACTOR)


@pytest.mark.parametrize(
    "t, inside",
    [(0.5, True), (0.4999, False), (1.0, True), (2.0, True), (2.0001, False), (1.9, True)],
)
def test_a_move_to_exactly_half_or_double_is_still_plausible(t: float, inside: bool) -> None:
    from sovereign_advisor.engine.sensitivity import _within

    assert _within(t, D(2)) is inside


def test_the_volume_is_reported_once_with_its_smallest_move(kb: sa.KnowledgeBase) -> None:
    # three eligible architectures, and break-evens of the recommended one against both others:
    # the volume would flip the order at 2x against one and at 3x against the other; only the
    # nearer move is a sensitivity
    from sovereign_advisor.advice import BreakEven

    ranked, w = _ranked(sa.load_profile(PROFILES / "triage_high_volume.yaml"), kb)
    assert len(ranked) == 3
    (best, _), (second, _), (third, _) = ranked
    v = D(w.volume.numerator) / D(w.volume.denominator)
    found = [
        BreakEven(architectures=(second, third), queries_per_month=v * 2, note=""),  # not best's
        BreakEven(architectures=(best, third), queries_per_month=v * 3, note=""),
        BreakEven(architectures=(best, second), queries_per_month=v * 2, note=""),
    ]
    moves = [s for s in sensitivity(ranked, w, found) if s.input_id == VOLUME_INPUT]
    assert [(m.flips_to, m.factor, m.label) for m in moves] == [(second, D(2), "")]  # no kb
