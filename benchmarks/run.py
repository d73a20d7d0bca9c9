"""Benchmark sovereign-advisor against a peer (genai-prices) and write benchmarks/RESULTS.md.

    pip install -e '.[bench]'
    python benchmarks/run.py            # about 5-10 minutes on a 2-core machine
    python benchmarks/run.py --quick    # fewer repetitions, no 100x knowledge bases

Everything is measured in one run and reported as medians and ratios measured side by side
(interleaved), because the machines this runs on are shared and noisy. Not part of CI.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml
from genai_prices import Usage, calc_price

import sovereign_advisor as sa
from sovereign_advisor.knowledge.loader import default_patterns_path

ROOT = Path(__file__).resolve().parents[1]
PROFILES = sorted((ROOT / "examples" / "profiles").glob("*.yaml"))
AS_OF = dt.date(2026, 11, 23)
STAMP = dt.datetime(2026, 11, 23, tzinfo=dt.UTC)
COLD_PROFILE = ROOT / "examples" / "profiles" / "bank_strict.yaml"

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


def peer_five() -> None:
    for _, model, tokens_in, tokens_out in PEER_LINES:
        calc_price(
            Usage(input_tokens=tokens_in, output_tokens=tokens_out),
            model,
            provider_id="mistral",
            genai_request_timestamp=STAMP,
        )


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
    load = os.getloadavg() if hasattr(os, "getloadavg") else (float("nan"),) * 3
    return {
        "nproc": str(os.cpu_count()),
        "cpu": cpu,
        "python": platform.python_version(),
        "platform": platform.platform(),
        "load_at_start": " ".join(f"{x:.2f}" for x in load),
        "date": dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "revision": _revision(),
    }


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


def warm(rounds: int) -> dict[str, Any]:
    """Median advise() per profile, interleaved with the peer's five line items."""
    kb = sa.load_knowledge_base()
    profiles = [(p.stem, sa.load_profile(p)) for p in PROFILES]
    for _, profile in profiles:
        sa.advise(profile, kb=kb, as_of=AS_OF)
    peer_five()
    ours: dict[str, list[float]] = {name: [] for name, _ in profiles}
    peer: list[float] = []
    for _ in range(rounds):
        for name, profile in profiles:
            ours[name].append(timed(lambda p=profile: sa.advise(p, kb=kb, as_of=AS_OF)))
            peer.append(timed(peer_five))
    per_profile = {name: statistics.median(times) for name, times in ours.items()}
    return {
        "per_profile": per_profile,
        "median_of_profiles": statistics.median(per_profile.values()),
        "all_median": statistics.median(t for ts in ours.values() for t in ts),
        "peer_five": statistics.median(peer),
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


def cold(runs: int) -> dict[str, float]:
    """Fresh interpreters, interleaved: ours (import, load the packaged KB, advise one profile)
    against the peer's (import, price one call). Wall time of the whole process.

    Measured twice: as the interpreter is set up (an editable install run with
    PYTHONDONTWRITEBYTECODE=1 compiles our modules from source on every start, while the peer's
    wheel ships bytecode), and with bytecode for every module on both sides, as after installing
    wheels (PYTHONPYCACHEPREFIX pointing at a temporary directory, filled by one run of each
    first and removed afterwards)."""
    times: dict[str, list[float]] = {
        k: [] for k in ("ours", "peer", "bare_interpreter", "ours_bytecode", "peer_bytecode")
    }
    with tempfile.TemporaryDirectory() as cache:
        compiled = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
        compiled["PYTHONPYCACHEPREFIX"] = cache
        for code in (COLD_OURS, COLD_PEER):
            subprocess.run([sys.executable, "-c", code], check=True, env=compiled)
        plan = (
            (COLD_OURS, "ours", None),
            (COLD_PEER, "peer", None),
            ("pass", "bare_interpreter", None),
            (COLD_OURS, "ours_bytecode", compiled),
            (COLD_PEER, "peer_bytecode", compiled),
        )
        for _ in range(runs):
            for code, name, env in plan:
                start = time.perf_counter()
                subprocess.run([sys.executable, "-c", code], check=True, env=env)
                times[name].append(time.perf_counter() - start)
    return {name: statistics.median(values) for name, values in times.items()}


def throughput(copies: int) -> dict[str, float]:
    kb = sa.load_knowledge_base()
    profiles = [sa.load_profile(p) for p in PROFILES] * copies
    sa.advise_many(profiles[: len(PROFILES)], kb=kb, as_of=AS_OF)
    out = {"profiles": float(len(profiles))}
    procs = os.cpu_count() or 1
    for label, n in (("one_core", 1), (f"{procs}_processes", procs)):
        seconds = statistics.median(
            timed(lambda n=n: sa.advise_many(profiles, kb=kb, as_of=AS_OF, processes=n))
            for _ in range(3)
        )
        out[label] = len(profiles) / seconds
    return out


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
    """Warm advise() median (over the example profiles, median of `rounds` each) against
    knowledge bases with 1x, 10x, 100x the rules, venues and architectures. All the knowledge
    bases are loaded first; the rounds then interleave them, so that a busy spell of the
    machine slows every size alike."""
    profiles = [sa.load_profile(p) for p in PROFILES]
    out: list[dict[str, Any]] = []
    kbs: list[sa.KnowledgeBase] = []
    with tempfile.TemporaryDirectory() as tmp:
        cases = [("rules", f, (f, 1, 1)) for f in factors]
        cases += [("venues", f, (1, f, 1)) for f in factors if f > 1]
        cases += [("architectures", f, (1, 1, f)) for f in architecture_factors if f > 1]
        for what, factor, (r, v, a) in cases:
            path = synthetic(Path(tmp), r, v, a)
            start = time.perf_counter()
            kb = sa.load_knowledge_base(path)
            load = time.perf_counter() - start
            first = statistics.median(
                timed(lambda p=p, kb=kb: sa.advise(p, kb=kb, as_of=AS_OF)) for p in profiles
            )
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
                times[k][i].append(timed(lambda p=p, kb=kb: sa.advise(p, kb=kb, as_of=AS_OF)))
    for k, case in enumerate(out):
        case["warm_advice_s"] = statistics.median(statistics.median(t) for t in times[k])
        print(
            f"  scaling {case['what']} x{case['factor']}: {case['warm_advice_s'] * 1e3:.2f} ms",
            flush=True,
        )
    return out


def us(seconds: float) -> str:
    return f"{seconds * 1e6:,.0f} µs"


def ms(seconds: float) -> str:
    return f"{seconds * 1e3:,.2f} ms"


def report(
    m: dict[str, str],
    w: dict[str, Any],
    c: dict[str, float],
    t: dict[str, float],
    s: list[dict[str, Any]],
    args: argparse.Namespace,
) -> str:
    procs = m["nproc"]
    lines = [
        "# Benchmark results",
        "",
        (
            f"Written by `python benchmarks/run.py{' --quick' if args.quick else ''}` on {m['date']}. "
            "Medians and ratios are measured in the same run, interleaved; the machine is shared, so "
            "absolute times move from run to run while the ratios move less."
        ),
        "",
        "## Machine",
        "",
        f"- CPU: {m['cpu']}, `nproc` = {procs}",
        f"- Python {m['python']} ({m['platform']})",
        f"- load average at start: {m['load_at_start']}",
        (
            f"- sovereign-advisor {sa.__version__} (git {m['revision']}), genai-prices "
            f"{_peer_version()}"
        ),
        "",
        "## 1. Warm advice against the peer pricing five token line items",
        "",
        (
            "The peer (`genai_prices.calc_price`) prices the five token line items a comparison of "
            "the three architectures needs, with the closest models it knows (provider `mistral`):"
        ),
        "",
        *[f"- {label}: `{model}`" for label, model, _, _ in PEER_LINES],
        "",
        (
            f"Each round advises every example profile once (packaged knowledge base, as of "
            f"{AS_OF}), each advice followed by one pricing of the five line items; {args.rounds} "
            "rounds."
        ),
        "",
        "| profile | warm advise() median | ratio to the peer's five line items |",
        "|---|---:|---:|",
        *[
            f"| {name} | {ms(v)} | {v / w['peer_five']:,.1f}x |"
            for name, v in w["per_profile"].items()
        ],
        (
            f"| **median of the profiles** | **{ms(w['median_of_profiles'])}** | "
            f"**{w['median_of_profiles'] / w['peer_five']:,.1f}x** |"
        ),
        "",
        (
            f"Peer, five line items: median {us(w['peer_five'])} "
            f"({us(w['peer_five'] / 5)} a call). Target: ≤ 0.5x."
        ),
        "",
        "## 2. Cold start",
        "",
        (
            f"Fresh interpreter, wall time of the whole process, median of {args.cold} runs each, "
            "interleaved:"
        ),
        "",
        (
            f"- ours: import `sovereign_advisor`, load the packaged knowledge base, advise "
            f"`{COLD_PROFILE.name}`: **{ms(c['ours'])}**"
        ),
        f"- peer: import `genai_prices`, price one call: **{ms(c['peer'])}**",
        f"- bare interpreter (`python -c pass`), for reference: {ms(c['bare_interpreter'])}",
        (
            f"- ratio ours / peer: **{c['ours'] / c['peer']:.2f}x** (target ≤ 1.0x); "
            f"without the bare interpreter's share: "
            f"{(c['ours'] - c['bare_interpreter']) / (c['peer'] - c['bare_interpreter']):.2f}x"
        ),
        (
            f"- with bytecode for every module on both sides (as after installing wheels; "
            f"PYTHONDONTWRITEBYTECODE={os.environ.get('PYTHONDONTWRITEBYTECODE', '(unset)')} "
            f"here): ours **{ms(c['ours_bytecode'])}**, peer **{ms(c['peer_bytecode'])}**, "
            f"ratio **{c['ours_bytecode'] / c['peer_bytecode']:.2f}x**"
        ),
        "",
        "## 3. advise_many throughput",
        "",
        (
            f"{int(t['profiles'])} profiles (the {len(PROFILES)} examples repeated), packaged "
            "knowledge base already loaded, median of 3 runs:"
        ),
        "",
        f"- one core (`processes=1`): **{t['one_core']:,.0f} profiles/s**",
        f"- {procs} processes: **{t[f'{procs}_processes']:,.0f} profiles/s**",
        "- target: ≥ 10,000 profiles/s per core",
        "",
        "## 4. Scaling with the size of the knowledge base",
        "",
        (
            "Synthetic knowledge bases built from the packaged one by cloning every rule (all "
            "scopes), every non-premises venue (with its token, GPU and host prices) or every "
            "architecture under new ids. Warm advice: median over the example profiles of the "
            f"median of {args.scale_rounds} advices each, the rounds interleaving the knowledge "
            "bases; first advice: median over the profiles of the first advice (venue exposures "
            "not yet cached)."
        ),
        "",
        (
            "| cloned | factor | rules | venues | architectures | load | first advice | "
            "warm advice | warm / 1x |"
        ),
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    base = next(x for x in s if x["factor"] == 1)
    for x in s:
        lines.append(
            f"| {x['what'] if x['factor'] > 1 else '(none)'} | {x['factor']}x | {x['rules']} | "
            f"{x['venues']} | {x['architectures']} | {ms(x['load_s'])} | "
            f"{ms(x['first_advice_s'])} | {ms(x['warm_advice_s'])} | "
            f"{x['warm_advice_s'] / base['warm_advice_s']:.2f}x |"
        )
    lines += ["", "Target: 10x the rules ≤ 12x the time.", ""]
    return "\n".join(lines)


def _peer_version() -> str:
    from importlib.metadata import version

    return version("genai-prices")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--output", type=Path, default=ROOT / "benchmarks" / "RESULTS.md")
    parser.add_argument(
        "--cold-only", action="store_true", help="measure the cold start only; print, write nothing"
    )
    args = parser.parse_args()
    if args.cold_only:
        c = cold(7 if args.quick else 9)
        print(", ".join(f"{k} {ms(v)}" for k, v in c.items()))
        print(
            f"ratio {c['ours'] / c['peer']:.2f}x, "
            f"with bytecode {c['ours_bytecode'] / c['peer_bytecode']:.2f}x",
            f"(load {' '.join(f'{x:.2f}' for x in os.getloadavg())})",
        )
        return
    args.rounds = 5 if args.quick else 15
    args.cold = 7 if args.quick else 9
    args.scale_rounds = 3 if args.quick else 5
    m = machine()
    print("machine:", m, flush=True)
    w = warm(args.rounds)
    print(f"warm: {ms(w['median_of_profiles'])} vs peer {us(w['peer_five'])}", flush=True)
    c = cold(args.cold)
    print(f"cold: {ms(c['ours'])} vs peer {ms(c['peer'])}", flush=True)
    t = throughput(3 if args.quick else 10)
    print(f"throughput: {t}", flush=True)
    s = scaling((1, 10) if args.quick else (1, 10, 100), (1, 10), args.scale_rounds)
    text = report(m, w, c, t, s, args)
    notes = ROOT / "benchmarks" / "WHERE_THE_TIME_GOES.md"
    if notes.exists():
        text += "\n" + notes.read_text(encoding="utf-8")
    args.output.write_text(text, encoding="utf-8")
    print(f"wrote {args.output}")


if __name__ == "__main__":
    main()
