"""What-ifs without editing YAML: `--set` on a profile, `--assume` and `--fx` on the knowledge base.

`--set workload.queries_per_month=2e6` replaces one field of the profile as read from its file
(the value is read as YAML 1.2, strictly, like the file: `2e6`, `true`, `[FR, DE]`,
`{personal: 0.4}`), and the result is validated again, so a bad path or value gets the same
one-line message a profile gets, naming the option. `--assume ID=VALUE` replaces an
assumption record's value and `--fx BASE/QUOTE=RATE` replaces the exchange rate of the day the
advice takes its rates from (the latest on or before the as-of date, so it is the one used); both are a one-off in-memory overlay whose version differs from
the base's, and each is listed in the advice's assumptions.
"""

from __future__ import annotations

import copy
import dataclasses
import datetime as dt
import hashlib
import math
import re
from collections.abc import Sequence
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from sovereign_advisor.advice import Advice, AssumptionUsed
from sovereign_advisor.errors import InputError
from sovereign_advisor.knowledge.loader import KnowledgeBase
from sovereign_advisor.knowledge.models import Band, FxRate, Source
from sovereign_advisor.profile import OrganisationProfile, profile_from_dict
from sovereign_advisor.yamlio import load, parse

_PART = re.compile(r"^([A-Za-z_][A-Za-z0-9_]*)(?:\[(\d+)\])?$")
_CURRENCY = re.compile(r"^[A-Z]{3}$")
_FLOAT_1_2 = re.compile(r"^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$")
"""A float in YAML 1.2's core schema (`2e6` is one; YAML 1.1, which PyYAML reads, says no)."""


def split_assignment(text: str, option: str) -> tuple[str, str]:
    """`PATH=VALUE` -> (`PATH`, `VALUE`); an `InputError` naming the option otherwise."""
    path, sep, value = text.partition("=")
    path = path.strip()
    if not sep or not path or not value.strip():
        raise InputError(f"expected PATH=VALUE, got {text!r}", field=option)
    return path, value.strip()


def parse_value(text: str, option: str) -> Any:
    """A command-line value read as YAML 1.2 (strictly, as a profile is read)."""
    if "\n" in text:
        raise InputError(f"a value is one line, got {text!r}", field=option)
    if _FLOAT_1_2.match(text) and not re.fullmatch(r"[-+]?[0-9]+", text):
        value = float(text)
        if not math.isfinite(value):
            raise InputError(f"not a finite number: {text!r}", field=option)
        return int(value) if value.is_integer() and "e" in text.lower() else value
    data = parse(f"value: {text}\n", option).data
    return data["value"]


def read_profile_data(path: str | Path) -> dict[str, Any]:
    """The profile file as data, before validation (so fields can be replaced)."""
    data = load(Path(path)).data
    if not isinstance(data, dict):
        raise InputError("a profile is a mapping", file=str(path))
    return data


def set_field(data: dict[str, Any], path: str, value: Any, option: str = "--set") -> None:
    """Replace (or add) the field at a dotted `path` (`use_cases[0].annex_iii` indexes a list)."""
    parts = path.split(".")
    here: Any = data
    walked: list[str] = []
    for i, part in enumerate(parts):
        match = _PART.match(part)
        if match is None:
            raise InputError(f"not a field path: {path!r}", field=option)
        name, index = match[1], match[2]
        last = i == len(parts) - 1
        if not isinstance(here, dict):
            raise InputError(
                f"{'.'.join(walked)} is not a section, so {path} cannot be set", field=option
            )
        walked.append(part)
        if index is None:
            if last:
                here[name] = value
                return
            here = here.setdefault(name, {})
            continue
        items = here.get(name)
        if not isinstance(items, list) or int(index) >= len(items):
            size = len(items) if isinstance(items, list) else 0
            raise InputError(f"{path}: {name} has {size} item(s), no [{index}]", field=option)
        if last:
            items[int(index)] = value
            return
        here = items[int(index)]


def profile_with(
    path: str | Path, settings: Sequence[str], *, base: dict[str, Any] | None = None
) -> OrganisationProfile:
    """The profile in `path` with each `PATH=VALUE` of `settings` applied, validated again."""
    data = copy.deepcopy(base) if base is not None else read_profile_data(path)
    for setting in settings:
        field, text = split_assignment(setting, "--set")
        set_field(data, field, parse_value(text, f"--set {field}"), "--set")
    name = str(path) + "".join(f" --set {s}" for s in settings)
    return profile_from_dict(data, name)


@dataclasses.dataclass(frozen=True)
class Overlay:
    """A one-off change of the knowledge base from the command line."""

    option: str
    """`--assume` or `--fx`."""
    text: str
    """What was given, e.g. `ops.monthly_cost_per_fte=9000`."""
    replaces: str
    """What it replaces, in words."""


def _number(text: str, option: str) -> Decimal:
    try:
        value = Decimal(text)
    except InvalidOperation:
        raise InputError(f"not a number: {text!r}", field=option) from None
    if not value.is_finite() or value < 0:
        raise InputError(f"must be a finite number >= 0, got {text!r}", field=option)
    return value


def overlay_knowledge_base(
    kb: KnowledgeBase,
    *,
    assume: Sequence[str] = (),
    fx: Sequence[str] = (),
    as_of: dt.date,
) -> tuple[KnowledgeBase, list[Overlay]]:
    """`kb` with assumption values and FX rates replaced in memory (a new version)."""
    if not assume and not fx:
        return kb, []
    assumptions = list(kb.assumptions)
    done: list[Overlay] = []
    for text in assume:
        key, value = split_assignment(text, "--assume")
        number = _number(value, f"--assume {key}")
        wanted, _, country = key.partition("@")
        hits = [
            i
            for i, a in enumerate(assumptions)
            if a.id.split("@")[0] == wanted and (not country or country in a.countries)
        ]
        if not hits:
            known = sorted({a.id.split("@")[0] for a in kb.assumptions})
            close = [k for k in known if k.split(".")[0] == wanted.split(".")[0]][:6]
            hint = (
                f"; e.g. {', '.join(close)}"
                if close
                else "; see `sovereign-advisor kb assumptions`"
            )
            raise InputError(f"no assumption {key!r} in the knowledge base{hint}", field="--assume")
        old = []
        for i in hits:
            a = assumptions[i]
            old.append(f"{a.value.typical} {a.unit}")
            assumptions[i] = a.model_copy(
                update={
                    "value": Band(typical=number),
                    "source": Source(title=f"--assume {key}={value}", publisher="command line"),
                }
            )
        done.append(Overlay("--assume", f"{key}={value}", ", ".join(old)))
    rates = list(kb.fx_rates)
    for text in fx:
        pair, value = split_assignment(text, "--fx")
        base, sep, quote = pair.upper().partition("/")
        if not sep or not _CURRENCY.match(base) or not _CURRENCY.match(quote) or base == quote:
            raise InputError(
                f"expected BASE/QUOTE=RATE (e.g. EUR/JPY=165), got {text!r}", field="--fx"
            )
        rate = _number(value, f"--fx {pair}")
        if rate == 0:
            raise InputError(f"a rate must be above 0, got {value!r}", field=f"--fx {pair}")
        # dated on the day the advice takes its rates from (the latest on or before the as-of
        # date), replacing that day's rate of the pair: one rate day per advice still holds
        day = max((r.date for r in rates if r.date <= as_of), default=as_of)
        rates = [r for r in rates if not (r.date == day and {r.base, r.quote} == {base, quote})]
        rates.insert(
            0,
            FxRate(
                id=f"cli.fx.{base.lower()}-{quote.lower()}",
                base=base,
                quote=quote,
                date=day,
                rate=Band(typical=rate),
                source=Source(title=f"--fx {base}/{quote}={value}", publisher="command line"),
                checked_on=as_of,
                status="provisional",
            ),
        )
        done.append(Overlay("--fx", f"{base}/{quote}={value}", "every earlier rate of the pair"))
    digest = hashlib.sha256(kb.version.encode())
    for o in done:
        digest.update(f"\n{o.option} {o.text}".encode())
    version = f"sha256:{digest.hexdigest()[:16]}"
    new = dataclasses.replace(
        kb, assumptions=tuple(assumptions), fx_rates=tuple(rates), version=version
    )
    return new, done


def with_overlays_listed(advice: Advice, overlays: Sequence[Overlay]) -> Advice:
    """The advice with each command-line overlay listed first among its assumptions."""
    if not overlays:
        return advice
    listed = tuple(
        AssumptionUsed(
            id=f"overlay.{o.option.lstrip('-')}.{o.text.split('=')[0]}",
            value=o.text.split("=", 1)[1],
            summary=f"set on the command line ({o.option} {o.text}), replacing {o.replaces}",
            source="command line (one-off overlay, not in the knowledge base files)",
        )
        for o in overlays
    )
    return advice.model_copy(update={"assumptions": listed + advice.assumptions})
