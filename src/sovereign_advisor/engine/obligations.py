"""Step 5, obligations: the duties in force, the use cases blocked or about to be, and the
findings of organisation- and use-case-scope rules, each with its citation."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sovereign_advisor.advice import (
    BlockedUseCase,
    Finding,
    Obligation,
)
from sovereign_advisor.conditions import Activation, Scope
from sovereign_advisor.knowledge.loader import CompiledRule, KnowledgeBase
from sovereign_advisor.knowledge.models import Rule
from sovereign_advisor.profile import OrganisationProfile
from sovereign_advisor.types import Status

from .context import kb_constant_free, organisation_vars, use_case_vars, values_of
from .exposure import evaluate

_ORDER = {"binding": 0, "guidance": 1, "provisional": 2}


def weakest_status(kb: KnowledgeBase, fact_ids: tuple[str, ...]) -> Status:
    """A conclusion is only as reliable as the weakest fact it rests on."""
    statuses = [kb.facts[f].status for f in fact_ids]
    return max(statuses, key=lambda s: _ORDER[s])


def citation(kb: KnowledgeBase, fact_ids: tuple[str, ...]) -> str:
    return "; ".join(
        f"{kb.facts[f].citation.instrument}, {kb.facts[f].citation.article}" for f in fact_ids
    )


def cited_facts(rule: Rule, variables: dict[str, Any]) -> tuple[str, ...]:
    """The facts a rule rests on, plus the one its `cites_for` picks for these variables."""
    if rule.cites_for is None:
        return rule.rests_on
    extra = rule.cites_for.facts.get(str(variables[rule.cites_for.variable]))
    return rule.rests_on if extra is None or extra in rule.rests_on else (*rule.rests_on, extra)


def obligations_and_blockers(
    profile: OrganisationProfile, kb: KnowledgeBase, as_of: dt.date
) -> tuple[list[Obligation], list[BlockedUseCase], list[BlockedUseCase], list[Finding]]:
    """Obligations (in force and coming), blocked use cases, use cases a prohibition already
    enacted blocks from a later day, and the findings of every rule that fired."""
    obligations: list[Obligation] = []
    blocked: list[BlockedUseCase] = []
    coming: list[BlockedUseCase] = []
    findings: list[Finding] = []
    base = organisation_vars(profile, kb)
    subjects: list[tuple[Scope, dict[str, Any], str | None]] = [("organisation", base, None)]
    for use_case in profile.use_cases:
        subjects.append(("use_case", use_case_vars(base, use_case), use_case.name))
    for scope, variables, use_case_name in subjects:
        for compiled, later in _fired(kb, scope, as_of, variables):
            rule = compiled.rule
            cited = cited_facts(rule, variables)
            if not later:
                findings.append(
                    Finding(
                        rule_id=rule.id,
                        fact_ids=cited + rule.see_also,
                        scope=rule.scope,
                        subject=use_case_name or profile.organisation.name,
                        effect=rule.effect,
                        detail=rule.summary,
                    )
                )
            _collect(kb, rule, cited, use_case_name, as_of, later, obligations, blocked, coming)
    obligations.sort(key=lambda o: (o.applies_from or dt.date.min, o.rule_id, o.use_case or ""))
    return obligations, blocked, coming, findings


# the tags of what this step keeps in `kb.rules_derived` (any distinct values would do)
_SUBJECT_RULES_TAG = "subject_rules"
_SUBJECT_FIRED_TAG = "subject_rules_fired"

_ScopeRules = tuple[tuple[tuple[CompiledRule, bool], ...], tuple[str, ...]]


def _scope_rules(kb: KnowledgeBase, scope: Scope, as_of: dt.date) -> _ScopeRules:
    """The rules of a scope in force or enacted and coming on a day, in file order, each with
    whether it is coming; and the variables their conditions read (`blocs` aside)."""
    key = (_SUBJECT_RULES_TAG, scope, as_of)
    found: _ScopeRules | None = kb.rules_derived.get(key)
    if found is None:
        rules = []
        for compiled in kb.rules:
            rule = compiled.rule
            if rule.scope != scope:
                continue
            later = rule.coming(as_of)
            if later or rule.in_force(as_of):
                rules.append((compiled, later))
        names = kb_constant_free(n for compiled, _ in rules for n in compiled.condition.variables)
        found = kb.rules_derived[key] = (tuple(rules), names)
    return found


def _fired(
    kb: KnowledgeBase, scope: Scope, as_of: dt.date, variables: dict[str, Any]
) -> list[tuple[CompiledRule, bool]]:
    """The rules of `_scope_rules` whose condition holds for a subject. A condition is a pure
    function of the variables it reads, so the rules that fire for the same values of those
    variables are evaluated once per knowledge base and date (the same use case in another
    organisation of the same country, sectors and data classes reads the same)."""
    rules, names = _scope_rules(kb, scope, as_of)
    key = (_SUBJECT_FIRED_TAG, scope, as_of, values_of(variables, names))
    fired: tuple[int, ...] | None = kb.rules_derived.get(key)
    if fired is None:
        activation = Activation(scope, variables)
        fired = kb.rules_derived[key] = tuple(
            i
            for i, (compiled, _) in enumerate(rules)
            if evaluate(compiled.rule.id, compiled.condition, activation, compiled.file)
        )
    return [rules[i] for i in fired]


def _collect(
    kb: KnowledgeBase,
    rule: Rule,
    cited: tuple[str, ...],
    use_case_name: str | None,
    as_of: dt.date,
    later: bool,
    obligations: list[Obligation],
    blocked: list[BlockedUseCase],
    coming: list[BlockedUseCase],
) -> None:
    """An obligation or blocker that fired: in force, or (`later`) enacted and applying from
    the rule's `valid_from`."""
    starts = rule.applies_from
    if later:
        assert rule.valid_from is not None
        starts = max(rule.valid_from, rule.applies_from or rule.valid_from)
    if rule.effect == "obligation":
        obligations.append(
            Obligation(
                rule_id=rule.id,
                fact_ids=cited,
                jurisdiction=rule.jurisdiction,
                citation=citation(kb, cited),
                summary=rule.summary,
                applies_from=starts,
                in_force=not later and (starts is None or starts <= as_of),
                status=weakest_status(kb, cited),
                use_case=use_case_name,
            )
        )
    elif rule.effect == "blocker":
        assert use_case_name is not None
        (coming if later else blocked).append(
            BlockedUseCase(
                use_case=use_case_name,
                rule_id=rule.id,
                fact_ids=cited,
                reason=rule.summary,
                applies_from=starts if later else None,
            )
        )
