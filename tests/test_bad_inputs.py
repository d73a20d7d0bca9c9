"""Bad input never crashes and never passes silently (issue #8).

Every file in `tests/bad_inputs/` makes one kind of mistake; `_expected.yaml` says which and
what the error must say. Each runs through the library (load, then advise) and through the
command line in a real subprocess: exit status 2, the message on stderr, no traceback.
"""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
import tracemalloc
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
import yaml

import sovereign_advisor as sa
from sovereign_advisor import yamlio
from sovereign_advisor.profile import profile_from_dict, profile_from_text

from .conftest import AS_OF, PROFILES

CORPUS = Path(__file__).parent / "bad_inputs"
TABLE: dict[str, dict[str, Any]] = yaml.safe_load(
    (CORPUS / "_expected.yaml").read_text(encoding="utf-8")
)
NAMES = sorted(TABLE)


def test_the_corpus_and_its_table_agree() -> None:
    files = sorted(p.name for p in CORPUS.iterdir() if not p.name.startswith("_"))
    assert files == NAMES
    assert len(files) >= 40
    assert all(row["expected"] and row["mistake"] for row in TABLE.values())


@pytest.mark.parametrize("name", NAMES)
def test_library_refuses_with_the_expected_message(name: str, kb: sa.KnowledgeBase) -> None:
    path = CORPUS / name
    with pytest.raises(sa.InputError) as caught:
        sa.advise(sa.load_profile(path), kb=kb, as_of=AS_OF)
    message = str(caught.value)
    assert message.startswith(f"{path}: ")
    for expected in TABLE[name]["expected"]:
        assert expected in message
    assert "Traceback" not in message
    assert len(message.splitlines()) <= 5


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "sovereign_advisor.cli", "advise", *args, "--as-of", "2026-11-23"],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )


@pytest.fixture(scope="module")
def cli_runs() -> dict[str, subprocess.CompletedProcess[str]]:
    """Every corpus file through the command line, a few processes at a time."""
    workers = min(8, 2 * (os.cpu_count() or 1))
    with ThreadPoolExecutor(max_workers=workers) as pool:
        done = pool.map(lambda name: _cli(str(CORPUS / name)), NAMES)
        return dict(zip(NAMES, done, strict=True))


@pytest.mark.parametrize("name", NAMES)
def test_cli_exits_2_with_the_message_and_no_traceback(
    name: str, cli_runs: dict[str, subprocess.CompletedProcess[str]]
) -> None:
    done = cli_runs[name]
    assert done.returncode == 2, done.stderr
    assert done.stdout == ""
    assert done.stderr.startswith(f"sovereign-advisor: error: {CORPUS / name}: ")
    for expected in TABLE[name]["expected"]:
        assert expected in done.stderr
    assert "Traceback" not in done.stderr
    assert len(done.stderr.splitlines()) <= 5


def test_a_100_mb_file_is_refused_unread(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    big = tmp_path / "big.yaml"
    with big.open("wb") as stream:
        stream.truncate(100_000_000)  # sparse: 100 MB by its size, nothing written

    def must_not_read(path: Path, limit: int) -> bytes:
        raise AssertionError("an oversized file was read")

    monkeypatch.setattr(yamlio, "_read_limited", must_not_read)
    with pytest.raises(sa.InputError, match=r"100,000,000 bytes; the limit is 5,000,000 bytes"):
        sa.load_profile(big)
    monkeypatch.undo()
    done = _cli(str(big))
    assert done.returncode == 2
    assert "the limit is 5,000,000 bytes (refused unread)" in done.stderr
    assert "Traceback" not in done.stderr


@pytest.mark.skipif(not Path("/dev/zero").exists(), reason="needs /dev/zero")
def test_a_stream_without_a_size_is_read_only_up_to_the_limit() -> None:
    # /dev/zero reports size 0 and never ends: the read stops one byte past the limit.
    with pytest.raises(sa.InputError, match="larger than the limit of 5,000,000 bytes"):
        sa.load_profile("/dev/zero")


def _bomb(levels: int) -> str:
    text = "l0: &l0 [lol, lol, lol, lol, lol, lol, lol, lol, lol, lol]\n"
    for i in range(1, levels):
        text += f"l{i}: &l{i} [" + ", ".join([f"*l{i - 1}"] * 10) + "]\n"
    return text


@pytest.mark.parametrize("levels", [6, 9, 30])
def test_alias_bombs_are_refused_with_bounded_memory(levels: int, tmp_path: Path) -> None:
    """10^6, 10^9 and 10^30 nodes once expanded: refused while counting, nothing built, and
    the file read without a buffer the size of the file limit."""
    bomb = tmp_path / "bomb.yaml"
    bomb.write_text(_bomb(levels), encoding="utf-8")
    tracemalloc.start()
    try:
        with pytest.raises(sa.InputError, match="expands to more than 200,000 nodes"):
            sa.load_profile(bomb)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 1_000_000


def test_a_document_just_under_the_node_limit_still_parses() -> None:
    data = yamlio.parse("x: [" + ", ".join(["1"] * 1000) + "]\n", "ok.yaml").data
    assert len(data["x"]) == 1000


def test_a_directory_is_not_a_profile(tmp_path: Path) -> None:
    with pytest.raises(sa.InputError, match="is a directory, not a file"):
        sa.load_profile(tmp_path)


def test_dicts_are_validated_with_input_error() -> None:
    data = yaml.safe_load((PROFILES / "bank_strict.yaml").read_text(encoding="utf-8"))
    data["organisation"]["sektor"] = data["organisation"].pop("sector")
    with pytest.raises(sa.InputError, match=r"organisation\.sektor: unknown field.*did you mean"):
        profile_from_dict(data, "dict")
    with pytest.raises(sa.InputError, match="a profile is a mapping, got list"):
        profile_from_dict([], "dict")  # type: ignore[arg-type]


def test_norway_stays_a_country() -> None:
    """YAML 1.1 reads NO as false; profiles follow YAML 1.2, where only true/false are booleans."""
    text = (PROFILES / "bank_strict.yaml").read_text(encoding="utf-8")
    profile = profile_from_text(text.replace("operates_in: [FR, BE]", "operates_in: [FR, NO]"))
    assert profile.organisation.operates_in == ("FR", "NO")


# Knowledge-base overlays come from users' hands too: the same reader, the same error type.


def _overlay(tmp_path: Path, text: str) -> Path:
    (tmp_path / "prices").mkdir()
    (tmp_path / "prices" / "local.yaml").write_text(text, encoding="utf-8")
    return tmp_path


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", "prices/local.yaml: the file is empty"),
        ("fx_rates: []\nfx_rates: []\n", "prices/local.yaml: line 2, column 1: duplicate key"),
        ("fx_rates: !!python/name:os.system\n", "tag `!!python/name:os.system` is not allowed"),
        ("fx_ratez: []\n", "fx_ratez: unknown field; allowed here:"),
        (_bomb(9), "expands to more than 200,000 nodes"),
        ("- a\n", "top level must be a mapping"),
    ],
)
def test_overlays_are_refused_with_input_error(tmp_path: Path, text: str, expected: str) -> None:
    with pytest.raises(sa.InputError) as caught:
        sa.load_knowledge_base(overlays=[_overlay(tmp_path, text)])
    assert isinstance(caught.value, sa.KnowledgeBaseError)
    assert expected in str(caught.value)


def test_an_overlay_typo_gets_a_did_you_mean(tmp_path: Path) -> None:
    with pytest.raises(sa.InputError, match=r"did you mean `fx_rates`\?"):
        sa.load_knowledge_base(overlays=[_overlay(tmp_path, "fx_ratez: []\n")])


def test_a_missing_overlay_directory_is_named(tmp_path: Path) -> None:
    with pytest.raises(sa.InputError, match="knowledge base directory not found"):
        sa.load_knowledge_base(overlays=[tmp_path / "nope"])


@pytest.mark.parametrize(
    ("kwargs", "expected"),
    [
        ({"as_of": "2026-11-23"}, "as_of to be a datetime.date, got '2026-11-23'"),
        ({"as_of": dt.datetime(2026, 11, 23)}, "as_of to be a datetime.date"),
        ({"as_of": AS_OF, "kb": {}}, "kb from load_knowledge_base(), got dict"),
    ],
)
def test_bad_arguments_to_advise_are_input_errors(kwargs: dict[str, Any], expected: str) -> None:
    profile = sa.load_profile(PROFILES / "bank_strict.yaml")
    with pytest.raises(sa.InputError) as caught:
        sa.advise(profile, **kwargs)
    assert expected in str(caught.value)


def test_a_path_that_is_not_a_path_is_an_input_error() -> None:
    with pytest.raises(sa.InputError, match="needs a file path, got NoneType"):
        sa.load_profile(None)  # type: ignore[arg-type]


def test_validate_refuses_every_corpus_file_in_one_run() -> None:
    """`validate` takes many profiles: one process checks the whole corpus, each file named."""
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "sovereign_advisor.cli",
            "validate",
            *(str(CORPUS / n) for n in NAMES),
        ],
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert done.returncode == 2
    assert "Traceback" not in done.stderr
    assert done.stdout.count("\nok: ") == 0  # only the knowledge-base line says ok
    for name in NAMES:
        start = done.stderr.index(f"sovereign-advisor: error: {CORPUS / name}: ")
        following = done.stderr.find("sovereign-advisor: error: ", start + 1)
        message = done.stderr[start : following if following != -1 else None]
        for expected in TABLE[name]["expected"]:
            assert expected in message, (name, expected)
