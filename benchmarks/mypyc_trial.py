"""What would compiling the engine's pure-computation modules with mypyc add? Measure it.

    pip install -e '.[dev,bench]'            # mypy ships mypyc; needs a C compiler and Python.h
    python benchmarks/mypyc_trial.py         # about 6 minutes on a 2-core machine

The project's build is not changed. The script extracts copies of the committed tree
(`git archive HEAD`) into a scratch directory outside the repository (default
/tmp/mypyc-try), installs each into its own virtual environment, and compiles in place with
mypyc the candidate engine modules of one copy and `engine/costmodel.py` alone in another
(dropping those that mypyc refuses or that break or change the advice, and saying why). It
checks that every copy gives byte-identical advice JSON for the example profiles, then measures
the warm core decision (`analyses=()`) and the full advice in each, each copy in its own
process, the rounds rotating over the copies.
It writes the section "Compiled path: mypyc trial" of benchmarks/RESULTS.md (replacing an
earlier one; `benchmarks/run.py` carries the section over when it rewrites the file). Without
mypyc, a C compiler or the Python headers it prints why and exits without writing.
"""

from __future__ import annotations

import argparse
import datetime as dt
import importlib.util
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import sysconfig
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
HEADING = "## Compiled path: mypyc trial"
CANDIDATES = (
    "costmodel",
    "sizing",
    "pricing",
    "break_even",
    "cost_lines",
    "venue_choice",
)
"""The engine modules that compute without building pydantic models of their own, in the order
tried: the exact cost curves first (break-even's hot loop), then what builds them."""

WORKER = """\
import datetime, hashlib, json, sys, time
from pathlib import Path
import sovereign_advisor as sa
from sovereign_advisor.engine import costmodel

AS_OF = datetime.date(2026, 11, 23)
kb = sa.load_knowledge_base()
profiles = [sa.load_profile(p) for p in sorted(Path(sys.argv[1]).glob("*.yaml"))]
digest = hashlib.sha256()
for p in profiles:
    digest.update(sa.advise(p, kb=kb, as_of=AS_OF).model_dump_json(indent=2).encode())
    sa.advise(p, kb=kb, as_of=AS_OF, analyses=())
print(json.dumps({"digest": digest.hexdigest(), "costmodel": costmodel.__file__}), flush=True)
for line in sys.stdin:
    times = {"core": [], "full": []}
    for p in profiles:
        for name, analyses in (("core", ()), ("full", sa.ANALYSES)):
            start = time.perf_counter()
            sa.advise(p, kb=kb, as_of=AS_OF, analyses=analyses)
            times[name].append(time.perf_counter() - start)
    print(json.dumps(times), flush=True)
"""
"""One copy, in its own process: prints a digest of the full advice JSON of every example
profile, then one line of per-profile timings for each line read."""


def missing_tools() -> list[str]:
    missing = []
    if shutil.which("mypyc") is None:
        missing.append("mypyc (pip install mypy)")
    if shutil.which(os.environ.get("CC", "cc")) is None and shutil.which("gcc") is None:
        missing.append("a C compiler (cc or gcc)")
    if not (Path(sysconfig.get_paths()["include"]) / "Python.h").exists():
        missing.append("the Python headers (Python.h)")
    if importlib.util.find_spec("setuptools") is None:  # mypyc builds its extensions with it
        missing.append("setuptools")
    return missing


def extract(target: Path) -> None:
    target.mkdir(parents=True)
    archive = subprocess.run(
        ["git", "-C", str(ROOT), "archive", "HEAD"], capture_output=True, check=True
    )
    subprocess.run(["tar", "-x", "-C", str(target)], input=archive.stdout, check=True)


def compile_modules(src: Path, modules: list[str]) -> tuple[bool, str, float]:
    """mypyc the modules in place (the extensions land beside their sources, the shared
    runtime library in `src`); returns success, the output and the seconds it took."""
    shutil.rmtree(src / "build", ignore_errors=True)
    for old in src.rglob("*.so"):
        old.unlink()
    start = time.perf_counter()
    done = subprocess.run(
        ["mypyc", *[f"sovereign_advisor/engine/{m}.py" for m in modules]],
        cwd=src,
        capture_output=True,
        text=True,
        check=False,
    )
    return done.returncode == 0, done.stdout + done.stderr, time.perf_counter() - start


def blamed(output: str, modules: list[str]) -> dict[str, str]:
    """Candidate modules named in mypyc's error lines, each with its first error."""
    found: dict[str, str] = {}
    for line in output.splitlines():
        match = re.match(r"sovereign_advisor/engine/(\w+)\.py:\d+: error: (.*)", line)
        if match and match.group(1) in modules:
            found.setdefault(match.group(1), line.strip())
    return found


def venv(path: Path, project: Path) -> Path:
    subprocess.run([sys.executable, "-m", "venv", str(path)], check=True)
    python = path / "bin" / "python"
    subprocess.run(
        [str(python), "-m", "pip", "install", "-q", "-e", str(project)],
        check=True,
    )
    return python


class Copy:
    def __init__(self, name: str, python: Path) -> None:
        self.name = name
        env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1"}
        self.process = subprocess.Popen(
            [str(python), "-c", WORKER, str(ROOT / "examples" / "profiles")],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            env=env,
            cwd="/",
        )
        self.hello: dict[str, str] = json.loads(self._read())
        self.times: dict[str, list[list[float]]] = {"core": [], "full": []}

    def _read(self) -> str:
        assert self.process.stdout is not None
        line = self.process.stdout.readline()
        if not line:
            raise RuntimeError(f"the {self.name} copy's process failed")
        return line

    def round(self) -> None:
        assert self.process.stdin is not None
        self.process.stdin.write("go\n")
        self.process.stdin.flush()
        for name, per_profile in json.loads(self._read()).items():
            self.times[name].append(per_profile)

    def close(self) -> None:
        assert self.process.stdin is not None
        self.process.stdin.close()
        self.process.wait()

    def median(self, name: str) -> float:
        """Median over the profiles of each profile's median over the rounds."""
        per_profile = zip(*self.times[name], strict=True)
        return float(statistics.median(statistics.median(ts) for ts in per_profile))


CONFIGURATIONS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("mypyc", CANDIDATES),
    ("mypyc-costmodel", ("costmodel",)),
)
"""Each compiled copy: its name and the modules it tries to compile. The second tells what the
exact cost curves alone would give."""


def build(workdir: Path, name: str, candidates: tuple[str, ...], digest: str) -> dict[str, Any]:
    """A compiled copy: extracted, installed, compiled with as many candidates as work (a
    module mypyc refuses is left out with its first error; one that compiles but breaks or
    changes the advice is left out as well, the last one first) and started."""
    extract(workdir / name)
    python = venv(workdir / f"venv-{name}", workdir / name)
    modules = list(candidates)
    failed: dict[str, str] = {}
    seconds = 0.0
    while modules:
        print(f"{name}: compiling {', '.join(modules)} ...", flush=True)
        ok, output, seconds = compile_modules(workdir / name / "src", modules)
        if not ok:
            culprits = blamed(output, modules) or {modules[-1]: _last_error(output)}
            for module, why in culprits.items():
                failed[module] = why
                modules.remove(module)
            continue
        try:
            copy = Copy(name, python)
        except RuntimeError:
            failed[modules.pop()] = "compiled, but the advice failed at run time"
            continue
        if copy.hello["digest"] == digest:
            return {"modules": modules, "failed": failed, "seconds": seconds, "copy": copy}
        copy.close()
        failed[modules.pop()] = "compiled, but the advice JSON differed from pure Python's"
    return {"modules": [], "failed": failed, "seconds": seconds, "copy": None}


def trial(workdir: Path, rounds: int) -> dict[str, Any]:
    if workdir.exists():
        shutil.rmtree(workdir)
    extract(workdir / "pure")
    pure = Copy("pure", venv(workdir / "venv-pure", workdir / "pure"))
    copies = [pure]
    builds: dict[str, dict[str, Any]] = {}
    try:
        for name, candidates in CONFIGURATIONS:
            builds[name] = build(workdir, name, candidates, pure.hello["digest"])
            if builds[name]["copy"] is not None:
                copies.append(builds[name]["copy"])
        print(f"measuring {len(copies)} copies, {rounds} rounds ...", flush=True)
        for r in range(rounds):
            k = r % len(copies)
            for copy in copies[k:] + copies[:k]:
                copy.round()
    finally:
        for copy in copies:
            copy.close()
    return {
        "rounds": rounds,
        "pure": {name: pure.median(name) for name in ("core", "full")},
        "builds": {
            name: {
                "modules": b["modules"],
                "failed": b["failed"],
                "seconds": b["seconds"],
                "loaded_from": b["copy"].hello["costmodel"] if b["copy"] else None,
                "medians": (
                    {v: b["copy"].median(v) for v in ("core", "full")} if b["copy"] else None
                ),
            }
            for name, b in builds.items()
        },
    }


def _last_error(output: str) -> str:
    lines = [line.strip() for line in output.splitlines() if "error" in line.lower()]
    return lines[-1] if lines else (output.strip().splitlines() or ["(no output)"])[-1]


def _revision() -> str:
    done = subprocess.run(
        ["git", "-C", str(ROOT), "describe", "--always"],
        capture_output=True,
        text=True,
        check=False,
    )
    return done.stdout.strip() or "unknown"


def _install_commands(workdir: Path, name: str) -> list[str]:
    tree, env = workdir / name, workdir / f"venv-{name}"
    return [
        f"mkdir -p {tree} && git archive HEAD | tar -x -C {tree}",
        f"python -m venv {env} && {env}/bin/pip install -e {tree}",
    ]


def section(result: dict[str, Any], workdir: Path) -> str:
    date = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    load = " ".join(f"{x:.2f}" for x in os.getloadavg())
    builds = result["builds"]
    lines = [
        HEADING,
        "",
        (
            f"Written by `python benchmarks/mypyc_trial.py` on {date} (git {_revision()}, load "
            f"average at the end {load}), in a scratch directory outside the repository; the "
            "project's build does not use mypyc. What it does, by hand:"
        ),
        "",
        "```sh",
        "# from the repository; the pure-Python copy, then each compiled copy",
        *_install_commands(workdir, "pure"),
    ]
    for name, b in builds.items():
        tree = workdir / name
        lines += [
            *_install_commands(workdir, name),
            f"cd {tree}/src && mypyc "
            + " ".join(f"sovereign_advisor/engine/{m}.py" for m in b["modules"] or ["..."]),
        ]
    lines += ["```", ""]
    for name, b in builds.items():
        tried = dict(CONFIGURATIONS)[name]
        compiled = ", ".join(f"`engine/{m}.py`" for m in b["modules"]) or "nothing"
        lines.append(
            f"- `{name}`: tried " + ", ".join(f"`engine/{m}.py`" for m in tried) + f"; compiled "
            f"{compiled} (mypyc and the C compiler: {b['seconds']:.0f} s); `costmodel` loaded "
            f"from `{Path(b['loaded_from']).name if b['loaded_from'] else '-'}`."
        )
        lines += [f"  - left out `engine/{m}.py`: {why}" for m, why in b["failed"].items()]
    measured = {name: b for name, b in builds.items() if b["medians"]}
    if not measured:
        return "\n".join([*lines, "", "Nothing compiled, so nothing was measured.", ""])
    pure = result["pure"]
    lines += [
        "",
        (
            "Every compiled copy gives byte-identical full advice JSON to the pure-Python copy "
            "for the 11 example profiles. Warm, packaged knowledge base, as of 2026-11-23; each "
            "copy in its own process, the rounds rotating over the copies; median over the "
            f"profiles of each profile's median of {result['rounds']} rounds. A ratio above 1 "
            "means the compiled copy is slower."
        ),
        "",
        "| variant | pure Python | "
        + " | ".join(f"`{name}` | `{name}` / pure" for name in measured)
        + " |",
        "|---|---:|" + "---:|---:|" * len(measured),
    ]
    for v, label in (("core", "core decision (`analyses=()`)"), ("full", "full advice")):
        cells = [
            f"{b['medians'][v] * 1e3:,.2f} ms | {b['medians'][v] / pure[v]:.2f}x"
            for b in measured.values()
        ]
        lines.append(f"| {label} | {pure[v] * 1e3:,.2f} ms | " + " | ".join(cells) + " |")
    lines.append("")
    return "\n".join(lines)


def write_section(results: Path, text: str) -> None:
    old = results.read_text(encoding="utf-8") if results.exists() else ""
    start = old.find(HEADING)
    kept = (old[:start] if start >= 0 else old).rstrip("\n")
    results.write_text((kept + "\n\n" if kept else "") + text, encoding="utf-8")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/mypyc-try"))
    parser.add_argument("--rounds", type=int, default=11)
    parser.add_argument("--output", type=Path, default=ROOT / "benchmarks" / "RESULTS.md")
    args = parser.parse_args()
    workdir = args.workdir.resolve()
    if workdir == ROOT or ROOT in workdir.parents:
        parser.error("--workdir must be outside the repository")
    missing = missing_tools()
    if missing:
        print("mypyc trial skipped: missing " + ", ".join(missing), file=sys.stderr)
        return
    result = trial(workdir, args.rounds)
    text = section(result, workdir)
    write_section(args.output, text)
    print(text)
    print(f"wrote the mypyc section of {args.output}")


if __name__ == "__main__":
    main()
