"""batches of advice: `advise_many` and `iter_advise_many` advise many profiles against one
knowledge base, the same advice as `advise` for each, with the per-knowledge-base work done once."""

from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import Iterable, Iterator

from sovereign_advisor.advice import Advice
from sovereign_advisor.errors import InputError
from sovereign_advisor.knowledge.loader import KnowledgeBase
from sovereign_advisor.profile import OrganisationProfile

from .advise import advise, default_knowledge_base


def advise_many(
    profiles: Iterable[OrganisationProfile],
    *,
    kb: KnowledgeBase | None = None,
    as_of: dt.date | None = None,
    processes: int = 1,
) -> list[Advice]:
    """`advise` for many profiles against one knowledge base, in order: the same results as
    calling `advise` for each, with the per-knowledge-base work (loading, venue exposures,
    indexes) done once.

    `processes` > 1 splits the profiles over that many worker processes forked from this one
    (they inherit the loaded knowledge base and its caches); where the platform cannot fork, the
    profiles are advised in this process.
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
    if not isinstance(processes, int) or isinstance(processes, bool) or processes < 1:
        raise InputError(
            f"advise_many() needs processes to be a positive integer, got {processes!r}"
        )
    if kb is not None and not isinstance(kb, KnowledgeBase):
        raise InputError(
            f"advise_many() needs kb from load_knowledge_base(), got {type(kb).__name__}"
        )
    shared = kb or default_knowledge_base()
    if processes == 1 or len(batch) < 2:
        return [advise(p, kb=shared, as_of=as_of) for p in batch]
    import multiprocessing as mp  # only here: importing it costs a cold start ~15 ms

    if "fork" not in mp.get_all_start_methods():
        return [advise(p, kb=shared, as_of=as_of) for p in batch]
    first = advise(batch[0], kb=shared, as_of=as_of)  # input errors raise here, not in a worker
    global _BATCH
    _BATCH = (batch, shared, as_of)
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
    chunk: int = 256,
) -> Iterator[Advice]:
    """`advise_many`, streamed: advice is yielded in order as it is ready, and profiles are read
    from the iterable `chunk` at a time, so memory stays bounded by one chunk whatever the number
    of profiles (`advise_many` returns a list, which holds every advice at once)."""
    if isinstance(profiles, OrganisationProfile) or not isinstance(profiles, Iterable):
        raise InputError(
            "iter_advise_many() needs an iterable of OrganisationProfile, got "
            f"{type(profiles).__name__}"
        )
    if not isinstance(chunk, int) or isinstance(chunk, bool) or chunk < 1:
        raise InputError(f"iter_advise_many() needs chunk to be a positive integer, got {chunk!r}")
    if kb is not None and not isinstance(kb, KnowledgeBase):
        raise InputError(
            f"iter_advise_many() needs kb from load_knowledge_base(), got {type(kb).__name__}"
        )
    return _stream(iter(profiles), kb or default_knowledge_base(), as_of, processes, chunk)


def _stream(
    profiles: Iterator[OrganisationProfile],
    kb: KnowledgeBase,
    as_of: dt.date | None,
    processes: int,
    chunk: int,
) -> Iterator[Advice]:
    while block := list(itertools.islice(profiles, chunk)):
        yield from advise_many(block, kb=kb, as_of=as_of, processes=processes)


_BATCH: tuple[list[OrganisationProfile], KnowledgeBase, dt.date | None] | None = None
"""The batch a forked worker of `advise_many` reads (inherited, never pickled)."""


def _advise_range(bounds: tuple[int, int]) -> list[Advice]:
    assert _BATCH is not None
    batch, kb, as_of = _BATCH
    return [advise(p, kb=kb, as_of=as_of) for p in batch[bounds[0] : bounds[1]]]
