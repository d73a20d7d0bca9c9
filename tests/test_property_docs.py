"""The three worked properties that open docs/property-testing.md, run as written.

The code blocks of the section are extracted from the document and executed in order in one
namespace, so the document cannot drift from what runs: each property must hold, and each
deliberately wrong variant must fail with the counterexample message the document shows (numbers
may move with prices; the architecture, venue and wording may not).
"""

from __future__ import annotations

import linecache
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from hypothesis import Phase, settings

DOC = Path(__file__).resolve().parents[1] / "docs" / "property-testing.md"
SECTION = ("## Three worked properties, one per role", "## Writing your own")

# (role, the property's test, the wrong variant's test)
ROLES = [
    (
        "data-protection officer",
        "test_health_data_stays_on_the_premises",
        "test_health_data_stays_on_the_premises_without_refusing_misses",
    ),
    (
        "controller",
        "test_the_recommendation_stays_under_budget_unless_flagged",
        "test_the_recommendation_stays_under_budget",
    ),
    (
        "CTO",
        "test_no_us_controlled_venue_for_confidential_data",
        "test_no_us_controlled_venue_for_confidential_data_without_the_cloud_act",
    ),
]


def _section() -> str:
    text = DOC.read_text(encoding="utf-8")
    start, end = text.index(SECTION[0]), text.index(SECTION[1])
    assert start == text.index("\n## ") + 1, "the worked properties open the document"
    return text[start:end]


def _blocks(kind: str) -> list[str]:
    return re.findall(rf"```{kind}\n(.*?)```", _section(), flags=re.DOTALL)


@pytest.fixture(scope="module")
def namespace() -> dict[str, Any]:
    code = "\n\n".join(_blocks("python"))
    # Hypothesis reads a composite strategy's source; make the extracted code's lines findable
    name = f"<{DOC.name}: worked properties>"
    linecache.cache[name] = (len(code), None, code.splitlines(keepends=True), name)
    found: dict[str, Any] = {"__name__": "property_testing_doc"}
    exec(compile(code, name, "exec"), found)  # noqa: S102 - the document is ours
    return found


def _shown_failures() -> dict[str, str]:
    """The test each shown counterexample belongs to -> the first line of its message."""
    shown = {}
    for block in _blocks("text"):
        first, second = block.splitlines()[:2]
        name = re.match(r"Failing test case: (\w+)\(", second)
        assert first.startswith("AssertionError: ") and name, block[:200]
        shown[name[1]] = first.removeprefix("AssertionError: ")
    return shown


def _pattern(message: str) -> str:
    """The message with its numbers as wildcards: prices and volumes may change."""
    parts = re.split(r"\d[\d.]*", message)
    return r"[\d.]+".join(re.escape(p) for p in parts)


def test_the_section_shows_one_property_and_one_counterexample_per_role() -> None:
    shown = _shown_failures()
    assert sorted(shown) == sorted(wrong for _, _, wrong in ROLES)
    for role, _, _ in ROLES:
        assert f"### The {role}" in _section()


@pytest.mark.parametrize(("role", "holds", "fails"), ROLES, ids=[r[0] for r in ROLES])
def test_the_property_holds_and_its_wrong_variant_fails_as_shown(
    namespace: dict[str, Any], role: str, holds: str, fails: str
) -> None:
    run: Callable[[], None] = namespace[holds]
    run()
    wrong: Callable[[], None] = namespace[fails]
    with pytest.raises(AssertionError) as failure:
        wrong()
    message = str(failure.value).splitlines()[0]
    if Phase.shrink not in settings.default.phases:  # e.g. the `mutation` profile: not shrunk
        return
    assert re.fullmatch(_pattern(_shown_failures()[fails]), message), (
        f"the {role}'s counterexample changed; update docs/property-testing.md: {message}"
    )
    notes = "\n".join(getattr(failure.value, "__notes__", []))
    assert f"Failing test case: {fails}(" in notes  # Hypothesis shrank and printed it
