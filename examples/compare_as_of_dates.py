"""The same profile on two dates: the law as it stood on each day.

Regulation (EU) 2026/1744 (the Digital Omnibus on AI, applicable from 27 July 2026) moved the
date from which the EU AI Act's Annex III high-risk duties apply from 2 August 2026 to
2 December 2027. Advising the French retail bank as of 1 July 2026 applies the original text;
as of 23 November 2026 the amended one. The knowledge base holds both versions of the rules.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import sovereign_advisor as sa

PROFILE = Path(__file__).parent / "profiles" / "french_retail_bank.yaml"
DATES = (dt.date(2026, 7, 1), dt.date(2026, 11, 23))


def main() -> None:
    kb = sa.load_knowledge_base()
    profile = sa.load_profile(PROFILE)
    print(profile.organisation.name)
    for as_of in DATES:
        advice = sa.advise(profile, kb=kb, as_of=as_of)
        best = advice.recommended.architecture_id if advice.recommended else "none"
        print(f"\nas of {as_of}: recommended {best}")
        for o in advice.obligations:
            when = "in force" if o.in_force else f"from {o.applies_from}"
            who = o.use_case or "organisation"
            print(f"  {when:<16} {o.rule_id:<42} [{who}]")


if __name__ == "__main__":
    main()
