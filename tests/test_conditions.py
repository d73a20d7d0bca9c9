"""The CEL wrapper: type-checked compilation, errors raised rather than read as false."""

from __future__ import annotations

import pytest

from sovereign_advisor.conditions import (
    VARIABLES,
    Activation,
    ConditionError,
    EvaluationError,
    compile_expression,
)


def _venue(**overrides: object) -> Activation:
    data: dict[str, object] = {
        "blocs": {"EU": ["FR", "DE"]},
        "venue.id": "x",
        "venue.kind": "api",
        "venue.operator": "X",
        "venue.seat": "FR",
        "venue.controlled_from": "US",
        "venue.data_locations": ["FR"],
        "venue.certifications": [],
        "venue.on_premises": False,
        "venue.sub_processor_control": [],
        "venue.sub_processor_locations": [],
        "venue.optional_sub_processor_control": [],
        "venue.present_in": [],
    }
    data.update(overrides)
    return Activation("venue", data)


def test_conditions_evaluate() -> None:
    rule = compile_expression(
        "venue.controlled_from == 'US' && !venue.on_premises", "venue", returns="bool"
    )
    assert rule.evaluate(_venue()) is True
    assert rule.evaluate(_venue(**{"venue.controlled_from": "FR"})) is False


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("venue.controled_from == 'US'", "line 1, column 7: undeclared reference"),
        ("venue.seat == 1", "no matching overload"),
        ("venue.seat ==", "Syntax error"),
        ("venue.seat", "has type string, needs bool"),
        ("org.sector == 'banking'", "undeclared reference to 'org.sector'"),
    ],
)
def test_bad_conditions_fail_to_compile(source: str, expected: str) -> None:
    with pytest.raises(ConditionError, match=expected):
        compile_expression(source, "venue", returns="bool")


def test_exposes_to_must_be_a_list_of_strings() -> None:
    compile_expression("venue.data_locations + [venue.seat]", "venue", returns="list")
    with pytest.raises(ConditionError, match="needs list"):
        compile_expression("[1]", "venue", returns="list")


def test_evaluation_errors_are_raised() -> None:
    rule = compile_expression("blocs['XX'].size() > 0", "venue", returns="bool")
    with pytest.raises(EvaluationError, match="Key not found"):
        rule.evaluate(_venue())


def test_every_scope_declares_blocs() -> None:
    assert all("blocs" in variables for variables in VARIABLES.values())
