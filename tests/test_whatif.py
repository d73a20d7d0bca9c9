"""What-ifs from the command line: --set, --assume, --fx, compare and sweep, on every example."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

import sovereign_advisor as sa
from sovereign_advisor.cli import main
from sovereign_advisor.whatif import overlay_knowledge_base, parse_value, profile_with

from .conftest import AS_OF, PROFILES

EXAMPLES = sorted(PROFILES.glob("*.yaml"))
DATE = ["--as-of", str(AS_OF)]


def _json(capsys: pytest.CaptureFixture[str], argv: list[str]) -> sa.Advice:
    assert main([*argv, *DATE, "--format", "json"]) == 0
    return sa.Advice.model_validate_json(capsys.readouterr().out)


@pytest.mark.parametrize("profile", EXAMPLES, ids=[p.stem for p in EXAMPLES])
def test_set_is_editing_the_file(
    profile: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = yaml.safe_load(profile.read_text(encoding="utf-8"))
    doubled = data["workload"]["queries_per_month"] * 2
    data["workload"]["queries_per_month"] = doubled
    data["workload"]["peak_queries_per_second"] = data["workload"]["peak_queries_per_second"] * 2
    edited = tmp_path / profile.name
    edited.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    by_file = _json(capsys, ["advise", str(edited)])
    sets = [
        f"workload.queries_per_month={doubled}",
        f"workload.peak_queries_per_second={data['workload']['peak_queries_per_second']}",
    ]
    by_set = _json(capsys, ["advise", str(profile), *(a for s in sets for a in ("--set", s))])
    assert by_set == by_file


@pytest.mark.parametrize("profile", EXAMPLES, ids=[p.stem for p in EXAMPLES])
def test_compare_sweep_assume_and_fx_on_every_example(
    profile: Path, kb: sa.KnowledgeBase, capsys: pytest.CaptureFixture[str]
) -> None:
    base = sa.advise(sa.load_profile(profile), kb=kb, as_of=AS_OF)
    volume = sa.load_profile(profile).workload.queries_per_month
    argv = ["compare", str(profile), "--set", f"workload.queries_per_month={volume * 0.5:g}"]
    assert main([*argv, "--set", "finance.monthly_budget=1000", *DATE]) == 0
    out = capsys.readouterr().out
    assert "#1" in out and "#3" in out and "--set finance.monthly_budget=1000" in out
    assert all(a.architecture_id in out for a in base.assessments)
    assert max(len(line) for line in out.splitlines()) <= 100

    assert main(["sweep", str(profile), "workload.complex_share", "0.05", "0.5", *DATE]) == 0
    rows = capsys.readouterr().out.splitlines()
    assert rows[-2].startswith("0.05") and rows[-1].startswith("0.5")

    fx = "EUR/JPY=165" if base.currency == "JPY" else "EUR/USD=1.5"
    argv = ["advise", str(profile), "--assume", "ops.monthly_cost_per_fte=9000", "--fx", fx]
    changed = _json(capsys, argv)
    listed = {a.id: a for a in changed.assumptions}
    assert listed["overlay.assume.ops.monthly_cost_per_fte"].value == "9000"
    assert listed[f"overlay.fx.{fx.split('=')[0]}"].value == fx.split("=")[1]
    assert changed.knowledge_base_version != base.knowledge_base_version
    staff = [
        c
        for a in changed.assessments
        if a.cost
        for c in a.cost.components
        if c.name.startswith("Operations staff")
    ]
    assert all("ops.monthly_cost_per_fte" in c.source for c in staff)


def test_assume_changes_the_cost_it_names(kb: sa.KnowledgeBase) -> None:
    profile = sa.load_profile(PROFILES / "bank_strict.yaml")
    dearer, overlays = overlay_knowledge_base(
        kb, assume=["ops.monthly_cost_per_fte=9000"], as_of=AS_OF
    )
    assert overlays and kb.version != dearer.version
    before = sa.advise(profile, kb=kb, as_of=AS_OF).assessments[0]
    after = sa.advise(profile, kb=dearer, as_of=AS_OF).assessments[0]
    assert before.cost is not None and after.cost is not None
    assert after.cost.monthly_total.typical > before.cost.monthly_total.typical
    assert kb.assumption("ops.monthly_cost_per_fte").value.typical != 9000  # base untouched


def test_fx_is_the_rate_used(kb: sa.KnowledgeBase) -> None:
    profile = sa.load_profile(PROFILES / "japanese_manufacturer.yaml")
    cheap, _ = overlay_knowledge_base(kb, fx=["EUR/JPY=100"], as_of=AS_OF)
    dear, _ = overlay_knowledge_base(kb, fx=["EUR/JPY=200"], as_of=AS_OF)
    totals = []
    for base in (cheap, dear):
        a = sa.advise(profile, kb=base, as_of=AS_OF).assessments[0]
        assert a.cost is not None
        totals.append(a.cost.monthly_total.typical)
        assert any("cli.fx.eur-jpy" in c.source for c in a.cost.components)
    assert totals[0] < totals[1]


def test_values_read_as_yaml_1_2() -> None:
    assert parse_value("2e6", "--set x") == 2_000_000
    assert parse_value("0.25", "--set x") == 0.25
    assert parse_value("[FR, DE]", "--set x") == ["FR", "DE"]
    assert parse_value("true", "--set x") is True
    assert parse_value("NO", "--set x") == "NO"  # Norway
    profile = profile_with(PROFILES / "bank_strict.yaml", ["organisation.operates_in=[FR, DE]"])
    assert profile.organisation.operates_in == ("FR", "DE")


@pytest.mark.parametrize(
    ("option", "message"),
    [
        (
            ["--set", "workload.queries_per_mont=3"],
            "--set workload.queries_per_mont=3: workload.queries_per_mont: unknown field",
        ),
        (
            ["--set", "workload.queries_per_month=-1"],
            "workload.queries_per_month: Input should be greater than or equal to 0 (got -1)",
        ),
        (["--set", "workload.queries_per_month=lots"], "workload.queries_per_month: must be"),
        (["--set", "workload.queries_per_month=1e400"], "not a finite number: '1e400'"),
        (["--set", "organisation.name.x=1"], "--set: organisation.name is not a section"),
        (["--set", "workload"], "--set: expected PATH=VALUE, got 'workload'"),
        (["--set", "use_cases[7].name=x"], "use_cases has"),
        (["--set", "organisation.sme=yes"], "organisation.sme"),
        (["--set", "organisation.headquarters=UK"], "did you mean `GB`?"),
        (["--assume", "ops.no_such=1"], "--assume: no assumption 'ops.no_such'"),
        (["--assume", "ops.monthly_cost_per_fte=much"], "not a number: 'much'"),
        (["--fx", "EURJPY=165"], "--fx: expected BASE/QUOTE=RATE"),
        (["--fx", "EUR/JPY=0"], "a rate must be above 0"),
    ],
)
def test_bad_what_ifs_get_one_line_errors(
    option: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    for command in ("advise", "compare"):
        argv = [command, str(PROFILES / "bank_strict.yaml"), *option, *DATE]
        if command == "compare" and option[0] != "--set":
            argv += ["--set", "finance.monthly_budget=1000"]
        assert main(argv) == 2, argv
        err = capsys.readouterr().err
        assert message in err, err
        assert err.count("\n") == 1 and "Traceback" not in err


def test_compare_needs_two_scenarios(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["compare", str(PROFILES / "bank_strict.yaml"), *DATE]) == 2
    assert "compare needs two profiles" in capsys.readouterr().err


def test_compare_two_files_says_what_changed(capsys: pytest.CaptureFixture[str]) -> None:
    a, b = PROFILES / "bank_strict.yaml", PROFILES / "insurer_hybrid.yaml"
    assert main(["compare", str(a), str(b), *DATE]) == 0
    out = capsys.readouterr().out
    assert "#2 insurer_hybrid: " in out and "organisation.headquarters: FR -> DE" in out
    assert "more" in out  # the list of differences is cut


def test_sweep_volume_column(capsys: pytest.CaptureFixture[str]) -> None:
    profile = str(PROFILES / "insurer_hybrid.yaml")
    values = ["1e5", "4e6", "4e7"]
    assert main(["sweep", profile, "workload.queries_per_month", *values, *DATE]) == 0
    out = capsys.readouterr().out
    rows = out.splitlines()[-3:]
    assert [r.split()[0] for r in rows] == values
    assert "hybrid_routing" in out and "excluded" in out
    json.dumps(out)
