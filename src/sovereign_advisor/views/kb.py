"""`sovereign-advisor kb`: what the knowledge base holds, with dates and sources."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, get_args

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
    ServerPrice,
    SourceKind,
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
        "prices": lambda: [
            *kb.token_prices,
            *kb.gpu_prices,
            *kb.server_prices,
            *kb.host_prices,
            *kb.throughputs,
        ],
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
    price = _price_headline(r)
    if price is not None:
        return price
    if isinstance(r, Assumption):
        return f"{r.value.typical} {r.unit}: {r.summary}"
    if isinstance(r, FxRate):
        return f"1 {r.base} = {r.rate.typical} {r.quote} on {r.date}"
    return type(r).__name__


def _price_headline(r: BaseModel) -> str | None:
    """The headline of a price record, or None for another kind of record."""
    if isinstance(r, TokenPrice):
        return (
            f"{r.model} at {r.venue}: {r.input_per_mtok.typical} in / "
            f"{r.output_per_mtok.typical} out {r.currency} per Mtok"
        )
    if isinstance(r, GpuPrice):
        rent = f"rent {r.rental_per_hour.typical}/h" if r.rental_per_hour else ""
        buy = f"buy {r.purchase.typical}" if r.purchase else ""
        return f"{r.gpu} at {r.venue}: {rent}{buy} {r.currency}"
    if isinstance(r, ServerPrice):
        return (
            f"{r.name} at {r.venue}: buy {r.purchase.typical} {r.currency} without its GPUs, "
            f"{r.power_w:g} W, {r.rack_units}U"
        )
    if isinstance(r, HostPrice):
        what = f"{r.name}, managed" if r.managed and r.name else (r.name or "host")
        return f"{what} ({r.memory_gb:g} GB) at {r.venue}: {r.per_month.typical} {r.currency}/month"
    return None


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


def render_kb(
    kb: KnowledgeBase,
    section: str = "summary",
    record_id: str | None = None,
    *,
    as_of: dt.date | None = None,
) -> str:
    """A summary, one section's records, one record in full (as YAML), or the audit view
    (`section="audit"`, which needs `as_of`)."""
    if section == "audit":
        if record_id is not None:
            raise InputError("`kb audit` takes no id", field="id")
        if as_of is None:
            raise InputError("the audit view needs an as-of date", field="as_of")
        return render_audit(kb, as_of)
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
        "audit: sovereign-advisor kb audit [--as-of DATE]  (status, age and source kind)",
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


# --- audit view --------------------------------------------------------------------------------

AGE_BUCKETS: tuple[tuple[str, int | None], ...] = (
    ("<=30d", 30),
    ("31-90d", 90),
    ("91-180d", 180),
    ("181-365d", 365),
    (">365d", None),
)
"""Age of `checked_on` on the as-of date, in days: each bucket's label and inclusive upper bound."""

SOURCE_KINDS: tuple[str, ...] = (*get_args(SourceKind), "unclassified")
"""Columns of the source-kind table, in order."""


@dataclass(frozen=True)
class AuditRecord:
    """One record as the audit sees it."""

    section: str
    id: str
    status: str
    checked_on: dt.date
    age_days: int
    """Days from `checked_on` to the as-of date (negative: checked after it)."""
    source_kind: str
    """Kind of the record's own source (`Source.classified_kind`)."""
    kinds_beside: tuple[str, ...]
    """Kinds of the sources read beside it."""

    @property
    def age_bucket(self) -> str:
        for label, bound in AGE_BUCKETS:
            if bound is None or self.age_days <= bound:
                return label
        raise AssertionError("the last bucket is open")  # pragma: no cover


def audit_records(kb: KnowledgeBase, as_of: dt.date) -> list[AuditRecord]:
    """Every record with provenance, with its age on `as_of` and the kind of its source."""
    out = []
    for section in _AUDITED:
        for r in _records(kb, section):
            if not isinstance(r, Provenance):
                continue
            out.append(
                AuditRecord(
                    section=section,
                    id=str(getattr(r, "id", "?")),
                    status=r.status,
                    checked_on=r.checked_on,
                    age_days=(as_of - r.checked_on).days,
                    source_kind=r.source.classified_kind,
                    kinds_beside=tuple(k for s in r.source.also for k in s.kinds),
                )
            )
    return out


def _table(rows: dict[str, Counter[str]], columns: Sequence[str], title: str) -> list[str]:
    width = max(len(name) for name in (title, *rows, "all")) + 2
    head = f"{title:<{width}}" + "".join(f"{c:>{max(len(c), 5) + 2}}" for c in columns)
    lines = [head]
    total: Counter[str] = Counter()
    for name, counts in rows.items():
        total.update(counts)
        cells = "".join(f"{counts.get(c, 0):>{max(len(c), 5) + 2}}" for c in columns)
        lines.append(f"{name:<{width}}{cells}")
    cells = "".join(f"{total.get(c, 0):>{max(len(c), 5) + 2}}" for c in columns)
    lines.append(f"{'all':<{width}}{cells}")
    return lines


def render_audit(kb: KnowledgeBase, as_of: dt.date, *, oldest: int = 10) -> str:
    """How current and how well sourced the knowledge base is, on `as_of`: records by status, by
    age of `checked_on` and by kind of source, then the records to look at first."""
    records = audit_records(kb, as_of)
    by: dict[str, dict[str, Counter[str]]] = {"status": {}, "age": {}, "kind": {}}
    for r in records:
        by["status"].setdefault(r.section, Counter())[r.status] += 1
        by["age"].setdefault(r.section, Counter())[r.age_bucket] += 1
        by["kind"].setdefault(r.section, Counter())[r.source_kind] += 1
    statuses = ("binding", "provisional", "guidance")
    out = [
        f"knowledge-base audit {kb.version} as of {as_of}: {len(records)} record(s) with provenance",
        "",
        "by status",
        *_table(by["status"], statuses, "section"),
        "",
        f"by age of checked_on on {as_of}",
        *_table(by["age"], [label for label, _ in AGE_BUCKETS], "section"),
        "",
        "by kind of source (the record's own source; sources read beside it are not counted)",
        *_table(by["kind"], SOURCE_KINDS, "section"),
    ]
    weak = [
        r
        for r in records
        if r.section in ("facts", "venues")
        and r.source_kind not in ("primary", "official_guidance")
    ]
    seed_only = [r for r in weak if r.source_kind == "seed" and set(r.kinds_beside) <= {"seed"}]
    binding = sum(r.status == "binding" for r in weak)
    weak_line = (
        f"facts and venues without a primary or official source: {len(weak)} "
        f"({binding} binding, {len(seed_only)} seed-only)"
    )
    out += ["", weak_line]
    out += [
        f"  {r.section[:-1]} {r.id}: {r.source_kind}, {r.status}, checked {r.checked_on}"
        for r in sorted(weak, key=lambda r: (r.section, r.status != "binding", r.id))
        if r.status == "binding" or r.source_kind == "seed"
    ]
    ranked = sorted(records, key=lambda r: (-r.age_days, r.section, r.id))[:oldest]
    out += ["", f"oldest {len(ranked)} check(s)"]
    out += [
        f"  {r.checked_on} ({r.age_days} d)  {r.section[:-1] if r.section != 'fx' else 'fx'} "
        f"{r.id}: {r.status}, {r.source_kind}"
        for r in ranked
    ]
    return wrap_lines(out)


_AUDITED = ("facts", "architectures", "venues", "models", "gpus", "prices", "assumptions", "fx")
"""Sections the audit counts (rules carry no provenance of their own: their facts do)."""
