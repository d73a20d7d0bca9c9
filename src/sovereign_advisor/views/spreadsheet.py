"""The cost breakdown as CSV, one component per row, for a spreadsheet (`--format csv`).

Every eligible architecture's components, ranked order, under one header row; no total rows (a
spreadsheet sums). Numbers are plain decimals with '.' and no thousands separators, exact as the
Advice holds them (no rounding), so that `monthly_quantity x unit_price = monthly_cost` holds in
the sheet too. Named `spreadsheet`, not `csv`, so that it never shadows the standard library.
"""

from __future__ import annotations

import csv
import io

from sovereign_advisor.advice import Advice, Assessment, CostComponent
from sovereign_advisor.formatting import plain_decimal

COLUMNS = (
    "architecture",
    "rank",
    "recommended",
    "role",
    "component",
    "kind",
    "currency",
    "unit",
    "monthly_quantity",
    "unit_price",
    "monthly_cost",
    "unit_purchase_price",
    "capex",
    "source",
)
"""The header row. `capex` is `monthly_quantity` x `unit_purchase_price` for purchased equipment
(empty when the component has no purchase price); `kind` is `always_on` or `usage`."""


FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
"""A text cell starting with one of these would be read as a formula by a spreadsheet (CSV
injection, OWASP): such a cell is written with a leading apostrophe. Names come from the
knowledge base, which a user may replace (`--kb`, `--overlay`)."""


def _text(value: str) -> str:
    return f"'{value}" if value.startswith(FORMULA_STARTS) else value


def render_csv(advice: Advice) -> str:
    """The breakdown of every eligible architecture as CSV text (UTF-8 when written)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(COLUMNS)
    recommended = advice.recommended.architecture_id if advice.recommended else None
    for a in advice.assessments:
        if a.cost is None:
            continue
        for c in a.cost.components:
            writer.writerow(_row(a, c, a.cost.currency, a.architecture_id == recommended))
    return buffer.getvalue()


def _row(a: Assessment, c: CostComponent, currency: str, recommended: bool) -> list[str]:
    purchase = c.unit_purchase_price
    return [
        _text(a.architecture_id),
        str(a.rank) if a.rank is not None else "",
        "yes" if recommended else "no",
        _text(c.role or ""),
        _text(c.name),
        c.kind,
        currency,
        _text(c.unit),
        plain_decimal(c.monthly_quantity),
        plain_decimal(c.unit_price),
        plain_decimal(c.monthly_cost),
        plain_decimal(purchase) if purchase is not None else "",
        plain_decimal(c.monthly_quantity * purchase) if purchase is not None else "",
        _text(c.source),
    ]
