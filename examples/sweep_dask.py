"""Sweep a portfolio on Dask: organisations x price scenarios x as-of dates, one CSV row each.

    pip install -e ".[dask]"
    python examples/sweep_dask.py --out sweep.csv                 # a LocalCluster on this machine
    python examples/sweep_dask.py --scheduler tcp://HOST:8786 --out sweep.csv   # a real cluster
    python examples/sweep_dask.py --measure      # core decisions per second on one core, no Dask

Each price scenario scales the GPU card prices (purchase and rental) and the token prices of
the packaged knowledge base by a factor; each (scenario, date) is one `sa.advise_many` call on
the cluster's `concurrent.futures` executor, computing the core decision (`analyses=()`). The
same code runs on a `LocalCluster` or on the cluster `--scheduler` names, whose workers need
sovereign-advisor installed (the same version: a worker refuses a packaged knowledge base that
differs from the caller's). Rows come out in a fixed order (profile, GPU factor, token factor,
date) whatever the cluster; a Parquet file with the same columns is written beside the CSV
when pyarrow is importable.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import contextlib
import csv
import dataclasses
import datetime as dt
import hashlib
import statistics
import sys
import time
from collections.abc import Sequence
from decimal import ROUND_HALF_EVEN, Decimal
from pathlib import Path

import sovereign_advisor as sa
from sovereign_advisor.knowledge.models import Band

HERE = Path(__file__).parent
DATES = (dt.date(2026, 7, 1), dt.date(2026, 11, 23))
FACTORS = (Decimal("0.5"), Decimal(1), Decimal(2))
MICRO = Decimal("0.000001")


@dataclasses.dataclass(frozen=True)
class Scenario:
    """Prices of the packaged knowledge base scaled by a factor."""

    gpu: Decimal
    """Factor on every GPU card price, purchase and rental (servers, hosts: unchanged)."""
    tokens: Decimal
    """Factor on every token price, input and output."""

    @property
    def name(self) -> str:
        return f"gpu x{self.gpu} tokens x{self.tokens}"


def _scaled(band: Band, factor: Decimal) -> Band:
    def scale(value: Decimal | None) -> Decimal | None:
        # prices are micro-unit decimals; a scaled one stays one
        return None if value is None else (value * factor).quantize(MICRO, ROUND_HALF_EVEN)

    return band.model_copy(
        update={"typical": scale(band.typical), "low": scale(band.low), "high": scale(band.high)}
    )


def scenario_knowledge_base(kb: sa.KnowledgeBase, scenario: Scenario) -> sa.KnowledgeBase:
    """`kb` with the scenario's prices, under a version of its own (so results name it)."""
    if scenario.gpu == 1 and scenario.tokens == 1:
        return kb
    gpu_prices = tuple(
        p.model_copy(
            update={
                "purchase": p.purchase and _scaled(p.purchase, scenario.gpu),
                "rental_per_hour": p.rental_per_hour and _scaled(p.rental_per_hour, scenario.gpu),
            }
        )
        for p in kb.gpu_prices
    )
    token_prices = tuple(
        p.model_copy(
            update={
                "input_per_mtok": _scaled(p.input_per_mtok, scenario.tokens),
                "output_per_mtok": _scaled(p.output_per_mtok, scenario.tokens),
            }
        )
        for p in kb.token_prices
    )
    digest = hashlib.sha256(f"{kb.version}\n{scenario.name}".encode()).hexdigest()[:16]
    return dataclasses.replace(
        kb, gpu_prices=gpu_prices, token_prices=token_prices, version=f"sha256:{digest}"
    )


def row_of(advice: sa.Advice, scenario: Scenario, architectures: Sequence[str]) -> dict[str, str]:
    """One CSV row: the decision and each architecture's typical monthly total (empty when
    excluded), amounts exact as in the JSON."""
    totals = {
        a.architecture_id: str(a.cost.monthly_total.typical)
        for a in advice.assessments
        if a.cost is not None
    }
    return {
        "organisation": advice.organisation,
        "scenario": scenario.name,
        "date": advice.as_of.isoformat(),
        "decision": advice.decision,
        "recommended": advice.recommended.architecture_id if advice.recommended else "",
        **{f"typical_monthly_{a}": totals.get(a, "") for a in architectures},
        "currency": advice.currency,
    }


def sweep(
    profiles: Sequence[sa.OrganisationProfile],
    scenarios: Sequence[Scenario],
    dates: Sequence[dt.date],
    executor: concurrent.futures.Executor,
) -> list[dict[str, str]]:
    """Every (profile, scenario, date), advised on `executor`; rows in a fixed order."""
    packaged = sa.load_knowledge_base()
    architectures = sorted(a.id for a in packaged.architectures)
    calls = [(s, scenario_knowledge_base(packaged, s), d) for s in scenarios for d in dates]

    def run(call: tuple[Scenario, sa.KnowledgeBase, dt.date]) -> list[sa.Advice]:
        _, kb, day = call
        # the packaged knowledge base itself: the workers use their own (loaded once each)
        return sa.advise_many(
            profiles,
            kb=None if kb is packaged else kb,
            as_of=day,
            executor=executor,
            analyses=(),
        )

    # a few calls at once keep the workers busy between one call's last chunks and the next's
    with concurrent.futures.ThreadPoolExecutor(4) as calling:
        results = list(calling.map(run, calls))
    rows = {
        (i, j): row_of(advice, scenario, architectures)
        for j, ((scenario, _, _), batch) in enumerate(zip(calls, results, strict=True))
        for i, advice in enumerate(batch)
    }
    return [rows[key] for key in sorted(rows)]


def write(rows: list[dict[str, str]], out: Path) -> list[Path]:
    """The CSV, and the Parquet file beside it when pyarrow is importable (not a dependency)."""
    with out.open("w", newline="", encoding="utf-8") as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    written = [out]
    try:
        import pyarrow as pa
        import pyarrow.parquet as pq
    except ImportError:
        return written
    parquet = out.with_suffix(".parquet")
    pq.write_table(pa.Table.from_pylist(rows), parquet)  # the CSV's text, exact amounts
    return [*written, parquet]


def measure(
    profiles: Sequence[sa.OrganisationProfile],
    scenarios: Sequence[Scenario],
    dates: Sequence[dt.date],
    copies: int,
    runs: int,
) -> None:
    """Core decisions per second on one core (this process, no Dask), by wall clock and by CPU
    time, the median of `runs` runs of each of two ways:

    - the sweep as it runs: every (scenario, date) one `advise_many` of the profiles on that
      scenario's knowledge base, built afresh each run, so that what the engine keeps per
      knowledge base is built again for each scenario, as in a sweep (where each organisation
      meets each scenario once);
    - the profiles x `copies` on the packaged knowledge base: repeated organisations find kept
      what the engine keys by what a profile says (flow-rule results, say), so this rate is
      higher than a sweep's of as many distinct organisations.
    """
    packaged = sa.load_knowledge_base()
    sa.advise_many(profiles, kb=packaged, as_of=dates[-1], analyses=())  # warm the caches
    batch = list(profiles) * copies

    def swept() -> int:
        for scenario in scenarios:
            kb = scenario_knowledge_base(packaged, scenario)
            for day in dates:
                sa.advise_many(profiles, kb=kb, as_of=day, analyses=())
        return len(profiles) * len(scenarios) * len(dates)

    def repeated() -> int:
        sa.advise_many(batch, kb=packaged, as_of=dates[-1], analyses=())
        return len(batch)

    ways = (
        (
            (
                f"the sweep ({len(profiles)} profiles x {len(scenarios)} price scenarios x "
                f"{len(dates)} dates, scenario knowledge bases built afresh)"
            ),
            swept,
        ),
        (f"{len(profiles)} profiles x {copies} on one knowledge base", repeated),
    )
    for label, run in ways:
        wall, cpu = [], []
        for _ in range(runs):
            started, used = time.perf_counter(), time.process_time()
            decisions = run()
            wall.append(decisions / (time.perf_counter() - started))
            cpu.append(decisions / (time.process_time() - used))
        for what, rates in (("wall clock", wall), ("CPU time", cpu)):
            rate = statistics.median(rates)
            hours = 1_000_000 / rate / 3600
            print(
                f"{label}, {what}: {rate:,.1f} core decisions/s on one core (median of {runs} "
                f"runs of {decisions}; runs {', '.join(f'{r:.1f}' for r in rates)}): a "
                f"million-scenario sweep takes {hours:,.1f} core-hours"
            )


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        description="Sweep organisations x price scenarios x as-of dates on Dask and write one "
        "row per scenario (organisation, scenario, date, decision, recommended architecture, "
        "each architecture's typical monthly total, currency) to CSV, and to Parquet beside it "
        "when pyarrow is importable.",
    )
    p.add_argument(
        "--profiles",
        type=Path,
        nargs="+",
        default=sorted((HERE / "profiles").glob("*.yaml")),
        help="profile files (default: the example profiles in examples/profiles/)",
    )
    p.add_argument(
        "--dates",
        type=dt.date.fromisoformat,
        nargs="+",
        default=list(DATES),
        help="as-of dates, YYYY-MM-DD (default: 2026-07-01 2026-11-23)",
    )
    p.add_argument(
        "--gpu-factors",
        type=Decimal,
        nargs="+",
        default=list(FACTORS),
        help="factors on the GPU card prices, purchase and rental (default: 0.5 1 2)",
    )
    p.add_argument(
        "--token-factors",
        type=Decimal,
        nargs="+",
        default=list(FACTORS),
        help="factors on the token prices; every pair of factors is a scenario (default: 0.5 1 2)",
    )
    p.add_argument("--out", type=Path, default=Path("sweep.csv"), help="CSV file to write")
    p.add_argument(
        "--scheduler",
        metavar="ADDRESS",
        help="a running Dask scheduler (tcp://HOST:8786); default: start a LocalCluster",
    )
    p.add_argument(
        "--workers", type=int, default=2, help="LocalCluster worker processes (default: 2)"
    )
    p.add_argument(
        "--threads",
        action="store_true",
        help="LocalCluster of threads in this process instead of worker processes (starts "
        "faster; the engine holds the GIL, so one core works)",
    )
    p.add_argument(
        "--measure",
        action="store_true",
        help="no sweep: measure core decisions per second on one core, in this process (the "
        "sweep's advise_many calls on the price scenarios and dates; and the profiles x --copies "
        "on one knowledge base), median of --runs runs, and the core-hours a million take",
    )
    p.add_argument("--copies", type=int, default=20, help="with --measure (default: 20)")
    p.add_argument("--runs", type=int, default=7, help="with --measure (default: 7)")
    return p


def main(argv: Sequence[str]) -> int:
    args = parser().parse_args(argv)
    profiles = [sa.load_profile(p) for p in args.profiles]
    scenarios = [Scenario(g, t) for g in args.gpu_factors for t in args.token_factors]
    if args.measure:
        measure(profiles, scenarios, args.dates, args.copies, args.runs)
        return 0
    from distributed import Client, LocalCluster  # the `dask` extra

    with contextlib.ExitStack() as stack:
        if args.scheduler:
            client = stack.enter_context(Client(args.scheduler))
        else:
            cluster = LocalCluster(
                n_workers=args.workers,
                threads_per_worker=1,
                processes=not args.threads,
                dashboard_address=None,
            )
            client = stack.enter_context(Client(stack.enter_context(cluster)))
        rows = sweep(profiles, scenarios, args.dates, client.get_executor())
    for path in write(rows, args.out):
        print(
            f"{len(rows)} rows ({len(profiles)} profiles x {len(scenarios)} price scenarios x "
            f"{len(args.dates)} dates): {path}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
