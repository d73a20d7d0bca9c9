"""The command line: JSON valid against the published schema, clear errors, exit codes."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import jsonschema
import pytest

from sovereign_advisor.cli import main
from sovereign_advisor.knowledge.loader import default_patterns_path

from .conftest import PROFILES

EXAMPLES = sorted(PROFILES.glob("*.yaml"))


@pytest.mark.parametrize("profile", EXAMPLES, ids=[p.stem for p in EXAMPLES])
def test_json_output_validates_against_the_advice_schema(
    profile: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["advise", str(profile), "--as-of", "2026-11-23", "--format", "json"]) == 0
    advice = json.loads(capsys.readouterr().out)
    schema = json.loads((default_patterns_path() / "schema" / "advice.schema.json").read_text())
    jsonschema.validate(advice, schema)
    assert advice["as_of"] == "2026-11-23"


@pytest.mark.parametrize("profile", EXAMPLES, ids=[p.stem for p in EXAMPLES])
def test_text_output_fits_100_columns(profile: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["advise", str(profile), "--as-of", "2026-11-23"]) == 0
    text = capsys.readouterr().out
    assert "RECOMMENDED" in text
    assert max(len(line) for line in text.splitlines()) <= 100


def test_same_input_same_bytes(capsys: pytest.CaptureFixture[str]) -> None:
    outputs = []
    for _ in range(2):
        main(["advise", str(EXAMPLES[0]), "--as-of", "2026-11-23", "--format", "json"])
        outputs.append(capsys.readouterr().out)
    assert outputs[0] == outputs[1]


def test_unknown_field_exits_2_naming_file_field_and_line(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    text = (
        (PROFILES / "bank_strict.yaml")
        .read_text()
        .replace("  sector: banking", "  sektor: banking")
    )
    bad.write_text(text)
    done = subprocess.run(
        [sys.executable, "-m", "sovereign_advisor.cli", "advise", str(bad)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 2
    assert str(bad) in done.stderr
    assert "organisation.sektor" in done.stderr and "unknown field" in done.stderr
    assert "line 8" in done.stderr
    assert "Traceback" not in done.stderr
    assert done.stdout == ""


def test_missing_file_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["advise", str(tmp_path / "nope.yaml")]) == 2
    assert "cannot read the file" in capsys.readouterr().err
