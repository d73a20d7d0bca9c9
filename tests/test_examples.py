"""Every example runs."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_quickstart_runs() -> None:
    done = subprocess.run(
        [sys.executable, str(ROOT / "examples" / "quickstart.py")],
        capture_output=True,
        text=True,
        check=True,
    )
    assert "-> on_prem_rag" in done.stdout
    assert "-> hybrid_routing" in done.stdout
    assert "-> tiered_cost_pipeline" in done.stdout
