"""The Advice as JSON: the machine-readable contract (its schema is `advice.schema.json`)."""

from __future__ import annotations

from sovereign_advisor.advice import Advice


def render_json(advice: Advice) -> str:
    """Deterministic JSON: same advice, same bytes."""
    return advice.model_dump_json(indent=2) + "\n"
