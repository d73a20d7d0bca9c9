"""Volume sweep: monthly cost of each eligible architecture from 1/100 to 100 times a profile's
volume, the break-even volumes, and the chart (when matplotlib, the `plot` extra, is installed).

    python examples/volume_sweep.py [PROFILE] [CHART.png|CHART.svg]

The command line does the same: `sovereign-advisor break-even PROFILE --chart CHART.png`.
"""

from __future__ import annotations

import datetime as dt
import sys
from fractions import Fraction
from pathlib import Path

import sovereign_advisor as sa
from sovereign_advisor.views.chart import available, human_volume, write_chart
from sovereign_advisor.views.curves import cost_curves

HERE = Path(__file__).parent
AS_OF = dt.date(2026, 11, 23)


def main(argv: list[str]) -> None:
    profile_path = Path(argv[0]) if argv else HERE / "profiles" / "insurer_hybrid.yaml"
    chart_path = Path(argv[1]) if len(argv) > 1 else Path("break-even.png")
    kb = sa.load_knowledge_base()
    profile = sa.load_profile(profile_path)
    advice = sa.advise(profile, kb=kb, as_of=AS_OF)
    volumes = tuple(
        Fraction(profile.workload.queries_per_month) * Fraction(k, 4) for k in (1, 2, 4, 8, 16)
    )
    curves = cost_curves(profile, kb=kb, as_of=AS_OF, volumes=volumes)
    print(f"{profile.organisation.name}: typical monthly cost ({curves.currency})")
    print(f"{'queries/month':>14}" + "".join(f"{c.architecture_id:>24}" for c in curves.curves))
    for v in volumes:
        row = "".join(f"{curves.at(c.architecture_id, v):>24,.2f}" for c in curves.curves)
        print(f"{human_volume(v):>14}{row}")
    for be in advice.break_even:
        at = "none in range" if be.queries_per_month is None else f"{be.queries_per_month:,.0f}"
        print(f"break-even {be.architectures[0]} / {be.architectures[1]}: {at}")
    if available():
        full = cost_curves(profile, kb=kb, as_of=AS_OF)  # the default fine grid for the chart
        print(f"chart: {write_chart(advice, full, chart_path)}")
    else:
        print("no chart: install the plot extra (pip install 'sovereign-advisor[plot]')")


if __name__ == "__main__":
    main(sys.argv[1:])
