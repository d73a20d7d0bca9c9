"""What-ifs side by side (`compare`) and a column of outcomes (`sweep`), for a terminal.

Each scenario is an advice with a label and what changed; the view lays them out and never
decides: the decision, the totals and the exclusions are the advice's own.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sovereign_advisor.advice import Advice
from sovereign_advisor.formatting import money_in
from sovereign_advisor.views.text import WIDTH, clip, wrap_lines

LABEL = 22
"""Width of the row-label column."""

CHANGES_SHOWN = 6
"""How many differing fields `compare` lists per scenario."""


@dataclass(frozen=True)
class Scenario:
    """One advice of a comparison: its label and what changed against the first."""

    label: str
    changes: tuple[str, ...]
    advice: Advice


def outcome(advice: Advice) -> str:
    """`on_prem_rag`, `≈ on_prem_rag` (cost-equivalent, preferred) or `none`."""
    if advice.recommended is None:
        return "none"
    mark = "≈ " if advice.decision == "cost_equivalent" else ""
    return mark + advice.recommended.architecture_id


def _total(advice: Advice, architecture_id: str) -> str:
    found = next((a for a in advice.assessments if a.architecture_id == architecture_id), None)
    if found is None:
        return "-"
    if found.cost is None:
        return "excluded"
    return money_in(found.cost.monthly_total.typical, advice.currency)


def _architectures(advices: Sequence[Advice]) -> list[str]:
    return list(dict.fromkeys(a.architecture_id for x in advices for a in x.assessments))


def render_comparison(scenarios: Sequence[Scenario], *, common: Sequence[str] = ()) -> str:
    """Scenarios side by side: decision, typical monthly totals, what changed.

    `common` lists the options applied to every scenario (e.g. `--fx EUR/JPY=165`)."""
    first = scenarios[0].advice
    out = [
        (
            f"compare {len(scenarios)} scenarios, as of {first.as_of} (typical monthly totals; "
            "≈: cost-equivalent, preferred on secondary criteria)"
        )
    ]
    per_block = max(1, (WIDTH - LABEL) // 16)
    for start in range(0, len(scenarios), per_block):
        block = scenarios[start : start + per_block]
        width = (WIDTH - LABEL) // len(block)
        rows: list[tuple[str, list[str]]] = [
            ("", [f"#{start + i + 1}" for i in range(len(block))]),
            ("scenario", [s.label for s in block]),
            ("organisation", [s.advice.organisation for s in block]),
            ("decision", [s.advice.decision for s in block]),
            ("recommended", [outcome(s.advice) for s in block]),
        ]
        for arch in _architectures([s.advice for s in scenarios]):
            rows.append((arch, [_total(s.advice, arch) for s in block]))
        rows.append(("knowledge base", [s.advice.knowledge_base_version for s in block]))
        out.append("")
        for label, cells in rows:
            line = f"{label:<{LABEL}}" + "".join(f"{clip(c, width - 2):<{width}}" for c in cells)
            out.append(line.rstrip())
    out += ["", "what changed (against the first):"]
    if common:
        out.append(f"  in every scenario: {'; '.join(common)}")
    for i, s in enumerate(scenarios, 1):
        shown = list(s.changes[:CHANGES_SHOWN])
        if len(s.changes) > CHANGES_SHOWN:
            shown.append(f"and {len(s.changes) - CHANGES_SHOWN} more")
        out.append(f"  #{i} {s.label}: {'; '.join(shown) or '(the first)'}")
    return wrap_lines(out)


def render_sweep(
    field: str, values: Sequence[str], advices: Sequence[Advice], *, common: Sequence[str] = ()
) -> str:
    """One row per value of `field`: the recommended architecture and every typical total."""
    first = advices[0]
    archs = _architectures(advices)
    widths = [max(12, len(a) + 2) for a in archs]
    out = [
        (
            f"sweep {field} for {first.organisation}, as of {first.as_of} (typical monthly totals, "
            f"{first.currency}; ≈: cost-equivalent, preferred on secondary criteria)"
        ),
        "",
        f"{'value':<14}{'recommended':<24}"
        + "".join(f"{a:>{w}}" for a, w in zip(archs, widths, strict=True)),
    ]
    if common:
        out.insert(1, f"in every row: {'; '.join(common)}")
    for value, advice in zip(values, advices, strict=True):
        cells = []
        for a, w in zip(archs, widths, strict=True):
            total = _total(advice, a)
            total = total.removesuffix(f" {first.currency}")
            cells.append(f"{total:>{w}}")
        out.append(f"{clip(value, 13):<14}{clip(outcome(advice), 23):<24}" + "".join(cells))
    return wrap_lines(out)


def profile_changes(base: dict[str, Any], other: dict[str, Any]) -> tuple[str, ...]:
    """Field paths whose values differ between two profiles (as JSON), `path: a -> b`."""
    flat_a, flat_b = _flatten(base), _flatten(other)
    out = []
    for key in dict.fromkeys([*flat_a, *flat_b]):  # in the profile's order
        a, b = flat_a.get(key, "-"), flat_b.get(key, "-")
        if a != b:
            out.append(f"{key}: {a} -> {b}")
    return tuple(out)


def _flatten(data: Any, prefix: str = "") -> dict[str, str]:
    if isinstance(data, dict):
        out: dict[str, str] = {}
        for k, v in data.items():
            out.update(_flatten(v, f"{prefix}.{k}" if prefix else str(k)))
        return out
    if isinstance(data, list) and any(isinstance(x, dict) for x in data):
        out = {}
        for i, v in enumerate(data):
            out.update(_flatten(v, f"{prefix}[{i}]"))
        return out
    return {prefix: str(data)}
