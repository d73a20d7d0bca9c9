"""Every example runs, and every example profile gets the advice its comment block promises."""

from __future__ import annotations

import subprocess
import sys
from decimal import Decimal as D
from pathlib import Path

import pytest

import sovereign_advisor as sa
from sovereign_advisor.engine.costmodel import q6

from .conftest import AS_OF, PROFILES, ROOT

EXAMPLES = ROOT / "examples"


def _run(script: str, *args: str, cwd: Path | None = None) -> str:
    done = subprocess.run(
        [sys.executable, str(EXAMPLES / script), *args],
        capture_output=True,
        text=True,
        check=False,
        cwd=cwd,
    )
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr
    return done.stdout


def test_quickstart_runs() -> None:
    out = _run("quickstart.py")
    assert "-> on_prem_rag" in out
    assert "-> hybrid_routing" in out
    assert "-> tiered_cost_pipeline" in out


def test_compare_as_of_dates_shows_the_moved_annex_iii_date() -> None:
    out = _run("compare_as_of_dates.py")
    before, after = out.split("as of 2026-11-23")
    assert "from 2026-08-02  eu.ai_act.high_risk_annex_iii.original" in before
    assert "from 2027-12-02  eu.ai_act.high_risk_annex_iii.amended" in after
    assert "annex_iii.original" not in after


def test_volume_sweep_writes_its_chart(tmp_path: Path) -> None:
    chart = tmp_path / "sweep.png"
    out = _run("volume_sweep.py", str(PROFILES / "insurer_hybrid.yaml"), str(chart))
    assert (
        "break-even on_prem_rag / hybrid_routing" in out
        or "break-even hybrid_routing / on_prem_rag" in out
    )
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        assert "no chart" in out
    else:
        assert chart.read_bytes()[:4] == b"\x89PNG"


def test_negotiated_prices_overlay_changes_the_costs() -> None:
    out = _run("negotiated_prices_overlay.py")
    assert out.count("recommended with negotiated") == 3
    insurer = out.split("Versicherung Beispiel AG")[1].split("\n\n")[0]
    [hybrid] = [line.split() for line in insurer.splitlines() if "hybrid_routing " in line]
    saved = D(hybrid[2].replace(",", "")) - D(hybrid[5].replace(",", ""))
    # by hand: 3.2 M API queries x 1,500 input tokens = 4,800 Mtok x EUR 0.044 saved, + 960 Mtok
    # of output x EUR 0.13, + 4 H100 PCIe bought at USD 5,000 less (x 0.895095 / 60 months): the
    # pool needs 2 replicas of one card for GPU time at peak, and N+1 (the default redundancy)
    # adds a spare server holding as many cards as the fullest one (2)
    expected = 4800 * D("0.044") + 960 * D("0.13") + 4 * q6(D(5000) * D("0.895095") / 60)
    assert abs(saved - expected) <= D("0.01"), (saved, expected)


def test_every_example_script_is_tested() -> None:
    scripts = {p.name for p in EXAMPLES.glob("*.py")}
    tested = {
        "quickstart.py",
        "compare_as_of_dates.py",
        "volume_sweep.py",
        "negotiated_prices_overlay.py",
        "property_test_my_policy.py",  # issue 5's example, tested with it
        "sweep_dask.py",  # tests/test_batch.py runs it on a small sweep (the `dask` extra)
    }
    assert scripts <= tested, f"untested example scripts: {sorted(scripts - tested)}"


# What each profile's comment block says the advice shows. The close calls (hybrid_routing vs
# on_prem_rag within a few per cent) are the first to move when prices or the cost model change:
# then update the profile's comment block and this table together.
EXPECTED = {
    "bank_strict": ("on_prem_rag", {"on_prem_rag"}),
    "defence_contractor": ("on_prem_rag", {"on_prem_rag"}),
    "dutch_municipality_chatbot": (
        "tiered_cost_pipeline",
        {"on_prem_rag", "hybrid_routing", "tiered_cost_pipeline"},
    ),
    "ecommerce_triage": (
        "tiered_cost_pipeline",
        {"on_prem_rag", "hybrid_routing", "tiered_cost_pipeline"},
    ),
    # cost-equivalent (hybrid ~6% cheaper): on-prem preferred, it misroutes no personal data
    "french_retail_bank": ("on_prem_rag", {"on_prem_rag", "hybrid_routing"}),
    # the hybrid's API bill plus 4 GPUs is about 11% below on-prem's 6 GPUs: beyond the 10%
    # cost-equivalence margin, so the hybrid is recommended, its detector's misses stated
    "german_hospital": ("hybrid_routing", {"on_prem_rag", "hybrid_routing"}),
    # on-prem on H100 PCIe cards is about 11% cheaper than the hybrid's API bill plus its GPUs
    "insurer_hybrid": ("on_prem_rag", {"on_prem_rag", "hybrid_routing"}),
    # hybrid routing's detector misses would send customer data to an EU API only JP may reach
    "japanese_bank_eu_subsidiary": ("on_prem_rag", {"on_prem_rag"}),
    "japanese_manufacturer": ("on_prem_rag", {"on_prem_rag"}),
    "triage_high_volume": (
        "tiered_cost_pipeline",
        {"on_prem_rag", "hybrid_routing", "tiered_cost_pipeline"},
    ),
    "us_hr_software_eu": (
        "tiered_cost_pipeline",
        {"on_prem_rag", "hybrid_routing", "tiered_cost_pipeline"},
    ),
}

# Rules the comment blocks name, as (rule id, in force on 2026-11-23?) per profile.
EXPECTED_RULES = {
    "french_retail_bank": {
        ("eu.dora.ict_third_party", True),
        ("eu.ai_act.transparency.interaction", True),
        ("eu.ai_act.high_risk_annex_iii.amended", False),
    },
    "german_hospital": {("eu.ai_act.transparency.synthetic_content", True)},
    "japanese_manufacturer": {("jp.ai_promotion_act.business_effort", True)},
    "us_hr_software_eu": {
        ("eu.ai_act.high_risk_annex_iii.amended", False),
        ("eu.ai_act.high_risk_provider.amended", False),
        ("eu.ai_act.transparency.synthetic_content", True),
    },
    "dutch_municipality_chatbot": {
        ("eu.ai_act.transparency.interaction", True),
        ("eu.ai_act.transparency.synthetic_content", True),
    },
    "defence_contractor": {("eu.ai_act.ai_literacy", True)},
    "japanese_bank_eu_subsidiary": {
        ("eu.dora.ict_third_party", True),
        ("jp.ai_promotion_act.business_effort", True),
    },
    "ecommerce_triage": {("eu.ai_act.transparency.synthetic_content", True)},
}


def test_every_profile_has_a_comment_block_and_an_expectation() -> None:
    names = {p.stem for p in PROFILES.glob("*.yaml")}
    assert names == set(EXPECTED)
    assert len(names) >= 11
    for path in PROFILES.glob("*.yaml"):
        head = path.read_text(encoding="utf-8").splitlines()[:3]
        assert all(line.startswith("# ") for line in head), f"{path.name}: no comment block"


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_profile_gets_the_advice_its_comment_promises(name: str, kb: sa.KnowledgeBase) -> None:
    advice = sa.advise(sa.load_profile(PROFILES / f"{name}.yaml"), kb=kb, as_of=AS_OF)
    recommended, eligible = EXPECTED[name]
    assert advice.recommended is not None and advice.recommended.architecture_id == recommended
    assert {a.architecture_id for a in advice.assessments if a.eligible} == eligible
    obligations = {(o.rule_id, o.in_force) for o in advice.obligations}
    assert EXPECTED_RULES.get(name, set()) <= obligations
    fired = {f.rule_id for f in advice.findings}
    if name == "defence_contractor":
        assert "eu.ai_act.military_exclusion" in fired
        chosen = next(a for a in advice.assessments if a.architecture_id == "on_prem_rag")
        assert chosen.cost is not None
        purchase = [c for c in chosen.cost.components if c.name.startswith("GPU purchase")]
        assert purchase and all(c.monthly_cost == 0 for c in purchase)  # owned H100s suffice
    if name == "japanese_manufacturer":
        assert not any(o.jurisdiction == "EU" for o in advice.obligations)
    if name == "dutch_municipality_chatbot":
        flagged = {
            a.architecture_id: {r.id for r in a.risks} for a in advice.assessments if a.eligible
        }
        # two rented H100 (one replica and the N+1 spare) with their staff stay under EUR 5,000
        for architecture in ("on_prem_rag", "hybrid_routing"):
            assert "no_gpu_operations" in flagged[architecture]
            assert "budget_exceeded" not in flagged[architecture]
    if name == "ecommerce_triage":
        firsts = [b for b in advice.break_even if b.architectures[0] == "tiered_cost_pipeline"]
        assert firsts and all(b.queries_per_month is None for b in firsts)


def test_readme_examples_table_matches_the_expectations() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    rows = {
        line.split("|")[1].strip(" `"): line.split("|")[3].split()[0]
        for line in readme.splitlines()
        if line.startswith("| `") and line.count("|") == 4
    }
    assert rows == {name: recommended for name, (recommended, _) in EXPECTED.items()}
