"""Shared constrained types and the base model every schema is generated from."""

from __future__ import annotations

import ast
import inspect
import linecache
import math
import re
import sys
from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PlainSerializer,
    StrictBool,
)
from pydantic_core import PydanticCustomError


class Model(BaseModel):
    """Base for every input and knowledge-base record: strict, immutable, self-describing.

    Each field's description is its attribute docstring (the string under it), as pydantic's
    `use_attribute_docstrings` would set it; `attribute_docstrings` reads them from one parse of
    each module instead of one per class, which halves the cost of importing the models.
    Validators are built when a model is first used (`defer_build`): a program that only
    advises never builds the ones it does not need, and a file model builds its records' schemas
    inside its own instead of beside it."""

    model_config = ConfigDict(
        extra="forbid",
        frozen=True,
        validate_default=True,
        defer_build=True,
    )

    @classmethod
    def __pydantic_init_subclass__(cls, **kwargs: Any) -> None:
        super().__pydantic_init_subclass__(**kwargs)
        docs = attribute_docstrings(cls)
        described = False
        for name, info in cls.__pydantic_fields__.items():
            if info.description is None and name in docs:
                info.description = docs[name]
                described = True
        if described and cls.__pydantic_complete__:  # built already (defer_build turned off)
            cls.model_rebuild(force=True)


class _AttributeDocs(ast.NodeVisitor):
    """pydantic's attribute-docstring rule: a string statement right after `name: type ...`
    documents `name`; nested classes and functions are not looked into."""

    def __init__(self) -> None:
        self.target: str | None = None
        self.attrs: dict[str, str] = {}
        self.previous: type[ast.AST] | None = None

    def visit(self, node: ast.AST) -> Any:
        # Only statements can hold attribute docstrings: an expression (or keyword, argument...)
        # is not walked into, which changes nothing, as `previous` ends up as its type anyway.
        result = (
            super().visit(node)
            if isinstance(node, ast.stmt | ast.excepthandler | ast.match_case)
            else None
        )
        self.previous = type(node)
        return result

    def visit_AnnAssign(self, node: ast.AnnAssign) -> None:
        if isinstance(node.target, ast.Name):
            self.target = node.target.id

    def visit_Expr(self, node: ast.Expr) -> None:
        value = node.value
        if (
            isinstance(value, ast.Constant)
            and isinstance(value.value, str)
            and self.previous is ast.AnnAssign
        ):
            if self.target:
                self.attrs[self.target] = inspect.cleandoc(value.value)
            self.target = None

    def visit_ClassDef(self, node: ast.ClassDef) -> None:
        pass

    def visit_FunctionDef(self, node: ast.FunctionDef) -> None:
        pass

    def visit_AsyncFunctionDef(self, node: ast.AsyncFunctionDef) -> None:
        pass


_DOCS: dict[str, tuple[list[str], dict[str, list[dict[str, str]]]]] = {}
"""Source file -> (its lines as linecache holds them, attribute docs of each class by
qualified name). Rebuilt when linecache's lines change."""


def _class_docs(tree: ast.Module) -> dict[str, list[dict[str, str]]]:
    out: dict[str, list[dict[str, str]]] = {}

    def walk(body: list[ast.AST], prefix: str) -> None:
        for node in body:
            if isinstance(node, ast.ClassDef):
                visitor = _AttributeDocs()
                visitor.generic_visit(node)
                out.setdefault(prefix + node.name, []).append(visitor.attrs)
                walk(list(node.body), f"{prefix}{node.name}.")
            elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                walk(list(node.body), f"{prefix}{node.name}.<locals>.")
            else:  # `if`, `try`, `with`...: classes inside keep the enclosing prefix
                walk(
                    [
                        child
                        for child in ast.iter_child_nodes(node)
                        if isinstance(child, ast.stmt | ast.excepthandler | ast.match_case)
                    ],
                    prefix,
                )

    walk(list(tree.body), "")
    return out


def attribute_docstrings(cls: type) -> dict[str, str]:
    """The attribute docstrings of a class, found by its qualified name in its module's source
    ({} when the source cannot be read or several classes there share the name)."""
    module = sys.modules.get(cls.__module__)
    filename = getattr(module, "__file__", None)
    if not filename:
        return {}
    linecache.checkcache(filename)
    lines = linecache.getlines(filename, module.__dict__ if module else None)
    cached = _DOCS.get(filename)
    if cached is None or cached[0] is not lines:
        try:
            tree = ast.parse("".join(lines))
        except SyntaxError:
            return {}
        cached = _DOCS[filename] = (lines, _class_docs(tree))
    found = cached[1].get(cls.__qualname__, [])
    return dict(found[0]) if len(found) == 1 else {}


class FrozenDict(dict):  # type: ignore[type-arg]
    """A dict that refuses changes: the mappings inside a frozen profile stay as validated (a
    share edited to 7 after validation would otherwise be priced). A `dict` subclass, so
    pydantic serialises it and `isinstance(x, dict)` holds."""

    def _refuse(self, *args: object, **kwargs: object) -> None:
        raise TypeError("this mapping belongs to a validated (frozen) profile; use model_copy")

    __setitem__ = __delitem__ = __ior__ = _refuse  # type: ignore[assignment]
    clear = pop = popitem = setdefault = update = _refuse  # type: ignore[assignment]

    def __reduce__(self) -> tuple[type[FrozenDict], tuple[dict[Any, Any]]]:
        return (FrozenDict, (dict(self),))  # pickle and deepcopy without __setitem__

    def __copy__(self) -> FrozenDict:
        return self

    def __deepcopy__(self, memo: dict[int, Any]) -> FrozenDict:
        import copy

        return FrozenDict({copy.deepcopy(k, memo): copy.deepcopy(v, memo) for k, v in self.items()})


def frozen_dict(value: dict[Any, Any]) -> dict[Any, Any]:
    """`AfterValidator` for a mapping field of a frozen model."""
    return FrozenDict(value)


def shown_value(value: object, limit: int = 60) -> str:
    """A value for an error message: escaped (no newline or terminal escape reaches the
    terminal) and cut to `limit` characters (a 5 MB value is not echoed whole)."""
    text = value if isinstance(value, str) else repr(value)
    text = text.encode("unicode_escape").decode("ascii") if not text.isprintable() else text
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _finite(value: float) -> float:
    if not math.isfinite(value):
        raise ValueError("must be a finite number (not .nan or .inf)")
    return value


def numbers_only(value: object) -> object:
    """Refuse what pydantic would quietly read as a number: `true` (1) and quoted text ("3")."""
    if isinstance(value, bool):
        raise PydanticCustomError("number_type", "must be a number, not true/false")
    if isinstance(value, str):
        if _NUMBER.match(value.strip()):
            raise PydanticCustomError(
                "number_type", "must be a number, not text (remove the quotes)"
            )
        raise PydanticCustomError(
            "number_type",
            "must be a number, not text (write digits such as 90, 0.5 or 1e-05; YAML 1.1 forms "
            "such as 1:30, 0b11 or 1_000 are not numbers)",
        )
    if isinstance(value, float) and not math.isfinite(value):
        raise PydanticCustomError("finite_number", "must be a finite number (not .nan or .inf)")
    return value


_NUMBER = re.compile(r"^[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?$")

MAX_DECIMAL_EXPONENT = 24
"""Exact amounts lie within 10^-24 .. 10^24: beyond, exact arithmetic on the value costs time
without bound (`1E-999990` has a denominator of a million digits) and no price or assumption
needs it."""

MAX_DECIMAL_DIGITS = 34
"""Most significant digits of an exact amount (IEEE decimal128's precision)."""


def bounded_decimal(value: Decimal) -> Decimal:
    """Refuse a decimal too large, too small or too precise to be a real amount."""
    if not value.is_finite() or value.is_zero():
        return value
    digits = len(value.as_tuple().digits)
    if abs(value.adjusted()) > MAX_DECIMAL_EXPONENT or digits > MAX_DECIMAL_DIGITS:
        raise PydanticCustomError(
            "decimal_precision",
            "must lie between 1e-{limit} and 1e{limit} with at most {digits} significant "
            "digits (got about 1e{exponent}, {n} digits)",
            {
                "limit": MAX_DECIMAL_EXPONENT,
                "digits": MAX_DECIMAL_DIGITS,
                "exponent": value.adjusted(),
                "n": digits,
            },
        )
    return value


def _not_bool(value: object) -> object:
    if isinstance(value, bool):
        raise PydanticCustomError("decimal_type", "must be an amount, not true/false")
    if isinstance(value, str) and len(value) > 100:  # refused before Decimal() reads it
        raise PydanticCustomError("decimal_type", "must be an amount of at most 100 characters")
    return value


ISO_3166_ALPHA_2 = frozenset(
    re.findall(
        "[A-Z]{2}",
        """
        AD AE AF AG AI AL AM AO AQ AR AS AT AU AW AX AZ BA BB BD BE BF BG BH BI BJ BL BM BN BO BQ
        BR BS BT BV BW BY BZ CA CC CD CF CG CH CI CK CL CM CN CO CR CU CV CW CX CY CZ DE DJ DK DM
        DO DZ EC EE EG EH ER ES ET FI FJ FK FM FO FR GA GB GD GE GF GG GH GI GL GM GN GP GQ GR GS
        GT GU GW GY HK HM HN HR HT HU ID IE IL IM IN IO IQ IR IS IT JE JM JO JP KE KG KH KI KM KN
        KP KR KW KY KZ LA LB LC LI LK LR LS LT LU LV LY MA MC MD ME MF MG MH MK ML MM MN MO MP MQ
        MR MS MT MU MV MW MX MY MZ NA NC NE NF NG NI NL NO NP NR NU NZ OM PA PE PF PG PH PK PL PM
        PN PR PS PT PW PY QA RE RO RS RU RW SA SB SC SD SE SG SH SI SJ SK SL SM SN SO SR SS ST SV
        SX SY SZ TC TD TF TG TH TJ TK TL TM TN TO TR TT TV TW TZ UA UG UM US UY UZ VA VC VE VG VI
        VN VU WF WS YE YT ZA ZM ZW
        """,
    )
)
"""The 249 officially assigned ISO 3166-1 alpha-2 codes."""

_NOT_ISO = {
    "UK": "GB",
    "EL": "GR",
    "EN": "GB",
    "DU": "DE",
    "JA": "JP",
    "JAP": "JP",
    "GER": "DE",
    "FRA": "FR",
    "USA": "US",
}
"""Codes people write that are not ISO 3166-1 alpha-2 (EU and language codes, alpha-3)."""


def _country(value: object) -> object:
    if not isinstance(value, str) or value in ISO_3166_ALPHA_2:
        return value
    hint = _NOT_ISO.get(value.upper())
    if hint is None and value.upper() in ISO_3166_ALPHA_2:
        hint = value.upper()
    did = f"; did you mean `{hint}`?" if hint else ""
    raise ValueError(
        f"`{shown_value(value)}` is not an ISO 3166-1 alpha-2 country code (two upper-case "
        "letters such as "
        f"FR, DE, JP, US){did}"
    )


def _jurisdiction(value: object) -> object:
    return value if value == "EU" else _country(value)


_ID = re.compile(r"^[a-z0-9][a-z0-9_.@\-]*$")

Id = Annotated[str, Field(pattern=_ID.pattern, min_length=1, max_length=120)]
"""A record id: lower-case letters, digits, `_`, `.` and `-`."""

# The check runs before the pattern so that `uk` and `France` get a hint; the pattern stays for
# the generated JSON Schema.
CountryCode = Annotated[str, Field(pattern=r"^[A-Z]{2}$"), BeforeValidator(_country)]
"""An officially assigned ISO 3166-1 alpha-2 country code, upper case (e.g. `FR`)."""

JurisdictionCode = Annotated[str, Field(pattern=r"^([A-Z]{2}|EU)$"), BeforeValidator(_jurisdiction)]
"""A jurisdiction that can compel access to data: `EU` or an ISO 3166-1 alpha-2 code."""

Share = Annotated[
    float, Field(ge=0.0, le=1.0), BeforeValidator(numbers_only), AfterValidator(_finite)
]
"""A fraction in [0, 1]."""

NonNegativeFloat = Annotated[
    float, Field(ge=0.0), BeforeValidator(numbers_only), AfterValidator(_finite)
]
"""A finite number >= 0."""

PositiveFloat = Annotated[
    float, Field(gt=0.0), BeforeValidator(numbers_only), AfterValidator(_finite)
]
"""A finite number > 0."""

Flag = StrictBool
"""`true` or `false` (not `yes`, `1` or `"true"`)."""


def _as_number(value: Decimal) -> int | float:
    return int(value) if value == value.to_integral_value() else float(value)


Amount = Annotated[
    Decimal,
    Field(ge=0, allow_inf_nan=False),
    BeforeValidator(numbers_only),
    AfterValidator(bounded_decimal),
    PlainSerializer(_as_number, when_used="json"),
]
"""A non-negative, finite amount of money: a number, like every other number of a profile
(written back to JSON as a number, so that a profile round-trips)."""

Money = Annotated[
    Decimal,
    Field(ge=0, allow_inf_nan=False),
    BeforeValidator(_not_bool),
    AfterValidator(bounded_decimal),
]
"""An exact, non-negative amount of money in the currency named next to it."""

Currency = Literal["EUR", "USD", "JPY", "GBP", "CHF", "SEK", "DKK", "PLN", "CZK", "HUF"]
"""A currency the advisor can report in."""

DataClass = Literal[
    "public", "internal", "confidential", "personal", "special_category", "classified"
]
"""The most sensitive content a query (or corpus document) carries."""

DATA_CLASSES: tuple[DataClass, ...] = (
    "public",
    "internal",
    "confidential",
    "personal",
    "special_category",
    "classified",
)

Status = Literal["binding", "provisional", "guidance"]
"""How far a record can be relied on: `binding` (checked against a primary source),
`provisional` (secondary or unverified), `guidance` (non-binding)."""

Sector = Literal[
    "banking",
    "insurance",
    "healthcare",
    "public_sector",
    "defence",
    "manufacturing",
    "retail",
    "telecom",
    "technology",
    "energy",
    "education",
    "other",
]

AnnexIIIArea = Literal[
    "none",
    "biometrics",
    "critical_infrastructure",
    "education",
    "employment",
    "essential_services",
    "law_enforcement",
    "migration",
    "justice_democracy",
]

ProhibitedPractice = Literal[
    "none",
    "manipulation",
    "exploiting_vulnerabilities",
    "social_scoring",
    "predictive_policing",
    "facial_scraping",
    "workplace_emotion_recognition",
    "biometric_categorisation",
    "realtime_remote_biometric_identification",
    "intimate_deepfakes",
    "csam_generation",
]

Preset = Literal["strict", "eu_only", "jp_only", "open"]
