"""`sovereign-advisor kb`: what the knowledge base holds, with dates and sources."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence
from typing import Any

import yaml
from pydantic import BaseModel

from sovereign_advisor.errors import InputError
from sovereign_advisor.knowledge.loader import KnowledgeBase
from sovereign_advisor.knowledge.models import (
    Architecture,
    Assumption,
    Fact,
    FxRate,
    Gpu,
    GpuPrice,
    HostPrice,
    LanguageModel,
    Provenance,
    Rule,
    TokenPrice,
    Venue,
)
from sovereign_advisor.views.text import wrap_lines


def _records(kb: KnowledgeBase, section: str) -> Sequence[BaseModel]:
    table: dict[str, Callable[[], Sequence[BaseModel]]] = {
        "facts": lambda: list(kb.facts.values()),
        "rules": lambda: [r.rule for r in kb.rules],
        "architectures": lambda: kb.architectures,
        "venues": lambda: list(kb.venues.values()),
        "models": lambda: list(kb.models.values()),
        "gpus": lambda: list(kb.gpus.values()),
        "prices": lambda: [*kb.token_prices, *kb.gpu_prices, *kb.host_prices, *kb.throughputs],
        "assumptions": lambda: kb.assumptions,
        "fx": lambda: kb.fx_rates,
    }
    return table[section]()


def _dates(r: BaseModel) -> str:
    parts = []
    for name in ("valid_from", "valid_until", "applies_from", "retired_on"):
        value = getattr(r, name, None)
        if value is not None:
            parts.append(f"{name.replace('_', ' ')} {value}")
    return "; ".join(parts)


def _headline(r: BaseModel) -> str:
    if isinstance(r, Fact):
        return f"{r.jurisdiction}: {r.citation.instrument}, {r.citation.article}"
    if isinstance(r, Rule):
        return f"{r.jurisdiction} {r.scope} -> {r.effect}: rests on {', '.join(r.rests_on)}"
    if isinstance(r, Architecture):
        return f"{r.name}: roles {', '.join(role.id for role in r.roles)}"
    if isinstance(r, Venue):
        where = ",".join(r.data_locations) or "-"
        certs = ",".join(r.certifications) or "-"
        return (
            f"{r.kind}, {r.operator}, controlled from {r.controlled_from or '-'}, data in {where}, "
            f"certified {certs}"
        )
    if isinstance(r, LanguageModel):
        return f"{r.kind}, {r.total_params_b or '?'}B params, {r.licence}"
    if isinstance(r, Gpu):
        return f"{r.name}, {r.memory_gb:g} GB, {r.bandwidth_gb_s:g} GB/s, {r.power_w:g} W"
    if isinstance(r, TokenPrice):
        return (
            f"{r.model} at {r.venue}: {r.input_per_mtok.typical} in / "
            f"{r.output_per_mtok.typical} out {r.currency} per Mtok"
        )
    if isinstance(r, GpuPrice):
        rent = f"rent {r.rental_per_hour.typical}/h" if r.rental_per_hour else ""
        buy = f"buy {r.purchase.typical}" if r.purchase else ""
        return f"{r.gpu} at {r.venue}: {rent}{buy} {r.currency}"
    if isinstance(r, HostPrice):
        return f"{r.memory_gb:g} GB host at {r.venue}: {r.per_month.typical} {r.currency}/month"
    if isinstance(r, Assumption):
        return f"{r.value.typical} {r.unit}: {r.summary}"
    if isinstance(r, FxRate):
        return f"1 {r.base} = {r.rate.typical} {r.quote} on {r.date}"
    return type(r).__name__


def _line(r: BaseModel) -> list[str]:
    ident = str(getattr(r, "id", "?"))
    out = [f"{ident}  {_headline(r)}"]
    details = []
    if isinstance(r, Provenance):
        details.append(f"{r.status}, checked {r.checked_on}")
    dates = _dates(r)
    if dates:
        details.append(dates)
    if isinstance(r, Provenance):
        url = f" <{r.source.url}>" if r.source.url else ""
        details.append(f"source: {r.source.title}{url}")
    if details:
        out.append("    " + "; ".join(details))
    return out


def render_kb(kb: KnowledgeBase, section: str = "summary", record_id: str | None = None) -> str:
    """A summary, one section's records, or one record in full (as YAML)."""
    if section == "summary":
        if record_id is not None:
            raise InputError("give a section before an id, e.g. `kb facts ID`", field="id")
        return _summary(kb)
    records = _records(kb, section)
    if record_id is None:
        out = [f"{section}: {len(records)} record(s)", ""]
        for r in records:
            out += _line(r)
        return wrap_lines(out)
    found = [r for r in records if getattr(r, "id", None) == record_id]
    if not found:
        known = sorted(str(getattr(r, "id", "?")) for r in records)
        raise InputError(
            f"no {section} record with id {record_id!r}; ids: {', '.join(known[:12])}"
            + (f" and {len(known) - 12} more" if len(known) > 12 else ""),
            field="id",
        )
    out = []
    for r in found:
        origin = kb.origin.get(record_id)
        if origin:
            out.append(f"# from {origin}")
        data: Any = r.model_dump(mode="json", exclude_none=True)
        out.append(yaml.safe_dump(data, sort_keys=False, allow_unicode=True, width=96).rstrip())
    return "\n".join(out) + "\n"


def _summary(kb: KnowledgeBase) -> str:
    counts = {s: len(_records(kb, s)) for s in _SECTIONS}
    statuses: Counter[str] = Counter()
    oldest: list[str] = []
    for section in _SECTIONS:
        for r in _records(kb, section):
            if isinstance(r, Provenance):
                statuses[r.status] += 1
                if r.checked_on == kb.oldest_check:
                    oldest.append(str(getattr(r, "id", "?")))
    out = [
        f"knowledge base {kb.version}: {len(kb.files)} file(s)",
        f"oldest checked_on: {kb.oldest_check} ({len(oldest)} record(s) checked that day)",
        "records: " + ", ".join(f"{n} {s}" for s, n in counts.items()),
        "status: " + ", ".join(f"{n} {s}" for s, n in sorted(statuses.items())),
        "",
        "sections: " + ", ".join(_SECTIONS) + "  (sovereign-advisor kb SECTION [ID])",
    ]
    return wrap_lines(out)


_SECTIONS = (
    "facts",
    "rules",
    "architectures",
    "venues",
    "models",
    "gpus",
    "prices",
    "assumptions",
    "fx",
)
