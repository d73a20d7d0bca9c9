"""What the default strategies cover, counted over a fixed seed; the pins and `profiles_near`.

No timing here: the distribution is stated by counting what 200 draws under one seed give, so
the test is as reproducible as the seed.
"""

from __future__ import annotations

import datetime as dt
import math
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import pytest
from hypothesis import HealthCheck, Phase, given, seed, settings
from hypothesis import strategies as st

import sovereign_advisor as sa
from sovereign_advisor.profile import SECONDS_PER_MONTH, OrganisationProfile
from sovereign_advisor.testing import policies, profiles, profiles_near, workloads
from sovereign_advisor.testing.strategies import MAX_PEAK_TOKENS_PER_SECOND, spread

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = {
    p.stem: sa.load_profile(p) for p in sorted((ROOT / "examples" / "profiles").glob("*.yaml"))
}
DRAWS = 200


def _draw(strategy: st.SearchStrategy[OrganisationProfile]) -> list[OrganisationProfile]:
    """`DRAWS` examples of `strategy` under a fixed seed, whatever HYPOTHESIS_PROFILE says."""
    drawn: list[OrganisationProfile] = []

    @seed(19)
    @settings(
        max_examples=DRAWS,
        database=None,
        derandomize=False,
        phases=[Phase.generate],
        suppress_health_check=list(HealthCheck),
        deadline=None,
    )
    @given(strategy)
    def collect(profile: OrganisationProfile) -> None:
        drawn.append(profile)

    collect()
    return drawn


@pytest.fixture(scope="module")
def drawn() -> list[OrganisationProfile]:
    return _draw(profiles())


def test_default_profiles_cover_real_organisations(drawn: list[OrganisationProfile]) -> None:
    assert len(drawn) == DRAWS
    w = [p.workload for p in drawn]
    large = sum(1 for x in w if x.queries_per_month > 1e6 and x.input_tokens_per_query > 500)
    assert large >= DRAWS // 4, f"{large} of {DRAWS} above 1e6 queries and 500 input tokens"
    decades = Counter(int(math.log10(x.queries_per_month)) for x in w)
    assert all(decades[d] >= DRAWS // 25 for d in range(3, 9)), decades  # 10^3 .. 10^8
    assert sum(1 for x in w if x.queries_per_month >= 1e8) >= DRAWS // 20
    assert sum(1 for x in w if x.queries_per_month <= 10_000) >= DRAWS // 20
    assert sum(1 for x in w if 200 <= x.input_tokens_per_query <= 1_000) >= DRAWS // 4
    assert sum(1 for x in w if x.input_tokens_per_query >= 2_000) >= DRAWS // 10
    assert sum(1 for x in w if x.output_tokens_per_query >= 100) >= DRAWS // 4
    ratio = [x.peak_queries_per_second / (x.queries_per_month / SECONDS_PER_MONTH) for x in w]
    assert all(r >= 1 - 1e-9 for r in ratio)
    assert sum(1 for r in ratio if r > 10) >= DRAWS // 10
    assert sum(1 for r in ratio if r < 2) >= DRAWS // 10
    load = [
        x.peak_queries_per_second * (x.input_tokens_per_query + x.output_tokens_per_query)
        for x in w
    ]
    assert max(load) <= MAX_PEAK_TOKENS_PER_SECOND * 1.001  # the ceiling that keeps advice fast
    presets = Counter(p.policy.preset for p in drawn)
    assert set(presets) == {"strict", "eu_only", "jp_only", "open"}
    assert min(presets.values()) >= DRAWS // 10, presets
    classes = Counter(c for p in drawn for c in p.data.present)
    assert min(classes.values()) >= DRAWS // 10, classes
    assert sum(1 for p in drawn if len(p.data.present) >= 2) >= DRAWS // 3
    budgets = [p.finance.monthly_budget for p in drawn if p.finance.monthly_budget is not None]
    assert len(budgets) >= DRAWS // 4 and max(budgets) >= 100_000


def test_the_counts_are_those_the_documentation_states(drawn: list[OrganisationProfile]) -> None:
    doc = (ROOT / "docs" / "property-testing.md").read_text(encoding="utf-8")
    assert "at\nleast a quarter above a million queries a month *and* 500 input tokens" in doc
    assert "from 2,000 to 300 million" in doc
    assert min(p.workload.queries_per_month for p in drawn) == 2_000
    assert max(p.workload.queries_per_month for p in drawn) == 300_000_000


def test_spread_is_log_uniform_and_shrinks_to_the_low_end() -> None:
    values: list[float] = []

    @seed(19)
    @settings(max_examples=100, database=None, phases=[Phase.generate], deadline=None)
    @given(spread(1_000, 1_000_000_000))
    def collect(value: float) -> None:
        values.append(value)

    collect()
    decades = Counter(int(math.log10(v)) for v in values if v < 1e9)
    assert all(decades[d] >= 10 for d in range(3, 9)), decades  # 101 grid steps, 6 decades
    assert all(float(f"{v:.2g}") == v for v in values)
    from hypothesis import find

    assert find(spread(2_000, 3e8), lambda v: True) == 2_000
    assert find(spread(2_000, 3e8), lambda v: v > 1e6) == 1_100_000


def test_a_shrunk_profile_is_small_and_plain() -> None:
    from hypothesis import find

    smallest = find(profiles(), lambda p: True)
    w = smallest.workload
    assert (w.queries_per_month, w.input_tokens_per_query, w.output_tokens_per_query) == (
        2_000,
        200,
        10,
    )
    assert w.peak_queries_per_second == 0.0008 and w.corpus_tokens == 0
    assert smallest.use_cases == () and smallest.finance.monthly_budget is None
    assert smallest.data.query_shares == {"public": 1.0}
    big = find(profiles(), lambda p: p.workload.queries_per_month > 1e7)
    assert big.workload.queries_per_month == 11_000_000
    assert big.workload.input_tokens_per_query == 200


@given(
    profiles(
        sector="healthcare",
        countries=["FR"],
        require_classes=["special_category"],
        preset="eu_only",
    )
)
def test_pins_are_honoured(profile: OrganisationProfile) -> None:
    assert profile.organisation.sector == ("healthcare",)
    assert profile.organisation.headquarters == "FR"
    assert set(profile.organisation.operates_in) <= {"FR"}
    assert profile.data.share("special_category") > 0
    assert profile.policy.preset == "eu_only"


@given(
    profiles(
        require_classes=["personal", "confidential"],
        data_classes=["personal", "confidential", "public"],
    )
)
def test_required_classes_are_always_present(profile: OrganisationProfile) -> None:
    assert {"personal", "confidential"} <= set(profile.data.present)
    assert set(profile.data.present) <= {"personal", "confidential", "public"}


@given(policies(preset="strict"))
def test_a_pinned_preset(policy: sa.OrganisationProfile) -> None:
    assert policy.preset == "strict"  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda: profiles(sector="banking", sectors=["banking"]), "not both"),
        (lambda: profiles(sector="farming"), "farming"),
        (lambda: profiles(require_classes=["secret"]), "secret"),
        (lambda: profiles(require_classes=["personal"], data_classes=["public"]), "personal"),
        (lambda: profiles(preset="eu_only", policy=policies()), "not both"),
        (lambda: policies(preset="eu_only", presets=["open"]), "not both"),
        (lambda: policies(preset="eu"), "eu"),
        (lambda: workloads(max_peak_tokens_per_second=0), "above 0"),
        (lambda: workloads(max_queries_per_month=10**11), "at most"),
        (lambda: workloads(min_input_tokens_per_query=0), "input_tokens"),
        (lambda: profiles_near(EXAMPLES["bank_strict"], max_factor=0.5), "at least 1"),
        (lambda: profiles_near({"organisation": {}}), "OrganisationProfile"),  # type: ignore[arg-type]
    ],
)
def test_bad_pins_are_refused_when_the_strategy_is_built(
    make: Callable[[], object], message: str
) -> None:
    with pytest.raises((ValueError, TypeError), match=message):
        make()


@given(
    workloads(
        min_queries_per_month=50_000_000,
        max_queries_per_month=300_000_000,
        max_peak_tokens_per_second=None,
    )
)
def test_without_a_ceiling_large_volumes_keep_long_prompts(
    workload: sa.OrganisationProfile,
) -> None:
    assert workload.queries_per_month >= 50_000_000  # type: ignore[attr-defined]


# --- profiles near a given one ----------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(EXAMPLES))
def test_profiles_near_shrink_to_the_profile_itself(name: str) -> None:
    from hypothesis import find

    profile = EXAMPLES[name]
    assert find(profiles_near(profile), lambda p: True) == profile


@given(
    st.sampled_from(sorted(EXAMPLES)).flatmap(
        lambda n: st.tuples(st.just(n), profiles_near(EXAMPLES[n]))
    )
)
def test_profiles_near_stay_near_and_valid(drawn: tuple[str, OrganisationProfile]) -> None:
    name, near = drawn
    base = EXAMPLES[name]
    again = OrganisationProfile.model_validate(near.model_dump())  # valid
    assert again == near
    ratio = near.workload.queries_per_month / base.workload.queries_per_month
    assert 0.5 - 1e-9 <= ratio <= 2 + 1e-9
    assert near.policy == base.policy and near.organisation.sector == base.organisation.sector
    assert set(base.data.present) <= set(near.data.present)
    assert len(near.use_cases) >= len(base.use_cases) - 1
    # what the profile left out stays out, so the advice lists the same defaults
    assert near.model_fields_set == base.model_fields_set
    sa.advise(near, as_of=dt.date(2026, 11, 23))


def test_profiles_near_move_numbers_and_lists() -> None:
    base = EXAMPLES["insurer_hybrid"]
    near = _draw(profiles_near(base))
    assert len({p.workload.queries_per_month for p in near}) >= 5
    assert any(p.organisation.operates_in != base.organisation.operates_in for p in near)
    assert any(set(p.data.present) > set(base.data.present) for p in near)
    fixed = _draw(profiles_near(base, lists=False, max_factor=1.25))
    assert all(p.organisation.operates_in == base.organisation.operates_in for p in fixed)
    assert all(
        0.8 - 1e-9 <= p.workload.queries_per_month / base.workload.queries_per_month <= 1.25
        for p in fixed
    )
