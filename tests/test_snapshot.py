"""The snapshot of the packaged knowledge base (sovereign_advisor.knowledge.snapshot).

Every test writes its own snapshot into a temporary directory with `write_snapshot`, the function
the wheel's build hook calls, so none depends on whether the installed package ships one. Work
is counted (YAML parses, files validated), never timed.
"""

from __future__ import annotations

import ast
import datetime as dt
import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

import sovereign_advisor as sa
from sovereign_advisor.cli import main
from sovereign_advisor.knowledge import loader, snapshot
from sovereign_advisor.knowledge.loader import default_patterns_path

from .conftest import PROFILES, ROOT, edit_text

DATES = (dt.date(2025, 6, 1), dt.date(2026, 7, 1), dt.date(2026, 11, 23))


class Counts:
    """How often the loader parsed a YAML file and validated a knowledge-base file."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.parses = 0
        self.files_validated = 0
        parse, read = loader.parse, loader._read

        def counted_parse(*args: Any, **kwargs: Any) -> Any:
            self.parses += 1
            return parse(*args, **kwargs)

        def counted_read(*args: Any, **kwargs: Any) -> Any:
            self.files_validated += 1
            return read(*args, **kwargs)

        monkeypatch.setattr(loader, "parse", counted_parse)
        monkeypatch.setattr(loader, "_read", counted_read)


@pytest.fixture
def counts(monkeypatch: pytest.MonkeyPatch) -> Counts:
    return Counts(monkeypatch)


@pytest.fixture
def written(tmp_path: Path) -> Path:
    """A snapshot of the packaged knowledge base, written as the build hook writes it."""
    target = tmp_path / "snapshot.pickle"
    snapshot.write_snapshot(default_patterns_path(), target)
    return target


@pytest.fixture
def packaged(monkeypatch: pytest.MonkeyPatch, written: Path) -> Path:
    """`load_knowledge_base()` reads the snapshot written for this test as the package's own."""
    monkeypatch.setattr(snapshot, "SNAPSHOT_PATH", written)
    return written


@pytest.fixture(scope="module")
def validated() -> sa.KnowledgeBase:
    return sa.load_knowledge_base(default_patterns_path())


def _advice_bytes(kb: sa.KnowledgeBase) -> Iterator[tuple[str, str]]:
    for path in sorted(PROFILES.glob("*.yaml")):
        profile = sa.load_profile(path)
        for day in DATES:
            yield f"{path.name}@{day}", sa.render_json(sa.advise(profile, kb=kb, as_of=day))


def test_snapshot_gives_the_validated_knowledge_base_byte_for_byte(
    packaged: Path, counts: Counts, validated: sa.KnowledgeBase
) -> None:
    kb = sa.load_knowledge_base()
    assert (counts.parses, counts.files_validated) == (0, 0)
    assert kb.version == validated.version
    assert kb.files == validated.files
    assert kb.origin == validated.origin
    assert [r.rule for r in kb.rules] == [r.rule for r in validated.rules]
    ours, theirs = dict(_advice_bytes(kb)), dict(_advice_bytes(validated))
    assert len(ours) == 3 * len(list(PROFILES.glob("*.yaml"))) >= 30
    assert [name for name in ours if ours[name] != theirs[name]] == []


def test_snapshot_is_read_without_parsing_or_validating_yaml(written: Path, counts: Counts) -> None:
    kb = snapshot.read_snapshot(written, default_patterns_path())
    assert kb is not None
    assert (counts.parses, counts.files_validated) == (0, 0)
    assert len(kb.rules) > 0 and all(r.condition.source == r.rule.condition for r in kb.rules)


def test_the_packaged_knowledge_base_is_validated_when_there_is_no_snapshot(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, counts: Counts, validated: sa.KnowledgeBase
) -> None:
    monkeypatch.setattr(snapshot, "SNAPSHOT_PATH", tmp_path / "absent.pickle")
    kb = sa.load_knowledge_base()
    assert counts.parses == counts.files_validated == len(validated.files)
    assert kb.version == validated.version


def test_a_changed_pattern_byte_invalidates_the_snapshot(
    monkeypatch: pytest.MonkeyPatch, copy: Path, tmp_path: Path, counts: Counts
) -> None:
    target = tmp_path / "copy.pickle"
    before = snapshot.write_snapshot(copy, target)
    monkeypatch.setattr(snapshot, "SNAPSHOT_PATH", target)
    monkeypatch.setattr(loader, "default_patterns_path", lambda: copy)
    counts.parses = 0  # writing validated
    assert sa.load_knowledge_base().version == before
    assert counts.parses == 0
    prices = copy / "prices" / "assumptions.yaml"
    prices.write_bytes(prices.read_bytes() + b"#")  # one byte, in a comment: the same records
    assert snapshot.read_snapshot(target, copy) is None
    kb = sa.load_knowledge_base()
    assert counts.parses == len(kb.files)
    assert kb.version != before  # the version is the digest of the bytes read


def test_a_changed_record_is_loaded_from_the_yaml_not_the_snapshot(
    monkeypatch: pytest.MonkeyPatch, copy: Path, tmp_path: Path
) -> None:
    target = tmp_path / "copy.pickle"
    snapshot.write_snapshot(copy, target)
    monkeypatch.setattr(snapshot, "SNAPSHOT_PATH", target)
    monkeypatch.setattr(loader, "default_patterns_path", lambda: copy)
    assert str(sa.load_knowledge_base().assumption("ops.monthly_cost_per_fte").value.typical) == (
        "6251.67"
    )
    edit_text(copy / "prices" / "assumptions.yaml", "typical: 6251.67", "typical: 6300")
    assert sa.load_knowledge_base().assumption("ops.monthly_cost_per_fte").value.typical == 6300


HEADER_KEYS = (
    "format",
    "python",
    "implementation",
    "sovereign-advisor",
    "pydantic",
    "pydantic-core",
    "cel-expr-python",
    "source",
)


@pytest.mark.parametrize("key", HEADER_KEYS)
def test_a_snapshot_written_by_other_versions_or_sources_is_not_used(
    written: Path, key: str
) -> None:
    data = written.read_bytes()
    start = data.index(b"\n" + key.encode() + b" ") + 1
    end = data.index(b"\n", start)
    other = data[:start] + key.encode() + b" other" + data[end:]
    written.write_bytes(other)
    assert snapshot.read_snapshot(written, default_patterns_path()) is None


def test_a_snapshot_of_another_package_version_is_not_used(tmp_path: Path) -> None:
    target = tmp_path / "old.pickle"
    snapshot.write_snapshot(default_patterns_path(), target, package_version="0.0.1")
    assert snapshot.current_versions()["sovereign-advisor"] != "0.0.1"
    assert snapshot.read_snapshot(target, default_patterns_path()) is None


def test_a_version_that_cannot_be_found_is_never_taken_to_match(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setattr(snapshot, "_distribution_version", lambda name: "unknown")
    target = tmp_path / "unknown.pickle"
    snapshot.write_snapshot(default_patterns_path(), target, package_version="0.1.0")
    assert b"cel-expr-python unknown" in target.read_bytes()
    assert snapshot.read_snapshot(target, default_patterns_path()) is None


def _truncated(data: bytes) -> bytes:
    return data[: len(data) // 2]


def _flipped(data: bytes) -> bytes:
    at = len(data) - 1000
    return data[:at] + bytes([data[at] ^ 0xFF]) + data[at + 1 :]


def _header_only(data: bytes) -> bytes:
    return data[: data.index(b"\n\n") + 2]


def _no_header_end(data: bytes) -> bytes:
    return data.replace(b"\n\n", b"\n", 1)


def _garbage_with_a_matching_hash(data: bytes) -> bytes:
    import hashlib

    head = data[: data.index(b"\n\n")]
    payload = b"\x80\x05not a pickle"
    lines = [
        line
        for line in head.split(b"\n")
        if not line.startswith((b"payload-bytes ", b"payload-sha256 "))
    ]
    lines += [
        b"payload-bytes %d" % len(payload),
        b"payload-sha256 " + hashlib.sha256(payload).hexdigest().encode(),
    ]
    return b"\n".join(lines) + b"\n\n" + payload


CORRUPTIONS: dict[str, Callable[[bytes], bytes]] = {
    "empty": lambda data: b"",
    "truncated": _truncated,
    "one byte flipped": _flipped,
    "header only": _header_only,
    "no end of header": _no_header_end,
    "not a snapshot": lambda data: b"PK\x03\x04" + data[4:],
    "unreadable payload with a matching hash": _garbage_with_a_matching_hash,
}


@pytest.mark.parametrize("corrupt", CORRUPTIONS.values(), ids=CORRUPTIONS.keys())
def test_a_corrupt_snapshot_falls_back_to_validation_silently(
    packaged: Path,
    counts: Counts,
    validated: sa.KnowledgeBase,
    corrupt: Callable[[bytes], bytes],
) -> None:
    packaged.write_bytes(corrupt(packaged.read_bytes()))
    assert snapshot.read_snapshot(packaged, default_patterns_path()) is None
    kb = sa.load_knowledge_base()
    assert counts.parses == len(validated.files)
    assert kb.version == validated.version
    profile = sa.load_profile(PROFILES / "bank_strict.yaml")
    assert sa.render_json(sa.advise(profile, kb=kb, as_of=DATES[-1])) == sa.render_json(
        sa.advise(profile, kb=validated, as_of=DATES[-1])
    )


def test_a_directory_in_place_of_the_snapshot_falls_back(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, counts: Counts
) -> None:
    monkeypatch.setattr(snapshot, "SNAPSHOT_PATH", tmp_path)
    assert sa.load_knowledge_base().version
    assert counts.parses > 0


def test_a_custom_knowledge_base_is_always_validated(packaged: Path, counts: Counts) -> None:
    kb = sa.load_knowledge_base(default_patterns_path())  # the same files, named: validated
    assert counts.parses == counts.files_validated == len(kb.files)


def test_an_overlay_is_always_validated_with_its_base(packaged: Path, counts: Counts) -> None:
    overlay = ROOT / "examples" / "overlays" / "negotiated"
    kb = sa.load_knowledge_base(overlays=[overlay])
    assert counts.parses == counts.files_validated == len(kb.files)
    assert any(f.startswith("overlay:") for f in kb.files)


def test_the_command_lines_kb_option_validates(
    packaged: Path, counts: Counts, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["kb", "--kb", str(default_patterns_path())]) == 0
    assert counts.parses > 0
    assert main(["kb"]) == 0
    out = capsys.readouterr().out
    assert out.count(sa.load_knowledge_base().version) == 2


def test_writing_a_snapshot_validates_and_refuses_a_broken_knowledge_base(
    copy: Path, tmp_path: Path
) -> None:
    edit_text(copy / "prices" / "assumptions.yaml", "id: hours_per_month", "id: hours_per_mnth")
    with pytest.raises(sa.KnowledgeBaseError, match="hours_per_month"):
        snapshot.write_snapshot(copy, tmp_path / "never.pickle")
    assert not (tmp_path / "never.pickle").exists()


@pytest.mark.skipif(not os.environ.get("CI"), reason="CI installs the wheel, which must ship one")
def test_the_installed_wheel_ships_a_current_snapshot() -> None:
    assert snapshot.SNAPSHOT_PATH.is_file(), snapshot.SNAPSHOT_PATH
    assert snapshot.load_packaged() is not None


def test_the_digest_covers_every_module_the_validation_imports() -> None:
    """A change to any module the loader's validation runs invalidates a snapshot: the modules
    hashed are closed under their own `sovereign_advisor` imports."""
    package = Path(snapshot.__file__).parent.parent
    listed = set(snapshot._VALIDATING_MODULES)
    for name in listed:
        tree = ast.parse((package / name).read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith(
                "sovereign_advisor."
            ):
                module = node.module.removeprefix("sovereign_advisor.").replace(".", "/")
                imported = [f"{module}.py"] if (package / f"{module}.py").is_file() else []
                imported += [
                    f"{module}/{alias.name}.py"
                    for alias in node.names
                    if (package / module / f"{alias.name}.py").is_file()
                ]
                assert imported and set(imported) <= listed, (name, node.module)
