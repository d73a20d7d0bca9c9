"""Cold start: what a fresh `import sovereign_advisor` costs, counted as work (never seconds).

The models build their validators when first used (`defer_build`) and take their field
descriptions from attribute docstrings read by `sovereign_advisor.types.attribute_docstrings`;
these tests pin both to what pydantic's own `use_attribute_docstrings` would give.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator

import pytest
from pydantic import ConfigDict
from pydantic._internal._docs_extraction import extract_docstrings_from_cls

from sovereign_advisor import advice, profile
from sovereign_advisor.knowledge import models
from sovereign_advisor.types import Model, attribute_docstrings

from .conftest import PROFILES


def _subclasses(cls: type[Model]) -> Iterator[type[Model]]:
    for sub in cls.__subclasses__():
        yield sub
        yield from _subclasses(sub)


MODELS = sorted(
    {
        c
        for c in _subclasses(Model)
        if c.__module__ in (advice.__name__, profile.__name__, models.__name__)
    },
    key=lambda c: (c.__module__, c.__qualname__),
)


def test_every_model_module_is_covered() -> None:
    assert len(MODELS) >= 45
    assert {c.__module__ for c in MODELS} == {advice.__name__, profile.__name__, models.__name__}


@pytest.mark.parametrize("cls", MODELS, ids=lambda c: c.__qualname__)
def test_attribute_docstrings_are_pydantics(cls: type[Model]) -> None:
    assert attribute_docstrings(cls) == extract_docstrings_from_cls(cls, use_inspect=True)


@pytest.mark.parametrize("cls", MODELS, ids=lambda c: c.__qualname__)
def test_every_documented_field_has_its_docstring_as_description(cls: type[Model]) -> None:
    own = extract_docstrings_from_cls(cls, use_inspect=True)
    inherited: dict[str, str] = {}
    for base in reversed(cls.__mro__[1:]):
        if isinstance(base, type) and issubclass(base, Model) and base is not Model:
            inherited.update(extract_docstrings_from_cls(base, use_inspect=True))
    for name, field in cls.model_fields.items():
        if name in own or name in inherited:
            assert field.description is not None, name
        if name in own and field.description != own[name]:
            # only an explicit Field(description=...) may override the docstring
            assert "description" in field._attributes_set, name


def test_attribute_docstrings_of_nested_and_local_classes() -> None:
    class Local(Model):
        value: int = 0
        """A local class's field."""

        class Inner(Model):
            other: str = ""
            """Nested."""

    assert Local.model_fields["value"].description == "A local class's field."
    assert Local.Inner.model_fields["other"].description == "Nested."
    assert Local(value=1).value == 1


def test_a_model_built_at_definition_still_gets_its_descriptions() -> None:
    class Eager(Model):
        model_config = ConfigDict(defer_build=False)

        amount: int = 0
        """How much."""

    assert Eager.__pydantic_complete__
    assert Eager.model_json_schema()["properties"]["amount"]["description"] == "How much."


def _fresh_modules(code: str) -> set[str]:
    """The modules a fresh interpreter has imported after running `code`."""
    done = subprocess.run(
        [sys.executable, "-c", code + "\nimport sys, json; print(json.dumps(sorted(sys.modules)))"],
        capture_output=True,
        text=True,
        check=True,
    )
    return set(json.loads(done.stdout.splitlines()[-1]))


COLD_PATH = (
    "import datetime, sovereign_advisor as sa\n"
    "kb = sa.load_knowledge_base()\n"
    f"sa.advise(sa.load_profile({str(PROFILES / 'bank_strict.yaml')!r}), kb=kb,"
    " as_of=datetime.date(2026, 11, 23))"
)

NOT_ON_THE_COLD_PATH = (
    "jsonschema",
    "matplotlib",
    "hypothesis",
    "sovereign_advisor.views.text",
    "sovereign_advisor.views.markdown",
    "sovereign_advisor.views.regenerate",
    "sovereign_advisor.views.chart",
    "sovereign_advisor.views.curves",
    "sovereign_advisor.views.explain",
    "sovereign_advisor.views",
    "sovereign_advisor.views.exclusions",
    "sovereign_advisor.views.scenarios",
    "sovereign_advisor.whatif",
    "sovereign_advisor.views.kb",
    "sovereign_advisor.schema",
    "sovereign_advisor.cli",
    "sovereign_advisor.testing",
)


def test_importing_and_advising_imports_only_what_advising_needs() -> None:
    loaded = _fresh_modules(COLD_PATH)
    assert "sovereign_advisor.engine.advise" in loaded
    assert not [m for m in NOT_ON_THE_COLD_PATH if m in loaded]
    ours = {m for m in loaded if m.startswith("sovereign_advisor")}
    # the package, the engine's 15 step modules (#17 split costing and ranking into 8) and
    # its package, advice, profile, types, errors, formatting, conditions, yamlio, and the
    # knowledge package with its loader, models and snapshot reader
    assert len(ours) <= 29, sorted(ours)


def test_lazy_public_names_still_resolve() -> None:
    loaded = _fresh_modules(
        "import sovereign_advisor as sa\n"
        "assert sa.render_json is sa.views.json.render_json\n"
        "from sovereign_advisor import render_text\n"
        "assert set(sa.__all__) <= set(dir(sa))"
    )
    assert "sovereign_advisor.views.json" in loaded
    assert "jsonschema" not in loaded
