"""Profiles: strict validation with located messages, presets, round trips."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

import sovereign_advisor as sa
from sovereign_advisor.profile import OrganisationProfile, profile_from_text

from .conftest import PROFILES


def _text(**changes: str) -> str:
    text = (PROFILES / "bank_strict.yaml").read_text(encoding="utf-8")
    for old, new in changes.items():
        assert old in text
        text = text.replace(old, new)
    return text


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        ("sector: banking", "sector: banks", "organisation.sector: Input should be"),
        ("headquarters: FR", "headquarters: France", "organisation.headquarters"),
        ("public: 0.1,", "public: 0.2,", "shares must sum to 1, they sum to 1.1"),
        ("peak_queries_per_second: 3", "peak_queries_per_second: -3", "greater than or equal"),
        ("peak_queries_per_second: 3", "peak_queries_per_second: .nan", "(got nan)"),
        ("preset: strict", "preset: sovereign", "policy.preset"),
        ("currency: EUR", "currency: GBP", "finance.currency"),
    ],
)
def test_bad_values_are_named(old: str, new: str, expected: str) -> None:
    with pytest.raises(sa.InputError, match=r"^bank\.yaml: ") as error:
        profile_from_text(_text(**{old: new}), "bank.yaml")
    assert expected in str(error.value)
    assert "line " in str(error.value)


def test_duplicate_keys_are_refused() -> None:
    with pytest.raises(sa.InputError, match="duplicate key `sector`"):
        profile_from_text(_text(**{"sector: banking": "sector: banking\n  sector: retail"}))


def test_python_tags_are_refused() -> None:
    with pytest.raises(sa.InputError, match=r"tag `!!python/object:os.system` is not allowed"):
        profile_from_text(_text(**{"name: Banque Exemple SA": "name: !!python/object:os.system x"}))


def test_top_level_must_be_a_mapping() -> None:
    with pytest.raises(
        sa.InputError, match=r"top level must be a mapping of sections .* found a list"
    ):
        profile_from_text("- a\n- b\n")


def test_presets_resolve_per_class() -> None:
    profile = sa.load_profile(PROFILES / "insurer_hybrid.yaml")
    policy = profile.policy.resolve()
    assert policy["public"] == (True, frozenset({"EU"}))
    assert policy["personal"] == (False, frozenset({"EU"}))


def test_profile_round_trips_through_yaml_and_json(tmp_path: Path) -> None:
    for path in sorted(PROFILES.glob("*.yaml")):
        profile = sa.load_profile(path)
        as_json = profile.model_dump_json()
        assert OrganisationProfile.model_validate_json(as_json) == profile
        as_yaml = tmp_path / "p.yaml"
        as_yaml.write_text(yaml.safe_dump(json.loads(as_json)), encoding="utf-8")
        assert sa.load_profile(as_yaml) == profile
