"""CEL conditions: the one module that touches the `cel-expr-python` binding.

Rules in the knowledge base state *when* a law bites as a CEL expression over the variables of
one scope. Expressions are type-checked when the knowledge base loads, so a misspelt field or a
comparison of a string with a number fails loading, not advice. Evaluation errors come back from
the runtime as values; they are raised here, never read as `false`.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from cel_expr_python import cel

Scope = Literal["organisation", "use_case", "venue", "flow"]

_STR = cel.Type.STRING
_BOOL = cel.Type.BOOL
_LIST_STR = cel.Type.List(cel.Type.STRING)

_COMMON: dict[str, Any] = {
    "blocs": cel.Type.Map(cel.Type.STRING, _LIST_STR),
}
_ORGANISATION: dict[str, Any] = {
    "org.name": _STR,
    "org.headquarters": _STR,
    "org.operates_in": _LIST_STR,
    "org.premises_in": _STR,
    "org.sectors": _LIST_STR,
    "org.sme": _BOOL,
    "org.small_mid_cap": _BOOL,
    "org.us_person": _BOOL,
    "org.provides_models": _BOOL,
    "data.subjects_in": _LIST_STR,
    "data.classes": _LIST_STR,
}
_USE_CASE: dict[str, Any] = {
    "use_case.name": _STR,
    "use_case.annex_iii_area": _STR,
    "use_case.prohibited_practice": _STR,
    "use_case.profiles_people": _BOOL,
    "use_case.interacts_with_people": _BOOL,
    "use_case.generates_synthetic_content": _BOOL,
    "use_case.military_only": _BOOL,
    "use_case.placed_on_market": _BOOL,
    "use_case.annex_i_product": _BOOL,
}
_VENUE: dict[str, Any] = {
    "venue.id": _STR,
    "venue.kind": _STR,
    "venue.operator": _STR,
    "venue.seat": _STR,
    "venue.controlled_from": _STR,
    "venue.data_locations": _LIST_STR,
    "venue.certifications": _LIST_STR,
    "venue.on_premises": _BOOL,
    "venue.sub_processor_control": _LIST_STR,
    "venue.sub_processor_locations": _LIST_STR,
    "venue.optional_sub_processor_control": _LIST_STR,
    "venue.present_in": _LIST_STR,
}
_FLOW: dict[str, Any] = {
    "flow.data_class": _STR,
    "venue.exposure": _LIST_STR,
}

VARIABLES: dict[Scope, dict[str, Any]] = {
    "organisation": {**_COMMON, **_ORGANISATION},
    "use_case": {**_COMMON, **_ORGANISATION, **_USE_CASE},
    "venue": {**_COMMON, **_VENUE},
    "flow": {**_COMMON, **_ORGANISATION, **_VENUE, **_FLOW},
}
"""The variables a condition may use, by scope (documented in patterns/README.md)."""


def string_variables(scope: Scope) -> tuple[str, ...]:
    """The variables of a scope whose values are strings (what `cites_for` may key on)."""
    return tuple(sorted(k for k, v in VARIABLES[scope].items() if v == _STR))


_ENVS = {scope: cel.NewEnv(variables=variables) for scope, variables in VARIABLES.items()}

_POSITION = re.compile(r"<input>:(\d+):(\d+): (.*?)\n", re.DOTALL)


class ConditionError(ValueError):
    """A CEL expression that does not compile or does not have the required type."""


@dataclass(frozen=True)
class Compiled:
    """A compiled, type-checked CEL expression."""

    source: str
    scope: Scope
    _expression: Any

    def evaluate(self, activation: Activation) -> Any:
        """Evaluate; raise `EvaluationError` when the runtime returns an error value or fails
        (the iteration budget of nested comprehensions is an exception, not a value)."""
        try:
            value = self._expression.eval(activation.cel)
        except RuntimeError as error:
            raise EvaluationError(f"`{self.source}`: {error}") from None
        result = value.value()
        if value.type() == cel.Type.ERROR:
            raise EvaluationError(f"`{self.source}`: {result}")
        return value.plain_value()

    @functools.cached_property
    def variables(self) -> frozenset[str]:
        """The variables of its scope the expression reads, as the type checker resolved them
        (every identifier it names, whatever the spacing or nesting): its value is a function
        of their values alone, so results may be kept by them. All of the scope's variables
        when the checked form cannot be read (never fewer than it reads)."""
        declared = VARIABLES[self.scope].keys()
        names = _referenced_names(bytes(self._expression.serialize()))
        return frozenset(declared if names is None else declared & names)


_CHECKED_EXPR = b"type.googleapis.com/cel.expr.CheckedExpr"


def _fields(data: bytes) -> list[tuple[int, bytes | int]] | None:
    """The (field number, value) pairs of a protocol-buffer message: bytes for a
    length-delimited field, an int otherwise; None when `data` is not a well-formed message."""
    out: list[tuple[int, bytes | int]] = []
    i = 0

    def varint() -> int:
        nonlocal i
        value = shift = 0
        while True:
            if i >= len(data) or shift > 63:
                raise ValueError
            byte = data[i]
            i += 1
            value |= (byte & 0x7F) << shift
            shift += 7
            if byte < 0x80:
                return value

    try:
        while i < len(data):
            tag = varint()
            number, wire = tag >> 3, tag & 7
            if wire == 0:
                out.append((number, varint()))
            elif wire == 2:
                size = varint()
                if i + size > len(data):
                    return None
                out.append((number, data[i : i + size]))
                i += size
            elif wire in (1, 5):
                width = 8 if wire == 1 else 4
                if i + width > len(data):
                    return None
                out.append((number, int.from_bytes(data[i : i + width], "little")))
                i += width
            else:
                return None
    except ValueError:
        return None
    return out


def _referenced_names(serialized: bytes) -> set[str] | None:
    """Every name in the reference map of a checked expression (`google.protobuf.Any` holding a
    `cel.expr.CheckedExpr`: field 2, entries whose value's field 1 is the name), or None when
    the bytes are not one: the caller then assumes every variable is read."""
    wrapper = dict(_fields(serialized) or ())
    checked = wrapper.get(2)
    if wrapper.get(1) != _CHECKED_EXPR or not isinstance(checked, bytes):
        return None
    names: set[str] = set()
    for number, entry in _fields(checked) or [(0, b"")]:
        if number == 0:
            return None
        if number != 2 or not isinstance(entry, bytes):
            continue
        reference = dict(_fields(entry) or ()).get(2)
        if not isinstance(reference, bytes):
            return None
        for field, value in _fields(reference) or [(0, b"")]:
            if field == 0:
                return None
            if field == 1 and isinstance(value, bytes):
                names.add(value.decode("utf-8", "replace"))
    return names


class EvaluationError(RuntimeError):
    """The CEL runtime returned an error value."""


class Activation:
    """Variable bindings for one subject (an organisation, a use case, a venue, a flow)."""

    __slots__ = ("cel", "scope")

    def __init__(self, scope: Scope, data: Mapping[str, Any]) -> None:
        missing = VARIABLES[scope].keys() - data.keys()
        if missing:
            raise KeyError(f"activation for scope {scope} lacks {sorted(missing)}")
        self.scope = scope
        self.cel = _ENVS[scope].Activation(dict(data))


def _describe(message: str) -> str:
    match = _POSITION.search(message + "\n")
    if match is None:
        return message.strip().splitlines()[0]
    line, column, text = match.groups()
    return f"line {line}, column {int(column) + 1}: {text.strip()}"


def compile_expression(source: str, scope: Scope, *, returns: Literal["bool", "list"]) -> Compiled:
    """Compile and type-check an expression for a scope.

    `returns="bool"` for conditions, `"list"` for a list of jurisdiction codes (`exposes_to`).
    """
    try:
        expression = _ENVS[scope].compile(source)
    except RuntimeError as error:
        raise ConditionError(_describe(str(error))) from None
    kind = expression.return_type()
    if returns == "bool":
        ok = kind == _BOOL
        wanted = "bool"
    else:
        ok = _LIST_STR.is_assignable_from(kind) or kind.name() == "LIST<DYN>"
        wanted = "list(string)"
    if not ok:
        raise ConditionError(f"has type {kind.name().lower()}, needs {wanted}")
    return Compiled(source, scope, expression)


_BLOC_KEY = re.compile(r"""blocs\s*\[\s*(?:'([^']*)'|"([^"]*)")\s*\]""")


def bloc_keys(source: str) -> tuple[str, ...]:
    """The bloc codes an expression looks up literally (`blocs['EU']`): the loader checks them
    against the catalogue, since a missing key is an evaluation error, not `false`."""
    return tuple(a or b for a, b in _BLOC_KEY.findall(source))


def trial_activation(scope: Scope, blocs: Mapping[str, list[str]]) -> Activation:
    """Bindings of the right type for every variable of a scope (`FR`, `[FR]`, `false`): an
    expression that fails on them fails on every subject, and is refused when loading."""
    data: dict[str, Any] = {}
    for name, kind in VARIABLES[scope].items():
        if name == "blocs":
            data[name] = {k: list(v) for k, v in blocs.items()}
        elif kind == _STR:
            data[name] = "FR"
        elif kind == _BOOL:
            data[name] = False
        else:
            data[name] = ["FR"]
    return Activation(scope, data)
