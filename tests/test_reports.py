"""The Markdown report, the cost curves behind the chart, the chart, and the checked-in reports."""

from __future__ import annotations

import itertools
import subprocess
import sys
from fractions import Fraction
from pathlib import Path

import pytest

import sovereign_advisor as sa
from sovereign_advisor.cli import main as cli_main
from sovereign_advisor.formatting import money, money_in, unit_price
from sovereign_advisor.views import chart
from sovereign_advisor.views import regenerate as reports
from sovereign_advisor.views.curves import cost_curves, table_volumes
from sovereign_advisor.views.markdown import render_markdown

from .conftest import AS_OF, PROFILES, ROOT

DOCS = ROOT / "docs" / "reports"
EXAMPLES = sorted(PROFILES.glob("*.yaml"))
REGENERATE = "run `python -m sovereign_advisor.views.regenerate` from the repository root"


@pytest.fixture(scope="module")
def built(kb: sa.KnowledgeBase) -> list[reports.Report]:
    return [reports.build_report(p, kb=kb, as_of=reports.REPORT_AS_OF) for p in EXAMPLES]


def test_checked_in_reports_are_current(built: list[reports.Report]) -> None:
    """Markdown only: chart bytes depend on the matplotlib version, the Markdown does not."""
    for report in built:
        path = DOCS / f"{report.name}.md"
        assert path.exists(), f"{path} is missing: {REGENERATE}"
        assert path.read_text(encoding="utf-8") == report.markdown, f"{path} is stale: {REGENERATE}"
        assert (DOCS / report.chart_name).exists(), f"{report.chart_name} missing: {REGENERATE}"
    index = (DOCS / "README.md").read_text(encoding="utf-8")
    assert index == reports.index_markdown(built, reports.REPORT_AS_OF), (
        f"stale index: {REGENERATE}"
    )
    extra = {p.stem for p in DOCS.glob("*.md")} - {r.name for r in built} - {"README"}
    assert not extra, f"reports without a profile: {sorted(extra)}"


def test_report_has_every_section_in_order(built: list[reports.Report]) -> None:
    for report in built:
        text = report.markdown
        sections = ["## Summary", "## Recommendation", "## All architectures, ranked"]
        if report.advice.recommended is not None:
            sections.append("## Cost breakdown of")
        if any(not a.eligible for a in report.advice.assessments):
            sections.append("## Excluded architectures")
        sections += ["## Break-even", "## Obligations", "## Assumptions"]
        positions = [text.index(s) for s in sections]
        assert positions == sorted(positions), report.name
        assert f"![Monthly cost against monthly query volume]({report.name}.svg)" in text
        # every architecture is in the ranked table, every exclusion rule is named
        for a in report.advice.assessments:
            assert f"| {a.architecture_id} |" in text
            assert all(f"`{e.rule_id}`" in text for e in a.exclusions)
        for o in report.advice.obligations:
            assert f"`{o.rule_id}`" in text and str(o.applies_from or "-") in text
        assert report.advice.knowledge_base_version in text


def test_obligations_are_a_timeline_now_then_later(built: list[reports.Report]) -> None:
    bank = next(r for r in built if r.name == "french_retail_bank")
    rows = [
        line for line in bank.markdown.splitlines() if "| in force |" in line or "| coming" in line
    ]
    kinds = ["now" if "| in force |" in line else "later" for line in rows]
    assert kinds == sorted(kinds, key=lambda k: k == "later") and "later" in kinds
    assert "| 2027-12-02 | coming (in 374 days) |" in bank.markdown


def test_breakdown_adds_up_to_the_total(built: list[reports.Report]) -> None:
    for report in built:
        best = report.advice.recommended
        if best is None:
            continue
        chosen = next(
            a for a in report.advice.assessments if a.architecture_id == best.architecture_id
        )
        assert chosen.cost is not None
        total = chosen.cost.monthly_total.typical
        cur = report.advice.currency
        shown = money(total, cur, cents=True)
        assert f"| **Total (typical)** | | | | **{shown}** | |" in report.markdown
        for c in chosen.cost.components:
            assert f"| {money(c.monthly_cost, cur, cents=True)} |" in report.markdown


def test_curves_agree_with_the_engine_at_the_profile_volume(built: list[reports.Report]) -> None:
    for report in built:
        curves = report.curves
        totals = {a.architecture_id: a.cost for a in report.advice.assessments if a.cost}
        assert {c.architecture_id for c in curves.curves} == set(totals)
        for c in curves.curves:
            cost = totals[c.architecture_id]
            assert cost is not None
            for band in ("low", "typical", "high"):
                at = curves.at(c.architecture_id, curves.profile_volume, band)
                assert at == getattr(cost.monthly_total, band), (report.name, band)


def test_curves_never_decrease_with_volume(built: list[reports.Report]) -> None:
    for report in built:
        for c in report.curves.curves:
            typical = c.totals["typical"]
            assert all(a <= b for a, b in itertools.pairwise(typical)), report.name


def test_curves_bracket_each_break_even(built: list[reports.Report], kb: sa.KnowledgeBase) -> None:
    """Just below an exact break-even volume one architecture is cheaper, just above the other."""
    for report in built:
        for be in report.advice.break_even:
            if be.queries_per_month is None:
                continue
            v = Fraction(be.queries_per_month)
            near = (v * Fraction(999, 1000), v * Fraction(1001, 1000))
            profile = sa.load_profile(PROFILES / f"{report.name}.yaml")
            curves = cost_curves(profile, kb=kb, as_of=AS_OF, volumes=near)
            a, b = be.architectures
            below = curves.at(a, near[0]) - curves.at(b, near[0])
            above = curves.at(a, near[1]) - curves.at(b, near[1])
            assert below * above <= 0, (report.name, be)
            break  # one per report keeps the test fast


def test_table_volumes_span_the_break_even_range() -> None:
    assert (
        table_volumes(Fraction(300_000))[0] == 3_000
        and table_volumes(Fraction(300_000))[-1] == 30_000_000
    )
    assert table_volumes(Fraction(0))[0] == 1


def test_text_fallback_without_a_chart(built: list[reports.Report], kb: sa.KnowledgeBase) -> None:
    report = built[0]
    text = render_markdown(report.advice, kb=kb, curves=report.curves, chart=None)
    assert "![" not in text and chart.INSTALL_HINT in text
    assert "(this profile)" in text
    # without a knowledge base there is no Sources section, but every rule id still is there
    bare = render_markdown(report.advice)
    assert "## Sources" not in bare and "## Obligations" in bare


def test_markdown_without_matplotlib_falls_back(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # import matplotlib -> ImportError
    assert not chart.available()
    out = tmp_path / "report.md"
    argv = ["advise", str(PROFILES / "bank_strict.yaml"), "--as-of", "2026-11-23"]
    assert cli_main([*argv, "--format", "markdown", "--output", str(out)]) == 0
    assert chart.INSTALL_HINT in out.read_text() and not list(tmp_path.glob("*.svg"))
    assert cli_main(["break-even", argv[1], "--chart", str(tmp_path / "c.png")]) == 2
    assert "needs matplotlib" in capsys.readouterr().err
    assert reports.main(["--out", str(tmp_path)]) == 2


def test_chart_files_are_deterministic(built: list[reports.Report], tmp_path: Path) -> None:
    pytest.importorskip("matplotlib")
    report = next(r for r in built if r.name == "insurer_hybrid")
    first = chart.write_chart(report.advice, report.curves, tmp_path / "a.svg").read_bytes()
    second = chart.write_chart(report.advice, report.curves, tmp_path / "b.svg").read_bytes()
    assert first == second
    svg = first.decode()
    assert "EUR" in svg or "monthly cost" in svg  # text may be drawn as paths; check metadata-free
    assert "<dc:date>" not in svg
    png = chart.write_chart(report.advice, report.curves, tmp_path / "a.png").read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    with pytest.raises(sa.InputError, match=r"must end in \.png or \.svg"):
        chart.write_chart(report.advice, report.curves, tmp_path / "a.jpg")


def test_regenerating_writes_reports_charts_and_index(tmp_path: Path) -> None:
    pytest.importorskip("matplotlib")
    profile = PROFILES / "bank_strict.yaml"
    assert reports.main([str(profile), "--out", str(tmp_path)]) == 0
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "README.md",
        "bank_strict.md",
        "bank_strict.svg",
    ]
    assert (tmp_path / "bank_strict.md").read_text() == (DOCS / "bank_strict.md").read_text()


def test_number_formats() -> None:
    from decimal import Decimal

    assert money(Decimal("10071.04")) == "10,071"
    assert money(Decimal("0.125"), "EUR", cents=True) == "0.12"
    assert unit_price(Decimal("5167.000000")) == "5,167.00"
    assert unit_price(Decimal("0.443695")) == "0.443695"
    # the yen has no minor unit: amounts are whole even where other currencies show cents; a
    # unit price keeps the decimals it was published or converted with
    assert money(Decimal("196563.4"), "JPY", cents=True) == "196,563"
    assert money(Decimal("1749.825"), "EUR", cents=True) == "1,749.82"
    assert money_in(Decimal("1749.82"), "EUR") == "1,750 EUR"
    assert unit_price(Decimal("5167.000000"), "JPY") == "5,167"
    assert unit_price(Decimal("28.98"), "JPY") == "28.98"
    assert chart.human_volume(4_016_316) == "4.02M" and chart.human_volume(2e9) == "2B"


def test_matplotlib_is_imported_only_to_draw() -> None:
    code = (
        "import sys\n"
        "from sovereign_advisor import cli\n"
        "from sovereign_advisor.views import chart, curves, explain, kb, markdown, regenerate\n"
        "assert cli.main(['advise', sys.argv[1], '--as-of', '2026-11-23', '--format', 'markdown']) == 0\n"
        "assert 'matplotlib' not in sys.modules, 'matplotlib imported without a chart'\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code, str(PROFILES / "bank_strict.yaml")],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr


def test_summary_comes_first_with_grouped_exclusions(built: list[reports.Report]) -> None:
    for report in built:
        text = report.markdown
        summary = text[text.index("## Summary") : text.index("## Recommendation")]
        assert "| rank | architecture | low | typical |" in summary
        assert "**Nearest change" in summary and "*The detail follows" in summary
        assert "No capital expenditure is shown" not in summary
        flat = " ".join(summary.split())
        for a in report.advice.assessments:
            if not a.eligible:
                assert a.decisive_reason is not None
                assert " ".join(a.decisive_reason.split()) in flat, (report.name, a.architecture_id)
        if any(not a.eligible for a in report.advice.assessments):
            assert "**Excluded, by cause:**" in summary
        # the board reads primary sources, never a seed note or a fact id as the citation
        assert "seed" not in text.lower(), report.name
        for line in text.splitlines():
            if line.startswith("- ") and "(fact `" in line:
                assert not line.startswith("- `"), line
