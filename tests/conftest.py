from __future__ import annotations

import datetime as dt
import os
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings

import sovereign_advisor as sa

settings.register_profile("dev", max_examples=10, deadline=None)
settings.register_profile(
    "default", max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
settings.register_profile(
    "ci", max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "default"))

ROOT = Path(__file__).resolve().parents[1]
PROFILES = ROOT / "examples" / "profiles"
AS_OF = dt.date(2026, 11, 23)


@pytest.fixture(scope="session")
def kb() -> sa.KnowledgeBase:
    return sa.load_knowledge_base()
