"""First Hypothesis properties of the advisor (the public toolkit comes with issue #5)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

import sovereign_advisor as sa
from sovereign_advisor.profile import OrganisationProfile
from sovereign_advisor.types import DATA_CLASSES

KB = sa.load_knowledge_base()
AS_OF = dt.date(2026, 11, 23)
COUNTRIES = ["FR", "DE", "NL", "JP", "US", "IE"]


@st.composite
def profiles(draw: st.DrawFn) -> dict[str, Any]:
    classes = draw(st.lists(st.sampled_from(DATA_CLASSES), min_size=1, max_size=4, unique=True))
    weights = [draw(st.integers(1, 10)) for _ in classes]
    shares = {c: w / sum(weights) for c, w in zip(classes, weights, strict=True)}
    shares[classes[-1]] = 1 - sum(v for c, v in shares.items() if c != classes[-1])
    overrides = {
        c: {"leave_premises": False}
        for c in draw(st.lists(st.sampled_from(DATA_CLASSES), max_size=3, unique=True))
    }
    return {
        "organisation": {
            "name": "generated",
            "headquarters": draw(st.sampled_from(COUNTRIES)),
            "operates_in": draw(st.lists(st.sampled_from(COUNTRIES), max_size=3)),
            "sector": draw(st.sampled_from(["banking", "healthcare", "retail", "public_sector"])),
            "us_person": draw(st.booleans()),
        },
        "data": {
            "query_shares": shares,
            "subjects_in": draw(st.lists(st.sampled_from(COUNTRIES), max_size=2)),
        },
        "policy": {
            "preset": draw(st.sampled_from(["strict", "eu_only", "jp_only", "open"])),
            "overrides": overrides,
        },
        "workload": {
            "queries_per_month": draw(st.integers(1_000, 2_000_000)),
            "input_tokens_per_query": draw(st.integers(100, 4_000)),
            "output_tokens_per_query": draw(st.integers(10, 800)),
            "peak_queries_per_second": draw(st.integers(0, 20)) / 2,
            "corpus_tokens": draw(st.sampled_from([0, 1_000_000, 50_000_000])),
            "corpus_refreshes_per_month": draw(st.sampled_from([0, 1])),
            "complex_share": draw(st.integers(0, 10)) / 10,
        },
        "capabilities": {"operates_gpus": draw(st.booleans())},
        "finance": {"currency": draw(st.sampled_from(["EUR", "USD"]))},
    }


def _eligible(profile: OrganisationProfile) -> set[str]:
    advice = sa.advise(profile, kb=KB, as_of=AS_OF)
    return {a.architecture_id for a in advice.assessments if a.eligible}


@given(profiles())
def test_same_input_same_bytes(data: dict[str, Any]) -> None:
    profile = OrganisationProfile.model_validate(data)
    first = sa.render_json(sa.advise(profile, kb=KB, as_of=AS_OF))
    again = sa.render_json(sa.advise(OrganisationProfile.model_validate(data), kb=KB, as_of=AS_OF))
    assert first == again


@given(profiles(), st.sampled_from(DATA_CLASSES))
def test_keeping_a_class_on_premises_never_adds_eligibility(
    data: dict[str, Any], data_class: str
) -> None:
    before = _eligible(OrganisationProfile.model_validate(data))
    tighter = {
        **data,
        "policy": {
            **data["policy"],
            "overrides": {**data["policy"]["overrides"], data_class: {"leave_premises": False}},
        },
    }
    after = _eligible(OrganisationProfile.model_validate(tighter))
    assert after <= before


@given(profiles())
def test_recommended_is_eligible_and_cheapest(data: dict[str, Any]) -> None:
    advice = sa.advise(OrganisationProfile.model_validate(data), kb=KB, as_of=AS_OF)
    eligible = [a for a in advice.assessments if a.eligible]
    if advice.recommended is None:
        assert not eligible or advice.blocked_use_cases
        return
    chosen = next(a for a in eligible if a.architecture_id == advice.recommended.architecture_id)
    assert chosen.rank == 1 and chosen.cost is not None
    for other in eligible:
        assert other.cost is not None
        assert chosen.cost.monthly_total.typical <= other.cost.monthly_total.typical
        total = other.cost.monthly_total
        assert total.low <= total.typical <= total.high
        assert total.typical == sum(c.monthly_cost for c in other.cost.components)
        for c in other.cost.components:
            assert c.monthly_cost == c.monthly_quantity * c.unit_price
