"""Hardening (issue #18): numbers, knowledge-base files, outputs, limits, escaping.

The refusals have files in `tests/bad_inputs/`; this file holds the correct results and the
cases that need a knowledge-base directory, an output file or a library call.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from sovereign_advisor.profile import profile_from_text
from sovereign_advisor.yamlio import parse

from .conftest import PROFILES

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
