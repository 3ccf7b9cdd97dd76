"""Property tests (Hypothesis) of the approval decision rules and the JQL the Jira hook and trigger build.

- A decision is the ticket's latest status move, whatever order the changelog lists its histories in and
  whatever other fields changed; a changelog of any shape gives a decision, None, or InvalidInputError.
- Separation of duties: an excluded person's move never counts, an unresolved identity blocks every move,
  and a failed-tests policy of ``block`` refuses every approval.
- A value quoted into JQL (project keys, marker labels) reads back as exactly that value in the Jira
  sandbox's JQL tokenizer and parser, quotes and backslashes included: no value can change the query.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from model_governance.approvals import (
    BLOCK,
    Decision,
    Exclusion,
    GateRules,
    Outcome,
    Person,
    decision_from_changelog,
)
from model_governance.exceptions import InvalidInputError
from model_governance.hooks.jira import jql_string, marker_jql
from model_governance.triggers.jira import poll_jql
from sandbox.jira.jql import Clause, parse, tokenize

STATUSES = ["To Do", "In Progress", "Done", "Rejected", "done", "REJECTED"]
START = datetime(2026, 1, 1, tzinfo=UTC)
ACCOUNTS = st.text(alphabet="abcdef0123456789:", min_size=3, max_size=12)


def _history(seconds: int, status: str, author: str, noise: bool) -> dict[str, Any]:
    items = [{"field": "status", "fromString": "To Do", "toString": status}]
    if noise:
        items.insert(0, {"field": "labels", "fromString": "", "toString": status})
    created = (START + timedelta(seconds=seconds)).strftime("%Y-%m-%dT%H:%M:%S.000+0000")
    return {"created": created, "author": {"accountId": author}, "items": items}


moves = st.lists(
    st.tuples(st.integers(0, 10**6), st.sampled_from(STATUSES), ACCOUNTS, st.booleans()),
    max_size=12,
    unique_by=lambda move: move[0],  # distinct times: "the latest" is well defined
)


@given(moves, st.randoms(use_true_random=False))
def test_property_the_decision_is_the_latest_status_move_in_any_order(
    listed: list[tuple[int, str, str, bool]], rng: Any
) -> None:
    histories = [_history(*move) for move in listed]
    rng.shuffle(histories)
    decision = decision_from_changelog("MLC-1", histories, done_status="Done", rejected_status="Rejected")
    if not listed:
        assert decision is None
        return
    seconds, status, author, _ = max(listed)
    expected = {"done": Outcome.APPROVED, "rejected": Outcome.REJECTED}.get(status.lower())
    if expected is None:
        assert decision is None
    else:
        assert decision is not None and decision.outcome is expected
        assert decision.decided_by.account == author
        assert decision.decided_at == START + timedelta(seconds=seconds)


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3),
    max_leaves=10,
)
histories_of_any_shape = st.lists(
    st.fixed_dictionaries(
        {},
        optional={
            "created": json_values | st.just("2026-01-01T10:00:00.000+0000"),
            "author": json_values,
            "items": st.lists(
                st.fixed_dictionaries(
                    {"field": st.sampled_from(["status", "labels"]) | json_values},
                    optional={"toString": st.sampled_from(STATUSES) | json_values},
                ),
                max_size=3,
            ),
        },
    ),
    max_size=4,
)


@settings(max_examples=300)
@given(histories_of_any_shape)
def test_property_any_changelog_gives_a_decision_none_or_invalid_input(histories: list[Any]) -> None:
    try:
        result = decision_from_changelog("MLC-1", histories, done_status="Done", rejected_status="Rejected")
    except InvalidInputError:
        return
    assert result is None or isinstance(result, Decision)


def _decision(account: str, outcome: Outcome) -> Decision:
    return Decision(
        issue_key="MLC-1",
        outcome=outcome,
        status="Done" if outcome is Outcome.APPROVED else "Rejected",
        decided_by=Person.from_jira({"accountId": account}),
        decided_at=START,
    )


@given(ACCOUNTS, st.sampled_from(list(Outcome)), st.sampled_from(["owner", "requester", "registrant"]))
def test_property_an_excluded_person_never_decides(account: str, outcome: Outcome, role: str) -> None:
    rules = GateRules(kind="PIA", exclusions=(Exclusion(role=role, who="someone", accounts=(account,)),))
    reason = rules.refusal(_decision(account, outcome))
    assert reason is not None and "separation of duties" in reason


@given(ACCOUNTS, ACCOUNTS, st.sampled_from(list(Outcome)))
def test_property_an_unresolved_identity_blocks_every_move(mover: str, other: str, outcome: Outcome) -> None:
    rules = GateRules(
        kind="PRODUCTION",
        exclusions=(
            Exclusion(role="owner", who="a", accounts=(other,)),
            Exclusion(role="registrant", who="studio-x", resolved=False),
        ),
    )
    reason = rules.refusal(_decision(mover, outcome))
    assert reason is not None and "identity_map" in reason


@given(ACCOUNTS, st.lists(st.text(min_size=1, max_size=10), min_size=1, max_size=3), st.text(max_size=40))
def test_property_blocked_failed_tests_refuse_every_approval(
    mover: str, failed: list[str], justification: str
) -> None:
    rules = GateRules(kind="TEST_RESULTS_REVIEW", failed_tests=tuple(failed), failed_tests_action=BLOCK)
    assert rules.refusal(_decision(mover, Outcome.APPROVED), justification=justification) is not None
    # A rejection is always possible: the policy only stops approvals.
    assert rules.refusal(_decision(mover, Outcome.REJECTED)) is None


jql_text = st.text(st.characters(blacklist_categories=("Cc", "Cs")), max_size=40)


@settings(max_examples=300)
@given(jql_text)
def test_property_a_quoted_value_reads_back_as_itself(value: str) -> None:
    tokens = tokenize(f"labels = {jql_string(value)}")
    assert [(t.kind, t.text) for t in tokens] == [
        ("word", "labels"),
        ("op", "="),
        ("string", value),
        ("end", ""),
    ]


def _clauses(node: Any) -> list[Clause]:
    if isinstance(node, Clause):
        return [node]
    return [c for part in getattr(node, "parts", []) for c in _clauses(part)]


@settings(max_examples=200)
@given(jql_text, jql_text, st.integers(1, 10_000))
def test_property_the_hook_and_trigger_queries_keep_their_shape(
    project: str, marker: str, minutes: int
) -> None:
    marker_query = parse(marker_jql(project, marker))
    assert [(c.field, c.op, [v.text for v in c.values]) for c in _clauses(marker_query.where)] == [
        ("project", "=", [project]),
        ("labels", "=", [marker]),
    ]
    assert marker_query.order == [("created", "asc")]
    poll = parse(poll_jql(project, minutes))
    assert [(c.field, c.op, [v.text for v in c.values]) for c in _clauses(poll.where)] == [
        ("project", "=", [project]),
        ("updated", ">=", [f"-{minutes}m"]),
    ]
