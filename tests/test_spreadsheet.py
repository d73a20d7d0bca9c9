"""`advise --format csv`: the cost breakdown a spreadsheet opens, read back with `csv`."""

from __future__ import annotations

import csv
import io
import json
from decimal import Decimal as D
from pathlib import Path
from typing import Any

import pytest

import sovereign_advisor as sa
from sovereign_advisor.advice import Assessment, CostComponent
from sovereign_advisor.cli import main
from sovereign_advisor.views.spreadsheet import COLUMNS, render_csv

from .conftest import AS_OF, PROFILES

ON = ["--as-of", "2026-11-23"]
HEADER = [
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
]


@pytest.mark.parametrize("name", ["insurer_hybrid", "japanese_bank_eu_subsidiary", "bank_strict"])
def test_csv_reads_back_and_adds_up_to_the_advice(
    name: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    profile = PROFILES / f"{name}.yaml"
    assert main(["advise", str(profile), *ON, "--format", "json"]) == 0
    advice = sa.Advice.model_validate(json.loads(capsys.readouterr().out))
    out = tmp_path / "breakdown.csv"
    assert main(["advise", str(profile), *ON, "--format", "csv", "--output", str(out)]) == 0
    assert capsys.readouterr().out == ""
    text = out.read_bytes().decode("utf-8")  # UTF-8, as written
    assert main(["advise", str(profile), *ON, "--format", "csv"]) == 0
    assert capsys.readouterr().out == text  # standard output gets the same table

    reader = csv.DictReader(io.StringIO(text, newline=""))
    assert reader.fieldnames == HEADER == list(COLUMNS)
    rows = list(reader)
    eligible = [a for a in advice.assessments if a.cost is not None]
    assert {r["architecture"] for r in rows} == {a.architecture_id for a in eligible}
    assert len(rows) == sum(len(a.cost.components) for a in eligible if a.cost)
    recommended = advice.recommended.architecture_id if advice.recommended else None
    for a in eligible:
        assert a.cost is not None
        mine = [r for r in rows if r["architecture"] == a.architecture_id]
        # one row per component, in the advice's order, nothing summed in the sheet
        assert [r["component"] for r in mine] == [c.name for c in a.cost.components]
        assert sum(D(r["monthly_cost"]) for r in mine) == sum(
            c.monthly_cost for c in a.cost.components
        )
        for r in mine:
            assert r["rank"] == str(a.rank)
            assert r["recommended"] == ("yes" if a.architecture_id == recommended else "no")
            assert r["currency"] == advice.currency
            assert r["kind"] in ("always_on", "usage")
            # plain decimals: no thousands separator, no exponent, '.' as the decimal mark
            for column in ("monthly_quantity", "unit_price", "monthly_cost"):
                assert "," not in r[column] and "E" not in r[column].upper(), r
            assert D(r["monthly_quantity"]) * D(r["unit_price"]) == D(r["monthly_cost"])
            # the engine does not fill purchase prices yet: both columns stay empty
            if r["unit_purchase_price"] == "":
                assert r["capex"] == ""
            else:
                assert D(r["monthly_quantity"]) * D(r["unit_purchase_price"]) == D(r["capex"])


def _bank(
    kb: sa.KnowledgeBase,
) -> tuple[sa.Advice, Assessment, CostComponent, list[CostComponent]]:
    """The strict bank's advice, its one eligible architecture and that one's components."""
    advice = sa.advise(sa.load_profile(PROFILES / "bank_strict.yaml"), kb=kb, as_of=AS_OF)
    (chosen,) = [a for a in advice.assessments if a.cost is not None]
    assert chosen.cost is not None
    first, *rest = chosen.cost.components
    return advice, chosen, first, rest


def _with_first_component(advice: sa.Advice, chosen: Assessment, **update: Any) -> sa.Advice:
    """The advice with the first component of `chosen` changed."""
    assert chosen.cost is not None
    first, *rest = chosen.cost.components
    cost = chosen.cost.model_copy(update={"components": (first.model_copy(update=update), *rest)})
    return advice.model_copy(
        update={
            "assessments": tuple(
                a.model_copy(update={"cost": cost}) if a is chosen else a
                for a in advice.assessments
            )
        }
    )


def test_capex_is_quantity_times_purchase_price_when_given(kb: sa.KnowledgeBase) -> None:
    advice, chosen, first, rest = _bank(kb)
    changed = _with_first_component(advice, chosen, unit_purchase_price=D("22345.678900"))
    rows = list(csv.DictReader(io.StringIO(render_csv(changed), newline="")))
    assert rows[0]["unit_purchase_price"] == "22345.6789"
    assert D(rows[0]["capex"]) == first.monthly_quantity * D("22345.6789")
    # the other rows: the engine's own purchases (cards, servers) carry their capex, the rest
    # (power, rack space, staff, hosts) none
    assert len(rows) == len(chosen.cost.components)
    for row, c in zip(rows[1:], rest, strict=True):
        if c.unit_purchase_price is None:
            assert row["capex"] == "", c.name
        else:
            assert D(row["capex"]) == c.monthly_quantity * c.unit_purchase_price, c.name
    assert any(c.unit_purchase_price is not None for c in rest)


def test_a_cell_a_spreadsheet_would_read_as_a_formula_is_quoted(kb: sa.KnowledgeBase) -> None:
    advice, chosen, _, _ = _bank(kb)
    changed = _with_first_component(advice, chosen, name='=HYPERLINK("http://x")')
    rows = list(csv.DictReader(io.StringIO(render_csv(changed), newline="")))
    assert rows[0]["component"] == '\'=HYPERLINK("http://x")'
