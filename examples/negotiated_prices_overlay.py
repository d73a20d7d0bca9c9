"""Negotiated prices as a knowledge-base overlay: how the advice changes with your own prices.

The overlay in `examples/overlays/negotiated/` replaces two records of the packaged knowledge
base by id (both Mistral Large 3 API price records and the H100 PCIe purchase price) without
copying the rest.
The same works from the command line:

    sovereign-advisor advise examples/profiles/french_retail_bank.yaml --as-of 2026-11-23 \\
        --overlay examples/overlays/negotiated
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import sovereign_advisor as sa

HERE = Path(__file__).parent
AS_OF = dt.date(2026, 11, 23)


def totals(advice: sa.Advice) -> dict[str, str]:
    return {
        a.architecture_id: f"{a.cost.monthly_total.typical:>12,.2f} {a.cost.currency}"
        if a.cost
        else f"{'excluded':>16}"
        for a in advice.assessments
    }


def main() -> None:
    base = sa.load_knowledge_base()
    negotiated = sa.load_knowledge_base(overlays=[HERE / "overlays" / "negotiated"])
    print(f"packaged knowledge base {base.version}; with the overlay {negotiated.version}")
    for name in ("french_retail_bank", "insurer_hybrid", "german_hospital"):
        profile = sa.load_profile(HERE / "profiles" / f"{name}.yaml")
        before = sa.advise(profile, kb=base, as_of=AS_OF)
        after = sa.advise(profile, kb=negotiated, as_of=AS_OF)
        print(f"\n{profile.organisation.name}")
        old, new = totals(before), totals(after)
        for architecture_id in old:
            print(
                f"  {architecture_id:<22} list {old[architecture_id]}   negotiated {new[architecture_id]}"
            )
        for label, advice in (("list prices", before), ("negotiated", after)):
            best = advice.recommended.architecture_id if advice.recommended else "none"
            print(f"  recommended with {label}: {best}")


if __name__ == "__main__":
    main()
