from __future__ import annotations

import datetime as dt
import os
from pathlib import Path

import pytest
from hypothesis import HealthCheck, Phase, settings

import sovereign_advisor as sa

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
    max_examples=200,
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
