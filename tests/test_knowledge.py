"""The knowledge base loads, its schemas are current, and broken data is refused clearly."""

from __future__ import annotations

from pathlib import Path

import pytest

import sovereign_advisor as sa
from sovereign_advisor.knowledge.loader import default_patterns_path
from sovereign_advisor.schema import SCHEMAS, schema_text

from .conftest import edit_text


def test_packaged_knowledge_base_loads(kb: sa.KnowledgeBase) -> None:
    assert {a.id for a in kb.architectures} == {
        "on_prem_rag",
        "hybrid_routing",
        "tiered_cost_pipeline",
    }
    assert kb.version.startswith("sha256:")
    assert len(kb.facts) >= 40
    for venue in ("own-premises", "mistral-la-plateforme", "azure-eu", "bedrock-eu", "ovhcloud"):
        assert venue in kb.venues


@pytest.mark.parametrize("name", sorted(SCHEMAS))
def test_committed_schemas_match_the_models(name: str) -> None:
    committed = default_patterns_path() / "schema" / f"{name}.schema.json"
    assert committed.read_text(encoding="utf-8") == schema_text(name), (
        f"{committed} is stale: run `python -m sovereign_advisor.schema patterns/schema`"
    )


def test_every_yaml_file_names_its_schema() -> None:
    for path in default_patterns_path().glob("*/*.yaml"):
        first = path.read_text(encoding="utf-8").splitlines()[0]
        assert first.startswith("# yaml-language-server: $schema=../schema/"), path


def test_every_fact_price_and_assumption_has_provenance(kb: sa.KnowledgeBase) -> None:
    records = [*kb.facts.values(), *kb.token_prices, *kb.gpu_prices, *kb.assumptions]
    for record in records:
        assert record.source.title and record.checked_on and record.status
        assert record.source.url or record.source.seed or record.source.publisher
    for fact in kb.facts.values():
        assert fact.citation.instrument and fact.citation.article and fact.citation.version


def test_a_misspelt_cel_field_fails_loading_with_file_rule_and_column(copy: Path) -> None:
    edit_text(
        copy / "jurisdictions" / "us_cloud_act.yaml",
        "venue.controlled_from == 'US'",
        "venue.controled_from == 'US'",
    )
    with pytest.raises(sa.KnowledgeBaseError) as error:
        sa.load_knowledge_base(copy)
    message = str(error.value)
    assert "jurisdictions/us_cloud_act.yaml" in message
    assert "us.cloud_act.provider_reach" in message
    assert "column" in message and "venue.controled_from" in message


def test_a_dangling_fact_reference_is_refused(copy: Path) -> None:
    edit_text(
        copy / "jurisdictions" / "territorial.yaml", "rests_on: [", "rests_on: [no.such.fact, "
    )
    with pytest.raises(sa.KnowledgeBaseError, match=r"fact `no\.such\.fact`, which does not exist"):
        sa.load_knowledge_base(copy)


def test_a_duplicated_id_is_refused(copy: Path) -> None:
    extra = copy / "prices" / "extra.yaml"
    extra.write_text(
        (copy / "prices" / "fx.yaml")
        .read_text(encoding="utf-8")
        .replace("2026-10-30,", "2026-10-31,"),
        encoding="utf-8",
    )
    with pytest.raises(sa.KnowledgeBaseError, match="duplicate fx rate id"):
        sa.load_knowledge_base(copy)


def test_a_price_without_a_date_is_refused(copy: Path) -> None:
    edit_text(copy / "prices" / "tokens.yaml", "    valid_from: 2025-12-02\n", "")
    with pytest.raises(sa.KnowledgeBaseError, match=r"prices/tokens\.yaml.*valid_from"):
        sa.load_knowledge_base(copy)


def test_a_duplicate_yaml_key_is_refused_not_dropped(copy: Path) -> None:
    edit_text(copy / "prices" / "fx.yaml", "rate: 1.1172,", "rate: 1.1172, rate: 1.2,")
    with pytest.raises(
        sa.InputError, match=r"fx\.yaml: line \d+, column \d+: duplicate key `rate`"
    ):
        sa.load_knowledge_base(copy)


def test_overlapping_prices_for_the_same_thing_are_refused(copy: Path) -> None:
    path = copy / "prices" / "tokens.yaml"
    text = path.read_text(encoding="utf-8")
    record = text[
        text.index("  - id: lp.mistral-large-3\n") : text.index("  - id: lp.mistral-small-3.2")
    ]
    path.write_text(text + record.replace("lp.mistral-large-3", "lp.mistral-large-3.again"))
    with pytest.raises(sa.KnowledgeBaseError, match=r"both valid on 2025-12-02"):
        sa.load_knowledge_base(copy)


def test_cel_evaluation_errors_are_raised_not_read_as_false(copy: Path) -> None:
    # fails only for one venue, so loading (which tries every rule once) cannot see it
    edit_text(
        copy / "jurisdictions" / "territorial.yaml",
        'condition: "true"',
        "condition: \"venue.id == 'scaleway' && 1 / (venue.data_locations.size() - 1) > 0\"",
    )
    kb = sa.load_knowledge_base(copy)
    profile = sa.load_profile(Path(__file__).parents[1] / "examples/profiles/bank_strict.yaml")
    with pytest.raises(
        sa.RuleEvaluationError,
        match=r"jurisdictions/territorial\.yaml: rule `territorial\.location_and_seat`",
    ) as caught:
        sa.advise(profile, kb=kb, as_of=__import__("datetime").date(2026, 11, 23))
    assert isinstance(caught.value, sa.KnowledgeBaseError)  # bad input: the CLI exits 2


def test_a_missing_bloc_is_refused_when_loading(copy: Path) -> None:
    edit_text(
        copy / "jurisdictions" / "territorial.yaml",
        'condition: "true"',
        "condition: \"blocs['XX'].size() > 0\"",
    )
    with pytest.raises(sa.KnowledgeBaseError, match=r"reads blocs\['XX'\], which"):
        sa.load_knowledge_base(copy)


def test_an_overlay_replaces_a_price_by_id(tmp_path: Path, kb: sa.KnowledgeBase) -> None:
    (tmp_path / "prices").mkdir()
    source = (default_patterns_path() / "prices" / "fx.yaml").read_text(encoding="utf-8")
    (tmp_path / "prices" / "fx.yaml").write_text(
        source.replace("rate: 1.1172,", "rate: 1.2,"), encoding="utf-8"
    )
    merged = sa.load_knowledge_base(overlays=[tmp_path])
    rate = next(f for f in merged.fx_rates if f.id == "ecb.eur-usd.2026-10-30").rate.typical
    assert str(rate) == "1.2"
    assert merged.version != kb.version
