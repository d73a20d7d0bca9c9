"""Hardening (issue #18): numbers, knowledge-base files, outputs, limits, escaping.

The refusals have files in `tests/bad_inputs/`; this file holds the correct results and the
cases that need a knowledge-base directory, an output file or a library call.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml

import sovereign_advisor as sa
from sovereign_advisor.knowledge.loader import default_patterns_path
from sovereign_advisor.profile import profile_from_text
from sovereign_advisor.yamlio import parse

from .conftest import PROFILES, edit_text

BANK = PROFILES / "bank_strict.yaml"


def cli(*args: str, **kwargs: object) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "sovereign_advisor.cli", *args],
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
        **kwargs,  # type: ignore[call-overload]
    )


# --- numbers: YAML 1.2 / JSON ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("1e-05", 1e-05),
        ("4e6", 4e6),
        ("0350", 350),
        ("1.5E+3", 1500.0),
        (".5", 0.5),
        ("0x1F", 31),
        ("0o17", 15),
        ("1:30", "1:30"),
        ("0b11001", "0b11001"),
        ("1_000", "1_000"),
    ],
)
def test_numbers_are_read_as_yaml_1_2(text: str, value: object) -> None:
    assert parse(f"x: {text}\n", "n.yaml").data == {"x": value}


def test_a_profile_written_by_json_dumps_is_read() -> None:
    data = yaml.safe_load(BANK.read_text(encoding="utf-8"))
    data["workload"]["complex_share"] = 0.00001  # json.dumps writes 1e-05
    data["workload"]["queries_per_month"] = 4e6
    text = json.dumps(data)
    assert "1e-05" in text
    profile = profile_from_text(text, "p.json")
    assert profile.workload.complex_share == 0.00001
    assert profile.workload.queries_per_month == 4_000_000


def test_json_numbers_through_the_cli(tmp_path: Path) -> None:
    data = yaml.safe_load(BANK.read_text(encoding="utf-8"))
    data["workload"]["complex_share"] = 0.00001
    path = tmp_path / "p.json"
    path.write_text(json.dumps(data), encoding="utf-8")
    done = cli("validate", str(path))
    assert done.returncode == 0, done.stderr


# --- which files a knowledge base or an overlay holds -----------------------------------------

NEGOTIATED = PROFILES.parent / "overlays" / "negotiated"


def _negotiated(tmp_path: Path) -> Path:
    target = tmp_path / "overlay"
    shutil.copytree(NEGOTIATED, target)
    return target


@pytest.mark.parametrize(
    ("setup", "expected"),
    [
        (
            lambda o: (o / "prices" / "negotiated.yaml").rename(o / "prices" / "negotiated.yml"),
            "prices/negotiated.yml: only files ending in `.yaml` are read; rename it to `negotia",
        ),
        (
            lambda o: (o / "prices" / "negotiated.yaml").rename(o / "prices" / "negotiated.YAML"),
            "prices/negotiated.YAML: only files ending in `.yaml` are read",
        ),
        (
            lambda o: (o / "prices" / "negotiated.yaml").rename(o / "prices" / "negotiated.json"),
            "prices/negotiated.json: only files ending in `.yaml` are read",
        ),
        (lambda o: (o / "prices").rename(o / "price"), "price: not part of a knowledge base"),
        (
            lambda o: (o / "prices" / "sub").mkdir(),
            "prices/sub: a folder inside a knowledge-base folder is not read",
        ),
        (
            lambda o: (o / "prices" / "x.yaml").symlink_to(o / "nowhere"),
            "prices/x.yaml: a symbolic link to nothing",
        ),
        (lambda o: (o / "notes.txt").write_text("hi"), "notes.txt: not part of a knowledge base"),
        (
            lambda o: (o / "prices" / "negotiated.yaml").unlink(),
            "holds no knowledge-base file",
        ),
        (
            lambda o: (o / "prices" / "negotiated.yaml").write_text("fx_rates: []\n"),
            "holds no record",
        ),
        (
            lambda o: shutil.copy(
                default_patterns_path() / "prices" / "fx.yaml", o / "prices" / "negotiated.yaml"
            ),
            "changes nothing: its 3 record(s) equal the base records",
        ),
    ],
)
def test_every_overlay_file_is_read_or_refused_by_name(
    tmp_path: Path, setup: Callable[[Path], object], expected: str
) -> None:
    overlay = _negotiated(tmp_path)
    setup(overlay)
    with pytest.raises(sa.KnowledgeBaseError) as caught:
        sa.load_knowledge_base(overlays=[overlay])
    assert expected in str(caught.value)
    assert str(overlay) in str(caught.value)
    done = cli("validate", "--overlay", str(overlay))
    assert done.returncode == 2
    assert expected in done.stderr
    assert "ok:" not in done.stdout


def test_an_overlay_pointed_at_its_prices_folder_is_refused() -> None:
    with pytest.raises(sa.KnowledgeBaseError, match="looks like the prices/ folder itself"):
        sa.load_knowledge_base(overlays=[NEGOTIATED / "prices"])


def test_a_kb_copy_with_a_renamed_price_file_is_refused(copy: Path) -> None:
    (copy / "prices" / "tokens.yaml").rename(copy / "prices" / "tokens.yml")
    with pytest.raises(sa.KnowledgeBaseError, match=r"prices/tokens\.yml: only files ending"):
        sa.load_knowledge_base(copy)
    done = cli("advise", str(BANK), "--kb", str(copy), "--as-of", "2026-11-23")
    assert done.returncode == 2 and "rename it to `tokens.yaml`" in done.stderr


def test_readme_schema_and_tools_are_allowed_in_a_kb(copy: Path, kb: sa.KnowledgeBase) -> None:
    (copy / "tools").mkdir()
    (copy / "tools" / "refresh.py").write_text("pass\n")
    assert sa.load_knowledge_base(copy).version == kb.version


def test_the_version_reflects_what_was_read(tmp_path: Path, kb: sa.KnowledgeBase) -> None:
    overlay = _negotiated(tmp_path)
    first = sa.load_knowledge_base(overlays=[overlay]).version
    assert first != kb.version
    edit_text(overlay / "prices" / "negotiated.yaml", "0.45", "0.44")
    assert sa.load_knowledge_base(overlays=[overlay]).version not in (first, kb.version)


@pytest.mark.parametrize(
    ("overlays", "expected"),
    [
        (None, "overlays needs a list of directories, got NoneType"),
        ("examples/overlays/negotiated", "got one path; write overlays=["),
        ([None], "needs a directory path (str or Path), got NoneType"),
        (["a\0b"], "is not a usable directory path"),
    ],
)
def test_bad_overlay_arguments_are_input_errors(overlays: object, expected: str) -> None:
    with pytest.raises(sa.InputError) as caught:
        sa.load_knowledge_base(overlays=overlays)  # type: ignore[arg-type]
    assert expected in str(caught.value)
