"""Which crossing of two cost curves is reported as the break-even, on curves drawn by hand;
and the factor by which one input must move to change the recommendation, on hand-solved
equations.

GPU counts are steps, so two nearly equal totals can trade places at every step (a sawtooth).
The rule (README, "Costs"): a crossing counts when the order flips the right way right next to
it and also between 0.8x and 1.25x of it; failing that, the last crossing on its side of the
profile's volume counts when the other architecture stays cheaper from it to the end of the
searched range (1/10 to 10 times the volume); otherwise no break-even is reported.

Architecture `a` costs a flat 100 a month; `b` is drawn as steps, so the crossings are where
`b`'s steps pass 100 and every expected answer can be read off the drawing.
"""

from __future__ import annotations

import datetime as dt
import math
from fractions import Fraction
from types import SimpleNamespace
from typing import Any

import pytest

import sovereign_advisor as sa
from sovereign_advisor.engine.break_even import break_even
from sovereign_advisor.engine.sensitivity import _flip_factor

F = Fraction


def _steps(
    *levels: tuple[int, int | Fraction],
) -> list[tuple[Fraction, Fraction, Fraction, Fraction]]:
    """Pieces of a step function: (right end, level) pairs from 0 queries up (the last one
    reaching past 1.25 times the end of every searched range here)."""
    out, left = [], F(0)
    for right, level in levels:
        out.append((left, F(right), F(0), F(level)))
        left = F(right)
    return out


def _curve(pieces: list[tuple[Fraction, Fraction, Fraction, Fraction]]) -> Any:
    def total(v: Fraction) -> Fraction:
        raise AssertionError(f"read outside the drawn pieces at {v}")

    return SimpleNamespace(
        model=SimpleNamespace(pieces=lambda lo, hi, shared=None: pieces, total=total)
    )


FLAT = _steps((20_000, 100))


def _break_even(b_levels: list[tuple[int, int | Fraction]], volume: int) -> Any:
    ranked = [("a", _curve(FLAT)), ("b", _curve(_steps(*b_levels)))]
    (only,) = break_even(ranked, SimpleNamespace(volume=F(volume)))
    return only


def test_a_clean_crossing_is_the_break_even() -> None:
    # b: 120 up to 400 queries, then 80. At 0.8x (320) a is cheaper, at 1.25x (500) b is.
    be = _break_even([(400, 120), (20_000, 80)], volume=100)
    assert be.queries_per_month == 400
    assert be.note == "with more queries than this, b becomes the cheaper"  # one crossing


def test_a_clean_crossing_below_the_profile_volume() -> None:
    # b: 80 up to 400, then 120; the profile at 800 sees a cheaper, b cheaper below 400.
    be = _break_even([(400, 80), (20_000, 120)], volume=800)
    assert be.queries_per_month == 400
    assert "with fewer queries than this, b becomes the cheaper" in be.note


def test_after_a_sawtooth_the_last_crossing_counts_when_the_order_holds_to_the_end() -> None:
    # crossings at 400 (b cheaper), 500 (a again), 600 (b for good up to 1,000 = 10x).
    # 400: 1.25x = 500 sits on the step, a millionth beyond it a is cheaper again: not decisive.
    # 500: the order flips the wrong way (b to a). 600: 0.8x = 480 has b cheaper: not decisive,
    # but it is the last crossing and b stays cheaper to the end of the range.
    be = _break_even([(400, 120), (500, 90), (600, 110), (20_000, 80)], volume=100)
    assert be.queries_per_month == 600
    assert "stays so up to 1,000" in be.note
    assert "the totals cross 2 time(s) before" in be.note


def test_a_sawtooth_that_ends_with_a_cheaper_reports_no_break_even() -> None:
    # as above, but a is cheaper again from 900: no crossing holds to the end of the range
    be = _break_even([(400, 120), (500, 90), (600, 110), (900, 80), (20_000, 130)], volume=100)
    assert be.queries_per_month is None
    assert "cross 4 time(s) within GPU-step noise" in be.note


def test_half_a_unit_is_enough_to_change_the_order_at_0_8x() -> None:
    # crossings at 300, 350 and 400. At 400, 0.8x = 320 falls where b is cheaper by 0.5: the
    # crossing is not decisive however small the gap, so it counts only as the last crossing.
    levels = [(300, 120), (350, F(995, 10)), (400, 110), (20_000, 80)]
    be = _break_even(levels, volume=100)
    assert be.queries_per_month == 400
    assert "stays so up to 1,000" in be.note


def test_the_nearest_decisive_crossing_wins_over_a_farther_one() -> None:
    # clean crossings at 200 (b cheaper) and at 700 (a cheaper again) around a profile at 100:
    # the one at 200 is decisive (0.8x = 160: a; 1.25x = 250: b)
    be = _break_even([(200, 120), (700, 80), (20_000, 120)], volume=100)
    assert be.queries_per_month == 200
    # the other crossing is counted, over the searched range (1/10 to 10 times the volume)
    assert be.note == (
        "with more queries than this, b becomes the cheaper; the totals cross 1 other time(s) "
        "from 10 to 1,000 queries a month"
    )


def test_the_pieces_are_read_up_to_and_including_their_right_end() -> None:
    from sovereign_advisor.engine.break_even import _value

    curve = _curve(FLAT).model  # its total() fails: every volume here is on the drawn pieces
    assert _value(curve, FLAT, F(20_000)) == 100
    assert _value(curve, FLAT, F(1, 10**6)) == 100
    # a piece runs from just above its start: at the first start the model itself is read
    model = SimpleNamespace(total=lambda v: F(7))
    assert _value(model, FLAT, F(0)) == 7  # type: ignore[arg-type]


def test_equal_totals_are_no_side_of_a_crossing() -> None:
    from sovereign_advisor.engine.break_even import _Crossings

    # b equals a up to 400, then is cheaper: at 50 neither is cheaper, at 800 b is
    b = _steps((400, 100), (20_000, 80))
    crossing = _Crossings(
        (_curve(FLAT).model, FLAT), (_curve(b).model, b), [F(400)], (F(10), F(1_000)), F(100)
    )
    assert crossing.gap(F(50)) == 0 and crossing.gap(F(800)) == 20
    assert not crossing._sides((F(50),), (F(800),))  # a is not cheaper where they are equal


def test_the_neighbour_below_is_read_on_the_profiles_side() -> None:
    # profile at 800 (b 120 there, a cheaper). Going down: b is cheaper below 600, a below 500,
    # b below 400 (to the start of the range, 80). 600 is decisive? 1.25x = 750: a (ok); 0.8x =
    # 480: a again (not b): no. 500 flips the wrong way. 400 is the last crossing below the
    # profile, right next to it the order flips the right way, and b stays cheaper to 80.
    be = _break_even([(400, 80), (500, 110), (600, 90), (20_000, 120)], volume=800)
    assert be.queries_per_month == 400
    assert "with fewer queries than this, b becomes the cheaper and stays so up to 80" in be.note


def test_a_window_of_b_below_the_profile_is_a_break_even_at_its_upper_end() -> None:
    # profile at 800; b is cheaper only from 400 to 600. Going down, the order flips at 600
    # (0.8x = 480: b; 1.25x = 750: a) and back at 400: the break-even is 600, read with the
    # crossing at 400 as its lower neighbour (not the start of the range, 80)
    be = _break_even([(400, 120), (600, 80), (20_000, 120)], volume=800)
    assert be.queries_per_month == 600
    assert "with fewer queries than this, b becomes the cheaper" in be.note


# --- the sensitivity factor -------------------------------------------------------------------
# `_flip_factor(gap, direct, inverse)` solves gap + (t - 1) * direct + (1/t - 1) * inverse = 0
# for the factor t nearest 1 (in ratio): how far one input can move before the order flips.


def test_flip_factor_of_a_cost_proportional_to_the_input() -> None:
    # the recommended is 10 cheaper and spends 20 more on the input: +50% closes the gap
    assert _flip_factor(F(-10), F(20), F(0)) == pytest.approx(1.5)


def test_flip_factor_of_a_cost_inversely_proportional_to_the_input() -> None:
    # e.g. a price converted through an FX rate: -10 + (1/t - 1) * 20 = 0 at t = 2/3
    assert _flip_factor(F(-10), F(0), F(20)) == pytest.approx(2 / 3)


def test_flip_factor_with_both_picks_the_root_nearest_one() -> None:
    # 30 t^2 - 60 t + 20 = 0: t = 1 +- 1/sqrt(3), i.e. 1.577 and 0.423; 1.577 is nearer 1
    t = _flip_factor(F(-10), F(30), F(20))
    assert t == pytest.approx(1 + 1 / math.sqrt(3))
    assert -10 + (t - 1) * 30 + (1 / t - 1) * 20 == pytest.approx(0, abs=1e-9)


def test_flip_factor_is_none_when_no_factor_flips_the_order() -> None:
    assert _flip_factor(F(-10), F(0), F(0)) is None  # the input is not in either total
    # the recommended spends 5 less on the input: even at zero it stays 5 cheaper
    assert _flip_factor(F(-10), F(-5), F(0)) is None
    assert _flip_factor(F(-10), F(-20), F(0)) == pytest.approx(0.5)  # 20 less: halve it
    assert _flip_factor(F(10), F(10), F(10)) is None  # 10 t^2 - 10 t + 10: no real root


def test_flip_factor_does_not_depend_on_the_unit_of_money() -> None:
    # the same equation in cents and in hundreds: 0.3 t^2 - 0.6 t + 0.2 has a discriminant of
    # 0.12 (below 1), and still the roots 1 +- 1/sqrt(3)
    for scale in (F(1, 100), F(1), F(100)):
        t = _flip_factor(F(-10) * scale, F(30) * scale, F(20) * scale)
        assert t == pytest.approx(1 + 1 / math.sqrt(3)), scale


def test_flip_factor_never_reports_the_input_as_it_is() -> None:
    # totals already equal (gap 0): (t - 1)(2 - 1/t) = 0 at t = 1, no move, and at t = 1/2
    assert _flip_factor(F(0), F(2), F(1)) == pytest.approx(0.5)


def test_the_neighbour_above_is_the_next_crossing_not_the_end_of_the_range() -> None:
    # b is cheaper only from 200 to 300: right after 200 (at 250) b is cheaper, although at
    # the middle of 200 and the end of the range (600) a is again; 0.8x = 160: a, 1.25x = 250: b
    be = _break_even([(200, 120), (300, 80), (20_000, 120)], volume=100)
    assert be.queries_per_month == 200


def test_half_a_unit_is_enough_to_change_the_order_at_1_25x() -> None:
    # a clean crossing at 400 (a to b by 0.5 only): 0.8x = 320: a; 1.25x = 500: b by 0.5
    be = _break_even([(400, 120), (20_000, F(995, 10))], volume=100)
    assert be.queries_per_month == 400
    assert "stays so" not in be.note


def test_a_fleet_too_large_to_search_is_reported_not_searched() -> None:
    # 10^10 queries a month at 10^5 a second: self-hosted fleets of tens of thousands of GPUs,
    # whose counts step more than MAX_BREAKPOINTS times between 1/10 and 10 times the volume
    data = {
        "organisation": {"name": "Huge", "headquarters": "NL", "sector": "retail"},
        "data": {"query_shares": {"public": 0.5, "internal": 0.5}},
        "policy": {"preset": "open"},
        "workload": {
            "queries_per_month": 10**10,
            "input_tokens_per_query": 800,
            "output_tokens_per_query": 80,
            "peak_queries_per_second": 10**5,
        },
        "capabilities": {"operates_gpus": True},
    }
    advice = sa.advise(sa.OrganisationProfile.model_validate(data), as_of=dt.date(2026, 11, 23))
    searched = [b for b in advice.break_even if "on_prem_rag" in b.architectures]
    assert searched and all(b.queries_per_month is None for b in searched)
    assert all("too many GPU steps" in b.note for b in searched), [b.note for b in searched]
