"""The invariants the advisor guarantees, each a callable `(profile, kb, advice) -> None`.

`advice` must be `advise(profile, kb=kb, as_of=...)`, with any `analyses=` (a relational
invariant advises again with the same ones; one about an analysis skips it when the advice was
asked without it); an invariant raises `AssertionError` saying what broke. Relational
invariants (monotonicity, commutation) run the engine again on a changed profile or knowledge
base, on the same as-of date.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import re
import tempfile
from collections.abc import Callable
from decimal import Decimal
from fractions import Fraction
from pathlib import Path
from typing import Any

import yaml

from sovereign_advisor.advice import ANALYSES, Advice, Assessment, Exclusion
from sovereign_advisor.engine.advise import advise
from sovereign_advisor.knowledge.loader import KnowledgeBase
from sovereign_advisor.profile import (
    SECONDS_PER_MONTH,
    ClassPolicy,
    OrganisationProfile,
    Policy,
    load_profile,
)
from sovereign_advisor.types import DATA_CLASSES, DataClass
from sovereign_advisor.views.json import render_json

from .strategies import scale_prices

Invariant = Callable[[OrganisationProfile, KnowledgeBase, Advice], None]
"""An invariant: raises `AssertionError` when the advice breaks it."""


# --- helpers ------------------------------------------------------------------------------------


def _eligible(advice: Advice) -> dict[str, Assessment]:
    return {a.architecture_id: a for a in advice.assessments if a.eligible}


def _typical(assessment: Assessment) -> Decimal:
    assert assessment.cost is not None, f"{assessment.architecture_id} is eligible but has no cost"
    return assessment.cost.monthly_total.typical


def _rerun(profile: OrganisationProfile, kb: KnowledgeBase, advice: Advice) -> Advice:
    """Advise again as `advice` was asked: the same date and the same analyses."""
    asked = tuple(a for a in ANALYSES if a not in advice.not_computed)
    return advise(profile, kb=kb, as_of=advice.as_of, analyses=asked)


def _changed(profile: OrganisationProfile, part: str, **changes: Any) -> OrganisationProfile:
    """The profile with some fields of one part changed, validated again."""
    data = profile.model_dump()
    data[part] = {**data[part], **changes}
    return OrganisationProfile.model_validate(data)


def _acceptable(
    jurisdiction: str, allowed: frozenset[str], premises: str | None, kb: KnowledgeBase
) -> bool:
    if "*" in allowed or jurisdiction in allowed or jurisdiction == premises:
        return True
    return any(b in kb.blocs and jurisdiction in kb.blocs[b].members for b in allowed)


def _choices(assessment: Assessment) -> tuple[tuple[str, str, str | None, str | None], ...]:
    return tuple((v.role, v.venue_id, v.model_id, v.gpu_id) for v in assessment.venues)


def _gaps(before: dict[str, Assessment], after: dict[str, Assessment]) -> list[str]:
    """Architectures eligible in both whose typical total went down."""
    return [
        f"{aid}: {_typical(before[aid])} -> {_typical(after[aid])}"
        for aid in sorted(before.keys() & after.keys())
        if _typical(after[aid]) < _typical(before[aid])
    ]


# --- determinism ----------------------------------------------------------------------------


def same_input_same_bytes(profile: OrganisationProfile, kb: KnowledgeBase, advice: Advice) -> None:
    """The engine is a pure function: the same profile (even re-parsed), knowledge base and
    as-of date give byte-identical JSON."""
    # exclude_unset: the re-parsed profile leaves out what the original left out, so the same
    # defaults are listed in the advice
    fresh = OrganisationProfile.model_validate_json(profile.model_dump_json(exclude_unset=True))
    again = render_json(_rerun(fresh, kb, advice))
    assert again == render_json(advice), "advising the same profile twice gave different JSON"


def order_of_lists_does_not_matter(
    profile: OrganisationProfile, kb: KnowledgeBase, advice: Advice
) -> None:
    """Reordering the profile's lists and maps (countries, data subjects, use cases, shares,
    overrides, owned GPUs) changes nothing but the order use cases are reported in."""
    # exclude_unset: what the profile left out stays out, so the same defaults are listed
    data = profile.model_dump(exclude_unset=True)
    org, dat = data.get("organisation", {}), data.get("data", {})
    pol, cap = data.get("policy", {}), data.get("capabilities", {})
    for part, key in ((org, "operates_in"), (dat, "subjects_in"), (data, "use_cases")):
        if key in part:
            part[key] = part[key][::-1]
    for part, key in ((dat, "query_shares"), (cap, "owned_gpus")):
        if key in part:
            part[key] = dict(reversed(part[key].items()))
    if "overrides" in pol:
        pol["overrides"] = {
            c: {**o, **({"reachable_by": o["reachable_by"][::-1]} if o.get("reachable_by") else {})}
            for c, o in reversed(pol["overrides"].items())
        }
    permuted = _rerun(OrganisationProfile.model_validate(data), kb, advice)
    assert _canonical(permuted) == _canonical(advice), (
        "reordering the profile's lists changed the advice: "
        + _first_difference(_canonical(advice), _canonical(permuted))
    )


def _canonical(advice: Advice) -> dict[str, Any]:
    """The advice as data, with entries that follow the order of the profile's use cases
    sorted (the report lists blocked use cases, coming bans and their findings in the user's
    order)."""
    data: dict[str, Any] = json.loads(advice.model_dump_json())
    data["blocked_use_cases"].sort(key=json.dumps)
    data["coming_blocked_use_cases"].sort(key=json.dumps)
    data["findings"].sort(key=json.dumps)
    # defaults left out of a use case are listed under its position (and named by it)
    for a in data["assumptions"]:
        a["id"] = re.sub(r"use_cases\[\d+\]", "use_cases[*]", a["id"])
        a["summary"] = re.sub(r"use_cases\[\d+\]", "use_cases[*]", a["summary"])
    data["assumptions"].sort(key=json.dumps)
    return data


def _first_difference(a: Any, b: Any, path: str = "advice") -> str:
    if isinstance(a, dict) and isinstance(b, dict):
        for key in sorted(a.keys() | b.keys()):
            if a.get(key) != b.get(key):
                return _first_difference(a.get(key), b.get(key), f"{path}.{key}")
    if isinstance(a, list) and isinstance(b, list) and len(a) == len(b):
        for i, (x, y) in enumerate(zip(a, b, strict=True)):
            if x != y:
                return _first_difference(x, y, f"{path}[{i}]")
    return f"{path}: {a!r} != {b!r}"


def profile_round_trips_through_yaml_and_json(
    profile: OrganisationProfile, kb: KnowledgeBase, advice: Advice
) -> None:
    """A profile written as YAML or JSON and read back with `load_profile` is the same profile."""
    data = profile.model_dump(mode="json")
    with tempfile.TemporaryDirectory() as folder:
        as_yaml = Path(folder) / "profile.yaml"
        as_yaml.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
        as_json = Path(folder) / "profile.json"
        as_json.write_text(profile.model_dump_json(), encoding="utf-8")
        from_yaml, from_json = load_profile(as_yaml), load_profile(as_json)
    assert from_yaml == profile, f"YAML round trip changed the profile: {from_yaml} != {profile}"
    assert from_json == profile, f"JSON round trip changed the profile: {from_json} != {profile}"


# --- sovereignty --------------------------------------------------------------------------------


def forbidden_exposure_is_never_recommended(
    profile: OrganisationProfile, kb: KnowledgeBase, advice: Advice
) -> None:
    """No eligible architecture (so not the recommended one) sends a data class to a venue that a
    jurisdiction the policy does not accept for that class can compel."""
    policy = profile.policy.resolve()
    for assessment in _eligible(advice).values():
        for venue in assessment.venues:
            at_premises = kb.venues[venue.venue_id].kind == "premises"
            for data_class in venue.data_classes:
                _, allowed = policy[data_class]
                own = at_premises and not profile.policy.explicit_reach(data_class)
                premises = profile.premises_country if own else None
                bad = [j for j in venue.exposure if not _acceptable(j, allowed, premises, kb)]
                assert not bad, (
                    f"{assessment.architecture_id} sends {data_class} data to {venue.venue_id} "
                    f"(role {venue.role}), which {bad} can compel; the policy accepts only "
                    f"{sorted(allowed) or 'the premises jurisdiction'} for {data_class}"
                )


def explicit_reachable_by_is_honoured_everywhere(
    profile: OrganisationProfile, kb: KnowledgeBase, advice: Advice
) -> None:
    """A `reachable_by` the profile states for a class is honoured at every venue of every
    eligible architecture, the organisation's own premises included, and by the flows a
    detector's misses make: no jurisdiction outside it can compel access where the class goes."""
    policy = profile.policy.resolve()
    for a in _eligible(advice).values():
        placed = [(c, v.venue_id, v.exposure) for v in a.venues for c in v.data_classes]
        placed += [(f.data_class, f.venue_id, f.exposure) for f in a.misrouted]
        for data_class, venue_id, exposure in placed:
            if not profile.policy.explicit_reach(data_class):
                continue
            _, allowed = policy[data_class]
            bad = [j for j in exposure if not _acceptable(j, allowed, None, kb)]
            assert not bad, (
                f"{a.architecture_id} sends {data_class} data to {venue_id}, which {bad} can "
                f"compel; the profile allows only {sorted(allowed)} for {data_class}"
            )


def a_law_confined_class_never_reaches_a_forbidden_venue_even_by_misrouting(
    profile: OrganisationProfile, kb: KnowledgeBase, advice: Advice
) -> None:
    """No eligible architecture sends a class to a venue a flow rule (a law) excludes it from:
    neither by routing nor by the misses of its detector (HDS health data, classified data)."""
    forbidden = {f.subject for f in advice.findings if f.scope == "flow" and f.effect == "excludes"}
    for a in _eligible(advice).values():
        flows = [(c, v.venue_id, "routed") for v in a.venues for c in v.data_classes]
        flows += [(f.data_class, f.venue_id, "misrouted") for f in a.misrouted]
        for data_class, venue_id, how in flows:
            assert f"{data_class}@{venue_id}" not in forbidden, (
                f"{a.architecture_id}: {data_class} data is {how} to {venue_id}, which a law "
                "forbids for it"
            )
        for f in a.misrouted:
            leave, _ = profile.policy.resolve()[f.data_class]
            assert leave or profile.policy.accepts_misrouting(f.data_class), (
                f"{a.architecture_id}: {f.data_class} misrouted to {f.venue_id} although the "
                "policy refuses misrouting for it"
            )


def omitted_fields_never_switch_a_protection_off(
    profile: OrganisationProfile, kb: KnowledgeBase, advice: Advice
) -> None:
    """Leaving `data.subjects_in` out is never less protective than stating any of the
    organisation's own countries: every exclusion and obligation that fires with the field
    stated also fires with it omitted (the default is the headquarters and operates_in)."""
    stated = profile.data.subjects_in
    org = profile.organisation
    if stated is None or not set(stated) <= {org.headquarters, *org.operates_in}:
        return
    data = profile.model_dump(exclude_unset=True)
    data["data"].pop("subjects_in", None)
    omitted = _rerun(OrganisationProfile.model_validate(data), kb, advice)

    def protections(x: Advice) -> set[tuple[str, str]]:
        fired = {(f.rule_id, f.subject) for f in x.findings if f.effect in ("excludes", "blocker")}
        return fired | {(o.rule_id, o.use_case or "") for o in x.obligations}

    lost = protections(advice) - protections(omitted)
    assert not lost, f"omitting data.subjects_in switched off {sorted(lost)}"


def owned_gpus_are_used_or_explained(
    profile: OrganisationProfile, kb: KnowledgeBase, advice: Advice
) -> None:
    """Every eligible architecture accounts for each owned GPU type: how many it uses and, when
    fewer than all, why; an owned type a pool could run on at the premises is left unused only
    when a pool on it costs more (what the owned cards cannot carry is bought in whole servers
    of their type), and the reason says so with both amounts."""
    owned = {g: n for g, n in profile.capabilities.owned_gpus.items() if n > 0}
    for a in _eligible(advice).values():
        listed = {u.gpu_id: u for u in a.owned_gpus}
        assert listed.keys() == owned.keys(), (
            f"{a.architecture_id}: owned GPUs accounted for {sorted(listed)}, owned {sorted(owned)}"
        )
        for gpu_id, use in listed.items():
            assert use.owned == owned[gpu_id] and 0 <= use.used <= use.owned
            assert use.used == use.owned or use.reason, (
                f"{a.architecture_id}: {use.owned - use.used} owned {gpu_id} idle without a reason"
            )
        at_premises = {
            v.gpu_id for v in a.venues if v.gpu_id and kb.venues[v.venue_id].kind == "premises"
        }
        if owned and at_premises - owned.keys():
            for gpu_id, use in listed.items():
                if use.used == 0 and profile.capabilities.operates_gpus:
                    assert use.reason and (
                        "would cost" in use.reason or "no purchase record" in use.reason
                    ), (
                        f"{a.architecture_id} buys {sorted(at_premises - owned.keys())} at the "
                        f"premises and leaves the owned {gpu_id} unused without saying it is "
                        f"dearer: {use.reason}"
                    )


def strict_preset_leaves_only_on_premises(
    profile: OrganisationProfile, kb: KnowledgeBase, advice: Advice
) -> None:
    """A data class the policy keeps on the premises (every class under the `strict` preset,
    unless overridden) reaches no venue outside them."""
    policy = profile.policy.resolve()
    for assessment in _eligible(advice).values():
        for venue in assessment.venues:
            kind = kb.venues[venue.venue_id].kind
            for data_class in venue.data_classes:
                leave, _ = policy[data_class]
                assert leave or kind == "premises", (
                    f"{assessment.architecture_id} sends {data_class} data, which the "
                    f"{profile.policy.preset} policy keeps on the premises, to {venue.venue_id} "
                    f"({kind}) for role {venue.role}"
                )


def no_premises_without_gpu_operations(
    profile: OrganisationProfile, kb: KnowledgeBase, advice: Advice
) -> None:
    """An organisation that does not operate GPUs is never given a role on its own premises."""
    if profile.capabilities.operates_gpus:
        return
    for assessment in _eligible(advice).values():
        on_premises = [
            v.role for v in assessment.venues if kb.venues[v.venue_id].kind == "premises"
        ]
        assert not on_premises, (
            f"{assessment.architecture_id} runs {on_premises} on the premises of an organisation "
            "that does not operate GPUs"
        )


def _tightened(policy: Policy, present: tuple[DataClass, ...]) -> Policy:
    """A policy no looser for any class: every class may be reached by fewer jurisdictions, and
    the most sensitive class present is kept on the premises."""
    resolved = policy.resolve()
    overrides: dict[DataClass, ClassPolicy] = {}
    for data_class in DATA_CLASSES:
        leave, reach = resolved[data_class]
        if "*" in reach:
            narrower: tuple[str, ...] = ("EU",)
        else:
            narrower = tuple(sorted(reach))[:-1]
        if present and data_class == present[-1]:
            leave = False
        overrides[data_class] = ClassPolicy(leave_premises=leave, reachable_by=narrower)
    return Policy(preset=policy.preset, overrides=overrides)


def tightening_policy_never_adds_eligibility(
    profile: OrganisationProfile, kb: KnowledgeBase, advice: Advice
) -> None:
    """A stricter policy (fewer jurisdictions accepted, a class kept on the premises) never makes
    an architecture eligible that was not."""
    tighter = profile.model_copy(
        update={"policy": _tightened(profile.policy, profile.data.present)}
    )
    before = set(_eligible(advice))
    after = set(
        _eligible(_rerun(OrganisationProfile.model_validate(tighter.model_dump()), kb, advice))
    )
    assert after <= before, (
        f"tightening the policy made {sorted(after - before)} eligible (before: {sorted(before)})"
    )


# --- recommendation and cost ----------------------------------------------------------------


def ineligible_architectures_say_why(
    profile: OrganisationProfile, kb: KnowledgeBase, advice: Advice
) -> None:
    """Every architecture is assessed once; an ineligible one has exclusions and no cost, an
    eligible one a venue for each of its roles, a cost and a rank."""
    assessed = sorted(a.architecture_id for a in advice.assessments)
    assert assessed == sorted(a.id for a in kb.architectures), f"assessed {assessed}"
    roles = {a.id: [r.id for r in a.roles] for a in kb.architectures}
    for a in advice.assessments:
        if a.eligible:
            assert a.cost is not None and a.rank is not None, f"{a.architecture_id}: no cost/rank"
            assert [v.role for v in a.venues] == roles[a.architecture_id], (
                f"{a.architecture_id}: venues for {[v.role for v in a.venues]}, "
                f"roles {roles[a.architecture_id]}"
            )
            assert not a.exclusions, f"{a.architecture_id} is eligible but lists exclusions"
        else:
            assert a.exclusions, f"{a.architecture_id} is ineligible without an exclusion"
            assert a.cost is None and a.rank is None and not a.venues, (
                f"{a.architecture_id} is ineligible but has a cost, rank or venues"
            )
            for e in a.exclusions:
                _exclusion_is_consistent(profile, kb, a.architecture_id, e)


def _exclusion_is_consistent(
    profile: OrganisationProfile, kb: KnowledgeBase, architecture_id: str, e: Exclusion
) -> None:
    """An exclusion's rule matches its role, data class and venue."""
    arch = next(x for x in kb.architectures if x.id == architecture_id)
    role = next((r for r in arch.roles if r.id == e.role), None)
    where = f"{architecture_id}/{e.role}: exclusion `{e.rule_id}`"
    assert role is not None, f"{where} names a role the architecture does not have"
    if e.rule_id.startswith("capability."):
        expected = (
            "capability.no_offering" if role.deployment == "api" else ("capability.no_self_hosting")
        )
        assert e.rule_id == expected, f"{where}: a {role.deployment} role is sunk by {expected}"
        assert e.venue_id is None and e.data_class is None, f"{where} names a venue or class"
        return
    assert e.venue_id in kb.venues and e.data_class is not None, f"{where}: no venue or class"
    missed = [c for d in arch.roles if d.misses_reach == role.id for c in d.data_classes]
    assert e.data_class in profile.data.present and (
        e.data_class in role.data_classes or e.data_class in missed
    ), f"{where} is about {e.data_class} data, which the profile does not route to this role"
    leave, _ = profile.policy.resolve()[e.data_class]
    kind = kb.venues[e.venue_id].kind
    if e.rule_id == "policy.misrouting":
        assert e.data_class in missed and not leave and kind != "premises", (
            f"{where}: {e.data_class} reaches {e.venue_id} by no detector's misses"
        )
        assert not profile.policy.accepts_misrouting(e.data_class), (
            f"{where}: the policy accepts misrouting of {e.data_class}"
        )
    elif e.rule_id == "policy.leave_premises":
        assert not leave and kind != "premises", (
            f"{where}: {e.data_class} may leave the premises ({leave}) or {e.venue_id} is them"
        )
    elif e.rule_id != "policy.reachable_by":
        rule = next((r.rule for r in kb.rules if r.rule.id == e.rule_id), None)
        assert rule is not None and rule.scope == "flow" and rule.effect == "excludes", (
            f"{where} is neither an engine check nor a flow rule that excludes"
        )


def recommended_is_eligible_and_cheapest(
    profile: OrganisationProfile, kb: KnowledgeBase, advice: Advice
) -> None:
    """The recommendation is the eligible architecture with the lowest typical monthly total;
    ranks follow the totals; there is a recommendation unless nothing is eligible or every use
    case is blocked."""
    eligible = _eligible(advice)
    ranked = sorted(eligible.values(), key=lambda a: a.rank or 0)
    assert [a.rank for a in ranked] == list(range(1, len(ranked) + 1)), "ranks are not 1..n"
    totals = [_typical(a) for a in ranked]
    assert totals == sorted(totals), f"ranks do not follow typical totals: {totals}"
    blocked = {b.use_case for b in advice.blocked_use_cases}
    all_blocked = bool(profile.use_cases) and all(u.name in blocked for u in profile.use_cases)
    if advice.recommended is None:
        assert not eligible or all_blocked, (
            f"no recommendation although {sorted(eligible)} are eligible and not every use case "
            "is blocked"
        )
        assert advice.no_recommendation_reason, "no recommendation and no reason given"
        return
    assert not all_blocked, "a recommendation although every use case is blocked"
    chosen = advice.recommended.architecture_id
    assert chosen in eligible, f"recommended {chosen} is not eligible"
    cheapest = min(totals)
    if advice.decision == "recommended":
        assert _typical(eligible[chosen]) == cheapest, (
            f"recommended {chosen} costs {_typical(eligible[chosen])}, the cheapest {cheapest}"
        )
        return
    # cost-equivalent: the chosen one is within the margin of the cheapest, bands overlapping
    assert advice.decision == "cost_equivalent", f"decision {advice.decision} with a choice"
    margin = Decimal(kb.assumption("decision.cost_equivalence_margin").value.typical)
    best, mine = ranked[0].cost, eligible[chosen].cost
    assert best is not None and mine is not None
    assert mine.monthly_total.typical <= cheapest * (1 + margin), (
        f"{chosen} is called cost-equivalent at {mine.monthly_total.typical} against {cheapest}"
    )
    assert mine.monthly_total.low <= best.monthly_total.high, f"{chosen}: bands do not overlap"
    for other in advice.recommended.equivalent_to:
        assert other in eligible and other != chosen, f"{other} is not an eligible alternative"


def cost_breakdown_adds_up(profile: OrganisationProfile, kb: KnowledgeBase, advice: Advice) -> None:
    """Each cost line is quantity x unit price, the typical total is the sum of the lines, the
    band is ordered, amounts are never negative and in the profile's currency."""
    for a in _eligible(advice).values():
        assert a.cost is not None
        assert a.cost.currency == profile.finance.currency == advice.currency
        total = a.cost.monthly_total
        assert Decimal(0) <= total.low <= total.typical <= total.high, (
            f"{a.architecture_id}: band {total.low} / {total.typical} / {total.high} out of order"
        )
        assert total.typical == sum(c.monthly_cost for c in a.cost.components), (
            f"{a.architecture_id}: typical total is not the sum of its lines"
        )
        for c in a.cost.components:
            assert c.monthly_cost == c.monthly_quantity * c.unit_price, f"line {c.name}"
            assert c.monthly_quantity >= 0 and c.unit_price >= 0, f"negative line {c.name}"
            assert c.source.strip(), f"line {c.name} names no source"


def budget_flag_matches_the_total(
    profile: OrganisationProfile, kb: KnowledgeBase, advice: Advice
) -> None:
    """An architecture is flagged `budget_exceeded` exactly when its typical total is above the
    profile's monthly budget."""
    budget = profile.finance.monthly_budget
    for a in _eligible(advice).values():
        flagged = any(r.id == "budget_exceeded" for r in a.risks)
        over = budget is not None and _typical(a) > budget
        assert flagged == over, (
            f"{a.architecture_id}: typical {_typical(a)}, budget {budget}, flagged {flagged}"
        )


def risks_are_flagged_exactly_when_they_apply(
    profile: OrganisationProfile, kb: KnowledgeBase, advice: Advice
) -> None:
    """`quality_risk` exactly when the share of queries needing deep reasoning that reach no
    advanced model exceeds the knowledge base's threshold; `residual_leak_risk` exactly when a
    detector routes a present class away from the role its misses reach (a query whose personal
    data it misses goes the wrong way), with a flow for each such class; `no_gpu_operations`
    exactly when GPUs are rented for an organisation that runs none."""
    roles = {(a.id, r.id): r for a in kb.architectures for r in a.roles}
    threshold = Fraction(
        kb.assumption("quality.complex_share_on_basic_model_threshold").value.typical
    )
    complex_share = Fraction(repr(profile.workload.complex_share))
    for a in _eligible(advice).values():
        flagged = {r.id for r in a.risks}
        generation = [
            v for v in a.venues if roles[(a.architecture_id, v.role)].kind == "generation"
        ]
        advanced = {
            c
            for v in generation
            if v.model_id and kb.models[v.model_id].reasoning == "advanced"
            for c in v.data_classes
        }
        missed = _missed_classes(kb, a.architecture_id, profile)
        assert sorted(f.data_class for f in a.misrouted) == missed, (
            f"{a.architecture_id}: misrouted flows for {[f.data_class for f in a.misrouted]}, "
            f"expected {missed}"
        )
        basic_only = [c for c in profile.data.present if c not in advanced]
        exposed = complex_share * sum(
            (Fraction(repr(profile.data.share(c))) for c in basic_only), Fraction(0)
        )
        expected = {
            "quality_risk": exposed > threshold,
            "residual_leak_risk": bool(missed),
            "no_gpu_operations": not profile.capabilities.operates_gpus
            and any(v.gpu_count and kb.venues[v.venue_id].kind == "gpu_cloud" for v in a.venues),
        }
        for risk, applies in expected.items():
            assert (risk in flagged) == applies, (
                f"{a.architecture_id}: {risk} {'not ' if applies else ''}flagged although it "
                f"{'applies' if applies else 'does not apply'} (deep-reasoning share on basic "
                f"models {float(exposed):.3f}, threshold {float(threshold):.3f}; risks {flagged})"
            )


def _missed_classes(
    kb: KnowledgeBase, architecture_id: str, profile: OrganisationProfile
) -> list[str]:
    """Present classes a detector keeps from the role its misses reach (when it can miss)."""
    arch = next(x for x in kb.architectures if x.id == architecture_id)
    out: list[str] = []
    for d in arch.roles:
        if d.misses_reach is None or d.recall is None:
            continue
        band = kb.assumption(d.recall).value
        if (band.typical if band.low is None else band.low) >= 1:
            continue
        target = next(r for r in arch.roles if r.id == d.misses_reach)
        out += [
            c for c in d.data_classes if c in profile.data.present and c not in target.data_classes
        ]
    return sorted(out)


def cost_never_decreases_with_volume(
    profile: OrganisationProfile, kb: KnowledgeBase, advice: Advice
) -> None:
    """More queries (with the peak growing alongside) never make an architecture cheaper, and
    never change which architectures are eligible."""
    w = profile.workload
    volume = w.queries_per_month * 2 + 1000
    # the peak doubles too, and never falls below the new average (a profile refuses that)
    average = math.ceil(volume / SECONDS_PER_MONTH * 10**6) / 10**6
    busier = _changed(
        profile,
        "workload",
        queries_per_month=volume,
        peak_queries_per_second=max(w.peak_queries_per_second * 2, average),
    )
    before, after = _eligible(advice), _eligible(_rerun(busier, kb, advice))
    assert before.keys() == after.keys(), (
        f"eligibility changed with volume: {sorted(before)} -> {sorted(after)}"
    )
    gaps = _gaps(before, after)
    assert not gaps, f"more queries cost less: {gaps}"


def gpu_count_never_decreases_with_peak(
    profile: OrganisationProfile, kb: KnowledgeBase, advice: Advice
) -> None:
    """A higher peak never needs fewer GPUs of the same type in the same server configuration at
    the same venue, and never makes an architecture cheaper. (A different GPU type or server
    configuration may be chosen: then counts are not comparable, e.g. three 2-slot servers hold
    fewer GPUs than two 4-slot ones.)"""
    w = profile.workload
    peakier = _changed(
        profile, "workload", peak_queries_per_second=w.peak_queries_per_second * 2 + 1
    )
    before, after = _eligible(advice), _eligible(_rerun(peakier, kb, advice))
    gaps = _gaps(before, after)
    assert not gaps, f"a higher peak costs less: {gaps}"
    for aid in before.keys() & after.keys():
        old = {
            (p.roles, p.venue_id, p.gpu_id, p.server_config): p.gpus for p in before[aid].gpu_pools
        }
        for p in after[aid].gpu_pools:
            was = old.get((p.roles, p.venue_id, p.gpu_id, p.server_config))
            if was is not None:
                assert p.gpus >= was, (
                    f"{aid}/{', '.join(p.roles)}: {was} -> {p.gpus} {p.gpu_id} at {p.venue_id} "
                    "when the peak went up"
                )


def _price_factor(record_id: str) -> Decimal:
    """Price increases for `cost_never_decreases_with_prices`: 0%, 10% or 50% by record."""
    return (Decimal(1), Decimal("1.1"), Decimal("1.5"))[sum(record_id.encode()) % 3]


def cost_never_decreases_with_prices(
    profile: OrganisationProfile, kb: KnowledgeBase, advice: Advice
) -> None:
    """Raising prices (some by 10%, some by 50%, some not at all) never makes an architecture
    cheaper and never changes which architectures are eligible."""
    dearer = scale_prices(kb, _price_factor)
    before, after = _eligible(advice), _eligible(_rerun(profile, dearer, advice))
    assert before.keys() == after.keys(), (
        f"eligibility changed with prices: {sorted(before)} -> {sorted(after)}"
    )
    gaps = _gaps(before, after)
    assert not gaps, f"higher prices cost less: {gaps}"


def _fx(kb: KnowledgeBase, source: str, target: str, as_of: dt.date) -> Decimal | None:
    """Units of `target` per unit of `source` on a day: latest direct or inverted rate."""
    best: tuple[dt.date, Decimal] | None = None
    for fx in kb.fx_rates:
        if fx.date > as_of:
            continue
        if (fx.base, fx.quote) == (source, target):
            rate = fx.rate.typical
        elif (fx.base, fx.quote) == (target, source):
            rate = 1 / fx.rate.typical
        else:
            continue
        if best is None or fx.date > best[0]:
            best = (fx.date, rate)
    return None if best is None else best[1]


def currency_conversion_commutes(
    profile: OrganisationProfile, kb: KnowledgeBase, advice: Advice
) -> None:
    """Reporting in another currency multiplies every typical total by the exchange rate (within
    the rounding of unit prices to six decimals) and changes no eligibility."""
    source = profile.finance.currency
    target = "USD" if source == "EUR" else "EUR"
    rate = _fx(kb, source, target, advice.as_of)
    if rate is None:  # no direct rate: cross through the third currency
        via = ({"EUR", "USD", "JPY"} - {source, target}).pop()
        first, second = _fx(kb, source, via, advice.as_of), _fx(kb, via, target, advice.as_of)
        assert first is not None and second is not None, f"no FX path {source}->{target}"
        rate = first * second
    other = _changed(profile, "finance", currency=target, monthly_budget=None)
    before, after = _eligible(advice), _eligible(_rerun(other, kb, advice))
    assert before.keys() == after.keys(), (
        f"eligibility changed with currency: {sorted(before)} -> {sorted(after)}"
    )
    for aid in before:
        expected, got = _typical(before[aid]) * rate, _typical(after[aid])
        tolerance = Decimal("0.0002") * abs(expected) + Decimal("0.01") * max(rate, Decimal(1))
        assert abs(got - expected) <= tolerance, (
            f"{aid}: {_typical(before[aid])} {source} x {rate:.6f} = {expected:.4f} {target}, "
            f"but reporting in {target} gives {got}"
        )


def retired_models_are_never_chosen(
    profile: OrganisationProfile, kb: KnowledgeBase, advice: Advice
) -> None:
    """Every API role runs a model the venue offers on the as-of date (priced, released, not
    retired), and the first such model in the role's order of preference."""
    roles = {(a.id, r.id): r for a in kb.architectures for r in a.roles}
    for a in _eligible(advice).values():
        for v in a.venues:
            role = roles[(a.architecture_id, v.role)]
            if role.deployment != "api":
                continue

            def offered(model: str, venue: str = v.venue_id) -> bool:
                return any(
                    p.venue == venue and p.model == model and p.offered_on(advice.as_of)
                    for p in kb.token_prices
                )

            assert v.model_id is not None and offered(v.model_id), (
                f"{a.architecture_id}/{v.role} uses {v.model_id} at {v.venue_id}, which is not "
                f"offered on {advice.as_of} (retired or not yet released)"
            )
            preferred = next(m for m in role.models if offered(m))
            assert v.model_id == preferred, (
                f"{a.architecture_id}/{v.role} uses {v.model_id}, but {preferred} comes first "
                f"in the role's preference and is offered at {v.venue_id}"
            )


# --- law ----------------------------------------------------------------------------------------


def every_reason_cites_an_existing_fact(
    profile: OrganisationProfile, kb: KnowledgeBase, advice: Advice
) -> None:
    """Every exclusion, obligation, blocker and finding names a rule that exists (or an engine
    check `policy.*` / `capability.*`) and only facts of the knowledge base; a rule's reasons
    cite the facts it rests on first, then only facts the rule names (its `cites_for` choice and,
    for findings, its `see_also` background)."""
    rules = {r.rule.id: r.rule for r in kb.rules}
    cited: list[tuple[str, str, tuple[str, ...]]] = []
    for a in advice.assessments:
        cited += [
            (f"exclusion of {a.architecture_id}", e.rule_id, e.fact_ids) for e in a.exclusions
        ]
    cited += [("obligation", o.rule_id, o.fact_ids) for o in advice.obligations]
    cited += [("blocked use case", b.rule_id, b.fact_ids) for b in advice.blocked_use_cases]
    cited += [("finding", f.rule_id, f.fact_ids) for f in advice.findings]
    for what, rule_id, fact_ids in cited:
        missing = [f for f in fact_ids if f not in kb.facts]
        assert not missing, f"{what} `{rule_id}` cites facts {missing} that do not exist"
        if rule_id.startswith(("policy.", "capability.")):
            continue
        assert rule_id in rules, f"{what} names rule `{rule_id}`, which does not exist"
        rule = rules[rule_id]
        assert tuple(fact_ids[: len(rule.rests_on)]) == rule.rests_on, (
            f"{what} `{rule_id}` cites {fact_ids}; the rule rests on {rule.rests_on}"
        )
        stray = [f for f in fact_ids if f not in rule.fact_ids]
        assert not stray, f"{what} `{rule_id}` cites {stray}, which the rule does not name"
    for f in advice.findings:
        if f.scope == "flow":
            data_class, _, venue_id = f.subject.partition("@")
            assert data_class in profile.data.present and venue_id in kb.venues, (
                f"flow finding `{f.rule_id}` is about `{f.subject}`, not a present class@venue"
            )
        elif f.scope == "venue":
            assert f.subject in kb.venues, f"venue finding `{f.rule_id}` about `{f.subject}`"
    for a in advice.assessments:
        for e in a.exclusions:
            if e.rule_id == "policy.reachable_by":
                assert e.fact_ids, f"{a.architecture_id}: exposure exclusion without its facts"


def obligations_respect_the_as_of_date(
    profile: OrganisationProfile, kb: KnowledgeBase, advice: Advice
) -> None:
    """Obligations come from rules in force on the as-of date; `in_force` says whether they
    already apply; they are listed by the date they apply from."""
    rules = {r.rule.id: r.rule for r in kb.rules}
    for o in advice.obligations:
        rule = rules.get(o.rule_id)
        assert rule is not None and rule.effect == "obligation", f"`{o.rule_id}` is no obligation"
        assert rule.in_force(advice.as_of), f"`{o.rule_id}` is not the law on {advice.as_of}"
        assert o.applies_from == rule.applies_from, f"`{o.rule_id}` applies_from changed"
        applies = o.applies_from is None or o.applies_from <= advice.as_of
        assert o.in_force == applies, (
            f"`{o.rule_id}` applies from {o.applies_from}, as of {advice.as_of}: in_force should "
            f"be {applies}"
        )
        names = {u.name for u in profile.use_cases}
        if rule.scope == "use_case":
            assert o.use_case in names, f"`{o.rule_id}` is a use-case rule; names {o.use_case}"
        else:
            assert o.use_case is None, f"organisation rule `{o.rule_id}` names {o.use_case}"
    starts = [o.applies_from or dt.date.min for o in advice.obligations]
    assert starts == sorted(starts), "obligations are not listed by the date they apply from"
    for f in advice.findings:
        rule = rules.get(f.rule_id)
        if rule is not None:
            assert rule.in_force(advice.as_of), f"finding from `{f.rule_id}`, not in force"


def blocked_use_case_yields_no_recommendation_for_it(
    profile: OrganisationProfile, kb: KnowledgeBase, advice: Advice
) -> None:
    """A blocked use case is one of the profile's, blocked by a use-case `blocker` rule in force;
    advising for the blocked use cases alone gives no recommendation."""
    rules = {r.rule.id: r.rule for r in kb.rules}
    names = {u.name for u in profile.use_cases}
    blocked = {b.use_case for b in advice.blocked_use_cases}
    assert blocked <= names, f"blocked use cases {sorted(blocked - names)} are not the profile's"
    for b in advice.blocked_use_cases:
        rule = rules.get(b.rule_id)
        assert rule is not None and rule.effect == "blocker" and rule.scope == "use_case", (
            f"{b.use_case} is blocked by `{b.rule_id}`, which is no use-case blocker rule"
        )
        assert rule.in_force(advice.as_of), f"`{b.rule_id}` is not the law on {advice.as_of}"
    if not blocked:
        return
    if blocked != names:
        only = profile.model_copy(
            update={"use_cases": tuple(u for u in profile.use_cases if u.name in blocked)}
        )
        advice = _rerun(OrganisationProfile.model_validate(only.model_dump()), kb, advice)
    assert advice.recommended is None, (
        f"use cases {sorted(blocked)} are blocked, yet advising for them alone recommends "
        f"{advice.recommended.architecture_id if advice.recommended else None}"
    )


def break_even_flips_the_order(
    profile: OrganisationProfile, kb: KnowledgeBase, advice: Advice
) -> None:
    """At a reported break-even volume the order of the two architectures flips: just short of
    it (on the profile's side) the first is no dearer, just past it the second is no dearer.

    Checked by advising again with the volume (and the peak, in proportion) moved just short of
    and just past the break-even; only when both architectures keep the venues and GPU types
    chosen at the profile's volume (the break-even is computed for those choices)."""
    if "break_even" in advice.not_computed:
        return  # asked without it (advise(..., analyses=...)): nothing to check
    volume = Decimal(repr(profile.workload.queries_per_month))
    eligible = _eligible(advice)
    ranked = sorted(eligible, key=lambda aid: eligible[aid].rank or 0)
    pairs = [(a, b) for i, a in enumerate(ranked) for b in ranked[i + 1 :]]
    assert [b.architectures for b in advice.break_even] == pairs, (
        f"break-evens {[b.architectures for b in advice.break_even]}; expected one per pair of "
        f"eligible architectures, cheaper first: {pairs}"
    )
    if volume <= 0:
        return
    low, high = max(Decimal(1), volume / 100), volume * 100
    for b in advice.break_even:
        x = b.queries_per_month
        assert x is None or (low - 1 <= x <= high + 1 and x == x.quantize(Decimal("0.01"))), (
            f"break-even {b.architectures} at {x}, outside the searched {low} to {high}"
        )
    for b in advice.break_even:
        if b.queries_per_month is None:
            continue
        first, second = b.architectures
        x = b.queries_per_month
        side = 1 if x > volume else -1
        # the break-even is rounded to the cent; crossings of GPU steps can lie close together
        step = max(Decimal("0.02"), x / 10**8)
        for label, moved, want_first_cheaper in (
            ("short of", x - side * step, True),
            ("past", x + side * step, False),
        ):
            other = _at_volume(profile, kb, advice, moved)
            if other is None:
                continue
            got = _eligible(other)
            if any(_choices(got[a]) != _choices(eligible[a]) for a in (first, second)):
                continue  # another venue or GPU type wins there: not the same cost functions
            a, c = _typical(got[first]), _typical(got[second])
            ok = a <= c if want_first_cheaper else c <= a
            assert ok, (
                f"break-even {first}/{second} reported at {x} queries a month (profile: "
                f"{volume}); {label} it, at {moved}, {first} costs {a} and {second} {c}"
            )


def _at_volume(
    profile: OrganisationProfile, kb: KnowledgeBase, advice: Advice, volume: Decimal
) -> Advice | None:
    if volume <= 0:
        return None
    w = profile.workload
    factor = float(volume) / w.queries_per_month
    moved = _changed(
        profile,
        "workload",
        queries_per_month=float(volume),
        peak_queries_per_second=w.peak_queries_per_second * factor,
    )
    return _rerun(moved, kb, advice)


INVARIANTS: list[Invariant] = [
    same_input_same_bytes,
    order_of_lists_does_not_matter,
    profile_round_trips_through_yaml_and_json,
    forbidden_exposure_is_never_recommended,
    explicit_reachable_by_is_honoured_everywhere,
    a_law_confined_class_never_reaches_a_forbidden_venue_even_by_misrouting,
    omitted_fields_never_switch_a_protection_off,
    owned_gpus_are_used_or_explained,
    strict_preset_leaves_only_on_premises,
    no_premises_without_gpu_operations,
    tightening_policy_never_adds_eligibility,
    ineligible_architectures_say_why,
    recommended_is_eligible_and_cheapest,
    cost_breakdown_adds_up,
    budget_flag_matches_the_total,
    risks_are_flagged_exactly_when_they_apply,
    cost_never_decreases_with_volume,
    gpu_count_never_decreases_with_peak,
    cost_never_decreases_with_prices,
    currency_conversion_commutes,
    retired_models_are_never_chosen,
    every_reason_cites_an_existing_fact,
    obligations_respect_the_as_of_date,
    blocked_use_case_yields_no_recommendation_for_it,
    break_even_flips_the_order,
]
"""Every invariant the advisor is tested with, in the order they are documented."""


def check_invariants(
    profile: OrganisationProfile,
    kb: KnowledgeBase,
    advice: Advice,
    invariants: list[Invariant] | None = None,
) -> None:
    """Run invariants (all of `INVARIANTS` by default) on one advice; the `AssertionError` of the
    first that fails is raised again with the invariant's name in front."""
    for invariant in INVARIANTS if invariants is None else invariants:
        try:
            invariant(profile, kb, advice)
        except AssertionError as error:
            name = getattr(invariant, "__name__", repr(invariant))
            raise AssertionError(f"{name}: {error}") from error
