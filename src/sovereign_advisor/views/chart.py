"""The break-even chart: monthly cost against monthly query volume (log scales).

Needs matplotlib (the `plot` extra: `pip install 'sovereign-advisor[plot]'`). It is imported
only when a chart is drawn, so the rest of the package never pays for it. Output is PNG or SVG,
chosen by the file name; both are written without timestamps (SVG ids come from a fixed salt),
so the same matplotlib version gives the same bytes.
"""

from __future__ import annotations

import math
from decimal import Decimal
from fractions import Fraction
from pathlib import Path
from typing import Any

from sovereign_advisor.advice import Advice
from sovereign_advisor.errors import InputError
from sovereign_advisor.outputs import write_atomically
from sovereign_advisor.views.curves import CostCurves

FORMATS = (".png", ".svg")

INSTALL_HINT = "install the plot extra: pip install 'sovereign-advisor[plot]'"


def available() -> bool:
    """Whether matplotlib can be imported (without importing pyplot)."""
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        return False
    return True


def human_volume(value: Fraction | Decimal | float) -> str:
    """3_000_000 -> '3M', 450_000 -> '450k', 4_016_316 -> '4.02M', 2e9 -> '2B'."""
    v = float(value)
    for size, suffix in ((1e9, "B"), (1e6, "M"), (1e3, "k")):
        if v >= size:
            return f"{v / size:.3g}{suffix}"
    return f"{v:.3g}"


def _money_tick(value: float, _pos: object) -> str:
    if value >= 1e9:
        return f"{value / 1e9:g}B"
    if value >= 1e6:
        return f"{value / 1e6:g}M"
    if value >= 1e3:
        return f"{value / 1e3:g}k"
    return f"{value:g}"


def _minor_money_tick(value: float, pos: object) -> str:
    """Label the 2x and 5x minor ticks of a log axis, so a short range still reads."""
    mantissa = value / 10 ** math.floor(math.log10(value)) if value > 0 else 0
    return _money_tick(value, pos) if round(mantissa) in (2, 5) else ""


def write_chart(advice: Advice, curves: CostCurves, path: str | Path) -> Path:
    """Draw the break-even chart of `advice` to `path` (.png or .svg) and return the path.

    Raises `InputError` for another extension or when matplotlib is not installed.
    """
    path = Path(path)
    if path.suffix.lower() not in FORMATS:
        raise InputError(
            f"chart file must end in .png or .svg, not {path.suffix or '(no extension)'!r}",
            file=str(path),
        )
    if not path.parent.is_dir():  # never create directories: a typo would leave one behind
        raise InputError(
            f"the directory {path.parent} does not exist; create it first", file=str(path)
        )
    if path.is_dir():
        raise InputError("the chart file is a directory; name a file in it", file=str(path))
    kind = path.suffix.lower().lstrip(".")
    try:
        write_atomically(path, lambda temporary: _save(advice, curves, temporary, kind))
    except OSError as error:
        raise InputError(
            f"cannot write the chart: {error.strerror or error}", file=str(path)
        ) from None
    return path


def chart_svg(advice: Advice, curves: CostCurves) -> str:
    """The chart as an SVG element to inline in HTML (no XML prolog, no doctype)."""
    import io

    buffer = io.BytesIO()
    _save(advice, curves, buffer, "svg")
    text = buffer.getvalue().decode("utf-8")
    return text[text.index("<svg") :]


def _save(advice: Advice, curves: CostCurves, target: Any, kind: str) -> None:
    try:
        import matplotlib
        from matplotlib.figure import Figure
        from matplotlib.ticker import FuncFormatter
    except ImportError:
        raise InputError(f"drawing a chart needs matplotlib; {INSTALL_HINT}") from None
    with matplotlib.rc_context({"svg.hashsalt": "sovereign-advisor", "font.size": 9}):
        figure = Figure(figsize=(9, 5.4), dpi=110, layout="constrained")
        axes = figure.add_subplot()
        _draw(axes, advice, curves, FuncFormatter(_money_tick))
        axes.yaxis.set_minor_formatter(FuncFormatter(_minor_money_tick))
        axes.tick_params(axis="y", which="minor", labelsize=7, labelcolor="#555555")
        metadata: dict[str, Any] = (
            {"Date": None, "Creator": None} if kind == "svg" else {"Software": None}
        )
        figure.savefig(target, format=kind, metadata=metadata)


def _draw(axes: Any, advice: Advice, curves: CostCurves, formatter: Any) -> None:
    xs = [float(v) for v in curves.volumes]
    recommended = advice.recommended.architecture_id if advice.recommended else None
    colours = ("#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b")
    for i, curve in enumerate(curves.curves):
        colour = colours[i % len(colours)]
        typical = [float(t) for t in curve.totals["typical"]]
        label = curve.architecture_id + (
            " (recommended)" if curve.architecture_id == recommended else ""
        )
        axes.fill_between(
            xs,
            [float(t) for t in curve.totals["low"]],
            [float(t) for t in curve.totals["high"]],
            color=colour,
            alpha=0.08,
            linewidth=0,
        )
        axes.plot(
            xs, typical, color=colour, linewidth=2.2 if label.endswith(")") else 1.6, label=label
        )
    volume = float(curves.profile_volume)
    if volume > 0:
        axes.axvline(volume, color="#444444", linestyle="--", linewidth=1)
        axes.annotate(
            f"this profile: {human_volume(volume)} queries/month",
            xy=(volume, 1),
            xycoords=("data", "axes fraction"),
            xytext=(4, -12),
            textcoords="offset points",
            fontsize=8,
            color="#444444",
        )
    _label_crossings(axes, advice, curves)
    axes.set_xscale("log")
    axes.set_yscale("log")
    axes.yaxis.set_major_formatter(formatter)
    axes.xaxis.set_major_formatter(formatter)
    axes.set_xlabel("queries per month (log scale; peak load scaled with volume)")
    axes.set_ylabel(f"monthly cost, {curves.currency} (typical; band: low-high)")
    axes.set_title(  # parse_math: a `$` in the name is text, not TeX
        f"{advice.organisation}: monthly cost by query volume (as of {advice.as_of})",
        fontsize=10,
        parse_math=False,
    )
    axes.grid(True, which="major", color="#dddddd", linewidth=0.6)
    axes.legend(loc="upper left", fontsize=8, frameon=False)


def _label_crossings(axes: Any, advice: Advice, curves: CostCurves) -> None:
    """Mark each break-even volume the engine found, on the cheaper-before curve."""
    ids = {c.architecture_id for c in curves.curves}
    for n, be in enumerate(advice.break_even):
        if be.queries_per_month is None or not set(be.architectures) <= ids:
            continue
        v = Fraction(be.queries_per_month)
        if not curves.volumes[0] <= v <= curves.volumes[-1]:
            continue
        cost = _interpolate(curves, be.architectures[0], v)
        axes.plot([float(v)], [cost], marker="o", color="black", markersize=5, zorder=5)
        a, b = be.architectures
        axes.annotate(
            f"{a} = {b}\nat {human_volume(v)}/month",
            xy=(float(v), cost),
            xytext=(-12, 28 + 24 * (n % 3)),
            textcoords="offset points",
            ha="right",
            fontsize=7.5,
            arrowprops={"arrowstyle": "-", "color": "#666666", "linewidth": 0.6},
        )


def _interpolate(curves: CostCurves, architecture_id: str, v: Fraction) -> float:
    """Typical cost at `v` read off the sampled curve (log-linear between samples)."""
    curve = next(c for c in curves.curves if c.architecture_id == architecture_id)
    totals = curve.totals["typical"]
    vols = curves.volumes
    for i in range(1, len(vols)):
        if vols[i] >= v:
            left, right = vols[i - 1], vols[i]
            t = float((v - left) / (right - left)) if right != left else 0.0
            return float(totals[i - 1]) + t * (float(totals[i]) - float(totals[i - 1]))
    return float(totals[-1])
