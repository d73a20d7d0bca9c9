"""`sa.replace`: the supported way to derive a profile; `advise` refuses unvalidated ones."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest

import sovereign_advisor as sa
from sovereign_advisor.profile import Policy

ROOT = Path(__file__).resolve().parents[1]
AS_OF = dt.date(2026, 11, 23)
INSURER = sa.load_profile(ROOT / "examples" / "profiles" / "insurer_hybrid.yaml")


def test_replace_changes_one_field_and_validates_again() -> None:
    changed = sa.replace(
        INSURER,
        **{"workload.queries_per_month": 5e6, "use_cases[0].annex_iii_area": "employment"},
    )
    assert changed.workload.queries_per_month == 5e6
    assert changed.use_cases[0].annex_iii_area == "employment"
    assert changed.workload.input_tokens_per_query == INSURER.workload.input_tokens_per_query
    assert INSURER.workload.queries_per_month != 5e6  # the original is untouched
    advice = sa.advise(changed, as_of=AS_OF)
    assert advice.assessments


def test_replace_a_section_with_a_dict_or_a_model() -> None:
    strict = sa.replace(INSURER, policy={"preset": "strict"})
    assert strict.policy == Policy(preset="strict")
    same = sa.replace(INSURER, policy=INSURER.policy)
    assert same == INSURER
    assert sa.replace(INSURER) == INSURER


def test_replace_keeps_what_the_profile_left_out_unset() -> None:
    changed = sa.replace(INSURER, **{"workload.complex_share": 0.2})
    before = sa.advise(INSURER, as_of=AS_OF).assumptions
    after = sa.advise(changed, as_of=AS_OF).assumptions
    assert [a.id for a in before] == [a.id for a in after]
    assert changed.finance.model_fields_set == INSURER.finance.model_fields_set


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"workload.queries_per_month": -1}, r"replace\(\): workload\.queries_per_month: .*-1"),
        ({"workload.queries_per_mont": 1}, "did you mean `queries_per_month`"),
        ({"workload.queries_per_month": 1e9}, "peak_queries_per_second.*below the monthly average"),
        ({"use_cases[7].name": "x"}, r"use_cases\[7\]"),
        ({"policy.preset": "eu"}, r"policy\.preset: .*'eu'"),
        ({"data.query_shares": {"personal": 0.5}}, "sum to 1"),
    ],
)
def test_replace_refuses_bad_values_naming_field_and_value(
    changes: dict[str, Any], message: str
) -> None:
    with pytest.raises(sa.InputError, match=message):
        sa.replace(INSURER, **changes)


def test_replace_needs_a_profile() -> None:
    with pytest.raises(sa.InputError, match="needs an OrganisationProfile"):
        sa.replace({"organisation": {}})  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("update", "field"),
    [
        ({"policy": {"preset": "strict"}}, "policy"),
        ({"workload": {"queries_per_month": 10}}, "workload"),
        ({"organisation": {"name": "x"}}, "organisation"),
        ({"use_cases": ({"name": "chatbot"},)}, r"use_cases\[0\]"),
        (
            {"policy": INSURER.policy.model_copy(update={"overrides": {"personal": {}}})},
            r"policy\.overrides\.personal",
        ),
    ],
)
def test_advise_refuses_an_unvalidated_profile(update: dict[str, Any], field: str) -> None:
    broken = INSURER.model_copy(update=update)
    with pytest.raises(sa.InputError, match=rf"^{field}: a (dict|tuple) where a .* belongs"):
        sa.advise(broken, as_of=AS_OF)
    with pytest.raises(sa.InputError, match=r"sovereign_advisor\.replace"):
        sa.advise(broken, as_of=AS_OF)
