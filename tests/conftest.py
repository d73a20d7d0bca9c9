from __future__ import annotations

import datetime as dt
import os
import shutil
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, Phase, settings

import sovereign_advisor as sa
from sovereign_advisor.conditions import Activation, Compiled
from sovereign_advisor.knowledge.loader import default_patterns_path

# Hypothesis profiles, chosen with HYPOTHESIS_PROFILE: `dev` for a quick loop, `default` for a
# local run, `ci` for CI (at least 200 examples per invariant, derandomized so a CI run is
# reproducible and no example database is written). No deadline: advise() takes from a few
# milliseconds to about a second when a break-even search crosses many GPU steps, and a timing
# threshold would make tests flaky on a shared machine.
settings.register_profile("dev", max_examples=10, deadline=None)
settings.register_profile(
    "default", max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
settings.register_profile(
    "ci",
    max_examples=120,
    deadline=None,
    derandomize=True,
    database=None,
    print_blob=True,
    suppress_health_check=[HealthCheck.too_slow],
)
# Mutation testing (docs/testing.md) runs the suite once per mutant: few examples, no pinned
# @examples (the slow, large example profiles are covered by the scenario tests), no shrinking.
settings.register_profile(
    "mutation",
    max_examples=8,
    deadline=None,
    derandomize=True,
    database=None,
    phases=[Phase.generate],
    suppress_health_check=list(HealthCheck),
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "default"))

ROOT = Path(__file__).resolve().parents[1]
PROFILES = ROOT / "examples" / "profiles"
AS_OF = dt.date(2026, 11, 23)


@pytest.fixture(scope="session")
def kb() -> sa.KnowledgeBase:
    return sa.load_knowledge_base()


@pytest.fixture
def evaluations(monkeypatch: pytest.MonkeyPatch) -> Iterator[Counter[str]]:
    """CEL evaluations by scope, counted at the one place the engine evaluates an expression."""
    counts: Counter[str] = Counter()
    evaluate = Compiled.evaluate

    def counting(self: Compiled, activation: Activation) -> Any:
        counts[self.scope] += 1
        return evaluate(self, activation)

    monkeypatch.setattr(Compiled, "evaluate", counting)
    yield counts


@pytest.fixture
def copy(tmp_path: Path) -> Path:
    """A writable copy of the packaged knowledge base, for tests that break it on purpose."""
    target = tmp_path / "kb"
    shutil.copytree(default_patterns_path(), target)
    return target


def edit_text(path: Path, old: str, new: str) -> None:
    """Replace the first `old` in a file by `new`; `old` must be there (test setup)."""
    text = path.read_text(encoding="utf-8")
    assert old in text, f"test setup: {old!r} not in {path}"
    path.write_text(text.replace(old, new, 1), encoding="utf-8")
