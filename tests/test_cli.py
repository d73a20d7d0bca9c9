"""The command line: every subcommand on every example profile, exit codes, clear errors."""

from __future__ import annotations

import datetime as dt
import json
import subprocess
import sys
from pathlib import Path

import jsonschema
import pytest

import sovereign_advisor as sa
from sovereign_advisor import cli
from sovereign_advisor.cli import main
from sovereign_advisor.formatting import money
from sovereign_advisor.knowledge.loader import default_patterns_path
from sovereign_advisor.views.explain import render_explanation

from .conftest import PROFILES, ROOT, edit_text

EXAMPLES = sorted(PROFILES.glob("*.yaml"))
AS_OF = ["--as-of", "2026-11-23"]


def _lines_fit(text: str) -> None:
    too_wide = [line for line in text.splitlines() if len(line) > 100]
    assert not too_wide, too_wide[:3]


@pytest.mark.parametrize("profile", EXAMPLES, ids=[p.stem for p in EXAMPLES])
def test_every_subcommand_works_on_every_example_profile(
    profile: Path, kb: sa.KnowledgeBase, capsys: pytest.CaptureFixture[str]
) -> None:
    # advise is the slow part (exact break-even search), so each command runs once through the
    # command line and the other renderings reuse its JSON output
    schema = json.loads((default_patterns_path() / "schema" / "advice.schema.json").read_text())
    assert main(["advise", str(profile), *AS_OF, "--format", "json"]) == 0
    as_json = capsys.readouterr().out
    jsonschema.validate(json.loads(as_json), schema)
    advice = sa.Advice.model_validate_json(as_json)
    assert advice.as_of == dt.date(2026, 11, 23)

    text = sa.render_text(advice, kb=kb, detail=True)
    assert "RECOMMENDED" in text or "COST-EQUIVALENT" in text or "NO RECOMMENDATION" in text
    _lines_fit(text)

    assert main(["advise", str(profile), *AS_OF, "--format", "markdown"]) == 0
    markdown = capsys.readouterr().out
    assert markdown.startswith(f"# LLM deployment advice: {advice.organisation}")
    assert "## Obligations" in markdown and "## Assumptions" in markdown

    first = advice.assessments[0].architecture_id
    assert main(["explain", str(profile), first, *AS_OF]) == 0
    assert capsys.readouterr().out == render_explanation(advice, first, kb)
    for assessed in advice.assessments:
        explanation = render_explanation(advice, assessed.architecture_id, kb)
        assert ("ELIGIBLE, rank" in explanation) == assessed.eligible
        assert all(e.rule_id in explanation for e in assessed.exclusions)
        if assessed.cost is not None:
            total = assessed.cost.monthly_total.typical
            assert money(total, advice.currency, cents=True) in explanation
        _lines_fit(explanation)

    assert main(["break-even", str(profile), *AS_OF]) == 0
    table = capsys.readouterr().out
    assert all(f"{b.architectures[0]} vs {b.architectures[1]}" in table for b in advice.break_even)
    _lines_fit(table)

    assert main(["validate", str(profile)]) == 0
    assert f"ok: {profile}" in capsys.readouterr().out


def test_markdown_to_stdout_has_no_chart_but_the_cost_table(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert (
        main(["advise", str(PROFILES / "insurer_hybrid.yaml"), *AS_OF, "--format", "markdown"]) == 0
    )
    out = capsys.readouterr().out
    assert "![" not in out  # nowhere to write a chart next to standard output
    assert "(this profile)" in out


def test_markdown_output_file_gets_its_chart_next_to_it(tmp_path: Path) -> None:
    pytest.importorskip("matplotlib")
    report = tmp_path / "advice.md"
    argv = ["advise", str(PROFILES / "insurer_hybrid.yaml"), *AS_OF, "--format", "markdown"]
    assert main([*argv, "--output", str(report)]) == 0
    chart = tmp_path / "advice-break-even.svg"
    assert chart.read_text().startswith("<?xml")
    assert "](advice-break-even.svg)" in report.read_text()


def test_break_even_chart_png(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    pytest.importorskip("matplotlib")
    chart = tmp_path / "chart.png"
    assert (
        main(["break-even", str(PROFILES / "insurer_hybrid.yaml"), *AS_OF, "--chart", str(chart)])
        == 0
    )
    assert chart.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert f"chart: {chart}" in capsys.readouterr().out


def test_break_even_chart_needs_png_or_svg(capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["break-even", str(PROFILES / "insurer_hybrid.yaml"), *AS_OF, "--chart", "c.pdf"]
    assert main(argv) == 2
    assert "c.pdf: chart file must end in .png or .svg" in capsys.readouterr().err


def test_same_input_same_bytes(capsys: pytest.CaptureFixture[str]) -> None:
    outputs = []
    for _ in range(2):
        main(["advise", str(EXAMPLES[0]), *AS_OF, "--format", "json"])
        outputs.append(capsys.readouterr().out)
    assert outputs[0] == outputs[1]


def test_without_as_of_the_cli_uses_today_and_says_so(capsys: pytest.CaptureFixture[str]) -> None:
    before = dt.date.today()
    assert main(["advise", str(PROFILES / "bank_strict.yaml")]) == 0
    out = capsys.readouterr().out
    assert f"as of {before}" in out or f"as of {dt.date.today()}" in out


def test_unknown_field_exits_2_naming_file_field_and_line(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    text = (
        (PROFILES / "bank_strict.yaml")
        .read_text()
        .replace("  sector: banking", "  sektor: banking")
    )
    bad.write_text(text)
    for command in (["advise", str(bad)], ["validate", str(bad)]):
        done = subprocess.run(
            [sys.executable, "-m", "sovereign_advisor.cli", *command],
            capture_output=True,
            text=True,
            check=False,
        )
        assert done.returncode == 2, command
        assert str(bad) in done.stderr
        assert "organisation.sektor" in done.stderr and "unknown field" in done.stderr
        assert "line 8" in done.stderr
        assert "Traceback" not in done.stderr


def test_validate_reports_every_bad_profile_and_the_good_ones(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text((PROFILES / "bank_strict.yaml").read_text().replace("0.4}", "0.5}"))
    assert main(["validate", str(bad), str(PROFILES / "bank_strict.yaml")]) == 2
    captured = capsys.readouterr()
    assert "ok: packaged knowledge base" in captured.out
    assert f"ok: {PROFILES / 'bank_strict.yaml'}" in captured.out
    assert str(bad) in captured.err and "sum to 1" in captured.err


def test_validate_a_knowledge_base_directory(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["validate", "--kb", str(ROOT / "patterns")]) == 0
    assert "oldest checked_on" in capsys.readouterr().out


def test_missing_file_and_missing_kb_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["advise", str(tmp_path / "nope.yaml")]) == 2
    assert "cannot read the file" in capsys.readouterr().err
    assert main(["validate", "--kb", str(tmp_path)]) == 2
    assert str(tmp_path) in capsys.readouterr().err


def test_bad_as_of_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_:
        main(["advise", str(EXAMPLES[0]), "--as-of", "23/11/2026"])
    assert exit_.value.code == 2
    assert "not a date (YYYY-MM-DD): '23/11/2026'" in capsys.readouterr().err


def test_unknown_architecture_exits_2_listing_the_known(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["explain", str(EXAMPLES[0]), "cloud_only", *AS_OF]) == 2
    err = capsys.readouterr().err
    assert "unknown architecture 'cloud_only'" in err and "hybrid_routing" in err


def test_internal_error_exits_1_without_traceback(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    def broken(*_args: object, **_kwargs: object) -> None:
        raise RuntimeError("boom")

    monkeypatch.setattr(sa, "advise", broken)
    assert main(["advise", str(EXAMPLES[0]), *AS_OF]) == 1
    err = capsys.readouterr().err
    assert "internal error: RuntimeError: boom" in err and "Traceback" not in err
    with pytest.raises(RuntimeError):
        main(["--debug", "advise", str(EXAMPLES[0]), *AS_OF])


def test_overlay_changes_the_knowledge_base_and_the_cost(
    capsys: pytest.CaptureFixture[str],
) -> None:
    profile = str(PROFILES / "insurer_hybrid.yaml")
    overlay = str(ROOT / "examples" / "overlays" / "negotiated")
    main(["advise", profile, *AS_OF, "--format", "json"])
    base = json.loads(capsys.readouterr().out)
    assert main(["advise", profile, *AS_OF, "--format", "json", "--overlay", overlay]) == 0
    negotiated = json.loads(capsys.readouterr().out)
    assert negotiated["knowledge_base_version"] != base["knowledge_base_version"]
    assert negotiated["assessments"] != base["assessments"]


@pytest.mark.parametrize("name", ["profile", "advice", *cli.KB_KINDS])
def test_schema_prints_the_published_schema(name: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["schema", name]) == 0
    printed = capsys.readouterr().out
    assert printed == (default_patterns_path() / "schema" / f"{name}.schema.json").read_text()
    jsonschema.Draft202012Validator.check_schema(json.loads(printed))


def test_kb_summary_states_version_and_oldest_check(
    kb: sa.KnowledgeBase, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["kb"]) == 0
    out = capsys.readouterr().out
    assert kb.version in out and f"oldest checked_on: {kb.oldest_check}" in out
    _lines_fit(out)


@pytest.mark.parametrize(
    "section",
    ["facts", "rules", "architectures", "venues", "models", "gpus", "prices", "assumptions", "fx"],
)
def test_kb_sections_list_every_record_with_dates_and_sources(
    section: str, kb: sa.KnowledgeBase, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["kb", section]) == 0
    out = capsys.readouterr().out
    count = int(out.split(":", 1)[1].split()[0])
    assert count > 0
    if section == "facts":
        assert count == len(kb.facts)
        assert all(f"\n{fact_id}  " in out for fact_id in kb.facts)
    if section != "rules":
        assert "checked 2" in out and "source: " in out
    _lines_fit(out)


def test_kb_shows_one_record_and_refuses_an_unknown_id(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["kb", "venues", "azure-eu"]) == 0
    out = capsys.readouterr().out
    assert "controlled_from: US" in out and "checked_on:" in out
    assert main(["kb", "facts", "no.such.fact"]) == 2
    assert "no facts record with id 'no.such.fact'" in capsys.readouterr().err


def test_every_subcommand_has_help(capsys: pytest.CaptureFixture[str]) -> None:
    for command in (
        "advise",
        "explain",
        "break-even",
        "compare",
        "sweep",
        "validate",
        "schema",
        "kb",
    ):
        with pytest.raises(SystemExit) as exit_:
            main([command, "--help"])
        assert exit_.value.code == 0
        assert f"usage: sovereign-advisor {command}" in capsys.readouterr().out


def test_debug_works_after_the_subcommand_too(monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(*_args: object, **_kwargs: object) -> None:
        raise RuntimeError("boom")

    monkeypatch.setattr(sa, "advise", broken)
    with pytest.raises(RuntimeError):
        main(["advise", str(EXAMPLES[0]), *AS_OF, "--debug"])
    with pytest.raises(SystemExit):
        main(["schema", "nope", "--debug"])


def test_explain_prices_an_excluded_architecture_without_the_policy(
    capsys: pytest.CaptureFixture[str],
) -> None:
    profile = str(PROFILES / "insurer_hybrid.yaml")
    assert main(["explain", profile, "tiered_cost_pipeline", *AS_OF]) == 0
    out = capsys.readouterr().out.replace("\n  ", " ")
    assert "NOT ELIGIBLE: excluded by policy.leave_premises, policy.reachable_by" in out
    assert "if the policy allowed it (`open` preset, any venue) it would cost" in out
    assert "so the sovereignty policy costs" in out
    assert "us.usc18.2713 (binding): 18 U.S.C., § 2713" in out


# --- kb audit -----------------------------------------------------------------------------------


def test_kb_audit_counts_every_record_by_status_age_and_source_kind(
    kb: sa.KnowledgeBase, capsys: pytest.CaptureFixture[str]
) -> None:
    from sovereign_advisor.views.kb import audit_records

    assert main(["kb", "audit", "--as-of", "2026-12-01"]) == 0
    out = capsys.readouterr().out
    assert "as of 2026-12-01" in out
    records = audit_records(kb, dt.date(2026, 12, 1))
    assert f"{len(records)} record(s) with provenance" in out
    # every fact is counted once in each table: its row sums to the number of facts
    facts = [row for row in map(str.split, out.splitlines()) if row[:1] == ["facts"]][:3]
    assert len(facts) == 3 and all(sum(map(int, row[1:])) == len(kb.facts) for row in facts)
    # nothing in the packaged base is older than the audit day or rests on a seed alone
    assert "0 seed-only)" in out


def test_kb_audit_shows_a_stale_record_first(
    copy: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # A fact last checked on 2025-06-01 is 548 days old on 2026-12-01: more than a year.
    edit_text(
        copy / "jurisdictions" / "eu_gdpr.yaml",
        "    checked_on: 2026-11-23\n    valid_from: 2023-01-16\n",
        "    checked_on: 2025-06-01\n    valid_from: 2023-01-16\n",
    )
    assert main(["kb", "audit", "--kb", str(copy), "--as-of", "2026-12-01"]) == 0
    out = capsys.readouterr().out
    oldest = out.split("oldest ")[1].splitlines()[1]
    assert oldest.startswith("  2025-06-01 (548 d)  fact eu.dora.application")
    [ages] = [row for row in map(str.split, out.splitlines()) if row[:1] == ["facts"]][1:2]
    assert ages[-1] == "1"  # the >365d column


def test_kb_audit_defaults_to_today_read_by_the_cli(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["kb", "audit"]) == 0
    assert f"as of {dt.date.today()}" in capsys.readouterr().out


def test_the_audit_view_needs_a_date_from_its_caller(kb: sa.KnowledgeBase) -> None:
    from sovereign_advisor.views.kb import render_kb

    with pytest.raises(sa.InputError, match="needs an as-of date"):
        render_kb(kb, "audit")
