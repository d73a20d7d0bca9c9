"""The README is about the product: what it names exists in the repository, its commands run."""

from __future__ import annotations

import re
import shlex

import pytest

from sovereign_advisor.cli import main

from .conftest import ROOT

README = (ROOT / "README.md").read_text(encoding="utf-8")


def test_names_nothing_outside_the_repository() -> None:
    for word in ("DESIGN.md", "STYLE.md", "seed", "the issue", "/work/", "shared/"):
        assert word.lower() not in README.lower(), word
    for target in re.findall(r"\]\(([^)#]+)\)", README):
        if not target.startswith(("http://", "https://")):
            assert (ROOT / target).exists(), target
    for path in re.findall(r"`((?:examples|docs|patterns|tests|benchmarks)/[^`\s]*)`", README):
        assert (ROOT / path).exists() or "*" in path or "<" in path, path


def _commands() -> list[list[str]]:
    found = []
    for block in re.findall(r"```sh\n(.*?)```", README, flags=re.DOTALL):
        for line in block.replace("\\\n", " ").splitlines():
            line = line.split("&&")[-1].strip()
            synopsis = "PROFILE" in line or "[" in line or "|" in line
            if line.startswith("sovereign-advisor ") and not synopsis:
                found.append(shlex.split(line)[1:])
    return found


COMMANDS = _commands()


def test_the_readme_shows_the_what_if_commands() -> None:
    verbs = {c[0] for c in COMMANDS}
    assert {"advise", "compare", "sweep"} <= verbs
    assert any("--set" in c for c in COMMANDS) and any("--fx" in c for c in COMMANDS)


@pytest.mark.parametrize("argv", COMMANDS, ids=[" ".join(c)[:60] for c in COMMANDS])
def test_every_readme_command_runs(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    if "--as-of" not in argv:
        argv = [*argv, "--as-of", "2026-11-23"]
    assert main(argv) == 0, capsys.readouterr().err
    assert capsys.readouterr().out
