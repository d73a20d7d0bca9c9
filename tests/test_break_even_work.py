"""The break-even search's shortcuts against what they replace (issue #17).

- A count's breakpoints are found in integers, without comparing or hashing a Fraction: the
  reference is the set of `(k - b) / a` inside [lo, hi] for every whole `k`, as it was built.
- Points are put in order and made distinct by their floats first (rounding is monotone), the
  exact value settling only equal floats: the reference is `sorted(set(points))`.
- A count's hash is computed once, from its integer terms, and never travels with a copy to
  another process (a string's hash differs between processes).
- The steps of some counts are kept for one break-even search (the architectures' pools and
  their alternatives share counts), not for the process: advising a profile again costs what
  advising it the first time did.

The work-count tests count calls, never seconds.
"""

from __future__ import annotations

import itertools
import math
import pickle
import subprocess
import sys
from collections import Counter
from fractions import Fraction
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

import sovereign_advisor as sa
from sovereign_advisor.engine import costmodel
from sovereign_advisor.engine.costmodel import Count, _distinct_in_order

from .conftest import AS_OF, PROFILES

EXAMPLES = sorted(PROFILES.glob("*.yaml"))

positive = st.fractions(min_value=Fraction(1, 1000), max_value=Fraction(50)).filter(bool)
offsets = st.fractions(min_value=Fraction(-20), max_value=Fraction(20))


def _reference_breakpoints(count: Count, lo: Fraction, hi: Fraction) -> set[Fraction]:
    """The breakpoints as they were computed: every `(k - b) / a` in [lo, hi], `k` whole."""
    out: set[Fraction] = set()
    for a, b in count.terms:
        if a <= 0:
            continue
        for k in range(max(math.floor(a * lo + b), count.minimum), math.floor(a * hi + b) + 1):
            v = (k - b) / a
            if lo <= v <= hi:
                out.add(v)
    return out


@given(
    terms=st.lists(st.tuples(st.one_of(positive, st.just(Fraction(0))), offsets), max_size=3),
    minimum=st.integers(min_value=0, max_value=6),
    lo=st.fractions(min_value=0, max_value=100),
    width=st.fractions(min_value=0, max_value=100),
)
def test_breakpoints_in_integers_are_the_fraction_ones(
    terms: list[tuple[Fraction, Fraction]], minimum: int, lo: Fraction, width: Fraction
) -> None:
    count = Count(minimum, tuple(terms))
    hi = lo + width
    found = count.breakpoints(lo, hi)
    assert {p for _, p in found} == _reference_breakpoints(count, lo, hi)
    assert all(f == float(p) for f, p in found)  # each with its correctly rounded float


def test_a_breakpoint_at_the_lower_end_is_kept_and_one_below_it_is_not() -> None:
    # a*lo + b whole: the step at lo itself is a breakpoint; just above lo, the step below is not
    count = Count(0, ((Fraction(1, 2), Fraction(0)),))
    assert [p for _, p in count.breakpoints(Fraction(4), Fraction(8))] == [4, 6, 8]
    assert [p for _, p in count.breakpoints(Fraction(5), Fraction(8))] == [6, 8]
    # a minimum above the steps at the lower end drops them
    assert [p for _, p in Count(3, count.terms).breakpoints(Fraction(4), Fraction(8))] == [6, 8]


@given(st.lists(st.fractions(min_value=-5, max_value=5, max_denominator=10**18), max_size=40))
def test_distinct_in_order_is_sorted_set(points: list[Fraction]) -> None:
    # large denominators give distinct points with equal floats: exact comparison settles them
    keyed = [(float(p), p) for p in points + points[:5]]
    assert _distinct_in_order(keyed) == sorted(set(points))


def test_points_with_equal_floats_stay_distinct() -> None:
    a = Fraction(1, 3)
    b = a + Fraction(1, 10**30)
    assert float(a) == float(b)
    assert _distinct_in_order([(float(b), b), (float(a), a), (float(a), Fraction(1, 3))]) == [a, b]


def test_a_counts_hash_is_its_values_and_is_computed_once() -> None:
    a = Count(1, ((Fraction(1, 3), Fraction(1, 2)),), of="servers")
    b = Count(1, ((Fraction(2, 6), Fraction(2, 4)),), of="servers")
    assert a == b and hash(a) == hash(b)
    assert a.but(of="gpus") != a and hash(a.but(of="gpus")) == hash(b.but(of="gpus"))
    assert a.but(of="gpus").__dict__.get("_hash") in (None, hash(b.but(of="gpus")))
    assert "_hash" in a.__dict__  # kept
    copied = pickle.loads(pickle.dumps(a))
    assert "_hash" not in copied.__dict__ and copied == a and hash(copied) == hash(a)


def test_a_count_sent_to_another_process_is_found_there() -> None:
    # the hash of `of` (a string) differs between processes: a kept hash must not travel
    key = Count(2, ((Fraction(1, 7), Fraction(-1, 2)),), spare=1, of="bought_servers")
    hash(key)
    script = (
        "import pickle, sys\n"
        "from fractions import Fraction\n"
        "from sovereign_advisor.engine.costmodel import Count\n"
        "table = pickle.loads(sys.stdin.buffer.read())\n"
        "print(table[Count(2, ((Fraction(1, 7), Fraction(-1, 2)),), spare=1, "
        "of='bought_servers')])\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script],
        input=pickle.dumps({key: "found"}),
        capture_output=True,
        check=True,
        env={"PYTHONHASHSEED": "random", "PATH": ""},
    )
    assert done.stdout.strip() == b"found"


@pytest.fixture
def steps_found(monkeypatch: pytest.MonkeyPatch) -> Counter[Any]:
    """How often each (counts, lo, hi) has its steps computed."""
    real = costmodel._steps
    found: Counter[Any] = Counter()

    def counting(counts: Any, lo: Fraction, hi: Fraction) -> Any:
        found[(counts, lo, hi)] += 1
        return real(counts, lo, hi)

    monkeypatch.setattr(costmodel, "_steps", counting)
    return found


def test_steps_are_found_once_per_search_and_again_for_the_next_advice(
    steps_found: Counter[Any], kb: sa.KnowledgeBase, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = Count.breakpoints
    searched: Counter[str] = Counter()

    def counting(self: Count, lo: Fraction, hi: Fraction) -> Any:
        searched["breakpoints"] += 1
        return real(self, lo, hi)

    monkeypatch.setattr(Count, "breakpoints", counting)
    profile = sa.load_profile(PROFILES / "german_hospital.yaml")
    first = sa.advise(profile, kb=kb, as_of=AS_OF, analyses=("break_even",))
    once = sum(steps_found.values())
    # within one search, counts shared by alternatives and architectures are stepped once
    assert once and max(steps_found.values()) == 1
    work = searched["breakpoints"]
    assert work
    again = sa.advise(profile, kb=kb, as_of=AS_OF, analyses=("break_even",))
    # nothing outlives the advice: the same profile costs the same work again
    assert sum(steps_found.values()) == 2 * once
    assert searched["breakpoints"] == 2 * work
    assert again.break_even == first.break_even


def test_alternatives_sharing_counts_share_their_steps(
    steps_found: Counter[Any], kb: sa.KnowledgeBase, monkeypatch: pytest.MonkeyPatch
) -> None:
    # a GPU pool's alternatives at several venues share the pool's counts (one per GPU type):
    # over the examples, fewer steps are computed than options are turned into pieces
    pieces: Counter[str] = Counter()
    real = costmodel.pieces_of

    def counting(*args: Any) -> Any:
        pieces["options"] += 1
        return real(*args)

    monkeypatch.setattr(costmodel, "pieces_of", counting)
    for path in EXAMPLES:
        sa.advise(sa.load_profile(path), kb=kb, as_of=AS_OF, analyses=("break_even",))
    assert 0 < sum(steps_found.values()) < pieces["options"]


@st.composite
def piece_lists(draw: st.DrawFn) -> tuple[list[list[costmodel.Piece]], Fraction, Fraction]:
    """Piecewise-linear functions on one [lo, hi], each with its own breakpoints."""
    lo = draw(st.fractions(min_value=0, max_value=100, max_denominator=1000))
    hi = lo + draw(st.fractions(min_value=Fraction(1, 100), max_value=100, max_denominator=1000))
    values = st.fractions(min_value=-1000, max_value=1000, max_denominator=10**6)
    lists = []
    for _ in range(draw(st.integers(min_value=0, max_value=5))):
        cuts = sorted(
            set(draw(st.lists(st.fractions(min_value=lo, max_value=hi), max_size=6))) - {lo, hi}
        )
        ends = [lo, *cuts, hi]
        lists.append([(a, b, draw(values), draw(values)) for a, b in itertools.pairwise(ends)])
    return lists, lo, hi


def _reference_sum(
    lists: list[list[costmodel.Piece]], lo: Fraction, hi: Fraction
) -> list[costmodel.Piece]:
    """The sum as it was computed: Fraction additions on each interval of the refinement."""
    out = []
    for left, right, lines in costmodel._walk(lists, lo, hi):
        out.append(
            (
                left,
                right,
                sum((s for s, _ in lines), Fraction(0)),
                sum((c for _, c in lines), Fraction(0)),
            )
        )
    return costmodel._merged(out)


@given(piece_lists())
def test_pieces_summed_in_integers_are_the_fraction_sums(
    drawn: tuple[list[list[costmodel.Piece]], Fraction, Fraction],
) -> None:
    lists, lo, hi = drawn
    assert costmodel.add_pieces(lists, lo, hi) == _reference_sum(lists, lo, hi)


def _reference_pieces_of(
    lines: Any, lo: Fraction, hi: Fraction, shared: Any = None
) -> list[costmodel.Piece]:
    """A set of lines' typical cost as pieces, as it was computed: Fraction products and sums,
    each count read at the midpoint of every interval between breakpoints."""
    slope, constant = Fraction(0), Fraction(0)
    stepped: list[tuple[Count, Fraction, int]] = []
    for line in lines:
        q, price = line.quantities["typical"], line.exact_prices["typical"]
        slope += q.per_query * price
        constant += q.fixed * price
        stepped += [(count, per_count * price, owned) for count, per_count, owned in q.stepped]
    points = {lo, hi}
    for count, _, _ in stepped:
        points |= _reference_breakpoints(count, lo, hi)
    bounds = sorted(points) if len(points) > 1 else [lo, hi]
    out = []
    for left, right in itertools.pairwise(bounds):
        middle = (left + right) / 2
        intercept = constant + sum(
            (coef * max(0, count.at(middle) - owned) for count, coef, owned in stepped),
            Fraction(0),
        )
        out.append((left, right, slope, intercept))
    return costmodel._merged(out)


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.stem)
def test_break_even_is_the_same_with_pieces_in_fractions(
    path: Any, kb: sa.KnowledgeBase, monkeypatch: pytest.MonkeyPatch
) -> None:
    profile = sa.load_profile(path)
    fast = sa.advise(profile, kb=kb, as_of=AS_OF, analyses=("break_even", "sensitivity"))
    monkeypatch.setattr(costmodel, "pieces_of", _reference_pieces_of)
    exact = sa.advise(profile, kb=kb, as_of=AS_OF, analyses=("break_even", "sensitivity"))
    assert sa.render_json(fast) == sa.render_json(exact)
