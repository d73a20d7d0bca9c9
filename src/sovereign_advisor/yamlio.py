"""Safe YAML reading: duplicate keys are errors, only standard tags, and line numbers kept."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

from sovereign_advisor.errors import InputError

if TYPE_CHECKING:
    _Base = yaml.SafeLoader
else:  # the C loader is several times faster; the pure-Python one behaves the same
    _Base = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

MAX_BYTES = 5_000_000
"""Files larger than this are refused before parsing."""


class _StrictLoader(_Base):
    """SafeLoader that refuses duplicate keys (PyYAML silently keeps the last one)."""


def _construct_mapping(loader: yaml.SafeLoader, node: yaml.MappingNode) -> dict[Any, Any]:
    loader.flatten_mapping(node)
    mapping: dict[Any, Any] = {}
    first_line: dict[Any, int] = {}
    for key_node, value_node in node.value:
        key = loader.construct_object(key_node, deep=True)
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
                f"duplicate key `{key}` (first at line {first_line[key]}); "
                "keep one: YAML would silently drop the first value",
                key_node.start_mark,
            )
        first_line[key] = key_node.start_mark.line + 1
        mapping[key] = loader.construct_object(value_node, deep=True)
    return mapping


_StrictLoader.add_constructor(
    yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG,
    _construct_mapping,
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


def read_text(path: Path, *, display: str | None = None) -> str:
    """Read a UTF-8 file, refusing large, empty and non-UTF-8 files with a clear message."""
    name = display or str(path)
    try:
        size = path.stat().st_size
    except OSError as error:
        raise InputError(f"cannot read the file ({error.strerror})", file=name) from None
    if size > MAX_BYTES:
        raise InputError(f"file is {size:,} bytes; the limit is {MAX_BYTES:,} bytes", file=name)
    raw = path.read_bytes()
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as error:
        raise InputError(
            f"not UTF-8 text (byte {error.start} is 0x{raw[error.start]:02x})", file=name
        ) from None
    if not text.strip():
        raise InputError("the file is empty", file=name)
    return text


def parse(text: str, name: str) -> Document:
    """Parse one YAML (or JSON) document safely."""
    try:
        root = yaml.compose(text, Loader=_StrictLoader)
        data = _StrictLoader(text).get_single_data() if root is not None else None
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark else ""
        problem = error.problem or error.context or "invalid YAML"
        raise InputError(f"{where}{problem}", file=name) from None
    except yaml.YAMLError as error:
        raise InputError(f"invalid YAML: {error}", file=name) from None
    if not isinstance(data, dict):
        kind = "empty" if data is None else type(data).__name__
        raise InputError(f"the top level must be a mapping, found {kind}", file=name)
    return Document(name, data, root)


def load(path: Path, *, display: str | None = None) -> Document:
    """Read and parse a YAML file."""
    name = display or str(path)
    return parse(read_text(path, display=name), name)


def _path(loc: tuple[int | str, ...]) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def describe_validation_error(
    error: Any, *, file: str | None, document: Document | None = None, limit: int = 3
) -> str:
    """One readable message for a pydantic ValidationError: field path, value, what is allowed."""
    lines = []
    errors = error.errors(include_url=False)
    for item in errors[:limit]:
        loc = tuple(
            p for p in item["loc"] if not (isinstance(p, str) and p.startswith("function-"))
        )
        field = _path(loc) or "(top level)"
        message = item["msg"]
        if item["type"] == "extra_forbidden":
            message = "unknown field"
        elif item["type"] == "missing":
            message = "required field is missing"
        where = ""
        if document is not None:
            line = document.line_of(loc)
            if line is not None:
                where = f"line {line}: "
        value = item.get("input")
        shown = "" if item["type"] in ("missing",) else f" (got {_short(value)})"
        lines.append(f"{where}{field}: {message}{shown}")
    if len(errors) > limit:
        lines.append(f"... and {len(errors) - limit} more problem(s)")
    prefix = f"{file}: " if file else ""
    return prefix + ("\n  ".join(lines) if len(lines) == 1 else "\n  " + "\n  ".join(lines))


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."
