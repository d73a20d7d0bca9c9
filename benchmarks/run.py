"""Benchmark sovereign-advisor against a peer (genai-prices) and write benchmarks/RESULTS.md.

    pip install -e '.[bench]'
    python benchmarks/run.py                 # about 4 minutes on a busy 2-core machine
    python benchmarks/run.py --quick         # about 1.5 minutes: fewer rounds, fewer KBs
    python benchmarks/run.py --scaling-100x  # adds 100x knowledge bases (10+ minutes more)

One run measures every target of issue #17 and writes one table per target with the target
beside each measured figure: the core decision and the full advice (warm, per example profile)
against the peer pricing five token line items in its own fresh process, the share of each
analysis, `advise_many` throughput, cold start, scaling with the size of the knowledge base, and
a cProfile summary of the core decision. Everything is reported as medians and as ratios
measured in the same run, interleaved, because the machines this runs on are shared and noisy.
Not part of CI. The section written by `benchmarks/mypyc_trial.py`, if RESULTS.md has one, is
carried over.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import cProfile
import datetime as dt
import importlib.util
import inspect
import json
import os
import platform
import pstats
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager, suppress
from importlib.metadata import version
from pathlib import Path
from typing import Any

import yaml

import sovereign_advisor as sa
from sovereign_advisor.knowledge.loader import default_patterns_path

ROOT = Path(__file__).resolve().parents[1]
PROFILES = sorted((ROOT / "examples" / "profiles").glob("*.yaml"))
AS_OF = dt.date(2026, 11, 23)
COLD_PROFILE = ROOT / "examples" / "profiles" / "bank_strict.yaml"
MYPYC_HEADING = "## Compiled path: mypyc trial"
"""benchmarks/mypyc_trial.py writes the section under this heading; run.py carries it over."""

# The five token line items a comparison of the three architectures needs, priced by the peer
# with the closest models it knows: tiered (small model, large model, embeddings) and hybrid
# (cloud model, embeddings). Token counts: a month of the bank_strict example, roughly.
PEER_LINES: tuple[tuple[str, str, int, int], ...] = (
    ("tiered: small model", "mistral-small-latest", 60_000_000, 12_000_000),
    ("tiered: large model", "mistral-large-latest", 15_000_000, 3_000_000),
    ("tiered: embeddings", "mistral-embed", 25_000_000, 0),
    ("hybrid: cloud model", "mistral-large-latest", 75_000_000, 15_000_000),
    ("hybrid: embeddings", "mistral-embed", 25_000_000, 0),
)

PEER_SERVER = """\
import datetime, json, sys, time
from genai_prices import Usage, calc_price

LINES = json.loads(sys.argv[1])
STAMP = datetime.datetime(2026, 11, 23, tzinfo=datetime.UTC)


def five():
    for model, tokens_in, tokens_out in LINES:
        calc_price(
            Usage(input_tokens=tokens_in, output_tokens=tokens_out),
            model,
            provider_id="mistral",
            genai_request_timestamp=STAMP,
        )


five()
print(json.dumps({"modules": len(sys.modules)}), flush=True)
for line in sys.stdin:
    times = []
    for _ in range(int(line)):
        start = time.perf_counter()
        five()
        times.append(time.perf_counter() - start)
    print(json.dumps(times), flush=True)
"""
"""The peer in its own process: it imports genai_prices (and the standard library) only, so
its garbage collector walks the peer's heap, not ours. It waits on stdin while we measure, and
we wait on its answer while it measures, so the two never compete for a core."""

VARIANTS: dict[str, tuple[sa.Analysis, ...]] = {
    "core": (),
    "full": sa.ANALYSES,
    **{name: (name,) for name in sa.ANALYSES},
}
"""What each warm measurement asks `advise(..., analyses=...)` for."""


class Peer:
    """genai-prices pricing the five line items, in a fresh subprocess."""

    def __init__(self) -> None:
        lines = json.dumps([[model, i, o] for _, model, i, o in PEER_LINES])
        self.process = subprocess.Popen(
            [sys.executable, "-c", PEER_SERVER, lines],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        self.modules = int(json.loads(self._read())["modules"])
        self.times: list[float] = []

    def _read(self) -> str:
        assert self.process.stdout is not None
        line = self.process.stdout.readline()
        if not line:
            raise RuntimeError("the peer's process ended early (is genai-prices installed?)")
        return line

    def measure(self, calls: int) -> None:
        assert self.process.stdin is not None
        self.process.stdin.write(f"{calls}\n")
        self.process.stdin.flush()
        self.times.extend(json.loads(self._read()))

    def close(self) -> None:
        assert self.process.stdin is not None
        self.process.stdin.close()
        self.process.wait()


@contextmanager
def peer_process() -> Iterator[Peer]:
    peer = Peer()
    try:
        yield peer
    finally:
        peer.close()


def timed(fn: Callable[[], Any]) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def machine() -> dict[str, str]:
    cpu = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {
        "nproc": str(os.cpu_count()),
        "cpu": cpu,
        "python": platform.python_version(),
        "platform": platform.platform(),
        "load_at_start": _load(),
        "date": dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "revision": _revision(),
    }


def _load() -> str:
    if not hasattr(os, "getloadavg"):
        return "unknown"
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def _revision() -> str:
    try:
        done = subprocess.run(
            ["git", "-C", str(ROOT), "describe", "--always", "--dirty"],
            capture_output=True,
            text=True,
            check=True,
        )
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return done.stdout.strip()


def _scenario_profiles() -> list[sa.OrganisationProfile]:
    """The test scenarios' own profiles (not those that name an example profile's file)."""
    out = []
    for path in sorted((ROOT / "tests" / "scenarios").glob("*.yaml")):
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        if isinstance(data.get("profile"), dict):
            with suppress(ValueError):
                out.append(sa.OrganisationProfile.model_validate(data["profile"]))
    return out


FIRST_SIGHT = ("core", "full")
"""The variants measured on a profile the knowledge base has not advised before."""


def warm(rounds: int, peer_calls: int) -> dict[str, Any]:
    """Median advise() per profile and variant (core decision, full advice, each analysis
    alone), interleaved with the peer: after each profile's variants, the peer prices the five
    line items `peer_calls` times in its own process. The order of the variants rotates from
    round to round.

    Some of what the engine keeps per knowledge base is keyed by what a profile says (the
    flow rules' results by the variables they read, say), so advising the same examples round
    after round finds it kept. Each round therefore also advises every example at first
    sight: on a knowledge base loaded afresh and warmed with the test scenarios' own profiles
    (what depends on the knowledge base alone is then kept, as in a service), the examples
    advised once each, in turn, one knowledge base per variant."""
    kb = sa.load_knowledge_base()
    profiles = [(p.stem, sa.load_profile(p)) for p in PROFILES]
    others = _scenario_profiles()
    names = list(VARIANTS)
    for _, profile in profiles:
        for analyses in VARIANTS.values():
            sa.advise(profile, kb=kb, as_of=AS_OF, analyses=analyses)
    times: dict[str, dict[str, list[float]]] = {v: {n: [] for n, _ in profiles} for v in names}
    first: dict[str, dict[str, list[float]]] = {
        v: {n: [] for n, _ in profiles} for v in FIRST_SIGHT
    }
    with peer_process() as peer:
        peer.measure(peer_calls)
        peer.times.clear()
        for r in range(rounds):
            order = names[r % len(names) :] + names[: r % len(names)]
            for name, profile in profiles:
                for v in order:
                    start = time.perf_counter()
                    sa.advise(profile, kb=kb, as_of=AS_OF, analyses=VARIANTS[v])
                    times[v][name].append(time.perf_counter() - start)
                peer.measure(peer_calls)
            for v in FIRST_SIGHT:
                fresh = sa.load_knowledge_base()
                for other in others:
                    sa.advise(other, kb=fresh, as_of=AS_OF)
                for name, profile in profiles:
                    start = time.perf_counter()
                    sa.advise(profile, kb=fresh, as_of=AS_OF, analyses=VARIANTS[v])
                    first[v][name].append(time.perf_counter() - start)
                peer.measure(peer_calls)
        peer_times, peer_modules = peer.times, peer.modules
    per_profile = {
        v: {name: statistics.median(ts) for name, ts in by_profile.items()}
        for v, by_profile in times.items()
    }
    first_sight = {
        v: {name: statistics.median(ts) for name, ts in by_profile.items()}
        for v, by_profile in first.items()
    }
    return {
        "per_profile": per_profile,
        "first_sight": first_sight,
        "first_sight_median": {v: statistics.median(pp.values()) for v, pp in first_sight.items()},
        "warmed_with": len(others),
        "median": {v: statistics.median(pp.values()) for v, pp in per_profile.items()},
        "peer_five": statistics.median(peer_times),
        "peer_quartiles": statistics.quantiles(peer_times, n=4),
        "peer_samples": len(peer_times),
        "peer_modules": peer_modules,
        "our_modules": len(sys.modules),
    }


COLD_OURS = (
    "import datetime, sovereign_advisor as sa\n"
    "kb = sa.load_knowledge_base()\n"
    f"sa.advise(sa.load_profile({str(COLD_PROFILE)!r}), kb=kb, as_of=datetime.date(2026, 11, 23))\n"
)
COLD_PEER = (
    "import datetime\n"
    "from genai_prices import Usage, calc_price\n"
    "calc_price(Usage(input_tokens=1000, output_tokens=100), 'mistral-large-latest', "
    "provider_id='mistral', genai_request_timestamp=datetime.datetime(2026, 11, 23, "
    "tzinfo=datetime.UTC))\n"
)


def _package_dir(name: str) -> Path:
    """Where a package's modules are, found without importing it."""
    spec = importlib.util.find_spec(name)
    assert spec is not None and spec.origin is not None, name
    return Path(spec.origin).parent


def cold(runs: int) -> dict[str, float]:
    """Fresh interpreters, interleaved: ours (import, load the packaged KB, advise one profile)
    against the peer's (import, price one call). Wall time of the whole process.

    Measured twice, with PYTHONPYCACHEPREFIX pointing at a temporary directory filled by one run
    of each first (nothing is written next to the installed modules):
    - without bytecode, the issue's case: the cache holds the bytecode of the standard library
      and of the shared dependencies, but none of `sovereign_advisor`'s nor of `genai_prices`'s,
      and PYTHONDONTWRITEBYTECODE=1, so each side compiles its own package from source on every
      start, as the other does;
    - with bytecode for every module on both sides, as after installing wheels."""
    names = ("ours", "peer", "bare_interpreter", "ours_bytecode", "peer_bytecode")
    times: dict[str, list[float]] = {k: [] for k in names}
    base = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    with tempfile.TemporaryDirectory() as everything, tempfile.TemporaryDirectory() as shared:
        compiled = {**base, "PYTHONPYCACHEPREFIX": everything}
        filling = {**base, "PYTHONPYCACHEPREFIX": shared}
        for code in (COLD_OURS, COLD_PEER):
            subprocess.run([sys.executable, "-c", code], check=True, env=compiled)
            subprocess.run([sys.executable, "-c", code], check=True, env=filling)
        for package in ("sovereign_advisor", "genai_prices"):
            own = Path(shared + str(_package_dir(package).resolve()))
            assert own.is_dir(), own  # the bytecode cache mirrors the source's absolute path
            shutil.rmtree(own)
        source = {**filling, "PYTHONDONTWRITEBYTECODE": "1"}
        plan = (
            (COLD_OURS, "ours", source),
            (COLD_PEER, "peer", source),
            ("pass", "bare_interpreter", source),
            (COLD_OURS, "ours_bytecode", compiled),
            (COLD_PEER, "peer_bytecode", compiled),
        )
        for _ in range(runs):
            for code, name, env in plan:
                start = time.perf_counter()
                subprocess.run([sys.executable, "-c", code], check=True, env=env)
                times[name].append(time.perf_counter() - start)
    return {name: statistics.median(values) for name, values in times.items()}


def throughput(copies: int, rounds: int) -> dict[str, Any]:
    """Advice per second over the example profiles repeated `copies` times, knowledge base
    loaded, median of `rounds` runs of each case, the cases interleaved. `advise_many` takes
    `analyses=` and `executor=` only in some revisions: they are used when its signature has
    them."""
    kb = sa.load_knowledge_base()
    profiles = [sa.load_profile(p) for p in PROFILES] * copies
    accepts = inspect.signature(sa.advise_many).parameters
    core: dict[str, Any] = {"analyses": ()} if "analyses" in accepts else {}
    kind = "core decisions" if core else "full advices (advise_many has no `analyses=`)"
    cases: list[tuple[str, str, int, Callable[[], Any]]] = [
        (
            "a loop of `advise(..., analyses=())`",
            "core decisions",
            1,
            lambda: [sa.advise(p, kb=kb, as_of=AS_OF, analyses=()) for p in profiles],
        ),
        (
            "`advise_many(..., processes=1)`" + (", `analyses=()`" if core else ""),
            kind,
            1,
            lambda: sa.advise_many(profiles, kb=kb, as_of=AS_OF, processes=1, **core),
        ),
    ]
    if core:
        cases.append(
            (
                "`advise_many(..., processes=1)`, default analyses",
                "full advices",
                1,
                lambda: sa.advise_many(profiles, kb=kb, as_of=AS_OF, processes=1),
            )
        )
    with concurrent.futures.ProcessPoolExecutor(max_workers=2) as pool:
        if "executor" in accepts:
            pooled: dict[str, Any] = {**core, "executor": pool}
            cases.append(
                (
                    "`advise_many(..., executor=ProcessPoolExecutor(max_workers=2))`"
                    + (", `analyses=()`" if core else ""),
                    kind,
                    2,
                    lambda: sa.advise_many(profiles, kb=kb, as_of=AS_OF, **pooled),
                )
            )
        for _, _, _, run in cases:  # warm up (and start the pool's workers)
            run()
        seconds: list[list[float]] = [[] for _ in cases]
        for _ in range(rounds):
            for i, (_, _, _, run) in enumerate(cases):
                seconds[i].append(timed(run))
    return {
        "profiles": len(profiles),
        "rounds": rounds,
        "executor": "executor" in accepts,
        "analyses": bool(core),
        "cases": [
            {
                "how": how,
                "what": what,
                "workers": workers,
                "per_second": len(profiles) / statistics.median(s),
            }
            for (how, what, workers, _), s in zip(cases, seconds, strict=True)
        ],
    }


def _dump(path: Path, data: dict[str, Any]) -> None:
    path.write_text(yaml.safe_dump(data, sort_keys=False, allow_unicode=True), encoding="utf-8")


def synthetic(root: Path, rules: int, venues: int, architectures: int) -> Path:
    """A copy of the packaged knowledge base with every rule, venue (with its prices) and
    architecture cloned under new ids, `n - 1` times each."""
    target = root / f"kb-r{rules}-v{venues}-a{architectures}"
    shutil.copytree(default_patterns_path(), target)
    for k in range(1, rules):
        for path in sorted((target / "jurisdictions").glob("*.yaml")):
            if path.stem.startswith("clone"):
                continue
            doc = yaml.safe_load(path.read_text(encoding="utf-8"))
            clones = [{**r, "id": f"{r['id']}.x{k}"} for r in doc.get("rules", [])]
            _dump(
                target / "jurisdictions" / f"clone{k}_{path.name}", {"facts": [], "rules": clones}
            )
    venue_doc = yaml.safe_load((target / "catalog" / "venues.yaml").read_text(encoding="utf-8"))
    price_docs = {
        p: yaml.safe_load(p.read_text(encoding="utf-8"))
        for p in sorted((target / "prices").glob("*.yaml"))
    }
    for k in range(1, venues):
        cloned = {
            v["id"]: f"{v['id']}-x{k}" for v in venue_doc["venues"] if v["kind"] != "premises"
        }
        _dump(
            target / "catalog" / f"clone{k}.yaml",
            {
                "venues": [
                    {**v, "id": cloned[v["id"]]} for v in venue_doc["venues"] if v["id"] in cloned
                ]
            },
        )
        for path, doc in price_docs.items():
            records: dict[str, list[dict[str, Any]]] = {}
            for kind in ("token_prices", "gpu_prices", "host_prices"):
                records[kind] = [
                    {**r, "id": f"{r['id']}.x{k}", "venue": cloned[r["venue"]]}
                    for r in doc.get(kind) or []
                    if r.get("venue") in cloned
                ]
            if any(records.values()):
                _dump(target / "prices" / f"clone{k}_{path.name}", records)
    for k in range(1, architectures):
        for path in sorted((target / "architectures").glob("*.yaml")):
            if path.stem.startswith("clone"):
                continue
            doc = yaml.safe_load(path.read_text(encoding="utf-8"))
            _dump(
                target / "architectures" / f"clone{k}_{path.name}",
                {**doc, "id": f"{doc['id']}_x{k}"},
            )
    return target


def scaling(
    factors: tuple[int, ...], architecture_factors: tuple[int, ...], rounds: int
) -> list[dict[str, Any]]:
    """Warm core-decision median (over the example profiles, median of `rounds` each) against
    knowledge bases with 1x, 10x, 100x the rules and venues and more architectures. All the
    knowledge bases are loaded first; the rounds then interleave them, so that a busy spell of
    the machine slows every size alike."""
    profiles = [sa.load_profile(p) for p in PROFILES]
    out: list[dict[str, Any]] = []
    kbs: list[sa.KnowledgeBase] = []

    def core(p: sa.OrganisationProfile, kb: sa.KnowledgeBase) -> float:
        return timed(lambda: sa.advise(p, kb=kb, as_of=AS_OF, analyses=()))

    with tempfile.TemporaryDirectory() as tmp:
        cases = [("rules", f, (f, 1, 1)) for f in factors]
        cases += [("venues", f, (1, f, 1)) for f in factors if f > 1]
        cases += [("architectures", f, (1, 1, f)) for f in architecture_factors if f > 1]
        for what, factor, (r, v, a) in cases:
            path = synthetic(Path(tmp), r, v, a)
            start = time.perf_counter()
            kb = sa.load_knowledge_base(path)
            load = time.perf_counter() - start
            first = statistics.median(core(p, kb) for p in profiles)
            kbs.append(kb)
            out.append(
                {
                    "what": what,
                    "factor": factor,
                    "rules": len(kb.rules),
                    "venues": len(kb.venues),
                    "architectures": len(kb.architectures),
                    "load_s": load,
                    "first_advice_s": first,
                }
            )
            print(f"  loaded {what} x{factor}: {load:.2f} s", flush=True)
    times: list[list[list[float]]] = [[[] for _ in profiles] for _ in kbs]
    for _ in range(rounds):
        for k, kb in enumerate(kbs):
            for i, p in enumerate(profiles):
                times[k][i].append(core(p, kb))
    for k, case in enumerate(out):
        case["warm_advice_s"] = statistics.median(statistics.median(t) for t in times[k])
        print(
            f"  scaling {case['what']} x{case['factor']}: {case['warm_advice_s'] * 1e3:.2f} ms",
            flush=True,
        )
    return out


def where_time_goes(rounds: int) -> dict[str, Any]:
    """cProfile of the warm core decision over the example profiles, `rounds` rounds, and the
    number of Python function calls of a core decision and of a full advice."""
    kb = sa.load_knowledge_base()
    profiles = [sa.load_profile(p) for p in PROFILES]
    for p in profiles:
        sa.advise(p, kb=kb, as_of=AS_OF)
    calls = {}
    for v in ("core", "full"):
        profiler = cProfile.Profile()
        profiler.enable()
        for _ in range(rounds):
            for p in profiles:
                sa.advise(p, kb=kb, as_of=AS_OF, analyses=VARIANTS[v])
        profiler.disable()
        stats = pstats.Stats(profiler)
        calls[v] = stats.total_calls / (rounds * len(profiles))  # type: ignore[attr-defined]
        if v == "core":
            core_stats = stats
    raw: dict[tuple[str, int, str], tuple[int, int, float, float, Any]] = core_stats.stats  # type: ignore[attr-defined]
    # 100% is the time inside advise() (cProfile's total also counts the profiler's own calls)
    total = sum(
        ct
        for (file, _, name), (_, _, _, ct, _) in raw.items()
        if name == "advise" and file.endswith("advise.py")
    )
    rows: list[dict[str, Any]] = [
        {
            "function": _function_name(key),
            "calls": nc / (rounds * len(profiles)),
            "tottime": tt / total,
            "cumtime": ct / total,
        }
        for key, (_, nc, tt, ct, _) in raw.items()
    ]
    return {
        "advices": rounds * len(profiles),
        "calls": calls,
        "by_cumulative": sorted(rows, key=lambda r: -r["cumtime"])[:15],
        "by_total": sorted(rows, key=lambda r: -r["tottime"])[:15],
    }


def _function_name(key: tuple[str, int, str]) -> str:
    file, line, name = key
    if file == "~":
        return name
    path = Path(file)
    parts = path.parts
    if "sovereign_advisor" in parts:
        where = "/".join(parts[parts.index("sovereign_advisor") :])
    elif "site-packages" in parts:
        where = "/".join(parts[parts.index("site-packages") + 1 :])
    else:
        where = path.name
    return f"{where}:{line}({name})"


def us(seconds: float) -> str:
    return f"{seconds * 1e6:,.0f} µs"


def ms(seconds: float) -> str:
    return f"{seconds * 1e3:,.2f} ms"


def verdict(ok: bool) -> str:
    return "met" if ok else "**not met**"


def report(results: dict[str, Any], args: argparse.Namespace) -> str:
    m, w = results["machine"], results["warm"]
    peer = w["peer_five"]
    core, full = w["median"]["core"], w["median"]["full"]
    first = w["first_sight_median"]
    lines = [
        "# Benchmark results",
        "",
        (
            f"Written by `python benchmarks/run.py{_flags(args)}` on "
            f"{m['date']} in {results['elapsed_s'] / 60:.1f} minutes; nothing here is written "
            "by hand. Medians and ratios are measured in the same run, interleaved; the machine "
            "is shared, so absolute times move from run to run while the ratios move less."
        ),
        "",
        "## Machine",
        "",
        f"- CPU: {m['cpu']}, `nproc` = {m['nproc']}",
        f"- Python {m['python']} ({m['platform']})",
        f"- load average at start: {m['load_at_start']}; at the end: {results['load_at_end']}",
        (
            f"- sovereign-advisor {sa.__version__} (git {m['revision']}), genai-prices "
            f"{version('genai-prices')}"
        ),
        "",
        "## Targets (issue #17)",
        "",
        "| target | measured | target | |",
        "|---|---:|---:|---|",
        (
            f"| core decision / peer's five line items | {core / peer:,.1f}x | ≤ 4x | "
            f"{verdict(core / peer <= 4)} |"
        ),
        (
            f"| full advice / peer's five line items | {full / peer:,.1f}x | ≤ 12x | "
            f"{verdict(full / peer <= 12)} |"
        ),
        (
            f"| core decision at first sight / peer | {first['core'] / peer:,.1f}x | ≤ 4x | "
            f"{verdict(first['core'] / peer <= 4)} |"
        ),
        (
            f"| full advice at first sight / peer | {first['full'] / peer:,.1f}x | ≤ 12x | "
            f"{verdict(first['full'] / peer <= 12)} |"
        ),
        *_throughput_target_rows(results["throughput"]),
        (
            f"| cold start / peer, without bytecode | "
            f"{results['cold']['ours'] / results['cold']['peer']:.2f}x | ≤ 1.0x | "
            f"{verdict(results['cold']['ours'] <= results['cold']['peer'])} |"
        ),
        "",
        *_warm_section(w, args),
        *_analyses_section(w),
        *_throughput_section(results["throughput"]),
        *_cold_section(results["cold"], args),
        *_scaling_section(results["scaling"], args),
        *_profile_section(results["profile"], args),
    ]
    return "\n".join(lines)


def _flags(args: argparse.Namespace) -> str:
    return (" --quick" if args.quick else "") + (" --scaling-100x" if args.scale_100 else "")


def _warm_section(w: dict[str, Any], args: argparse.Namespace) -> list[str]:
    peer, pp = w["peer_five"], w["per_profile"]
    fs, first = w["first_sight"], w["first_sight_median"]
    return [
        "## 1. Core decision and full advice against the peer's five line items",
        "",
        (
            "The peer (`genai_prices.calc_price`) prices the five token line items a comparison "
            "of the three architectures needs, with the closest models it knows (provider "
            "`mistral`): "
            + "; ".join(f"{label}: `{model}`" for label, model, _, _ in PEER_LINES)
            + "."
        ),
        "",
        (
            f"The peer runs in its own fresh process ({w['peer_modules']} modules loaded: "
            f"`genai_prices` and the standard library; ours has {w['our_modules']}), so its "
            "garbage collector walks only its own heap. Each round advises every example "
            f"profile (packaged knowledge base, as of {AS_OF}) once per variant, the order of "
            f"the variants rotating, then has the peer price the five line items {args.peer_calls} "
            f"times; {args.rounds} rounds. Peer: median **{us(peer)}** for the five line items "
            f"({us(peer / 5)} a call) over {w['peer_samples']} samples, interquartile range "
            f"{us(w['peer_quartiles'][0])} to {us(w['peer_quartiles'][2])}."
        ),
        "",
        (
            "| profile | core decision (`analyses=()`) | ratio to peer (target ≤ 4x) | "
            "full advice | ratio to peer (target ≤ 12x) |"
        ),
        "|---|---:|---:|---:|---:|",
        *[
            f"| {name} | {ms(c)} | {c / peer:,.1f}x | {ms(pp['full'][name])} | "
            f"{pp['full'][name] / peer:,.1f}x |"
            for name, c in pp["core"].items()
        ],
        (
            f"| **median of the profiles** | **{ms(w['median']['core'])}** | "
            f"**{w['median']['core'] / peer:,.1f}x** | **{ms(w['median']['full'])}** | "
            f"**{w['median']['full'] / peer:,.1f}x** |"
        ),
        "",
        (
            "**At first sight.** The same rounds also advise each example on a knowledge base "
            "that has not seen it: loaded afresh, warmed with the "
            f"{w['warmed_with']} test scenarios' own profiles (what depends on the knowledge "
            "base alone is then kept, as in a service that has advised others), then the "
            "examples once each, in turn; one knowledge base per variant and round. Some of "
            "what the engine keeps is keyed by what a profile says (flow-rule results by the "
            "variables they read), so the repeated rounds above find more kept than a new "
            "organisation does."
        ),
        "",
        "| profile | core decision | ratio to peer | full advice | ratio to peer |",
        "|---|---:|---:|---:|---:|",
        *[
            f"| {name} | {ms(c)} | {c / peer:,.1f}x | {ms(fs['full'][name])} | "
            f"{fs['full'][name] / peer:,.1f}x |"
            for name, c in fs["core"].items()
        ],
        (
            f"| **median of the profiles** | **{ms(first['core'])}** | "
            f"**{first['core'] / peer:,.1f}x** | **{ms(first['full'])}** | "
            f"**{first['full'] / peer:,.1f}x** |"
        ),
        "",
    ]


def _analyses_section(w: dict[str, Any]) -> list[str]:
    pp, peer, med = w["per_profile"], w["peer_five"], w["median"]
    names = list(pp["core"])

    def share(variant: str, name: str) -> float:
        """What asking for `variant` adds to the core decision, as a part of the full advice."""
        if variant == "core":
            return float(pp["core"][name] / pp["full"][name])
        return float((pp[variant][name] - pp["core"][name]) / pp["full"][name])

    variants = [
        ("core", "core decision, `analyses=()`"),
        *[(a, f"`analyses=({a!r},)`") for a in sa.ANALYSES],
        ("full", "full advice (default analyses)"),
    ]
    return [
        "## 2. Where the full advice's time goes, by analysis",
        "",
        (
            "Each analysis asked for alone, in the same rounds as section 1. Share: per profile, "
            "(that variant's median - the core decision's median) / the full advice's median "
            "(for the core decision: its median / the full advice's); then the median over the "
            "profiles. The analyses share some work (the remedies and the break-even read the "
            "same cost models), so the shares need not add up; a share below 0% or above 100% is the "
            "machine's noise (a variant measured slower than one that does more)."
        ),
        "",
        "| variant | median of the profiles | ratio to peer | share of the full advice |",
        "|---|---:|---:|---:|",
        *[
            f"| {label} | {ms(med[v])} | {med[v] / peer:,.1f}x | "
            f"{statistics.median(share(v, n) for n in names):.0%} |"
            for v, label in variants
        ],
        "",
        "Per profile, the share of the full advice each part takes:",
        "",
        "| profile | full advice | core decision | break_even | sensitivity | remedies |",
        "|---|---:|---:|---:|---:|---:|",
        *[
            f"| {n} | {ms(pp['full'][n])} | "
            + " | ".join(f"{share(v, n):.0%}" for v in ("core", *sa.ANALYSES))
            + " |"
            for n in names
        ],
        "",
    ]


def _throughput_target_rows(t: dict[str, Any]) -> list[str]:
    rows = []
    for case in t["cases"]:
        if case["what"] != "core decisions":
            continue
        per_core = case["per_second"] / case["workers"]
        rows.append(
            f"| {case['how']}: core decisions / s / core | {per_core:,.0f} | ≥ 1,000 | "
            f"{verdict(per_core >= 1000)} |"
        )
    return rows


def _throughput_section(t: dict[str, Any]) -> list[str]:
    notes = []
    if not t["analyses"]:
        notes.append(
            "`advise_many` has no `analyses=` in this revision, so it computes full advices; "
            "the loop of `advise(..., analyses=())` gives the core-decision rate on one core."
        )
    if not t["executor"]:
        notes.append(
            "`advise_many` has no `executor=` in this revision: the `ProcessPoolExecutor` case "
            "is left out (the script adds it when the signature has it)."
        )
    return [
        "## 3. Throughput",
        "",
        (
            f"{t['profiles']} profiles (the {len(PROFILES)} examples repeated), packaged "
            f"knowledge base already loaded, median of {t['rounds']} runs of each case, the "
            "cases interleaved. " + " ".join(notes)
        ),
        "",
        (
            "| how | what | workers | per second | per second per core (target ≥ 1,000 core "
            "decisions) |"
        ),
        "|---|---|---:|---:|---:|",
        *[
            f"| {c['how']} | {c['what']} | {c['workers']} | {c['per_second']:,.1f} | "
            f"{c['per_second'] / c['workers']:,.1f} |"
            for c in t["cases"]
        ],
        "",
    ]


def _snapshot_state() -> str:
    """Whether the packaged knowledge base loads from a current snapshot here."""
    try:
        from sovereign_advisor.knowledge import snapshot
    except ImportError:
        return "this revision has no snapshot"
    if snapshot.load_packaged() is None:
        return "here it has none, or a stale one: the YAML is validated"
    return "here it has"


def _cold_section(c: dict[str, float], args: argparse.Namespace) -> list[str]:
    return [
        "## 4. Cold start",
        "",
        (
            f"Fresh interpreters, wall time of the whole process, median of {args.cold} runs of "
            "each, interleaved. Ours: import `sovereign_advisor`, load the packaged knowledge "
            f"base, advise `{COLD_PROFILE.name}` (full advice). Peer: import `genai_prices`, "
            "price one call. Without bytecode: neither package's own modules have bytecode "
            "(PYTHONDONTWRITEBYTECODE=1, and a bytecode cache, PYTHONPYCACHEPREFIX, holding only "
            "the standard library's and the shared dependencies'), so each side compiles its "
            "package from source on every start. With bytecode: every module of both sides from "
            "a bytecode cache filled first, as after installing wheels. Ours reads the packaged "
            "knowledge base from its snapshot when the install has a current one "
            f"({_snapshot_state()})."
        ),
        "",
        "| case | ours | peer | ratio | target |",
        "|---|---:|---:|---:|---:|",
        (
            f"| without bytecode | {ms(c['ours'])} | {ms(c['peer'])} | "
            f"**{c['ours'] / c['peer']:.2f}x** | ≤ 1.0x |"
        ),
        (
            f"| without bytecode, minus the bare interpreter ({ms(c['bare_interpreter'])}) | "
            f"{ms(c['ours'] - c['bare_interpreter'])} | {ms(c['peer'] - c['bare_interpreter'])} |"
            f" {(c['ours'] - c['bare_interpreter']) / (c['peer'] - c['bare_interpreter']):.2f}x |"
            " |"
        ),
        (
            f"| with bytecode | {ms(c['ours_bytecode'])} | {ms(c['peer_bytecode'])} | "
            f"{c['ours_bytecode'] / c['peer_bytecode']:.2f}x | |"
        ),
        "",
    ]


def _scaling_section(s: list[dict[str, Any]], args: argparse.Namespace) -> list[str]:
    base = next(x for x in s if x["factor"] == 1)
    return [
        "## 5. Scaling with the size of the knowledge base",
        "",
        (
            "Synthetic knowledge bases built from the packaged one by cloning every rule (all "
            "scopes), every non-premises venue (with its token, GPU and host prices) or every "
            "architecture under new ids. Core decision (`analyses=()`); warm: median over the "
            f"example profiles of the median of {args.scale_rounds} decisions each, the rounds "
            "interleaving the knowledge bases; first: median over the profiles of the first "
            "decision (venue exposures not yet cached)."
            + (
                ""
                if args.scale_100
                else " Without `--scaling-100x` the 100x knowledge bases are left out"
                + (", and `--quick` leaves out the cloned architectures." if args.quick else ".")
            )
        ),
        "",
        (
            "| cloned | factor | rules | venues | architectures | load | first decision | "
            "warm decision | warm / 1x |"
        ),
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
        *[
            f"| {x['what'] if x['factor'] > 1 else '(none)'} | {x['factor']}x | {x['rules']} | "
            f"{x['venues']} | {x['architectures']} | {ms(x['load_s'])} | "
            f"{ms(x['first_advice_s'])} | {ms(x['warm_advice_s'])} | "
            f"{x['warm_advice_s'] / base['warm_advice_s']:.2f}x |"
            for x in s
        ],
        "",
    ]


def _profile_rows(rows: Sequence[dict[str, Any]]) -> list[str]:
    return [
        "| function | calls per decision | own time | cumulative |",
        "|---|---:|---:|---:|",
        *[
            f"| `{r['function']}` | {r['calls']:,.1f} | {r['tottime']:.1%} | {r['cumtime']:.1%} |"
            for r in rows
        ],
    ]


def _profile_section(p: dict[str, Any], args: argparse.Namespace) -> list[str]:
    return [
        "## 6. Where the core decision's time goes (cProfile)",
        "",
        (
            f"cProfile of the warm core decision (`analyses=()`) over the example profiles, "
            f"{args.profile_rounds} rounds ({p['advices']} decisions); shares of the profiled "
            "time inside `advise()` (cProfile's overhead inflates calls, so read shares, not seconds). "
            "Python "
            f"function calls per core decision: {p['calls']['core']:,.0f}; per full advice: "
            f"{p['calls']['full']:,.0f}."
        ),
        "",
        "Top 15 by cumulative time:",
        "",
        *_profile_rows(p["by_cumulative"]),
        "",
        "Top 15 by own (total) time:",
        "",
        *_profile_rows(p["by_total"]),
        "",
    ]


def carried_mypyc_section(path: Path) -> str:
    """The mypyc trial's section of an existing RESULTS.md (from its heading to the end)."""
    if not path.exists():
        return ""
    text = path.read_text(encoding="utf-8")
    start = text.find(MYPYC_HEADING)
    return text[start:] if start >= 0 else ""


def cold_only(quick: bool) -> None:
    c = cold(9)
    print(", ".join(f"{k} {ms(v)}" for k, v in c.items()))
    print(
        f"ratio {c['ours'] / c['peer']:.2f}x, "
        f"with bytecode {c['ours_bytecode'] / c['peer_bytecode']:.2f}x",
        f"(load {_load()})",
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer rounds, fewer KBs")
    parser.add_argument(
        "--scaling-100x",
        action="store_true",
        help="also scale to 100x the rules and venues (10+ minutes more)",
    )
    parser.add_argument("--output", type=Path, default=ROOT / "benchmarks" / "RESULTS.md")
    parser.add_argument(
        "--cold-only", action="store_true", help="measure the cold start only; print, write nothing"
    )
    args = parser.parse_args()
    if args.cold_only:
        cold_only(args.quick)
        return
    start = time.perf_counter()
    args.rounds = 4 if args.quick else 15
    args.peer_calls = 5
    args.cold = 9 if args.quick else 15
    args.scale_rounds = 2 if args.quick else 3
    args.scale_100 = args.scaling_100x
    args.profile_rounds = 1 if args.quick else 2
    results: dict[str, Any] = {"machine": machine()}
    print("machine:", results["machine"], flush=True)

    def phase(name: str, fn: Callable[[], Any]) -> Any:
        began = time.perf_counter()
        results[name] = fn()
        print(f"{name}: {time.perf_counter() - began:.0f} s", flush=True)
        return results[name]

    w = phase("warm", lambda: warm(args.rounds, args.peer_calls))
    print(f"  core {ms(w['median']['core'])}, full {ms(w['median']['full'])}, peer ", end="")
    print(us(w["peer_five"]), flush=True)
    c = phase("cold", lambda: cold(args.cold))
    print(f"  {ms(c['ours'])} vs peer {ms(c['peer'])}", flush=True)
    phase("throughput", lambda: throughput(1 if args.quick else 4, 3))
    phase(
        "scaling",
        lambda: scaling(
            (1, 10, 100) if args.scale_100 else (1, 10),
            (1,) if args.quick else (1, 10),
            args.scale_rounds,
        ),
    )
    phase("profile", lambda: where_time_goes(args.profile_rounds))
    results["load_at_end"] = _load()
    results["elapsed_s"] = time.perf_counter() - start
    text = report(results, args)
    carried = carried_mypyc_section(args.output)
    if carried:
        text += "\n" + carried
    args.output.write_text(text, encoding="utf-8")
    print(f"wrote {args.output} in {results['elapsed_s']:.0f} s")


if __name__ == "__main__":
    main()
