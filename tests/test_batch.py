"""Batches on an executor: the same bytes as `advise` one by one, in input order, on threads,
processes and Dask; arguments checked in the caller; each worker process loads the packaged
knowledge base (or rebuilds a custom one) at most once. Work is counted, never timed."""

from __future__ import annotations

import csv
import dataclasses
import importlib.util
import multiprocessing as mp
import os
import pickle
import subprocess
import sys
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor, ThreadPoolExecutor
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

import sovereign_advisor as sa
from sovereign_advisor.engine import advise as advise_module
from sovereign_advisor.engine import batch as batch_module
from sovereign_advisor.whatif import overlay_knowledge_base

from .conftest import AS_OF, PROFILES, ROOT

EXAMPLES = sorted(PROFILES.glob("*.yaml"))
FORK = pytest.mark.skipif(
    "fork" not in mp.get_all_start_methods(), reason="the worker counts need fork"
)


def _profiles() -> list[sa.OrganisationProfile]:
    return [sa.load_profile(p) for p in EXAMPLES]


def _forked(workers: int = 2, **kwargs: Any) -> ProcessPoolExecutor:
    return ProcessPoolExecutor(workers, mp_context=mp.get_context("fork"), **kwargs)


def _custom(kb: sa.KnowledgeBase) -> sa.KnowledgeBase:
    """A what-if knowledge base (not the packaged one, not loadable from a directory)."""
    custom, _ = overlay_knowledge_base(kb, assume=["ops.monthly_cost_per_fte=9000"], as_of=AS_OF)
    assert custom.version != kb.version
    return custom


class _Counting(ThreadPoolExecutor):
    """A thread executor that counts what is submitted to it."""

    def __init__(self) -> None:
        super().__init__(2)
        self.submitted = 0

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Future[Any]:
        self.submitted += 1
        return super().submit(fn, *args, **kwargs)


@pytest.mark.parametrize("kind", ["threads", "processes"])
def test_an_executor_gives_the_same_bytes_as_advise(kind: str) -> None:
    if kind == "processes" and "fork" not in mp.get_all_start_methods():
        pytest.skip("no fork on this platform")
    profiles = _profiles()
    one_by_one = [sa.render_json(sa.advise(p, as_of=AS_OF)) for p in profiles]
    with ThreadPoolExecutor(2) if kind == "threads" else _forked() as executor:
        batch = sa.advise_many(profiles * 2, as_of=AS_OF, executor=executor)
    assert [sa.render_json(a) for a in batch] == one_by_one * 2


@FORK
def test_a_custom_knowledge_base_reaches_worker_processes(kb: sa.KnowledgeBase) -> None:
    custom = _custom(kb)
    profiles = _profiles()
    one_by_one = [
        sa.render_json(sa.advise(p, kb=custom, as_of=AS_OF, analyses=())) for p in profiles
    ]
    assert one_by_one != [
        sa.render_json(sa.advise(p, kb=kb, as_of=AS_OF, analyses=())) for p in profiles
    ]
    with _forked() as executor:
        batch = sa.advise_many(profiles, kb=custom, as_of=AS_OF, executor=executor, analyses=())
    assert [sa.render_json(a) for a in batch] == one_by_one
    assert {a.knowledge_base_version for a in batch} == {custom.version}


def test_the_knowledge_base_never_travels_pickled(kb: sa.KnowledgeBase) -> None:
    with pytest.raises(TypeError, match="pickle"):
        pickle.dumps(kb)  # compiled CEL: why workers get records, or use their own
    custom = _custom(kb)
    source = pickle.loads(pickle.dumps(batch_module._Source.of(custom)))
    rebuilt = source.knowledge_base()
    assert rebuilt is not custom and rebuilt.version == custom.version
    assert pickle.loads(pickle.dumps(batch_module._Source.of(custom))).knowledge_base() is rebuilt
    packaged = pickle.loads(pickle.dumps(batch_module._Source.of(None)))
    assert packaged.knowledge_base() is advise_module.default_knowledge_base()


def test_a_worker_refuses_a_packaged_knowledge_base_other_than_the_callers() -> None:
    source = batch_module._Source(None, True, "sha256:0000000000000000")
    with pytest.raises(sa.KnowledgeBaseError, match="install the same sovereign-advisor"):
        pickle.loads(pickle.dumps(source)).knowledge_base()


@pytest.mark.parametrize("where", ["here", "forked", "threads"])
def test_the_analyses_asked_for_are_the_ones_computed(kb: sa.KnowledgeBase, where: str) -> None:
    profiles = _profiles()[:3]
    with ThreadPoolExecutor(2) as threads:
        choices: dict[str, dict[str, Any]] = {
            "here": {},
            "forked": {"processes": 2},
            "threads": {"executor": threads},
        }
        options = choices[where]
        wanted: list[sa.Analysis] = ["break_even"]
        batch = sa.advise_many(profiles, kb=kb, as_of=AS_OF, analyses=iter(wanted), **options)
        core = sa.advise_many(profiles, kb=kb, as_of=AS_OF, analyses=(), **options)
    assert {a.not_computed for a in batch} == {("sensitivity", "remedies")}
    assert {a.not_computed for a in core} == {sa.ANALYSES}
    assert [sa.render_json(a) for a in core] == [
        sa.render_json(sa.advise(p, kb=kb, as_of=AS_OF, analyses=())) for p in profiles
    ]


def test_iter_advise_many_on_an_executor_streams_in_order(kb: sa.KnowledgeBase) -> None:
    profiles = _profiles()[:3]
    pulled = []

    def source() -> Iterator[sa.OrganisationProfile]:
        for p in profiles * 3:
            pulled.append(p)
            yield p

    with ThreadPoolExecutor(2) as executor:
        stream = sa.iter_advise_many(
            source(), kb=kb, as_of=AS_OF, executor=executor, analyses=(), chunk=2
        )
        first = next(stream)
        assert len(pulled) == 4  # this chunk and the next one submitted, not the whole iterable
        rest = list(stream)
    assert [first, *rest] == sa.advise_many(profiles * 3, kb=kb, as_of=AS_OF, analyses=())


def test_bad_arguments_raise_in_the_caller_before_anything_is_submitted(
    kb: sa.KnowledgeBase,
) -> None:
    profiles = _profiles()[:2]
    unknown_gpu = sa.replace(profiles[1], **{"capabilities.owned_gpus": {"h100-80gb-pcei": 2}})
    with _Counting() as executor:
        cases: list[tuple[dict[str, Any], str]] = [
            ({"processes": 2}, "processes=2 or an executor, not both"),
            ({"as_of": None}, "needs as_of"),
            ({"analyses": "break_even"}, r"write analyses=\('break_even',\)"),
            ({"analyses": ("break_even", "nope")}, "got 'nope'"),
            ({"kb": "patterns/"}, "needs kb from load_knowledge_base"),
        ]
        for call in (sa.advise_many, sa.iter_advise_many):
            for change, message in cases:
                arguments: dict[str, Any] = {"as_of": AS_OF, "executor": executor, **change}
                with pytest.raises(sa.InputError, match=message):
                    list(call(profiles, **arguments))
            with pytest.raises(sa.InputError, match="item 2 is str"):
                list(call([*profiles, "x"], as_of=AS_OF, executor=executor))  # type: ignore[list-item]
            with pytest.raises(sa.InputError, match="is not a GPU of the knowledge base"):
                list(call([profiles[0], unknown_gpu], as_of=AS_OF, executor=executor))
        assert executor.submitted == 0
        assert sa.advise_many([], as_of=AS_OF, executor=executor) == []
        assert list(sa.iter_advise_many([], as_of=AS_OF, executor=executor)) == []
    for executor_like in ("threads", ThreadPoolExecutor):
        with pytest.raises(sa.InputError, match=r"needs executor to be a concurrent\.futures"):
            sa.advise_many(profiles, as_of=AS_OF, executor=executor_like)  # type: ignore[arg-type]


def _count_packaged_loads(log: str) -> None:
    """Worker initializer: note each packaged load, starting as a fresh process would (a
    forked worker otherwise inherits the caller's loaded knowledge base)."""

    def counting(*args: Any, **kwargs: Any) -> sa.KnowledgeBase:
        with open(log, "a", encoding="utf-8") as f:
            f.write(f"{os.getpid()}\n")
        return sa.load_knowledge_base(*args, **kwargs)

    advise_module.load_knowledge_base = counting  # type: ignore[attr-defined]
    advise_module._DEFAULT_KB = None


def _count_rebuilds(log: str) -> None:
    """Worker initializer: note each custom knowledge base rebuilt."""
    rebuild = batch_module._rebuild

    def counting(fields: dict[str, Any]) -> sa.KnowledgeBase:
        with open(log, "a", encoding="utf-8") as f:
            f.write(f"{os.getpid()}\n")
        return rebuild(fields)

    batch_module._rebuild = counting
    batch_module._REBUILT.clear()


@FORK
@pytest.mark.parametrize("custom", [False, True], ids=["packaged", "custom"])
def test_each_worker_process_loads_the_knowledge_base_at_most_once(
    kb: sa.KnowledgeBase, custom: bool, tmp_path: Path
) -> None:
    log = tmp_path / "loads.txt"
    log.touch()
    profiles = _profiles() * 2  # 6 chunks of at most 4 over 2 workers
    chosen = _custom(kb) if custom else None
    initializer = _count_rebuilds if custom else _count_packaged_loads
    with _forked(initializer=initializer, initargs=(str(log),)) as executor:
        batch = sa.advise_many(profiles, kb=chosen, as_of=AS_OF, executor=executor, analyses=())
        again = sa.advise_many(profiles, kb=chosen, as_of=AS_OF, executor=executor, analyses=())
    loads = log.read_text(encoding="utf-8").split()
    assert 1 <= len(loads) == len(set(loads)) <= 2  # one per worker process, whatever the chunks
    assert str(os.getpid()) not in loads
    assert batch == again == sa.advise_many(profiles, kb=chosen, as_of=AS_OF, analyses=())


def _example() -> ModuleType:
    spec = importlib.util.spec_from_file_location("sweep_dask", ROOT / "examples/sweep_dask.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclass looks its module up while it is defined
    try:
        spec.loader.exec_module(module)
    finally:
        del sys.modules[spec.name]
    return module


def test_the_dask_sweep_example_writes_one_row_per_scenario(
    kb: sa.KnowledgeBase, tmp_path: Path
) -> None:
    pytest.importorskip("distributed")
    out = tmp_path / "sweep.csv"
    chosen = [PROFILES / "bank_strict.yaml", PROFILES / "triage_high_volume.yaml"]
    dates = ["2026-07-01", "2026-11-23"]
    # a separate interpreter: Dask's threads stay out of this one (later forks warn of them)
    done = subprocess.run(
        [
            sys.executable,
            str(ROOT / "examples/sweep_dask.py"),
            *("--profiles", *map(str, chosen)),
            *("--dates", *dates),
            *("--gpu-factors", "1", "2"),
            *("--token-factors", "0.5"),
            *("--workers", "1", "--threads", "--out", str(out)),
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "8 rows (2 profiles x 2 price scenarios x 2 dates)" in done.stdout
    with out.open(encoding="utf-8", newline="") as f:
        rows = list(csv.DictReader(f))
    example = _example()
    expected = []
    for path in chosen:
        for gpu in ("1", "2"):
            scenario = example.Scenario(example.Decimal(gpu), example.Decimal("0.5"))
            scenario_kb = example.scenario_knowledge_base(kb, scenario)
            for day in dates:
                advice = sa.advise(
                    sa.load_profile(path),
                    kb=scenario_kb,
                    as_of=example.dt.date.fromisoformat(day),
                    analyses=(),
                )
                expected.append(
                    example.row_of(advice, scenario, sorted(a.id for a in kb.architectures))
                )
    assert rows == expected
    assert [r["scenario"] for r in rows[:2]] == ["gpu x1 tokens x0.5"] * 2
    doubled = [r for r in rows if r["organisation"] == rows[0]["organisation"]]
    on_prem = [example.Decimal(r["typical_monthly_on_prem_rag"]) for r in doubled]
    assert on_prem[2] > on_prem[0] and on_prem[3] > on_prem[1]  # dearer GPUs cost more
    if importlib.util.find_spec("pyarrow") is not None:
        import pyarrow.parquet as pq  # type: ignore[import-untyped]

        assert pq.read_table(out.with_suffix(".parquet")).to_pylist() == rows


def test_the_dask_sweep_example_explains_its_arguments() -> None:
    done = subprocess.run(
        [sys.executable, str(ROOT / "examples/sweep_dask.py"), "--help"],
        capture_output=True,
        text=True,
        check=True,
    )
    for option in ("--scheduler ADDRESS", "--dates", "--gpu-factors", "--token-factors", "--out"):
        assert option in done.stdout


def test_the_dask_sweep_example_measures_the_rate_per_core() -> None:
    done = subprocess.run(
        [
            sys.executable,
            str(ROOT / "examples/sweep_dask.py"),
            "--measure",
            *("--profiles", str(EXAMPLES[0]), "--copies", "2", "--runs", "1"),
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    assert "core decisions/s on one core" in done.stdout
    assert "a million-scenario sweep takes" in done.stdout


def test_rebuilt_price_scenarios_share_their_rules_in_a_worker(kb: sa.KnowledgeBase) -> None:
    # a sweep's scenarios travel as records; rebuilt in a worker, those with the same rules,
    # venues and blocs get the same objects, and so share what the rules give, as in the caller
    scenario = dataclasses.replace(kb, gpu_prices=kb.gpu_prices[::-1], version="scenario")
    one = batch_module._rebuild(batch_module._records(kb))
    two = batch_module._rebuild(batch_module._records(scenario))
    assert one.rules is two.rules and one.venues is two.venues and one.blocs is two.blocs
    assert one.rules_derived is two.rules_derived
    assert one.gpu_prices != two.gpu_prices
    # another rule set is compiled on its own
    other = batch_module._rebuild(
        batch_module._records(dataclasses.replace(kb, rules=kb.rules[1:]))
    )
    assert other.rules is not one.rules and other.rules_derived is not one.rules_derived
    profile = sa.load_profile(EXAMPLES[0])
    assert sa.render_json(sa.advise(profile, kb=two, as_of=AS_OF)) == sa.render_json(
        sa.advise(profile, kb=scenario, as_of=AS_OF)
    )
