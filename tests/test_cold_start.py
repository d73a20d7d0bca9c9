"""Cold start: what a fresh `import sovereign_advisor` costs, counted as work (never seconds).

The models build their validators when first used (`defer_build`) and take their field
descriptions from attribute docstrings read by `sovereign_advisor.types.attribute_docstrings`;
these tests pin both to what pydantic's own `use_attribute_docstrings` would give.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from pydantic._internal._docs_extraction import extract_docstrings_from_cls

from sovereign_advisor import advice, profile
from sovereign_advisor.knowledge import models
from sovereign_advisor.types import Model, attribute_docstrings


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
