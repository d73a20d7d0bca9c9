"""Loading the knowledge base: YAML files -> validated records -> cross-checked, compiled rules."""

from __future__ import annotations

import datetime as dt
import difflib
import functools
import hashlib
import itertools
import os
import threading
import weakref
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from sovereign_advisor.conditions import (
    Activation,
    Compiled,
    ConditionError,
    EvaluationError,
    bloc_keys,
    compile_expression,
    string_variables,
    trial_activation,
)
from sovereign_advisor.errors import InputError, KnowledgeBaseError
from sovereign_advisor.knowledge.models import (
    FILE_MODELS,
    Architecture,
    Assumption,
    Band,
    Bloc,
    CatalogFile,
    Fact,
    FxRate,
    Gpu,
    GpuPrice,
    HostPrice,
    JurisdictionFile,
    LanguageModel,
    PriceFile,
    Rule,
    ServerPrice,
    Throughput,
    TokenPrice,
    Venue,
)
from sovereign_advisor.types import ISO_3166_ALPHA_2
from sovereign_advisor.yamlio import describe_validation_error, parse, read_text

REQUIRED_ASSUMPTIONS = (
    "vllm.gpu_memory_utilization",
    "serving.decode_efficiency",
    "serving.prefill_efficiency",
    "serving.bandwidth_efficiency",
    "serving.activation_reserve_gb",
    "hours_per_month",
    "gpu.life_months",
    "datacentre.pue",
    "qdrant.memory_overhead",
    "rag.chunk_tokens",
    "rag.initial_load_amortisation_months",
    "ops.fte_per_self_hosted_service",
    "ops.fte_per_gpu",
    "ops.fte_per_server",
    "datacentre.colocation_per_kw_month",
    "ops.monthly_cost_per_fte",
    "energy.price_per_kwh",
    "quality.complex_share_on_basic_model_threshold",
    "routing.escalation_share_drift",
    "routing.label_output_tokens",
    "routing.pii_detection_recall",
    "serving.measured_throughput_transfer",
)
"""Assumption ids the engine reads: loading fails when one is missing."""


ASSUMPTION_BOUNDS: dict[str, tuple[Decimal, Decimal]] = {
    key: (Decimal(low), Decimal(high))
    for key, low, high in (
        ("vllm.gpu_memory_utilization", "0.1", "1"),
        ("serving.decode_efficiency", "0.01", "1"),
        ("serving.prefill_efficiency", "0.05", "1"),
        ("serving.bandwidth_efficiency", "0.05", "1"),
        ("serving.activation_reserve_gb", "0", "1000"),
        ("hours_per_month", "672", "744"),
        ("gpu.life_months", "1", "240"),
        ("datacentre.pue", "1", "5"),
        ("qdrant.memory_overhead", "1", "100"),
        ("rag.chunk_tokens", "1", "1000000"),
        ("rag.initial_load_amortisation_months", "1", "240"),
        ("ops.fte_per_self_hosted_service", "0", "100"),
        ("ops.fte_per_gpu", "0", "100"),
        ("ops.fte_per_server", "0", "100"),
        ("datacentre.colocation_per_kw_month", "0", "100000000"),
        ("ops.monthly_cost_per_fte", "0", "100000000"),
        ("energy.price_per_kwh", "0", "10000"),
        ("quality.complex_share_on_basic_model_threshold", "0", "1"),
        ("routing.escalation_share_drift", "0", "100"),
        ("routing.label_output_tokens", "0", "1000000"),
        ("routing.pii_detection_recall", "0", "1"),
        ("serving.measured_throughput_transfer", "0.05", "10"),
        ("sensitivity.plausible_price_factor", "1", "1000"),
        ("sensitivity.plausible_volume_factor", "1", "1000"),
    )
}
"""The physically sensible range of each assumption the engine reads (low, typical and high
must all lie in it): a zero GPU life or chunk size would divide by zero, a recall of 5 would
report negative leaks. Money is in the assumption's own currency."""

MAX_PRICE = Decimal(10) ** 10
"""Largest price (per unit, in its currency) accepted: far above any GPU or token price, even
in yen, and small enough that monthly totals stay exact."""

FX_BOUNDS = (Decimal("0.000001"), Decimal(1_000_000))
"""Range of an exchange rate: a zero rate would divide by zero."""


@dataclass(frozen=True)
class CompiledRule:
    """A rule with its CEL expressions compiled."""

    rule: Rule
    file: str
    condition: Compiled
    exposes_to: Compiled | None


class _RulesDerived(dict[Any, Any]):
    """`KnowledgeBase.rules_derived`: a dict that also keeps the objects it was derived from
    (so that their ids, its key, are not reused while it lives)."""

    of: tuple[Any, ...] = ()


_SHARED: weakref.WeakValueDictionary[tuple[int, int, int], _RulesDerived] = (
    weakref.WeakValueDictionary()
)
"""Each `rules_derived` by the ids of its rules, venues and blocs, while a knowledge base holds
it: the knowledge bases of a sweep over price scenarios find the one the first made."""

_SHARING = threading.Lock()


@dataclass(frozen=True)
class KnowledgeBase:
    """The validated, cross-checked knowledge base. Build it with `load_knowledge_base`."""

    facts: dict[str, Fact]
    rules: tuple[CompiledRule, ...]
    architectures: tuple[Architecture, ...]
    models: dict[str, LanguageModel]
    venues: dict[str, Venue]
    gpus: dict[str, Gpu]
    blocs: dict[str, Bloc]
    token_prices: tuple[TokenPrice, ...]
    gpu_prices: tuple[GpuPrice, ...]
    host_prices: tuple[HostPrice, ...]
    server_prices: tuple[ServerPrice, ...]
    assumptions: tuple[Assumption, ...]
    throughputs: tuple[Throughput, ...]
    fx_rates: tuple[FxRate, ...]
    version: str
    """Content hash of every file read, e.g. `sha256:0123abcd4567ef89`."""
    files: tuple[str, ...]
    origin: dict[str, str] = field(default_factory=dict, compare=False)
    """Which file each record id came from (for error messages)."""

    def assumption(self, assumption_id: str, country: str | None = None) -> Assumption:
        """The assumption for a country if one is given for it, else the default."""
        default = None
        for record in self.assumptions_by_id.get(assumption_id, ()):
            if country is not None and country in record.countries:
                return record
            if not record.countries:
                default = record
        if default is None:
            raise KeyError(assumption_id)
        return default

    @functools.cached_property
    def derived(self) -> dict[Any, Any]:
        """Profile-independent results the engine computed from this knowledge base (venue
        exposures), kept for the next advice. Not a field: a copy built from the fields (or by
        `dataclasses.replace`) starts with none."""
        return {}

    @functools.cached_property
    def rules_derived(self) -> dict[Any, Any]:
        """What the engine computed from this knowledge base's rules, venues and blocs alone
        (venue exposures, which rules fire for which values of their variables, admissibility
        tables; the date and the profile's values are in each key), kept for the next advice
        and shared with every knowledge base holding the same three objects: the price
        scenarios `dataclasses.replace` derives from one share them, while a copy with
        another rule, venue or bloc (an overlay, a what-if) has its own."""
        key = (id(self.rules), id(self.venues), id(self.blocs))
        with _SHARING:
            found = _SHARED.get(key)
            of = (self.rules, self.venues, self.blocs)
            if found is None or any(a is not b for a, b in zip(found.of, of, strict=True)):
                found = _SHARED[key] = _RulesDerived()
                found.of = of
        return found

    @functools.cached_property
    def assumptions_by_id(self) -> dict[str, tuple[Assumption, ...]]:
        """Assumption records by id (before any `@country` suffix), in file order."""
        out: dict[str, list[Assumption]] = {}
        for record in self.assumptions:
            out.setdefault(record.id.split("@")[0], []).append(record)
        return {k: tuple(v) for k, v in out.items()}

    @property
    def oldest_check(self) -> dt.date:
        """The oldest `checked_on` of any record: how current the data is at worst."""
        dates = [f.checked_on for f in self.facts.values()]
        for group in (
            self.token_prices,
            self.gpu_prices,
            self.host_prices,
            self.server_prices,
            self.assumptions,
        ):
            dates.extend(r.checked_on for r in group)
        return min(dates)


def default_patterns_path() -> Path:
    """The packaged knowledge base (inside the wheel), or `patterns/` in a source checkout."""
    # what importlib.resources.files("sovereign_advisor") names for a package on the file
    # system, without importing importlib.resources' readers (and zipfile) on every start
    packaged = Path(__file__).parent.parent / "patterns"
    if packaged.is_dir():
        return packaged
    return Path(__file__).resolve().parents[3] / "patterns"


@dataclass
class _Collected:
    facts: list[tuple[str, Fact]] = field(default_factory=list)
    rules: list[tuple[str, Rule]] = field(default_factory=list)
    architectures: list[tuple[str, Architecture]] = field(default_factory=list)
    models: list[tuple[str, LanguageModel]] = field(default_factory=list)
    venues: list[tuple[str, Venue]] = field(default_factory=list)
    gpus: list[tuple[str, Gpu]] = field(default_factory=list)
    blocs: list[tuple[str, Bloc]] = field(default_factory=list)
    token_prices: list[tuple[str, TokenPrice]] = field(default_factory=list)
    gpu_prices: list[tuple[str, GpuPrice]] = field(default_factory=list)
    host_prices: list[tuple[str, HostPrice]] = field(default_factory=list)
    server_prices: list[tuple[str, ServerPrice]] = field(default_factory=list)
    assumptions: list[tuple[str, Assumption]] = field(default_factory=list)
    throughputs: list[tuple[str, Throughput]] = field(default_factory=list)
    fx_rates: list[tuple[str, FxRate]] = field(default_factory=list)


NOT_READ = {"README.md": "file", "schema": "directory", "tools": "directory"}
"""Entries allowed at the top of a knowledge base or an overlay without being read: the
documentation, the generated JSON Schemas and maintenance scripts. Every other entry is either
read (`<kind>/<name>.yaml`) or refused by name (see patterns/README.md, "Which files are read")."""

_KINDS = ", ".join(f"{kind}/" for kind in FILE_MODELS)


def _refuse(where: str, message: str) -> KnowledgeBaseError:
    return KnowledgeBaseError(f"{where}: {message}")


def _kind_of(entry: Path) -> str:
    """`file`, `directory`, `broken link` or `other` (a socket, a device, a FIFO...)."""
    if entry.is_symlink() and not entry.exists():
        return "broken link"
    if entry.is_dir():
        return "directory"
    return "file" if entry.is_file() else "other"


def _entries(directory: Path, label: str) -> list[Path]:
    try:
        return sorted(directory.iterdir())
    except OSError as error:
        raise _refuse(label, f"cannot list the directory ({error.strerror or error})") from None


def _files(root: Path, *, overlay: bool = False) -> list[Path]:
    """Every `<kind>/*.yaml` file under `root`; any other entry is refused by name, so nothing
    placed in a knowledge base or an overlay is skipped silently."""
    label = f"overlay {root}" if overlay else f"knowledge base {root}"
    if not root.exists():
        raise KnowledgeBaseError(f"knowledge base directory not found: {root}")
    if not root.is_dir():
        raise KnowledgeBaseError(f"{label}: is not a directory")
    found: list[Path] = []
    for entry in _entries(root, label):
        name, kind = entry.name, _kind_of(entry)
        if name in FILE_MODELS and kind == "directory":
            found.extend(_kind_files(root, entry, label))
        elif NOT_READ.get(name) == kind:
            continue
        else:
            raise _refuse(f"{label}: {name}", _top_level_hint(root, name, kind))
    return found


def _top_level_hint(root: Path, name: str, kind: str) -> str:
    if kind == "broken link":
        return "a symbolic link to nothing; remove it or point it at a directory"
    if kind == "file" and Path(name).suffix.lower() in (".yaml", ".yml", ".json"):
        inside = root.name if root.name in FILE_MODELS else None
        hint = (
            f"; this looks like the {inside}/ folder itself: point at its parent directory"
            if inside
            else ""
        )
        return (
            f"a file at the top level is not read; knowledge-base files go in one of {_KINDS}{hint}"
        )
    close = difflib.get_close_matches(name, [*FILE_MODELS, *NOT_READ], n=1, cutoff=0.6)
    did = f"; did you mean `{close[0]}`?" if close else ""
    return (
        f"not part of a knowledge base (a {kind}); allowed here: the directories {_KINDS} "
        f"and, not read, {', '.join(NOT_READ)}{did}"
    )


def _kind_files(root: Path, directory: Path, label: str) -> list[Path]:
    found = []
    for entry in _entries(directory, f"{label}: {directory.name}"):
        rel = f"{label}: {entry.relative_to(root).as_posix()}"
        kind = _kind_of(entry)
        suffix = Path(entry.name).suffix
        if kind == "file" and suffix == ".yaml":
            found.append(entry)
        elif kind == "broken link":
            raise _refuse(rel, "a symbolic link to nothing; remove it or fix its target")
        elif kind == "directory":
            raise _refuse(
                rel,
                "a folder inside a knowledge-base folder is not read; move its files up into "
                f"{directory.name}/",
            )
        elif kind == "file" and suffix.lower() in (".yaml", ".yml", ".json"):
            stem = entry.name[: -len(suffix)]
            raise _refuse(
                rel,
                f"only files ending in `.yaml` are read; rename it to `{stem}.yaml` "
                "(JSON is YAML, so a .json file reads the same)",
            )
        else:
            raise _refuse(
                rel,
                f"not a knowledge-base file (a {kind}); {directory.name}/ holds only .yaml files",
            )
    return found


def _read(root: Path, path: Path, into: _Collected, digest: Any) -> str:
    rel = path.relative_to(root).as_posix()
    kind = rel.split("/")[0]
    try:
        text = read_text(path, display=rel)
        document = parse(text, rel)
    except InputError as error:  # unreadable or malformed YAML: report it as a knowledge-base error
        raise KnowledgeBaseError(str(error)) from None
    # the bytes hashed are the bytes parsed (reading the file twice could see two versions)
    digest.update(rel.encode() + b"\0" + text.encode("utf-8") + b"\0")
    model = FILE_MODELS[kind]
    try:
        record = model.model_validate(document.data)
    except ValidationError as error:
        raise KnowledgeBaseError(
            describe_validation_error(error, file=rel, document=document, model=model)
        ) from None
    if isinstance(record, Architecture):
        into.architectures.append((rel, record))
    elif isinstance(record, JurisdictionFile):
        into.facts.extend((rel, f) for f in record.facts)
        into.rules.extend((rel, r) for r in record.rules)
    elif isinstance(record, CatalogFile):
        into.blocs.extend((rel, b) for b in record.blocs)
        into.models.extend((rel, m) for m in record.models)
        into.venues.extend((rel, v) for v in record.venues)
        into.gpus.extend((rel, g) for g in record.gpus)
    elif isinstance(record, PriceFile):
        for name in (
            "token_prices",
            "gpu_prices",
            "host_prices",
            "server_prices",
            "assumptions",
            "throughputs",
            "fx_rates",
        ):
            getattr(into, name).extend((rel, r) for r in getattr(record, name))
    return rel


def _unique(kind: str, items: Sequence[tuple[str, Any]], key: str = "id") -> dict[str, Any]:
    seen: dict[str, tuple[str, Any]] = {}
    for file, item in items:
        ident = getattr(item, key)
        if ident in seen:
            raise KnowledgeBaseError(
                f"{file}: duplicate {kind} id `{ident}` (also in {seen[ident][0]}); "
                "ids must be unique: rename one, or use an overlay to replace a record"
            )
        seen[ident] = (file, item)
    return {k: v[1] for k, v in seen.items()}


def _overlay(base: list[tuple[str, Any]], extra: list[tuple[str, Any]], key: str = "id") -> None:
    """Records of an overlay replace base records with the same id and add the others."""
    _unique("overlay", extra, key)
    replaced = {getattr(item, key) for _, item in extra}
    base[:] = [(f, i) for f, i in base if getattr(i, key) not in replaced] + extra


def load_knowledge_base(
    path: str | Path | None = None, *, overlays: Iterable[str | Path] = ()
) -> KnowledgeBase:
    """Load, validate and cross-check a knowledge base.

    `path` defaults to the packaged one, read from the snapshot validated when the wheel was
    built while its files, the validating code and the library versions are those it was made
    from (see `sovereign_advisor.knowledge.snapshot`); a `path` or an overlay is always
    validated from its YAML. Each overlay is a directory laid out like the base
    (`prices/*.yaml`, ...); its records are validated like the base, replace base records with
    the same id and add the others. Raises `KnowledgeBaseError` (an `InputError`) naming the file,
    the record and how to fix it.
    """
    root = _directory(path, "load_knowledge_base()") if path is not None else None
    overlay_roots = _overlay_paths(overlays)
    if root is None and not overlay_roots:
        # the packaged knowledge base, validated when the wheel was built, if still current
        from sovereign_advisor.knowledge.snapshot import load_packaged

        packaged = load_packaged()
        if packaged is not None:
            return packaged
    root = root or default_patterns_path()
    digest = hashlib.sha256()
    base = _Collected()
    files = [_read(root, p, base, digest) for p in _files(root)]
    if not files:
        raise KnowledgeBaseError(f"no knowledge-base files under {root}")
    for overlay_root in overlay_roots:
        extra = _Collected()
        digest.update(b"overlay\0")
        read = [_read(overlay_root, p, extra, digest) for p in _files(overlay_root, overlay=True)]
        if not read:
            raise KnowledgeBaseError(
                f"overlay {overlay_root}: holds no knowledge-base file; an overlay is laid out "
                f"like the base ({_KINDS} with .yaml files in them)"
            )
        _changes_something(overlay_root, base, extra)
        files.extend("overlay:" + rel for rel in read)
        for name in base.__dataclass_fields__:
            _overlay(getattr(base, name), getattr(extra, name))
    return _assemble(base, files, "sha256:" + digest.hexdigest()[:16])


def _directory(path: object, caller: str) -> Path:
    if not isinstance(path, str | os.PathLike):
        raise KnowledgeBaseError(
            f"{caller} needs a directory path (str or Path), got {type(path).__name__}"
        )
    text = os.fspath(path)
    if not isinstance(text, str) or "\0" in text or not text:
        raise KnowledgeBaseError(f"{caller}: {text!r} is not a usable directory path")
    return Path(text)


def _overlay_paths(overlays: object) -> list[Path]:
    if isinstance(overlays, str | os.PathLike):
        raise KnowledgeBaseError(
            f"overlays needs a list of directories, got one path; write overlays=[{overlays!r}]"
        )
    if not isinstance(overlays, Iterable):
        raise KnowledgeBaseError(
            f"overlays needs a list of directories, got {type(overlays).__name__}"
        )
    return [_directory(o, "load_knowledge_base() overlays") for o in overlays]


def _changes_something(root: Path, base: _Collected, extra: _Collected) -> None:
    """An overlay whose every record equals the base record of the same id changes nothing:
    most likely its files are not what the user meant to load."""
    count = 0
    for name in base.__dataclass_fields__:
        records = getattr(extra, name)
        count += len(records)
        existing = {getattr(item, "id"): item for _, item in getattr(base, name)}  # noqa: B009
        for _, item in records:
            if existing.get(getattr(item, "id")) != item:  # noqa: B009
                return
    what = "holds no record" if count == 0 else f"changes nothing: its {count} record(s) equal"
    raise KnowledgeBaseError(
        f"overlay {root}: {what}{' the base records of the same id' if count else ''}; "
        "an overlay replaces records by id with different values, or adds records"
    )


def _assemble(c: _Collected, files: list[str], version: str) -> KnowledgeBase:
    facts = _unique("fact", c.facts)
    _unique("rule", c.rules)
    _unique("architecture", c.architectures)
    models = _unique("model", c.models)
    venues = _unique("venue", c.venues)
    gpus = _unique("gpu", c.gpus)
    blocs = _unique("bloc", c.blocs)
    for kind in (
        "token_prices",
        "gpu_prices",
        "host_prices",
        "server_prices",
        "throughputs",
        "fx_rates",
    ):
        _unique(kind.rstrip("s").replace("_", " "), getattr(c, kind))
    _unique("assumption", c.assumptions)
    origin = {
        getattr(item, "id"): file  # noqa: B009 - every record kind has an id
        for name in c.__dataclass_fields__
        for file, item in getattr(c, name)
    }

    compiled = _compile_rules(c, facts)
    _try_rules(compiled, blocs)
    _check_numbers(c)
    _check_architectures(c, models)
    _check_prices(c, models, venues, gpus)
    for file, t in c.throughputs:
        _need("model", t.model, models, file, f"throughput `{t.id}`")
        _need("gpu", t.gpu, gpus, file, f"throughput `{t.id}`")
    assumption_ids = {a.id.split("@")[0] for _, a in c.assumptions}
    for required in REQUIRED_ASSUMPTIONS:
        if required not in assumption_ids:
            raise KnowledgeBaseError(
                f"prices/: assumption `{required}` is missing; the engine needs it "
                "(see patterns/README.md)"
            )
    if "EU" not in blocs:
        raise KnowledgeBaseError("catalog/: bloc `EU` is missing; policies name it")
    return KnowledgeBase(
        facts=facts,
        rules=tuple(sorted(compiled, key=lambda r: r.rule.id)),
        architectures=tuple(sorted((a for _, a in c.architectures), key=lambda a: a.id)),
        models=models,
        venues=venues,
        gpus=gpus,
        blocs=blocs,
        token_prices=tuple(p for _, p in c.token_prices),
        gpu_prices=tuple(p for _, p in c.gpu_prices),
        host_prices=tuple(p for _, p in c.host_prices),
        server_prices=tuple(p for _, p in c.server_prices),
        assumptions=tuple(a for _, a in c.assumptions),
        throughputs=tuple(t for _, t in c.throughputs),
        fx_rates=tuple(f for _, f in c.fx_rates),
        version=version,
        files=tuple(files),
        origin=origin,
    )


def _need(kind: str, ident: str, table: dict[str, Any], file: str, where: str) -> None:
    if ident not in table:
        known = ", ".join(sorted(table)[:8]) + (", ..." if len(table) > 8 else "")
        raise KnowledgeBaseError(
            f"{file}: {where} refers to {kind} `{ident}`, which does not exist; "
            f"add it or correct the id (known: {known})"
        )


def _compile_rules(c: _Collected, facts: dict[str, Fact]) -> list[CompiledRule]:
    compiled = []
    for file, rule in c.rules:
        for fact_id in rule.rests_on:
            _need("fact", fact_id, facts, file, f"rule `{rule.id}` rests_on")
        for fact_id in rule.see_also:
            _need("fact", fact_id, facts, file, f"rule `{rule.id}` see_also")
        if rule.cites_for is not None:
            _check_cites_for(file, rule, facts)
        try:
            condition = compile_expression(rule.condition, rule.scope, returns="bool")
            exposes = (
                compile_expression(rule.exposes_to, rule.scope, returns="list")
                if rule.exposes_to is not None
                else None
            )
        except ConditionError as error:
            raise KnowledgeBaseError(
                f"{file}: rule `{rule.id}`: CEL expression {error}; the variables a {rule.scope} "
                "rule may use are listed in patterns/README.md"
            ) from None
        compiled.append(CompiledRule(rule, file, condition, exposes))
    return compiled


def _out_of(file: str, record: str, name: str, band: Band, low: Decimal, high: Decimal) -> None:
    for end, value in (("low", band.lo), ("typical", band.typical), ("high", band.hi)):
        if not low <= value <= high:
            shown = name if band.lo == band.typical == band.hi else f"{name}.{end}"
            raise KnowledgeBaseError(
                f"{file}: {record}: {shown} {value} is outside "
                f"[{low}, {high}]; correct it (a value outside this range makes no physical "
                "sense and would break the sizing)"
            )


def _check_numbers(c: _Collected) -> None:
    """Every price, rate and assumption within bounds that make sense (see the constants)."""
    for file, a in c.assumptions:
        bounds = ASSUMPTION_BOUNDS.get(a.id.split("@")[0])
        if bounds is not None:
            _out_of(file, f"assumption `{a.id}`", "value", a.value, *bounds)
    for file, f in c.fx_rates:
        _out_of(file, f"fx rate `{f.id}`", "rate", f.rate, *FX_BOUNDS)
    _check_usable_memory(c)
    zero = Decimal(0)
    for file, t in c.token_prices:
        _out_of(file, f"token price `{t.id}`", "input_per_mtok", t.input_per_mtok, zero, MAX_PRICE)
        _out_of(
            file, f"token price `{t.id}`", "output_per_mtok", t.output_per_mtok, zero, MAX_PRICE
        )
    for file, g in c.gpu_prices:
        for name, band in (("rental_per_hour", g.rental_per_hour), ("purchase", g.purchase)):
            if band is not None:
                _out_of(file, f"gpu price `{g.id}`", name, band, zero, MAX_PRICE)
    for file, h in c.host_prices:
        _out_of(file, f"host price `{h.id}`", "per_month", h.per_month, zero, MAX_PRICE)
    for file, sp in c.server_prices:
        _out_of(file, f"server price `{sp.id}`", "purchase", sp.purchase, zero, MAX_PRICE)


def _check_usable_memory(c: _Collected) -> None:
    """Every GPU keeps memory for a model once vLLM's share and the activation reserve are
    taken: otherwise sizing would divide by a usable memory of zero or less."""
    utilisations = [
        a for _, a in c.assumptions if a.id.split("@")[0] == "vllm.gpu_memory_utilization"
    ]
    reserves = [
        a for _, a in c.assumptions if a.id.split("@")[0] == "serving.activation_reserve_gb"
    ]
    if not utilisations or not reserves:
        return  # reported as a missing assumption
    lowest = min(a.value.lo for a in utilisations)
    reserve = max(a.value.hi for a in reserves)
    for file, gpu in c.gpus:
        usable = Decimal(str(gpu.memory_gb)) * lowest - reserve
        if usable <= 0:
            raise KnowledgeBaseError(
                f"{file}: gpu `{gpu.id}`: {gpu.memory_gb:g} GB x vllm.gpu_memory_utilization "
                f"{lowest} - serving.activation_reserve_gb {reserve} leaves {usable} GB for a "
                "model; correct memory_gb or the assumptions"
            )


def _try_rules(compiled: list[CompiledRule], blocs: dict[str, Bloc]) -> None:
    """Refuse, when loading, rules that cannot evaluate: a bloc the catalogue lacks
    (`blocs['EFTA']`), and conditions that fail on any subject (a division by zero, an invalid
    regular expression, an index out of range, an integer overflow or CEL's iteration budget
    met with literals), found by evaluating each rule once on values of the right types."""
    members = {code: list(bloc.members) for code, bloc in blocs.items()}
    activations: dict[str, Activation] = {}
    for rule in compiled:
        for key in bloc_keys(rule.rule.condition) + bloc_keys(rule.rule.exposes_to or ""):
            if key not in blocs:
                raise KnowledgeBaseError(
                    f"{rule.file}: rule `{rule.rule.id}` reads blocs['{key}'], which "
                    f"catalog/blocs.yaml does not define (known: {', '.join(sorted(blocs))}); "
                    "add the bloc or correct the code"
                )
        scope = rule.rule.scope
        activation = activations.get(scope) or trial_activation(scope, members)
        activations[scope] = activation
        for expression in (rule.condition, rule.exposes_to):
            if expression is None:
                continue
            try:
                value = expression.evaluate(activation)
            except EvaluationError as error:
                raise KnowledgeBaseError(
                    f"{rule.file}: rule `{rule.rule.id}` cannot be evaluated: {error}; correct "
                    "the expression"
                ) from None
            if expression is rule.exposes_to:
                bad = [v for v in value if not (v == "EU" or v in ISO_3166_ALPHA_2)]
                if bad:
                    raise KnowledgeBaseError(
                        f"{rule.file}: rule `{rule.rule.id}`: exposes_to returns {bad[0]!r}, "
                        "which is not `EU` or an ISO 3166-1 alpha-2 country code"
                    )


def _check_cites_for(file: str, rule: Rule, facts: dict[str, Fact]) -> None:
    assert rule.cites_for is not None
    variable = rule.cites_for.variable
    strings = string_variables(rule.scope)
    if variable not in strings:
        raise KnowledgeBaseError(
            f"{file}: rule `{rule.id}` cites_for.variable `{variable}` is not a string variable of "
            f"a {rule.scope} rule; use one of: {', '.join(strings)}"
        )
    for value, fact_id in rule.cites_for.facts.items():
        _need("fact", fact_id, facts, file, f"rule `{rule.id}` cites_for `{value}`")


def _check_architectures(c: _Collected, models: dict[str, LanguageModel]) -> None:
    for file, arch in c.architectures:
        for role in arch.roles:
            for model_id in role.models:
                _need("model", model_id, models, file, f"role `{role.id}`")
                if models[model_id].kind != role.kind:
                    raise KnowledgeBaseError(
                        f"{file}: role `{role.id}` is a {role.kind} role but model `{model_id}` "
                        f"is a {models[model_id].kind} model"
                    )
                if role.deployment == "self_hosted" and not models[model_id].self_hostable:
                    raise KnowledgeBaseError(
                        f"{file}: role `{role.id}` is self_hosted but model `{model_id}` has no "
                        "open weights or lacks layers/kv_heads/head_dim; use deployment: api, "
                        "another model, or complete the model record"
                    )


def _check_token_price(
    file: str, p: TokenPrice, models: dict[str, Any], venues: dict[str, Venue]
) -> None:
    def fail(file: str, message: str) -> None:
        raise KnowledgeBaseError(f"{file}: {message}")

    if p.venue not in venues:
        fail(file, f"token price `{p.id}` names unknown venue `{p.venue}`")
    if p.model not in models:
        fail(file, f"token price `{p.id}` names unknown model `{p.model}`")
    if venues[p.venue].kind != "api":
        fail(file, f"token price `{p.id}`: venue `{p.venue}` is not an api venue")
    if p.model not in venues[p.venue].models:
        fail(
            file,
            f"token price `{p.id}`: venue `{p.venue}` does not list model `{p.model}` in its "
            "`models`; add it there (catalog/venues.yaml) or correct the price",
        )
    if p.replaced_by is not None and p.replaced_by not in models:
        fail(file, f"token price `{p.id}`: replaced_by `{p.replaced_by}` is not a model")


def _check_prices(
    c: _Collected, models: dict[str, Any], venues: dict[str, Venue], gpus: dict[str, Any]
) -> None:
    def fail(file: str, message: str) -> None:
        raise KnowledgeBaseError(f"{file}: {message}")

    for file, p in c.token_prices:
        _check_token_price(file, p, models, venues)
    for file, g in c.gpu_prices:
        if g.venue not in venues or g.gpu not in gpus:
            fail(file, f"gpu price `{g.id}` names unknown venue `{g.venue}` or gpu `{g.gpu}`")
        kind = venues[g.venue].kind
        if kind == "api" or (kind == "premises") != (g.purchase is not None):
            fail(file, f"gpu price `{g.id}`: premises buy GPUs, gpu_cloud venues rent them")
    for file, h in c.host_prices:
        if h.venue not in venues or venues[h.venue].kind == "api":
            fail(file, f"host price `{h.id}` names `{h.venue}`, not a premises or gpu_cloud venue")
    for file, sp in c.server_prices:
        if sp.venue not in venues or venues[sp.venue].kind != "premises" or sp.gpu not in gpus:
            fail(
                file,
                f"server price `{sp.id}` names `{sp.venue}` and gpu `{sp.gpu}`: servers are "
                "bought for a premises venue, for a GPU of the catalogue",
            )
    _check_dates(c)


def _check_dates(c: _Collected) -> None:
    _no_overlap(
        "token price",
        # a provider publishing two currencies has one record per currency (each its own list)
        [(f, (p.venue, p.model, p.currency, p.status), p) for f, p in c.token_prices],
    )
    _no_overlap("gpu price", [(f, (g.venue, g.gpu, g.status), g) for f, g in c.gpu_prices])
    _no_overlap(
        "host price",
        # one product is one name (records without a name: one per memory size and venue)
        [(f, (h.venue, h.name or h.memory_gb, h.managed, h.status), h) for f, h in c.host_prices],
    )
    _no_overlap(
        "server price",
        [(f, (s.venue, s.gpu, s.gpus_per_server, s.status), s) for f, s in c.server_prices],
    )
    counts = Counter((f.base, f.quote, f.date) for _, f in c.fx_rates)
    for (base, quote, day), n in counts.items():
        if n > 1:
            raise KnowledgeBaseError(
                f"prices/: {n} fx rates for {base}->{quote} on {day}; keep one"
            )


def _no_overlap(kind: str, items: list[tuple[str, tuple[Any, ...], Any]]) -> None:
    groups: dict[tuple[Any, ...], list[tuple[str, Any]]] = {}
    for file, key, record in items:
        groups.setdefault(key, []).append((file, record))
    far = dt.date.max
    for key, records in groups.items():
        records.sort(key=lambda fr: fr[1].valid_from)
        for (file_a, a), (_, b) in itertools.pairwise(records):
            if b.valid_from <= (a.valid_until or far):
                raise KnowledgeBaseError(
                    f"{file_a}: {kind}s `{a.id}` and `{b.id}` are both valid on {b.valid_from} "
                    f"for {key[:-1]}; end `{a.id}` with valid_until before {b.valid_from}"
                )
