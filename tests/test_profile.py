"""Profiles: strict validation with located messages, presets, round trips."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from pydantic import BaseModel

import sovereign_advisor as sa
from sovereign_advisor.knowledge.loader import KnowledgeBase
from sovereign_advisor.profile import OrganisationProfile, profile_from_text
from sovereign_advisor.types import DATA_CLASSES

from .conftest import AS_OF, PROFILES


def _text(**changes: str) -> str:
    text = (PROFILES / "bank_strict.yaml").read_text(encoding="utf-8")
    for old, new in changes.items():
        assert old in text
        text = text.replace(old, new)
    return text


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        ("sector: banking", "sector: banks", "organisation.sector[0]: Input should be"),
        ("headquarters: FR", "headquarters: France", "organisation.headquarters"),
        ("public: 0.1,", "public: 0.2,", "shares must sum to 1, they sum to 1.1"),
        ("peak_queries_per_second: 3", "peak_queries_per_second: -3", "greater than or equal"),
        ("peak_queries_per_second: 3", "peak_queries_per_second: .nan", "(got nan)"),
        ("preset: strict", "preset: sovereign", "policy.preset"),
        ("currency: EUR", "currency: AUD", "finance.currency"),
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


MINIMAL = """
organisation: {name: Minimal, headquarters: FR, sector: retail}
data: {query_shares: {public: 1}}
policy: {preset: eu_only}
workload:
  queries_per_month: 10000
  input_tokens_per_query: 500
  output_tokens_per_query: 100
  peak_queries_per_second: 1
"""

LEFT_OUT = {
    "default.organisation": [
        "operates_in",
        "sme",
        "small_mid_cap",
        "us_person",
        "premises_in",
        "provides_models",
    ],
    "default.data": ["subjects_in"],
    "default.policy": ["overrides"],
    "default.use_cases": ["use_cases"],
    "default.workload": [
        "corpus_tokens",
        "corpus_refreshes_per_month",
        "complex_share",
        "redundancy",
    ],
    "default.capabilities": ["operates_gpus", "owned_gpus"],
    "default.finance": ["currency", "monthly_budget"],
}
"""What a profile that gives only the required fields leaves to defaults, section by section."""


def _optional_fields(model: type[BaseModel]) -> set[str]:
    out = set()
    for name, field in model.model_fields.items():
        nested = field.annotation
        if isinstance(nested, type) and issubclass(nested, BaseModel):
            out |= _optional_fields(nested)  # a section left out: its fields are listed
        elif not field.is_required():
            out.add(name)
    return out


def test_the_left_out_table_covers_every_optional_field() -> None:
    listed = {name for names in LEFT_OUT.values() for name in names}
    assert listed == _optional_fields(OrganisationProfile)


def test_every_default_a_profile_leaves_out_is_listed_in_the_advice(kb: sa.KnowledgeBase) -> None:
    advice = sa.advise(profile_from_text(MINIMAL), kb=kb, as_of=AS_OF)
    listed = {a.id: a.value for a in advice.assumptions}
    for section, names in LEFT_OUT.items():
        assert section in listed
        for name in names:
            assert f"{name}=" in listed[section], (section, name)
    assert "premises_in=FR (the headquarters country)" in listed["default.organisation"]
    assert listed["default.query_shares"] == "0"


def test_nothing_is_listed_as_a_default_when_everything_is_given(kb: sa.KnowledgeBase) -> None:
    text = (PROFILES / "bank_strict.yaml").read_text(encoding="utf-8")
    data = yaml.safe_load(text)
    data["organisation"].update(
        sme=False, small_mid_cap=False, us_person=False, premises_in="FR", provides_models=False
    )
    data["data"]["query_shares"] = {c: 1 / 6 for c in DATA_CLASSES}
    data["policy"]["overrides"] = {}
    data["use_cases"] = []
    data["workload"]["complex_share"] = 0.1
    data["workload"]["redundancy"] = "n_plus_1"
    data["capabilities"]["owned_gpus"] = {}
    advice = sa.advise(OrganisationProfile.model_validate(data), kb=kb, as_of=AS_OF)
    assert [a.id for a in advice.assumptions if a.id.startswith("default.")] == []


@pytest.mark.parametrize("text", ["minimal", *sorted(p.name for p in PROFILES.glob("*.yaml"))])
def test_every_assumption_the_engine_reads_is_listed(
    text: str, kb: sa.KnowledgeBase, monkeypatch: pytest.MonkeyPatch
) -> None:
    read: set[str] = set()
    original = KnowledgeBase.assumption

    def recording(self: KnowledgeBase, assumption_id: str, country: str | None = None) -> Any:
        record = original(self, assumption_id, country)
        read.add(record.id)
        return record

    monkeypatch.setattr(KnowledgeBase, "assumption", recording)
    source = MINIMAL if text == "minimal" else (PROFILES / text).read_text(encoding="utf-8")
    advice = sa.advise(profile_from_text(source), kb=kb, as_of=AS_OF)
    assert read, "the engine read no assumption: the recording is broken"
    assert read <= {a.id for a in advice.assumptions}


def test_unknown_gpu_ids_are_refused_where_the_profile_meets_the_knowledge_base(
    kb: sa.KnowledgeBase,
) -> None:
    profile = profile_from_text(
        _text(**{"operates_gpus: true": "operates_gpus: true\n  owned_gpus: {h100-sxm: 2}"}),
        "bank.yaml",
    )
    with pytest.raises(sa.InputError) as caught:
        sa.advise(profile, kb=kb, as_of=AS_OF)
    message = str(caught.value)
    assert message.startswith("bank.yaml: line 30: capabilities.owned_gpus.h100-sxm: ")
    assert "did you mean `h100-80gb-sxm`?" in message
