"""Safe YAML reading for profiles and knowledge-base files.

Every way a file can be wrong ends in one `InputError` naming the file and, where YAML gives
one, the line. Before any Python object is built, one pass over the parser's events refuses
non-standard tags, nesting deeper than `MAX_DEPTH`, more than one document and documents that
would expand (through aliases) to more than `MAX_NODES` nodes, so an alias bomb costs no
memory. Files larger than `MAX_BYTES` are refused before they are read. Duplicate keys are
errors at any depth, and booleans follow YAML 1.2 (`true`/`false` only), so the country code
`NO` stays a string.
"""

from __future__ import annotations

import difflib
import math
import re
import types
import typing
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml
from pydantic import BaseModel

from sovereign_advisor.errors import InputError

if TYPE_CHECKING:
    _Base = yaml.SafeLoader
else:  # the C loader is several times faster; the pure-Python one behaves the same
    _Base = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

MAX_BYTES = 5_000_000
"""Files larger than this are refused before they are read."""

MAX_DEPTH = 32
"""Deepest nesting of mappings and sequences accepted (profiles need 4, knowledge-base files 6)."""

MAX_NODES = 200_000
"""Most nodes a document may hold once every alias is expanded (the knowledge base's largest
file holds a few thousand)."""

_YAML = "tag:yaml.org,2002:"
ALLOWED_TAGS = frozenset(
    _YAML + name for name in ("str", "int", "float", "bool", "null", "seq", "map", "timestamp")
)
"""Explicit tags accepted: the standard scalar and collection types. Anything else
(`!!python/object`, `!!binary`, local `!tags`) is refused: nothing in a file executes."""

_BOOL = _YAML + "bool"


class _StrictLoader(_Base):
    """SafeLoader that refuses duplicate keys (PyYAML silently keeps the last one) and reads
    only `true`/`false` as booleans (YAML 1.1 also reads `yes`, `no`, `on`, `off`)."""


_INT, _FLOAT = _YAML + "int", _YAML + "float"

_StrictLoader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag not in (_BOOL, _INT, _FLOAT)]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
_StrictLoader.add_implicit_resolver(
    _BOOL, re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF")
)

# Numbers follow the YAML 1.2 core schema, which JSON's numbers are a subset of: `1e-05` and
# `4e6` are floats, `0350` is 350, and YAML 1.1's `1:30` (90), `0b11001` (25), `0350` (octal
# 232) and `1_000` are text (refused where a number is expected) instead of numbers read
# silently another way.
_INT_12 = re.compile(r"^(?:[-+]?[0-9]+|0o[0-7]+|0x[0-9a-fA-F]+)$")
_FLOAT_12 = re.compile(
    r"^(?:[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?"
    r"|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$"
)
_StrictLoader.add_implicit_resolver(_INT, _INT_12, list("-+0123456789"))
_StrictLoader.add_implicit_resolver(_FLOAT, _FLOAT_12, list("-+.0123456789"))

MAX_DIGITS = 30
"""Most digits an integer may have (a larger one is a typo, and exact arithmetic on it costs)."""


def _int_12(loader: yaml.SafeLoader, node: yaml.ScalarNode) -> int:
    text = str(node.value)
    if not _INT_12.match(text):
        raise ValueError(text)
    if len(text) > MAX_DIGITS + 2:
        raise ValueError(f"more than {MAX_DIGITS} digits")
    if text.startswith(("0o", "0x")):
        return int(text[2:], 8 if text[1] == "o" else 16)
    return int(text)


def _float_12(loader: yaml.SafeLoader, node: yaml.ScalarNode) -> float:
    text = str(node.value)
    if not _FLOAT_12.match(text) and not _INT_12.match(text):
        raise ValueError(text)
    if text.lstrip("+-").lower() in (".inf", ".nan"):
        return float(text.replace(".", ""))
    if text.startswith(("0o", "0x")):
        return float(_int_12(loader, node))
    value = float(text)
    mantissa = text.lstrip("+-").split("e")[0].split("E")[0]
    if (value == 0 and mantissa.strip("0.")) or math.isinf(value):
        # 1e-999990 would silently become 0 and 1e999 infinity: refuse, do not round
        raise ValueError(f"{text} is beyond what a number can hold here (about 1e-308 to 1e308)")
    return value


def _null(loader: yaml.SafeLoader, node: yaml.ScalarNode) -> None:
    if node.value not in ("", "~", "null", "Null", "NULL"):
        raise ValueError(node.value)


_STR = _YAML + "str"
_ScalarNode = yaml.ScalarNode


def _construct(loader: yaml.SafeLoader, node: yaml.Node) -> Any:
    """`loader.construct_object(node, deep=True)`, with the commonest case, a plain string
    scalar, read directly (its constructor returns `node.value`, which is all this does)."""
    if type(node) is _ScalarNode and node.tag == _STR:
        return node.value
    return loader.construct_object(node, deep=True)


def _construct_mapping(loader: yaml.SafeLoader, node: yaml.MappingNode) -> dict[Any, Any]:
    loader.flatten_mapping(node)
    mapping: dict[Any, Any] = {}
    first_line: dict[Any, int] = {}
    for key_node, value_node in node.value:
        key = _construct(loader, key_node)
        try:
            hash(key)
        except TypeError:
            raise yaml.constructor.ConstructorError(
                None, None, "a mapping key must be a plain value", key_node.start_mark
            ) from None
        if key in mapping:
            raise yaml.constructor.ConstructorError(
                None,
                None,
                f"duplicate key `{_short_text(str(key))}` (first at line {first_line[key]}); "
                "keep one: YAML would silently drop the first value",
                key_node.start_mark,
            )
        first_line[key] = key_node.start_mark.line + 1
        mapping[key] = _construct(loader, value_node)
    return mapping


def _guarded(kind: str, construct: Any) -> Any:
    """A scalar constructor whose failures (`!!int x`, `2026-02-30`) are located YAML errors."""

    def guarded(loader: yaml.SafeLoader, node: yaml.Node) -> Any:
        if not isinstance(node, yaml.ScalarNode):  # `!!int [1]`: a tag on the wrong kind of node
            raise yaml.constructor.ConstructorError(
                None, None, f"the tag !!{kind_tag} needs a plain value here", node.start_mark
            )
        try:
            return construct(loader, node)
        # PyYAML's constructors fail in many ways on odd text (`!!int ''`, `!!timestamp soon`)
        except (ValueError, TypeError, OverflowError, KeyError, IndexError, AttributeError):
            raise yaml.constructor.ConstructorError(
                None, None, f"`{_short_text(node.value)}` is not a valid {kind}", node.start_mark
            ) from None

    kind_tag = {"date": "timestamp"}.get(kind, kind)
    return guarded


def _short_text(text: str) -> str:
    return text if len(text) <= 60 else text[:57] + "..."


_CONSTRUCTORS = {
    "int": _int_12,
    "float": _float_12,
    "null": _null,
    "bool": yaml.SafeLoader.yaml_constructors[_BOOL],
    "timestamp": yaml.SafeLoader.yaml_constructors[_YAML + "timestamp"],
}
for _kind_name, _constructor in _CONSTRUCTORS.items():
    _StrictLoader.add_constructor(
        _YAML + _kind_name,
        _guarded("date" if _kind_name == "timestamp" else _kind_name, _constructor),
    )


def _collection(kind: str, construct: Any) -> Any:
    """A collection constructor that refuses a tag on the wrong node (`!!map [1]`) by line."""
    wanted = yaml.MappingNode if kind == "map" else yaml.SequenceNode

    def checked(loader: yaml.SafeLoader, node: yaml.Node) -> Any:
        if not isinstance(node, wanted):
            raise yaml.constructor.ConstructorError(
                None, None, f"the tag !!{kind} is on a node that is not a {kind}", node.start_mark
            )
        return construct(loader, node)

    return checked


_StrictLoader.add_constructor(
    yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _collection("map", _construct_mapping)
)
_StrictLoader.add_constructor(
    _YAML + "seq", _collection("seq", yaml.SafeLoader.yaml_constructors[_YAML + "seq"])
)


class Document:
    """A parsed YAML document with the node tree kept for line numbers."""

    def __init__(self, name: str, data: Any, root: yaml.Node | None) -> None:
        self.name = name
        self.data = data
        self._root = root

    def line_of(self, loc: tuple[int | str, ...]) -> int | None:
        """1-based line of the value at a pydantic error location, as far as it can be followed."""
        node = self._root
        line = None if node is None else node.start_mark.line + 1
        for part in loc:
            if isinstance(node, yaml.MappingNode):
                for key_node, value_node in node.value:
                    if key_node.value == str(part):
                        node = value_node
                        break
                else:
                    return line
            elif isinstance(node, yaml.SequenceNode) and isinstance(part, int):
                if part >= len(node.value):
                    return line
                node = node.value[part]
            else:
                return line
            line = node.start_mark.line + 1
        return line


def _read_limited(path: Path, limit: int) -> bytes:
    """At most `limit + 1` bytes: a file that grew, or a device, cannot make us read more."""
    chunks, total = [], 0
    with path.open("rb") as stream:
        while total <= limit and (chunk := stream.read(1 << 16)):
            chunks.append(chunk)
            total += len(chunk)
    return b"".join(chunks)


def read_text(path: Path, *, display: str | None = None) -> str:
    """Read a UTF-8 file, refusing large, empty and non-UTF-8 files with a clear message."""
    name = display or str(path)
    try:
        if path.is_dir():
            raise InputError("is a directory, not a file", file=name)
        size = path.stat().st_size
        if size > MAX_BYTES:
            raise InputError(
                f"file is {size:,} bytes; the limit is {MAX_BYTES:,} bytes (refused unread)",
                file=name,
            )
        raw = _read_limited(path, MAX_BYTES)
    except OSError as error:
        raise InputError(f"cannot read the file ({error.strerror or error})", file=name) from None
    if len(raw) > MAX_BYTES:
        raise InputError(f"file is larger than the limit of {MAX_BYTES:,} bytes", file=name)
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as error:
        raise InputError(
            f"not UTF-8 text (byte {error.start} is 0x{raw[error.start]:02x}); "
            "save the file as UTF-8",
            file=name,
        ) from None
    if not text.strip():
        raise InputError("the file is empty; expected a YAML or JSON mapping", file=name)
    return text


def _at(mark: Any) -> str:
    return f"line {mark.line + 1}: " if mark is not None else ""


class _Budget:
    """Walks the parser's events, refusing what must not be built: bad tags, deep nesting,
    several documents, recursive or undefined aliases, and expansion beyond `MAX_NODES`."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.open_anchors: list[str | None] = []
        self.counts: list[int] = []  # expanded size of each open collection
        self.sizes: dict[str, int] = {}  # expanded size of each finished anchored node
        self.expanded = 0
        self.documents = 0

    def fail(self, event: Any, message: str) -> InputError:
        return InputError(f"{_at(event.start_mark)}{message}", file=self.name)

    def see(self, event: Any) -> None:
        tag = getattr(event, "tag", None)
        if tag is not None and tag != "!" and tag not in ALLOWED_TAGS:
            raise self.fail(
                event,
                f"tag `{tag.replace(_YAML, '!!')}` is not allowed; only the standard tags "
                "!!str, !!int, !!float, !!bool, !!null, !!seq, !!map and !!timestamp",
            )
        if isinstance(event, yaml.DocumentStartEvent):
            self.documents += 1
            if self.documents > 1:
                raise self.fail(
                    event, "a second YAML document (after `---`); put everything in one document"
                )
        elif isinstance(event, yaml.CollectionStartEvent):
            if len(self.counts) >= MAX_DEPTH:
                raise self.fail(event, f"nesting deeper than {MAX_DEPTH} levels")
            self.open_anchors.append(event.anchor)
            self.counts.append(0)
            self.add(event, 1)
        elif isinstance(event, yaml.CollectionEndEvent):
            anchor, count = self.open_anchors.pop(), self.counts.pop()
            if anchor is not None:
                self.sizes[anchor] = count
            if self.counts:
                self.counts[-1] += count
        elif isinstance(event, yaml.ScalarEvent):
            if event.anchor is not None:
                self.sizes[event.anchor] = 1
            self.add(event, 1)
        elif isinstance(event, yaml.AliasEvent):
            self.add(event, self.alias_size(event))

    def alias_size(self, event: Any) -> int:
        anchor = event.anchor
        if anchor in self.open_anchors:
            raise self.fail(
                event,
                f"alias `*{anchor}` refers to a node that contains it (a recursive structure)",
            )
        if anchor not in self.sizes:
            raise self.fail(
                event, f"alias `*{anchor}` refers to no anchor `&{anchor}` defined before it"
            )
        return self.sizes[anchor]

    def add(self, event: Any, nodes: int) -> None:
        self.expanded += nodes
        if self.counts:
            self.counts[-1] += nodes
        if self.expanded > MAX_NODES:
            raise self.fail(
                event,
                f"the document expands to more than {MAX_NODES:,} nodes (aliases included); "
                "refused before building it",
            )


def _check_events(text: str, name: str) -> None:
    """Refuse bad tags, deep nesting, several documents and alias bombs, building nothing."""
    loader = _StrictLoader(text)
    budget = _Budget(name)
    try:
        while loader.check_event():
            budget.see(loader.get_event())  # type: ignore[no-untyped-call]
    finally:
        loader.dispose()


def parse(text: str, name: str) -> Document:
    """Parse one YAML (or JSON) document safely."""
    if not text.strip():
        raise InputError("the file is empty; expected a YAML or JSON mapping", file=name)
    try:
        _check_events(text, name)
        loader = _StrictLoader(text)
        try:
            root = loader.get_single_node()
            data = loader.construct_document(root) if root is not None else None
        finally:
            loader.dispose()
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark else ""
        problem = error.problem or error.context or "invalid YAML"
        if mark is not None and _char_at(text, mark.line, mark.column) == "\t":
            problem += " (a tab: YAML indents with spaces)"
        raise InputError(f"{where}{problem}", file=name) from None
    except yaml.reader.ReaderError as error:
        line = text.count("\n", 0, error.position) + 1
        raise InputError(
            f"line {line}: unacceptable character #x{error.character:04x} "
            f"({'a control character' if error.character < 32 else 'not printable'}); "
            "remove it",
            file=name,
        ) from None
    except yaml.YAMLError as error:
        raise InputError(f"invalid YAML: {error}", file=name) from None
    if not isinstance(data, dict):
        kind = "nothing (only comments)" if data is None else _kind(data)
        raise InputError(
            f"the top level must be a mapping of sections (`key: value` lines), found {kind}",
            file=name,
        )
    return Document(name, data, root)


def _char_at(text: str, line: int, column: int) -> str:
    lines = text.splitlines()
    return lines[line][column] if line < len(lines) and column < len(lines[line]) else ""


def _kind(value: Any) -> str:
    return {list: "a list", str: "a string", int: "a number", float: "a number"}.get(
        type(value), type(value).__name__
    )


def load(path: Path, *, display: str | None = None) -> Document:
    """Read and parse a YAML file."""
    name = display or str(path)
    return parse(read_text(path, display=name), name)


def _path(loc: tuple[int | str, ...]) -> str:
    out = ""
    for part in loc:
        if part == "[key]":  # pydantic's marker for a dict key that failed validation
            out += " (as a key)"
        elif isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out


def _unwrap(tp: Any) -> Any:
    """`X` from `Annotated[X, ...]` and from `X | None`."""
    while True:
        origin = typing.get_origin(tp)
        if origin is typing.Annotated:
            tp = typing.get_args(tp)[0]
        elif origin in (typing.Union, types.UnionType):
            rest = [a for a in typing.get_args(tp) if a is not type(None)]
            if len(rest) != 1:
                return tp
            tp = rest[0]
        else:
            return tp


def _step(tp: Any, part: int | str) -> Any:
    """The type found at `part` inside a value of type `tp` (None when it cannot be followed)."""
    tp = _unwrap(tp)
    if isinstance(tp, type) and issubclass(tp, BaseModel):
        field = tp.model_fields.get(str(part))
        return None if field is None else field.annotation
    origin, args = typing.get_origin(tp), typing.get_args(tp)
    if origin is tuple and args:
        return args[0]
    if origin is dict and len(args) == 2:
        return args[1]
    return None


def _model_at(model: type[BaseModel] | None, loc: tuple[int | str, ...]) -> type[BaseModel] | None:
    tp: Any = model
    for part in loc:
        tp = _step(tp, part)
        if tp is None:
            return None
    tp = _unwrap(tp)
    return tp if isinstance(tp, type) and issubclass(tp, BaseModel) else None


def _suggest(value: Any, allowed: list[str]) -> str:
    if not isinstance(value, str):
        return ""
    close = difflib.get_close_matches(value, allowed, n=1, cutoff=0.6)
    if not close:
        close = [a for a in allowed if a.lower() == value.lower()]
    return f"did you mean `{close[0]}`?" if close else ""


def _message(
    item: Any, loc: tuple[int | str, ...], model: type[BaseModel] | None
) -> tuple[str, str]:
    """The message for one pydantic error, and a "did you mean" hint (or "")."""
    kind = item["type"]
    message: str = item["msg"]
    if kind == "extra_forbidden":
        parent = _model_at(model, loc[:-1])
        if parent is None:
            return "unknown field", ""
        allowed = list(parent.model_fields)
        hint = _suggest(loc[-1], allowed) if loc else ""
        return f"unknown field; allowed here: {', '.join(allowed)}", hint
    if kind == "missing":
        return "required field is missing", ""
    if kind == "literal_error":
        allowed = re.findall(r"'([^']*)'", str(item.get("ctx", {}).get("expected", "")))
        return message, _suggest(item.get("input"), allowed)
    if kind == "value_error":
        return message.removeprefix("Value error, "), ""
    return message, ""


def describe_validation_error(
    error: Any,
    *,
    file: str | None,
    document: Document | None = None,
    limit: int = 3,
    model: type[BaseModel] | None = None,
) -> str:
    """One readable message for a pydantic ValidationError: line, field path, value, and what is
    allowed (with a "did you mean" for near misses; unknown fields need `model` for that)."""
    lines = []
    # Wrong values first: a fragment missing whole sections should still show what is wrong.
    errors = sorted(error.errors(include_url=False), key=lambda item: item["type"] == "missing")
    for item in errors[:limit]:
        loc = tuple(
            p for p in item["loc"] if not (isinstance(p, str) and p.startswith("function-"))
        )
        field = _path(loc) or "(top level)"
        message, hint = _message(item, loc, model)
        where = ""
        if document is not None:
            line = document.line_of(loc)
            if line is not None:
                where = f"line {line}: "
            record = _record_id(document.data, loc)
            if record is not None:
                field += f" (record `{record}`)"
        shown = "" if item["type"] == "missing" else f" (got {_short(item.get('input'))})"
        lines.append(f"{where}{field}: {message}{shown}" + (f"; {hint}" if hint else ""))
    if len(errors) > limit:
        lines.append(f"... and {len(errors) - limit} more problem(s)")
    prefix = f"{file}: " if file else ""
    return prefix + ("\n  ".join(lines) if len(lines) == 1 else "\n  " + "\n  ".join(lines))


def _record_id(data: Any, loc: tuple[int | str, ...]) -> str | None:
    """The `id` of the innermost list item holding the value at `loc` (knowledge-base records
    have one), so a message names the record as well as the field."""
    found = None
    for part in loc:
        if isinstance(data, list) and isinstance(part, int) and 0 <= part < len(data):
            data = data[part]
            if isinstance(data, dict) and isinstance(data.get("id"), str):
                found = data["id"]
        elif isinstance(data, dict) and part in data:
            data = data[part]
        else:
            break
    return None if found is None else _short(found)[1:-1]


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."
