"""A validated snapshot of the packaged knowledge base, so a fresh process need not validate it.

Loading the packaged knowledge base parses some thirty YAML files, validates them with pydantic
and cross-checks them: about 100 ms of a cold start. None of it depends on the caller, so the
wheel's build (hatch_build.py) does it once and stores the result, `snapshot.pickle`, next to
this module. `load_knowledge_base()` without a path or overlays uses it when

- its format number, the Python version and the versions of sovereign-advisor, pydantic,
  pydantic-core and cel-expr-python recorded in it are those of the running interpreter, and
- its source digest equals the digest of the packaged pattern files (their bytes, hashed, not
  parsed) and of the modules that validate them (so an editable install whose code or data
  changed since the snapshot was written validates again), and
- its payload has the length and SHA-256 its header states.

Otherwise, or when anything about the file is wrong, loading validates the YAML as before,
silently: a snapshot can make a start faster, never different. CEL expressions do not pickle;
the snapshot holds them as cel-expr-python serializes a checked expression, read back several
times faster than compiling them again (their checks ran when the snapshot was written).

Only this package's own file is ever unpickled: `load_knowledge_base` reads the fixed path
`SNAPSHOT_PATH`, never a path a caller gives, and a custom knowledge base (`--kb`) or an overlay
is always validated from its YAML.
"""

from __future__ import annotations

import hashlib
import os
import pickle
import sys
from dataclasses import fields
from pathlib import Path
from typing import Any

import pydantic
import pydantic_core

from sovereign_advisor.conditions import _ENVS, Compiled, Scope
from sovereign_advisor.knowledge import loader
from sovereign_advisor.knowledge.loader import CompiledRule, KnowledgeBase, load_knowledge_base

FORMAT = 1
"""Snapshot layout version: raise it whenever what is pickled, or how, changes."""

SNAPSHOT_PATH = Path(__file__).with_name("snapshot.pickle")
"""Where the package's snapshot lives (written by the wheel's build, git-ignored in a checkout)."""

MAGIC = b"sovereign-advisor knowledge-base snapshot\n"

_VALIDATING_MODULES = (
    "conditions.py",
    "errors.py",
    "types.py",
    "yamlio.py",
    "knowledge/loader.py",
    "knowledge/models.py",
    "knowledge/snapshot.py",
)
"""The modules that decide what a validated knowledge base holds, relative to the package."""


def source_digest(root: Path) -> str:
    """SHA-256 of the knowledge-base files under `root` (names and bytes, in reading order) and
    of the modules that validate them. Reads bytes; parses nothing."""
    digest = hashlib.sha256()
    for path in loader._files(root):
        digest.update(path.relative_to(root).as_posix().encode() + b"\0")
        digest.update(path.read_bytes() + b"\0")
    package = Path(__file__).parent.parent
    for name in _VALIDATING_MODULES:
        digest.update(name.encode() + b"\0" + (package / name).read_bytes() + b"\0")
    return digest.hexdigest()


def _distribution_version(name: str) -> str:
    """The version in the first `<name>-<version>.dist-info` on `sys.path`, or `unknown`.

    A directory listing, not `importlib.metadata`, whose import alone costs a cold start more
    than the snapshot saves on some machines."""
    prefix = name.replace("-", "_").lower() + "-"
    for entry in sys.path:
        try:
            names = os.listdir(entry or ".")
        except OSError:
            continue
        for found in sorted(names):
            if found.lower().startswith(prefix) and found.endswith(".dist-info"):
                return found[len(prefix) : -len(".dist-info")]
    return "unknown"


def current_versions(package_version: str | None = None) -> dict[str, str]:
    """What a snapshot must have been written with to be read here."""
    return {
        "format": str(FORMAT),
        "python": f"{sys.version_info[0]}.{sys.version_info[1]}",
        "implementation": sys.implementation.name,
        "sovereign-advisor": package_version or _distribution_version("sovereign-advisor"),
        "pydantic": pydantic.VERSION,
        "pydantic-core": pydantic_core.__version__,
        "cel-expr-python": _distribution_version("cel-expr-python"),
    }


def write_snapshot(root: Path, target: Path, *, package_version: str | None = None) -> str:
    """Load the knowledge base under `root` with full validation and write its snapshot to
    `target`; return the knowledge-base version. What the wheel's build hook calls.

    `package_version` is the sovereign-advisor version being built (the build cannot look up
    its own distribution); by default the installed one."""
    kb = load_knowledge_base(root)
    state = {f.name: getattr(kb, f.name) for f in fields(kb) if f.name != "rules"}
    state["rules"] = tuple(
        (r.rule, r.file, _serialized(r.condition), _serialized(r.exposes_to)) for r in kb.rules
    )
    payload = pickle.dumps(state, protocol=pickle.HIGHEST_PROTOCOL)
    header = {
        **current_versions(package_version),
        "source": source_digest(root),
        "payload-bytes": str(len(payload)),
        "payload-sha256": hashlib.sha256(payload).hexdigest(),
    }
    lines = "".join(f"{key} {value}\n" for key, value in header.items())
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(target.name + ".partial")
    partial.write_bytes(MAGIC + lines.encode() + b"\n" + payload)
    partial.replace(target)  # a reader sees the old file or the new one, never half of one
    return kb.version


def read_snapshot(snapshot: Path, root: Path) -> KnowledgeBase | None:
    """The knowledge base stored in `snapshot` if it is current for the files under `root` and
    for this interpreter, else None (for any reason: missing, truncated, corrupt, stale)."""
    try:
        versions = current_versions()
        if "unknown" in versions.values():  # a version not found here cannot be compared
            return None
        data = snapshot.read_bytes()
        header, payload = _split(data)
        if header is None or header != {
            **versions,
            "source": source_digest(root),
            "payload-bytes": str(len(payload)),
            "payload-sha256": hashlib.sha256(payload).hexdigest(),
        }:
            return None
        state = pickle.loads(payload)
        return _knowledge_base(state)
    except Exception:  # noqa: BLE001 - a snapshot only saves time: whatever is wrong, validate
        return None


def _split(data: bytes) -> tuple[dict[str, str] | None, bytes]:
    if not data.startswith(MAGIC):
        return None, b""
    end = data.find(b"\n\n", len(MAGIC) - 1)
    if end < 0:
        return None, b""
    header = {}
    for line in data[len(MAGIC) : end].decode().splitlines():
        key, _, value = line.partition(" ")
        header[key] = value
    return header, data[end + 2 :]


def _serialized(expression: Compiled | None) -> bytes | None:
    # the checked expression as cel-expr-python serializes it: reading it back is several times
    # faster than compiling and type-checking the source again (the version is in the header)
    return None if expression is None else bytes(expression._expression.serialize())


def _deserialized(source: str | None, scope: Scope, data: bytes | None) -> Compiled | None:
    if source is None or data is None:
        if source is not None or data is not None:
            raise ValueError("a rule's expression and its serialized form disagree")
        return None
    return Compiled(source, scope, _ENVS[scope].deserialize(data))


def _knowledge_base(state: dict[str, Any]) -> KnowledgeBase:
    rules = []
    for rule, file, condition, exposes_to in state.pop("rules"):
        compiled = _deserialized(rule.condition, rule.scope, condition)
        if compiled is None:
            raise ValueError(f"rule `{rule.id}` has no condition")
        rules.append(
            CompiledRule(
                rule, file, compiled, _deserialized(rule.exposes_to, rule.scope, exposes_to)
            )
        )
    return KnowledgeBase(rules=tuple(rules), **state)


def load_packaged() -> KnowledgeBase | None:
    """The packaged knowledge base from the package's own snapshot, or None to validate."""
    return read_snapshot(SNAPSHOT_PATH, loader.default_patterns_path())


if __name__ == "__main__":  # python -m sovereign_advisor.knowledge.snapshot [TARGET]
    target = Path(sys.argv[1]) if len(sys.argv) > 1 else SNAPSHOT_PATH
    print(write_snapshot(loader.default_patterns_path(), target), "->", target)
