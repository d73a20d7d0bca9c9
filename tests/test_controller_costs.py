"""Costs a controller would sign (issue #15), worked out by hand from the records.

Four organisations unlike the archetypes: a 40-person consultancy with 2,000 queries a month,
a telecom with 300 million, a bank that asks for two sites, and (in test_costing.py) an
organisation owning a GPU of another type than the cheapest to buy. Every expected figure is
derived here from the records it names (see test_costing.py for the constants), never copied
from the engine.
"""

from __future__ import annotations

import math
from decimal import Decimal
from fractions import Fraction
from pathlib import Path
from typing import Any

import yaml

import sovereign_advisor as sa
from sovereign_advisor.profile import OrganisationProfile

from .test_costing import (
    AS_OF,
    COLO_EU,
    EMBED_IN_EUR,
    FTE_SERVICE,
    HGX_A100_8,
    HGX_H100_8,
    HOURS,
    KWH,
    LARGE_IN_EUR,
    LARGE_OUT_EUR,
    NEMO_CONTEXT_KV,
    NEMO_KV_PER_TOKEN,
    NEMO_WEIGHTS,
    PCIE_H100,
    PCIE_L40S,
    PREMISES_HOST_15,
    PUE,
    SCW_PG,
    SMALL_IN_EUR,
    SMALL_OUT_EUR,
    D,
    _assessment,
    _check,
    cents,
    premises_month,
)

ROOT = Path(__file__).resolve().parents[1]
SCENARIOS = ROOT / "tests" / "scenarios"
FTE_DE = D("6251.67")  # ops.monthly_cost_per_fte (the default: DE has no record of its own)
FTE_FR = D("5558.33")  # ops.monthly_cost_per_fte@fr
BGE_PARAMS = Fraction("0.568e9")  # bge-m3


def _scenario_profile(name: str, **workload: Any) -> OrganisationProfile:
    data = yaml.safe_load((SCENARIOS / f"{name}.yaml").read_text(encoding="utf-8"))["profile"]
    if isinstance(data, str):
        data = yaml.safe_load((SCENARIOS / data).read_text(encoding="utf-8"))
    data["workload"] = {**data["workload"], **workload}
    return OrganisationProfile.model_validate(data)


# --- a 2,000-query-a-month SME --------------------------------------------------------------


def test_a_small_firm_pays_tens_of_euros_for_the_tiered_pipeline(kb: sa.KnowledgeBase) -> None:
    # The consultancy: 2,000 queries x 2,000 in / 400 out; 15% escalate; a 5 M-token corpus
    # refreshed monthly; EU-only policy; no GPUs. A controller expects a few euros of tokens
    # and the cheapest store that holds a ~60 MB index, with no staff for a managed service.
    profile = _scenario_profile("consultancy_40_people")
    advice = sa.advise(profile, kb=kb, as_of=AS_OF)
    corpus_mtok = D(5) + D(5) / 12  # refreshed once + the initial load over 12 months
    # Qdrant: 5 M / 512-token chunks x 1,024 dims x 4 B x 1.5 = 0.06 GB: the smallest plan
    assert 5_000_000 / 512 * 1024 * 4 * 1.5 / 1e9 < 2
    expected = {
        "triage_model: input tokens": D(4) * SMALL_IN_EUR,  # 2,000 x 2,000 = 4 M tokens
        "triage_model: output tokens": D("0.8") * SMALL_OUT_EUR,  # 2,000 x 400
        "escalation_model: input tokens, context re-sent on escalation": D("0.6") * LARGE_IN_EUR,
        "escalation_model: output tokens": D("0.12") * LARGE_OUT_EUR,  # 300 x 400
        "embedder: query embeddings": D(4) * EMBED_IN_EUR,
        "embedder: corpus embeddings": (corpus_mtok * 10**6).quantize(D(1)) / 10**6 * EMBED_IN_EUR,
        # managed PostgreSQL with pgvector at Scaleway: EUR 15, no staff of the firm's
        "vector_store: managed vector store, Scaleway Managed PostgreSQL DB-DEV-S": SCW_PG,
    }
    tiered = _assessment(advice, "tiered_cost_pipeline")
    # 0.48 + 0.40 + 0.264 + 0.156 + 0.40 + 0.541667 + 15
    _check(tiered, expected, "17.24")
    assert tiered.cost is not None and tiered.cost.monthly_total.high < 300
    assert not any(c.name.startswith("Operations staff") for c in tiered.cost.components)
    assert advice.recommended is not None
    assert advice.recommended.architecture_id == "tiered_cost_pipeline"
    assert "budget_exceeded" not in {r.id for r in tiered.risks}  # EUR 500 budget
    # the self-hosted patterns rent two GPUs (a replica and the N+1 spare) 730 hours a month:
    # more than a hundred times dearer
    for other in ("on_prem_rag", "hybrid_routing"):
        cost = _assessment(advice, other).cost
        assert cost is not None and cost.monthly_total.typical > 100 * D("17.24")
    # the capex is nothing and the TCO is the monthly total times the months
    assert tiered.cost.capex is not None and tiered.cost.capex.typical == 0
    total = tiered.cost.monthly_total.typical
    assert {t.years: t.total.typical for t in tiered.cost.tco} == {3: 36 * total, 5: 60 * total}


# --- a 300-million-query telecom ----------------------------------------------------------------


def _pool_replicas(
    *,
    tflops: int,
    decode: Fraction,
    bandwidth_gb_s: int,
    memory_gb: int,
    peak: Fraction,
    tokens_in: int,
    tokens_out: int,
    corpus_per_second: Fraction,
) -> tuple[int, int, Fraction, Fraction]:
    """(GPUs per replica, replicas, replicas for GPU time, replicas for KV memory) of Nemo 12B
    and bge-m3 sharing one pool, every query reaching both: prefill (and embedding) at 50% of
    the compute roofline, decode at `decode` tokens/s, the corpus embedded in the background;
    the KV cache in flight by Little's law at the single-stream bandwidth roofline (70%)."""
    prefill = Fraction(tflops * 10**12) / 2
    weights = NEMO_WEIGHTS + BGE_PARAMS * 2
    usable = memory_gb * 10**9 * Fraction(9, 10) - 2 * 10**9
    unit = math.ceil((weights + NEMO_CONTEXT_KV) / usable)
    nemo_prefill = tokens_in * 2 * Fraction("12.2e9") / prefill
    embed = tokens_in * 2 * BGE_PARAMS / prefill
    busy = peak * (nemo_prefill + tokens_out / decode + embed)
    busy += corpus_per_second * 2 * BGE_PARAMS / prefill
    single = bandwidth_gb_s * 10**9 * Fraction(7, 10) / (Fraction("12.2e9") * 2)
    held = (tokens_in + tokens_out) * NEMO_KV_PER_TOKEN * (nemo_prefill + tokens_out / single)
    for_time = busy / unit
    for_memory = peak * held / (unit * usable - weights)
    return unit, max(1, math.ceil(for_time), math.ceil(for_memory)), for_time, for_memory


def test_a_telecom_fleet_is_sized_from_throughput_in_servers(kb: sa.KnowledgeBase) -> None:
    # 300 M queries a month, peak 400 q/s, 1,500 in / 200 out; personal data stays on the
    # premises, so on_prem_rag's Nemo and embedder share a premises pool. The corpus (200 M
    # tokens refreshed 4 times a month, + 200 M / 12 initial load) is embedded in the background.
    profile = _scenario_profile("telecom_300m_queries")
    advice = sa.advise(profile, kb=kb, as_of=AS_OF)
    corpus_per_second = Fraction(200_000_000 * 4 + Fraction(200_000_000, 12)) / (HOURS * 3600)
    common = {
        "peak": Fraction(400),
        "tokens_in": 1500,
        "tokens_out": 200,
        "corpus_per_second": corpus_per_second,
    }
    # decode: measured where a record exists (lambdalabs.nemo.*), else the compute roofline x 0.10
    sizing = {
        "a100": _pool_replicas(
            tflops=312, decode=Fraction("1277.85"), bandwidth_gb_s=2039, memory_gb=80, **common
        ),
        "h100": _pool_replicas(
            tflops=989, decode=Fraction("2414.81"), bandwidth_gb_s=3350, memory_gb=80, **common
        ),
        "pcie": _pool_replicas(
            tflops=756,
            decode=Fraction(756 * 10**12) / 10 / (2 * Fraction("12.2e9")),
            bandwidth_gb_s=2000,
            memory_gb=80,
            **common,
        ),
        "l40s": _pool_replicas(
            tflops=362,
            decode=Fraction(362 * 10**12) / 10 / (2 * Fraction("12.2e9")),
            bandwidth_gb_s=864,
            memory_gb=48,
            **common,
        ),
    }
    configs = {"a100": HGX_A100_8, "h100": HGX_H100_8, "pcie": PCIE_H100, "l40s": PCIE_L40S}
    slots = {"a100": (8, True), "h100": (8, True), "pcie": (4, False), "l40s": (4, False)}
    options = {}
    for name, (unit, replicas, for_time, for_memory) in sizing.items():
        assert for_time > for_memory  # GPU time, not memory, sizes this fleet
        load = unit * replicas
        k, full = slots[name]
        servers = math.ceil(load / k) + 1  # N+1, the default
        gpus = servers * k if full else load + min(load, k)
        options[name] = (gpus, servers, premises_month(gpus=gpus, servers=servers, **configs[name]))
    totals = {n: sum(o[2].values(), D(0)) for n, o in options.items()}
    best = min(totals, key=lambda n: totals[n])
    gpus, servers, lines = options[best]
    on_prem = _assessment(advice, "on_prem_rag")
    [pool] = on_prem.gpu_pools
    assert pool.deciding == "throughput"
    assert (pool.gpus, pool.servers) == (gpus, servers)
    assert 40 <= gpus <= 200, gpus  # tens of GPUs: not one, not thousands
    assert on_prem.cost is not None
    by_name = {c.name.split(" (")[0]: c.monthly_cost for c in on_prem.cost.components}
    for name, amount in lines.items():
        if name == "Operations staff: GPU servers":  # the staff rate of the headquarters (DE)
            amount = servers * D("0.025") * FTE_DE
        assert by_name[name] == amount, name
    # one premises host (15 GB) holds the 2.4 GB index: 200 M / 512 x 1,024 x 4 B x 1.5
    assert 200_000_000 / 512 * 1024 * 4 * 1.5 / 1e9 < 15
    assert by_name["vector_store: vector store host, premises host"] == PREMISES_HOST_15
    assert by_name["Operations staff: vector_store"] == FTE_SERVICE * FTE_DE
    assert advice.recommended is not None and advice.recommended.architecture_id == "on_prem_rag"


# --- a bank that asks for two sites ----------------------------------------------------------


def test_a_bank_with_two_sites_runs_the_whole_pool_in_each(kb: sa.KnowledgeBase) -> None:
    # The strict bank (300,000 queries, 2,000 in / 350 out) at a peak of 20 queries a second,
    # with each redundancy: none sizes for load, N+1 adds a spare server holding as many cards
    # as the fullest one, two sites run the whole pool in each of two sites.
    results = {}
    for mode in ("none", "n_plus_1", "two_sites"):
        profile = _scenario_profile(
            "bank_keeps_everything_in_house", peak_queries_per_second=20, redundancy=mode
        )
        advice = sa.advise(profile, kb=kb, as_of=AS_OF)
        [pool] = _assessment(advice, "on_prem_rag").gpu_pools
        results[mode] = (advice, pool)
    corpus_per_second = Fraction(80_000_000 + Fraction(80_000_000, 12)) / (HOURS * 3600)
    unit, load, _, _ = _pool_replicas(
        tflops=756,
        decode=Fraction(756 * 10**12) / 10 / (2 * Fraction("12.2e9")),
        bandwidth_gb_s=2000,
        memory_gb=80,
        peak=Fraction(20),
        tokens_in=2000,
        tokens_out=350,
        corpus_per_second=corpus_per_second,
    )
    assert unit == 1 and load == 5  # 4.6 replicas of one H100 PCIe card for GPU time
    expected = {
        "none": (5, math.ceil(5 / 4)),  # 5 cards in 2 servers
        "n_plus_1": (5 + 4, math.ceil(5 / 4) + 1),  # a third server holding 4 cards
        "two_sites": (2 * 5, 2 * math.ceil(5 / 4)),  # 2 servers in each site
    }
    for mode, (gpus, servers) in expected.items():
        advice, pool = results[mode]
        assert pool.gpu_id == "h100-80gb-pcie", mode
        assert (pool.gpus, pool.servers, pool.redundancy) == (gpus, servers, mode)
        assert pool.spare_gpus == gpus - 5
        lines = premises_month(gpus=gpus, servers=servers, **PCIE_H100)
        on_prem = _assessment(advice, "on_prem_rag")
        assert on_prem.cost is not None
        by_name = {c.name.split(" (")[0]: c.monthly_cost for c in on_prem.cost.components}
        for name, amount in lines.items():
            assert by_name[name] == amount, (mode, name)
        # rack space: every card 0.35 kW and every server 0.8 kW at EUR 200 per kW-month
        assert by_name["Rack space and facility: NVIDIA H100 80GB PCIe"] == (
            (gpus * D("0.35") + servers * D("0.8")) * COLO_EU
        )
        assert by_name["Power: NVIDIA H100 80GB PCIe"] == (
            (gpus * D("0.35") + servers * D("0.8")) * HOURS * PUE * KWH
        )
    # the default is stated in the advice's assumptions when the profile leaves it out
    default = sa.advise(
        OrganisationProfile.model_validate(
            yaml.safe_load((ROOT / "examples/profiles/bank_strict.yaml").read_text())
        ),
        kb=kb,
        as_of=AS_OF,
    )
    assert any("redundancy=n_plus_1" in a.value for a in default.assumptions)
    # two sites cost more than N+1 here (10 cards in 4 servers against 9 in 3)
    totals = {mode: _typical(results[mode][0]) for mode in ("none", "n_plus_1", "two_sites")}
    assert totals["none"] < totals["n_plus_1"] < totals["two_sites"]
    assert cents(totals["none"]) > 0


def _typical(advice: sa.Advice) -> Decimal:
    cost = _assessment(advice, "on_prem_rag").cost
    assert cost is not None
    return cost.monthly_total.typical
