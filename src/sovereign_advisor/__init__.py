"""sovereign-advisor: which LLM deployment architecture to run, given where your data may go,
which laws reach you, and what each option costs.

    import datetime, sovereign_advisor as sa
    profile = sa.load_profile("examples/profiles/bank_strict.yaml")
    advice = sa.advise(profile, as_of=datetime.date(2026, 11, 23))
    advice.recommended.architecture_id
"""

import typing

from sovereign_advisor.advice import ANALYSES, Advice, Analysis
from sovereign_advisor.engine.advise import advise
from sovereign_advisor.engine.venue_choice import ServingCost, serving_cost
from sovereign_advisor.errors import InputError, KnowledgeBaseError, RuleEvaluationError
from sovereign_advisor.knowledge.loader import KnowledgeBase, load_knowledge_base
from sovereign_advisor.profile import OrganisationProfile, load_profile, replace

if typing.TYPE_CHECKING:
    from sovereign_advisor.engine.batch import advise_many, iter_advise_many
    from sovereign_advisor.views.html import render_html
    from sovereign_advisor.views.json import render_json
    from sovereign_advisor.views.markdown import render_markdown
    from sovereign_advisor.views.text import render_text

_LAZY = {
    "advise_many": "sovereign_advisor.engine.batch",
    "iter_advise_many": "sovereign_advisor.engine.batch",
    "render_html": "sovereign_advisor.views.html",
    "render_json": "sovereign_advisor.views.json",
    "render_markdown": "sovereign_advisor.views.markdown",
    "render_text": "sovereign_advisor.views.text",
}
"""Public names imported on first use (PEP 562): advising one profile does not need them."""


def __getattr__(name: str) -> typing.Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'sovereign_advisor' has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))


__all__ = [
    "ANALYSES",
    "Advice",
    "Analysis",
    "InputError",
    "KnowledgeBase",
    "KnowledgeBaseError",
    "OrganisationProfile",
    "RuleEvaluationError",
    "ServingCost",
    "advise",
    "advise_many",
    "iter_advise_many",
    "load_knowledge_base",
    "load_profile",
    "render_html",
    "render_json",
    "render_markdown",
    "render_text",
    "replace",
    "serving_cost",
]

__version__ = "0.1.0"
