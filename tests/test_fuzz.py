"""Fuzzing the front door: whatever a file holds, the advisor answers with a profile (then an
Advice) or an `InputError`, never another exception, a hang or a traceback (issue #8).

Six generators: arbitrary YAML/JSON documents built from the profile's vocabulary; valid
profiles with structural mutations (dropped keys, swapped types, unknown and misspelt keys);
valid profile files with random byte edits; valid profile files with YAML-syntax edits;
valid profiles nudged in ways that mostly stay valid, which go all the way through `advise`;
and knowledge-base files with structural mutations, loaded as overlays.

The first four stop at validation plus the knowledge-base check (well under a millisecond
each; Hypothesis's own drawing costs more) and run 10,000 inputs between them under
HYPOTHESIS_PROFILE=ci. Full advice costs 10-400 ms, so only the last test calls `advise`, on
`ADVISE_EXAMPLES` inputs (400 in CI, about a third of which validate), with query volumes kept
at or below the examples' (the engine's time grows with the GPU count). Every input has a
deadline, its time bound: a hang or a blow-up fails the test.
"""

from __future__ import annotations

import copy
import datetime as dt
import json
import os
import shutil
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, assume, event, example, given, settings
from hypothesis import strategies as st

import sovereign_advisor as sa
from sovereign_advisor.advice import Advice
from sovereign_advisor.knowledge.loader import default_patterns_path
from sovereign_advisor.profile import (
    OrganisationProfile,
    check_against_knowledge_base,
    profile_from_text,
)
from sovereign_advisor.types import DATA_CLASSES

from .conftest import AS_OF, PROFILES

_PROFILE = os.environ.get("HYPOTHESIS_PROFILE", "default")
_SCALE = {"ci": 10, "dev": 0.2}.get(_PROFILE, 1)
ARBITRARY, MUTATED, BYTE_EDITED, YAML_EDITED = (int(n * _SCALE) for n in (150, 250, 300, 300))
"""Inputs per validation-level fuzz test: 1,000 by default, 10,000 under HYPOTHESIS_PROFILE=ci
(fewer arbitrary documents: Hypothesis takes longest to draw those)."""
ADVISE_EXAMPLES = {"ci": 400, "dev": 10}.get(_PROFILE, 30)
"""Inputs for the test that runs the whole advice."""

KB = sa.load_knowledge_base()
EXAMPLE_TEXTS = {p.name: p.read_text(encoding="utf-8") for p in sorted(PROFILES.glob("*.yaml"))}
EXAMPLES = [yaml.safe_load(text) for text in EXAMPLE_TEXTS.values()]


def fuzz(examples: int) -> Any:
    return settings(
        max_examples=examples,
        deadline=dt.timedelta(seconds=2),
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
    )


def _vocabulary() -> list[str]:
    words: set[str] = set(DATA_CLASSES)

    def walk(model: type[Any]) -> None:
        for name, field in model.model_fields.items():
            words.add(name)
            for arg in (*getattr(field.annotation, "__args__", ()), field.annotation):
                if isinstance(arg, type) and hasattr(arg, "model_fields"):
                    walk(arg)

    walk(OrganisationProfile)
    return sorted(words | {"FR", "EU", "JP", "US", "strict", "eu_only", "banking", "EUR", "*"})


WORDS = _vocabulary()
keys = st.one_of(st.sampled_from(WORDS), st.text(max_size=12))
scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(10**12), 10**12),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from(WORDS),
    st.text(max_size=12),
)
json_values = st.recursive(
    scalars,
    lambda inner: st.one_of(st.lists(inner, max_size=5), st.dictionaries(keys, inner, max_size=6)),
    max_leaves=6,
)


def _dump(data: Any, as_json: bool) -> str:
    if as_json:
        return json.dumps(data)  # NaN and Infinity come out as bare words, as other tools write
    dumper = getattr(yaml, "CSafeDumper", yaml.SafeDumper)
    return yaml.dump(data, Dumper=dumper, allow_unicode=True, sort_keys=False)


def _outcome(text: str, name: str = "fuzz.yaml") -> OrganisationProfile | None:
    """The profile, or None after an InputError that reads like one; anything else raises."""
    try:
        profile = profile_from_text(text, name)
        check_against_knowledge_base(profile, KB)
    except sa.InputError as error:
        message = str(error)
        assert message.startswith(f"{name}: ")
        assert "Traceback" not in message
        return None
    return profile


@fuzz(ARBITRARY)
@given(document=st.dictionaries(keys, json_values, max_size=5), as_json=st.booleans())
def test_arbitrary_documents_load_or_refuse(document: dict[Any, Any], as_json: bool) -> None:
    try:
        text = _dump(document, as_json)
    except (TypeError, ValueError):  # not representable (e.g. mixed key types in JSON)
        assume(False)
    _outcome(text)


def _paths(data: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Every key path and list index path in a parsed profile."""
    out = []
    if isinstance(data, dict):
        for key, value in data.items():
            out.append((*prefix, key))
            out.extend(_paths(value, (*prefix, key)))
    elif isinstance(data, list):
        for i, value in enumerate(data):
            out.append((*prefix, i))
            out.extend(_paths(value, (*prefix, i)))
    return out


def _parent(data: Any, path: tuple[Any, ...]) -> Any:
    for part in path[:-1]:
        data = data[part]
    return data


@st.composite
def mutated_profiles(draw: st.DrawFn) -> Any:
    data = copy.deepcopy(draw(st.sampled_from(EXAMPLES)))
    for _ in range(draw(st.integers(1, 4))):
        paths = _paths(data)
        if not paths:
            break
        path = draw(st.sampled_from(paths))
        parent, last = _parent(data, path), path[-1]
        kind = draw(st.sampled_from(["drop", "swap", "unknown", "typo", "rename", "wrap"]))
        if kind == "drop":
            del parent[last]
        elif kind == "swap":
            parent[last] = draw(json_values)
        elif kind == "wrap":
            parent[last] = draw(st.sampled_from([[parent[last]], {"value": parent[last]}]))
        elif isinstance(parent, dict):
            value = parent.pop(last) if kind != "unknown" else draw(scalars)
            if kind == "typo" and isinstance(last, str) and last:
                i = draw(st.integers(0, len(last) - 1))
                new = last[:i] + draw(st.sampled_from("aeiou_")) + last[i + 1 :]
            else:
                new = draw(keys)
            parent[new] = value
    return data


@fuzz(MUTATED)
@given(data=mutated_profiles(), as_json=st.booleans())
def test_mutated_profiles_load_or_refuse(data: Any, as_json: bool) -> None:
    try:
        text = _dump(data, as_json)
    except (TypeError, ValueError):
        assume(False)
    _outcome(text)


@pytest.fixture(scope="module")
def edited_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("fuzz") / "edited.yaml"


@fuzz(BYTE_EDITED)
@given(
    original=st.sampled_from(sorted(EXAMPLE_TEXTS)),
    edits=st.lists(
        st.tuples(
            st.sampled_from(["insert", "delete", "replace"]),
            st.floats(0, 1),
            st.binary(min_size=1, max_size=4),
        ),
        min_size=1,
        max_size=6,
    ),
)
def test_byte_edited_files_load_or_refuse(
    edited_file: Path, original: str, edits: list[tuple[str, float, bytes]]
) -> None:
    raw = bytearray(EXAMPLE_TEXTS[original].encode("utf-8"))
    for kind, where, chunk in edits:
        at = int(where * len(raw))
        if kind == "insert":
            raw[at:at] = chunk
        elif kind == "delete":
            del raw[at : at + len(chunk)]
        else:
            raw[at : at + len(chunk)] = chunk
    path = edited_file
    path.write_bytes(bytes(raw))
    try:
        profile = sa.load_profile(path)
        check_against_knowledge_base(profile, KB)
    except sa.InputError as error:
        assert str(error).startswith(f"{path}: ")
        assert "Traceback" not in str(error)


YAML_PIECES = [
    "\t", "  ", "- ", ": ", "? ", "---\n", "...\n", "&a ", "*a", "*b", "&a [*a]", "!!python/object:os.system ",
    "!!binary ", "!local ", "!!str ", "!!int ", "!!float ", "[", "]", "{", "}", "'", '"', "#", "|\n", ">\n",
    "\n", ",", "%YAML 1.2\n", "<<: *a\n", ".nan", ".inf", "-.inf", "~", "null", "yes", "NO", "0x1F", "1e400",
    "1_000", "2026-11-23", "\ufeff", "\x00", "\x85", "\u2028",
]  # fmt: skip


@fuzz(YAML_EDITED)
@example(original="bank_strict.yaml", edits=[("insert", 0.5, "2026-02-30")])  # crashed PyYAML
@example(original="bank_strict.yaml", edits=[("insert", 0.5, "!!int ")])
@given(
    original=st.sampled_from(sorted(EXAMPLE_TEXTS)),
    edits=st.lists(
        st.tuples(
            st.sampled_from(["insert", "delete_line", "duplicate_line", "indent"]),
            st.floats(0, 1),
            st.sampled_from(YAML_PIECES),
        ),
        min_size=1,
        max_size=5,
    ),
)
def test_yaml_edited_files_load_or_refuse(
    original: str, edits: list[tuple[str, float, str]]
) -> None:
    lines = EXAMPLE_TEXTS[original].splitlines(keepends=True)
    for kind, where, piece in edits:
        i = min(int(where * len(lines)), len(lines) - 1)
        if kind == "insert":
            line = lines[i]
            at = int(where * 997) % (len(line) + 1)
            lines[i] = line[:at] + piece + line[at:]
        elif kind == "delete_line" and len(lines) > 1:
            del lines[i]
        elif kind == "duplicate_line":
            lines.insert(i, lines[i])
        elif kind == "indent":
            lines[i] = piece + lines[i]
    _outcome("".join(lines))


@st.composite
def nudged_profiles(draw: st.DrawFn) -> Any:
    """Example profiles with changes that mostly stay valid, volumes no larger than theirs."""
    data = copy.deepcopy(draw(st.sampled_from(EXAMPLES)))
    org, workload = data["organisation"], data["workload"]
    # Mostly valid choices, with a few invalid ones so refusals after nudging are exercised too.
    org["headquarters"] = draw(st.sampled_from(["FR", "DE", "JP", "US", "IE", "NO", "FR", "ZZ"]))
    org["us_person"] = draw(st.sampled_from([True, False, False, False, "yes"]))
    data["policy"]["preset"] = draw(st.sampled_from(["strict", "eu_only", "jp_only", "open"]))
    for field in ("queries_per_month", "peak_queries_per_second", "corpus_tokens"):
        if field in workload:
            workload[field] = workload[field] * draw(st.sampled_from([0, 0.01, 0.5, 1, 1, -1]))
    workload["complex_share"] = draw(st.sampled_from([0, 0.3, 1, 0.15, 0.5, 1.01]))
    for optional in ("use_cases", "capabilities", "finance"):
        if draw(st.booleans()):
            data.pop(optional, None)
    if draw(st.booleans()):
        data["capabilities"] = {
            "operates_gpus": True,
            "owned_gpus": {
                draw(st.sampled_from([*sorted(KB.gpus), "h100"])): draw(st.integers(0, 3))
            },
        }
    return data


@settings(
    max_examples=ADVISE_EXAMPLES,
    deadline=dt.timedelta(seconds=10),
    suppress_health_check=[HealthCheck.too_slow],
)
@given(data=nudged_profiles(), as_json=st.booleans())
def test_nudged_profiles_advise_or_refuse(data: Any, as_json: bool) -> None:
    profile = _outcome(_dump(data, as_json))
    if profile is None:
        event("refused at validation")
        return
    event("advised")
    advice = sa.advise(profile, kb=KB, as_of=AS_OF)  # a valid profile must get advice
    assert isinstance(advice, Advice)
    assert Advice.model_validate_json(advice.model_dump_json()) == advice
    listed = {a.id for a in advice.assumptions}
    assert "policy.premises_jurisdiction" in listed


@pytest.mark.parametrize("name", sorted(EXAMPLE_TEXTS))
def test_the_unmutated_examples_pass_the_same_gate(name: str) -> None:
    """The fuzz gate must let valid input through, or the tests above prove nothing."""
    assert _outcome(EXAMPLE_TEXTS[name]) is not None
    assert _outcome(json.dumps(yaml.safe_load(EXAMPLE_TEXTS[name]))) is not None


OVERLAY_SOURCES = {
    f"{kind}/{p.name}": yaml.safe_load(p.read_text(encoding="utf-8"))
    for kind in ("prices", "catalog", "architectures")
    for p in sorted((default_patterns_path() / kind).glob("*.yaml"))
}
OVERLAY_EXAMPLES = {"ci": 100, "dev": 5}.get(_PROFILE, 15)
"""Overlays cost a knowledge-base load each (50-100 ms), so fewer of them."""


@st.composite
def mutated_overlays(draw: st.DrawFn) -> tuple[str, Any]:
    """A knowledge-base file, structurally mutated like the profiles above."""
    name = draw(st.sampled_from(sorted(OVERLAY_SOURCES)))
    data = copy.deepcopy(OVERLAY_SOURCES[name])
    for _ in range(draw(st.integers(1, 3))):
        paths = _paths(data)
        if not paths:
            break
        path = draw(st.sampled_from(paths))
        parent, last = _parent(data, path), path[-1]
        kind = draw(st.sampled_from(["drop", "swap", "swap", "duplicate_record"]))
        if kind == "drop":
            del parent[last]
        elif kind == "swap":
            parent[last] = draw(json_values)
        elif isinstance(parent, list):
            parent.append(copy.deepcopy(parent[last]))
    return name, data


@pytest.fixture(scope="module")
def overlay_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("overlay")


@settings(
    max_examples=OVERLAY_EXAMPLES,
    deadline=dt.timedelta(seconds=10),
    suppress_health_check=[HealthCheck.too_slow],
)
@given(overlay=mutated_overlays())
def test_mutated_overlays_load_or_refuse(overlay_root: Path, overlay: tuple[str, Any]) -> None:
    name, data = overlay
    for old in overlay_root.glob("*/*.yaml"):
        old.unlink()
    target = overlay_root / name
    target.parent.mkdir(exist_ok=True)
    try:
        target.write_text(_dump(data, as_json=False), encoding="utf-8")
    except (TypeError, ValueError):
        assume(False)
    try:
        sa.load_knowledge_base(overlays=[overlay_root])
    except sa.InputError as error:
        assert isinstance(error, sa.KnowledgeBaseError)
        assert "Traceback" not in str(error)


# --- knowledge-base and overlay directories: every entry read or refused by name (#18) --------

ENTRY_NAMES = [
    "prices",
    "prices",
    "prices",
    "catalog",
    "architectures",
    "pricez",
    "Prices",
    ".hidden",
    "README.md",
]
ENTRY_NAMES += ["schema", "tools", "notes", "x"]
EXTENSIONS = [".yaml", ".yaml", ".yaml", ".yaml", ".yml", ".YAML", ".json", ".txt", "", ".yaml~"]
VALID_OVERLAY = (
    "fx_rates:\n  - id: fuzz.fx.{n}\n    base: EUR\n    quote: USD\n    date: 2031-01-0{n}\n"
    "    rate: 1.1\n    source: {title: fuzz rate, publisher: fuzz}\n    checked_on: 2026-11-23\n"
    "    status: provisional\n"
)
DIRECTORY_EXAMPLES = {"ci": 60, "dev": 5}.get(_PROFILE, 15)
"""Each example loads a knowledge base (50-100 ms)."""


@st.composite
def directory_entries(draw: st.DrawFn) -> list[tuple[str, str]]:
    """(relative path, what to put there): files, folders and symbolic links, nested or not."""
    entries = []
    for n in range(draw(st.sampled_from([1, 1, 1, 2, 3, 4]))):
        parts = [draw(st.sampled_from(ENTRY_NAMES))]
        if draw(st.integers(0, 5)):  # mostly inside a folder, sometimes deeper
            parts.append(draw(st.sampled_from(["extra", "more", "sub"])))
            if draw(st.integers(0, 5)) == 0:
                parts.append("deeper")
        parts[-1] += draw(st.sampled_from(EXTENSIONS))
        kind = draw(st.sampled_from(["file"] * 5 + ["folder", "broken_link", "link"]))
        entries.append(("/".join(parts), f"{kind}:{n}"))
    return entries


def _create(root: Path, entries: list[tuple[str, str]]) -> list[Path]:
    made = []
    for rel, what in entries:
        kind, n = what.split(":")
        path = root / rel
        if path.exists() or path.is_symlink():
            continue
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
        except (FileExistsError, NotADirectoryError):  # a file already sits where a folder goes
            continue
        if kind == "file":
            path.write_text(VALID_OVERLAY.replace("{n}", str(int(n) + 1)), encoding="utf-8")
        elif kind == "folder":
            path.mkdir()
        elif kind == "broken_link":
            path.symlink_to(root / "nowhere")
        else:
            path.symlink_to(NEGOTIATED_FILE)
        made.append(path)
    return made


NEGOTIATED_FILE = PROFILES.parent / "overlays" / "negotiated" / "prices" / "negotiated.yaml"


def _silently_skipped(root: Path, made: list[Path], kb: sa.KnowledgeBase, prefix: str) -> list[str]:
    read = set(kb.files)
    skipped = []
    for path in made:
        rel = path.relative_to(root).as_posix()
        top = rel.split("/")[0]
        allowed = top in ("README.md", "schema", "tools") and (
            "/" in rel or (top == "README.md") == path.is_file()
        )
        if prefix + rel not in read and not allowed:
            skipped.append(rel)
    return skipped


@pytest.fixture(scope="module")
def fuzz_dirs(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    base = tmp_path_factory.mktemp("fuzzkb")
    return base / "kb", base / "overlay"


@settings(
    max_examples=DIRECTORY_EXAMPLES,
    deadline=dt.timedelta(seconds=10),
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(entries=directory_entries(), into_overlay=st.booleans())
def test_no_file_in_a_knowledge_base_or_overlay_is_skipped_silently(
    fuzz_dirs: tuple[Path, Path], entries: list[tuple[str, str]], into_overlay: bool
) -> None:
    kb_dir, overlay_dir = fuzz_dirs
    for directory in fuzz_dirs:
        if directory.exists():
            shutil.rmtree(directory)
    shutil.copytree(default_patterns_path(), kb_dir)
    overlay_dir.mkdir()
    root = overlay_dir if into_overlay else kb_dir
    made = _create(root, entries)
    try:
        kb = sa.load_knowledge_base(kb_dir, overlays=[overlay_dir] if into_overlay else [])
    except sa.KnowledgeBaseError as error:
        message = str(error)
        assert "Traceback" not in message
        named = [p for p in made if p.relative_to(root).parts[0] in message]
        assert named or "holds no" in message or "changes nothing" in message, message
        event("refused")
        return
    event("read")
    assert _silently_skipped(root, made, kb, "overlay:" if into_overlay else "") == []
