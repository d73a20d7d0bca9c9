"""batches of advice: `advise_many` and `iter_advise_many` advise many profiles against one
knowledge base, in this process, in forked worker processes or on any
`concurrent.futures.Executor` (threads, processes, a Dask cluster's executor), the same advice as
`advise` for each, with the per-knowledge-base work done once per process.

A `KnowledgeBase` does not pickle (its rules hold compiled CEL programs), and loading one takes
~0.4 s, so a worker in another process never receives one: for the packaged knowledge base it
uses its own process's (`default_knowledge_base`, loaded once per process); for any other it
receives the records, which pickle (~390 KB, pickled once per batch), and compiles the rules
again, once per process and knowledge base.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import itertools
import pickle
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import TYPE_CHECKING, Any, TypeVar

from sovereign_advisor.advice import ANALYSES, Advice, Analysis
from sovereign_advisor.conditions import compile_expression
from sovereign_advisor.errors import InputError, KnowledgeBaseError
from sovereign_advisor.knowledge.loader import CompiledRule, KnowledgeBase
from sovereign_advisor.profile import OrganisationProfile, check_against_knowledge_base

from . import advise as _advise
from .advise import advise, default_knowledge_base

if TYPE_CHECKING:  # concurrent.futures costs a cold start ~15 ms: imported when an executor is
    from concurrent.futures import Executor, Future


def advise_many(
    profiles: Iterable[OrganisationProfile],
    *,
    kb: KnowledgeBase | None = None,
    as_of: dt.date | None = None,
    processes: int = 1,
    executor: Executor | None = None,
    analyses: Iterable[Analysis] = ANALYSES,
) -> list[Advice]:
    """`advise` for many profiles against one knowledge base, in order: the same results as
    calling `advise` for each (the same JSON bytes), with the per-knowledge-base work (loading,
    venue exposures, indexes) done once. `analyses` is passed to `advise` (`analyses=()`: the
    core decisions).

    `processes` > 1 splits the profiles over that many worker processes forked from this one
    (they inherit the loaded knowledge base and its caches); where the platform cannot fork, the
    profiles are advised in this process.

    `executor` (any `concurrent.futures.Executor`: a `ThreadPoolExecutor`, a
    `ProcessPoolExecutor`, a Dask `distributed.Client(...).get_executor()`) receives the profiles
    in chunks and the advice comes back in input order; `processes` is then left at 1. Threads
    share the knowledge base itself. A worker in another process never receives a pickled
    `KnowledgeBase` (it does not pickle): with `kb=None` (or the object `kb=None` loads) it uses
    the packaged knowledge base of its own process, loaded once per process, and refuses to
    advise if that is not the caller's version (a cluster with another sovereign-advisor
    installed); with any other `kb` (`load_knowledge_base(path, overlays=...)`, a what-if
    overlay, `dataclasses.replace`) it receives the records and compiles the rules again, once
    per process and knowledge base. The arguments of every profile are checked here, before
    anything is submitted, so bad input raises `InputError` in the caller; an error a worker
    meets is raised here too, for the first profile in input order that has one.
    """
    if isinstance(profiles, OrganisationProfile) or not isinstance(profiles, Iterable):
        raise InputError(
            f"advise_many() needs an iterable of OrganisationProfile, got {type(profiles).__name__}"
        )
    batch = list(profiles)
    for i, item in enumerate(batch):
        if not isinstance(item, OrganisationProfile):
            raise InputError(
                f"advise_many() needs OrganisationProfile items; item {i} is {type(item).__name__}"
            )
    _check_options("advise_many", kb, processes, executor)
    wanted = _analyses(analyses)
    shared = kb or default_knowledge_base()
    if executor is not None:
        _check_batch(batch, kb, shared, as_of)
        return list(_collect(_submit(executor, batch, _Source.of(kb), as_of, wanted)))
    if processes == 1 or len(batch) < 2:
        return [advise(p, kb=shared, as_of=as_of, analyses=wanted) for p in batch]
    import multiprocessing as mp  # only here: importing it costs a cold start ~15 ms

    if "fork" not in mp.get_all_start_methods():
        return [advise(p, kb=shared, as_of=as_of, analyses=wanted) for p in batch]
    # input errors raise here, not in a worker
    first = advise(batch[0], kb=shared, as_of=as_of, analyses=wanted)
    global _BATCH
    _BATCH = (batch, shared, as_of, wanted)
    try:
        size = -(-(len(batch) - 1) // (4 * processes))  # a few chunks a worker, to balance load
        chunks = [(i, min(i + size, len(batch))) for i in range(1, len(batch), size)]
        with mp.get_context("fork").Pool(min(processes, len(chunks))) as pool:
            parts = pool.map(_advise_range, chunks)
    finally:
        _BATCH = None
    return [first] + [advice for part in parts for advice in part]


def iter_advise_many(
    profiles: Iterable[OrganisationProfile],
    *,
    kb: KnowledgeBase | None = None,
    as_of: dt.date | None = None,
    processes: int = 1,
    executor: Executor | None = None,
    analyses: Iterable[Analysis] = ANALYSES,
    chunk: int = 256,
) -> Iterator[Advice]:
    """`advise_many`, streamed: advice is yielded in order as it is ready, and profiles are read
    from the iterable `chunk` at a time, so memory stays bounded by one chunk whatever the number
    of profiles (`advise_many` returns a list, which holds every advice at once). With an
    `executor`, the next chunk is submitted before the current one is yielded (two chunks in
    memory at most), so the workers do not wait for the consumer."""
    if isinstance(profiles, OrganisationProfile) or not isinstance(profiles, Iterable):
        raise InputError(
            "iter_advise_many() needs an iterable of OrganisationProfile, got "
            f"{type(profiles).__name__}"
        )
    if not isinstance(chunk, int) or isinstance(chunk, bool) or chunk < 1:
        raise InputError(f"iter_advise_many() needs chunk to be a positive integer, got {chunk!r}")
    _check_options("iter_advise_many", kb, processes, executor)
    wanted = _analyses(analyses)
    shared = kb or default_knowledge_base()
    if executor is not None:
        return _stream_on(executor, iter(profiles), kb, shared, as_of, wanted, chunk)
    return _stream(iter(profiles), shared, as_of, processes, wanted, chunk)


def _stream(
    profiles: Iterator[OrganisationProfile],
    kb: KnowledgeBase,
    as_of: dt.date | None,
    processes: int,
    analyses: tuple[Analysis, ...],
    chunk: int,
) -> Iterator[Advice]:
    while block := list(itertools.islice(profiles, chunk)):
        yield from advise_many(block, kb=kb, as_of=as_of, processes=processes, analyses=analyses)


def _stream_on(
    executor: Executor,
    profiles: Iterator[OrganisationProfile],
    kb: KnowledgeBase | None,
    shared: KnowledgeBase,
    as_of: dt.date | None,
    analyses: tuple[Analysis, ...],
    chunk: int,
) -> Iterator[Advice]:
    source = _Source.of(kb)
    read = 0

    def submitted() -> list[Future[list[Advice]]]:
        nonlocal read
        block = list(itertools.islice(profiles, chunk))
        for i, item in enumerate(block, start=read):
            if not isinstance(item, OrganisationProfile):
                raise InputError(
                    "iter_advise_many() needs OrganisationProfile items; item "
                    f"{i} is {type(item).__name__}"
                )
        read += len(block)
        _check_batch(block, kb, shared, as_of)
        return _submit(executor, block, source, as_of, analyses)

    pending = submitted()
    following: list[Future[list[Advice]]] = []
    try:
        while pending:
            error = None
            try:
                following = submitted()
            except InputError as bad:  # the advice before it is yielded first, as without one
                following, error = [], bad
            yield from _collect(pending)
            if error is not None:
                raise error
            pending, following = following, []
    finally:
        _cancel(following)


def _check_options(caller: str, kb: object, processes: object, executor: object) -> None:
    """One InputError for a knowledge base, process count or executor the batch cannot use."""
    if not isinstance(processes, int) or isinstance(processes, bool) or processes < 1:
        raise InputError(f"{caller}() needs processes to be a positive integer, got {processes!r}")
    if kb is not None and not isinstance(kb, KnowledgeBase):
        raise InputError(f"{caller}() needs kb from load_knowledge_base(), got {type(kb).__name__}")
    if executor is None:
        return
    import concurrent.futures

    if not isinstance(executor, concurrent.futures.Executor):
        raise InputError(
            f"{caller}() needs executor to be a concurrent.futures.Executor (a ThreadPoolExecutor, "
            f"a ProcessPoolExecutor, distributed.Client(...).get_executor()), got "
            f"{type(executor).__name__}"
        )
    if processes != 1:
        raise InputError(
            f"{caller}() takes processes={processes!r} or an executor, not both: the executor "
            "decides where the profiles are advised"
        )


def _analyses(analyses: Iterable[Analysis]) -> tuple[Analysis, ...]:
    """The analyses asked for, read once (an iterator is consumed), in `ANALYSES` order."""
    wanted = _advise._check_analyses(analyses)
    return tuple(a for a in ANALYSES if a in wanted)


def _check_batch(
    batch: Sequence[OrganisationProfile],
    kb: KnowledgeBase | None,
    shared: KnowledgeBase,
    as_of: dt.date | None,
) -> None:
    """What `advise` would refuse in the arguments, checked here for every profile, so that bad
    input raises in the caller and not in a worker."""
    for profile in batch:
        _advise._check_arguments(profile, kb, as_of)
        check_against_knowledge_base(profile, shared)


_CHUNK_LIMITS = (4, 64)
"""Profiles per task on an executor: at least 4 (a task costs a submission and, for a custom
knowledge base, its records), at most 64 (about 32 tasks a batch up to 2,048 profiles, to
balance the load over workers whose number an executor does not tell)."""


def _submit(
    executor: Executor,
    batch: Sequence[OrganisationProfile],
    source: _Source,
    as_of: dt.date | None,
    analyses: tuple[Analysis, ...],
) -> list[Future[list[Advice]]]:
    low, high = _CHUNK_LIMITS
    size = min(high, max(low, -(-len(batch) // 32)))
    futures: list[Future[list[Advice]]] = []
    try:
        for i in range(0, len(batch), size):
            chunk = list(batch[i : i + size])
            futures.append(executor.submit(_advise_chunk, source, chunk, as_of, analyses))
    except BaseException:
        _cancel(futures)
        raise
    return futures


def _collect(futures: list[Future[list[Advice]]]) -> Iterator[Advice]:
    """The advice of each future in order; on an error, or when the consumer stops, the futures
    not yet started are cancelled."""
    try:
        for future in futures:
            yield from future.result()
    finally:
        _cancel(futures)


def _cancel(futures: Iterable[Future[Any]]) -> None:
    for future in futures:
        future.cancel()


def _advise_chunk(
    source: _Source,
    profiles: list[OrganisationProfile],
    as_of: dt.date | None,
    analyses: tuple[Analysis, ...],
) -> list[Advice]:
    """What a worker of an executor runs: one chunk of profiles."""
    kb = source.knowledge_base()
    return [advise(p, kb=kb, as_of=as_of, analyses=analyses) for p in profiles]


class _Source:
    """How a worker finds the batch's knowledge base. In the caller's process (threads) it is
    the object itself; pickled for another process, it is the packaged knowledge base's
    version, or a custom knowledge base's records (pickled once, however many chunks carry
    them), rebuilt in the worker once per process."""

    def __init__(self, kb: KnowledgeBase | None, packaged: bool, version: str) -> None:
        self._kb = kb
        self.packaged = packaged
        self.version = version
        self._records: bytes | None = None
        self._digest = ""

    @classmethod
    def of(cls, kb: KnowledgeBase | None) -> _Source:
        packaged = kb is None or kb is _advise._DEFAULT_KB
        live = kb or default_knowledge_base()
        return cls(live, packaged, live.version)

    def __getstate__(self) -> tuple[bool, str, bytes | None, str]:
        if not self.packaged and self._records is None:
            assert self._kb is not None
            self._records = pickle.dumps(_records(self._kb), protocol=pickle.HIGHEST_PROTOCOL)
            self._digest = hashlib.sha256(self._records).hexdigest()
        return self.packaged, self.version, self._records, self._digest

    def __setstate__(self, state: tuple[bool, str, bytes | None, str]) -> None:
        self.packaged, self.version, self._records, self._digest = state
        self._kb = None

    def knowledge_base(self) -> KnowledgeBase:
        if self._kb is not None:
            return self._kb
        if self.packaged:
            kb = default_knowledge_base()
            if kb.version != self.version:
                raise KnowledgeBaseError(
                    f"this worker's packaged knowledge base is {kb.version}, the caller's "
                    f"{self.version}: install the same sovereign-advisor on every worker"
                )
            return kb
        key = (self.version, self._digest)
        records = self._records
        assert records is not None
        with _REBUILDING:  # threads of one worker process rebuild it once
            found = _recently_used(_REBUILT, key, lambda: _rebuild(pickle.loads(records)))
        self._kb = found
        return found


_REBUILT: dict[tuple[str, str], KnowledgeBase] = {}
"""Custom knowledge bases rebuilt in this (worker) process, by version and records digest; their
caches (venue exposures, ...) then serve every later chunk."""

_REBUILDING = threading.Lock()

_REBUILT_KEPT = 16
"""How many rebuilt knowledge bases a worker keeps (a sweep over price scenarios uses several)."""


K = TypeVar("K")
V = TypeVar("V")


def _recently_used(cache: dict[K, V], key: K, make: Callable[[], V]) -> V:
    """`cache[key]`, made when missing, kept as the most recently used (last); the least
    recently used dropped beyond `_REBUILT_KEPT`. The caller holds the cache's lock."""
    found = cache.pop(key, None)
    if found is None:
        found = make()
    cache[key] = found
    while len(cache) > _REBUILT_KEPT:
        del cache[next(iter(cache))]
    return found


def _records(kb: KnowledgeBase) -> dict[str, Any]:
    """A knowledge base's fields in a form that pickles: each rule without its compiled CEL."""
    fields = {f.name: getattr(kb, f.name) for f in dataclasses.fields(KnowledgeBase)}
    fields["rules"] = tuple((r.rule, r.file) for r in kb.rules)
    return fields


def _rebuild(fields: dict[str, Any]) -> KnowledgeBase:
    """The knowledge base of `_records`, its rules compiled again as the loader compiles them
    (the records were validated when the caller's knowledge base was loaded). Knowledge bases
    with the same rules, venues and blocs (a sweep's price scenarios) get the same objects for
    them, so that they share what the rules give (`KnowledgeBase.rules_derived`) in this
    worker as they do in the caller."""
    parts = (fields["rules"], fields["venues"], fields["blocs"])
    key = hashlib.sha256(pickle.dumps(parts, protocol=pickle.HIGHEST_PROTOCOL)).hexdigest()
    with _PARTS_LOCK:  # (called with _REBUILDING held)
        rules, venues, blocs = _recently_used(
            _PARTS, key, lambda: (_compiled(fields["rules"]), fields["venues"], fields["blocs"])
        )
    return KnowledgeBase(**{**fields, "rules": rules, "venues": venues, "blocs": blocs})


_PARTS: dict[str, tuple[tuple[CompiledRule, ...], Any, Any]] = {}
"""The rules (compiled), venues and blocs of rebuilt knowledge bases, by a digest of their
records."""

_PARTS_LOCK = threading.Lock()


def _compiled(rules: tuple[tuple[Any, str], ...]) -> tuple[CompiledRule, ...]:
    """Rule records and their files, compiled as the loader compiles them."""
    return tuple(
        CompiledRule(
            rule,
            file,
            compile_expression(rule.condition, rule.scope, returns="bool"),
            compile_expression(rule.exposes_to, rule.scope, returns="list")
            if rule.exposes_to is not None
            else None,
        )
        for rule, file in rules
    )


_Batch = tuple[list[OrganisationProfile], KnowledgeBase, dt.date | None, tuple[Analysis, ...]]

_BATCH: _Batch | None = None
"""The batch a forked worker of `advise_many` reads (inherited, never pickled)."""


def _advise_range(bounds: tuple[int, int]) -> list[Advice]:
    assert _BATCH is not None
    batch, kb, as_of, analyses = _BATCH
    return [advise(p, kb=kb, as_of=as_of, analyses=analyses) for p in batch[bounds[0] : bounds[1]]]
