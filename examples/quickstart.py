"""Quick start: advise the seed archetypes through the library API (the strict bank, the insurer
that keeps personal and health data in house, the German hospital where the hybrid is clearly
cheapest, and the high-volume web shop)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import sovereign_advisor as sa

PROFILES = Path(__file__).parent / "profiles"


def main() -> None:
    kb = sa.load_knowledge_base()  # the packaged knowledge base
    as_of = dt.date(2026, 11, 23)  # the engine reads no clock: say which day's law and prices
    for name in ("bank_strict", "insurer_hybrid", "german_hospital", "triage_high_volume"):
        profile = sa.load_profile(PROFILES / f"{name}.yaml")
        advice = sa.advise(profile, kb=kb, as_of=as_of)
        best = advice.recommended.architecture_id if advice.recommended else "none"
        print(f"{profile.organisation.name:<28} -> {best}")
        for a in advice.assessments:
            cost = f"{a.cost.monthly_total.typical:,.2f} {a.cost.currency}" if a.cost else "-"
            print(f"    {a.rank or '-'} {a.architecture_id:<22} eligible={a.eligible!s:<5} {cost}")


if __name__ == "__main__":
    main()
