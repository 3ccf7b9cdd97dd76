from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from model_governance.approvals import (
    ALLOW,
    BLOCK,
    JUSTIFY,
    MARKER_PREFIX,
    REGISTRANT,
    REQUESTER,
    Comment,
    Decision,
    Exclusion,
    GateRules,
    Outcome,
    Person,
    approval_marker,
    decision_from_changelog,
    failed_gated_tests,
    justification_of,
)
from model_governance.approvals import OWNER as OWNER_ROLE
from model_governance.config import parse_config
from model_governance.exceptions import ConfigurationError, InvalidInputError
from model_governance.inventory import Inventory
from model_governance.services.approvals import (
    ApprovalRequest,
    ApprovalService,
    TicketText,
    accounts_for_email,
    registrant_identities,
)

REVIEWER = {"accountId": "acc-rev", "emailAddress": "reviewer@example.com", "displayName": "Rita Reviewer"}
OWNER = {"accountId": "acc-own", "emailAddress": "owner@example.com", "displayName": "Olga Owner"}


def _move(author: dict, when: str, to: str, frm: str = "To Do") -> dict:
    return {
        "author": author,
        "created": when,
        "items": [{"field": "status", "fromString": frm, "toString": to}],
    }


def test_marker_is_deterministic_and_distinct() -> None:
    a = approval_marker(dag_id="d", run_id="r", task_id="t", kind="PIA")
    assert a == approval_marker(dag_id="d", run_id="r", task_id="t", kind="PIA")
    assert a.startswith(MARKER_PREFIX) and " " not in a and len(a) < 255
    others = {
        approval_marker(dag_id="d2", run_id="r", task_id="t", kind="PIA"),
        approval_marker(dag_id="d", run_id="r2", task_id="t", kind="PIA"),
        approval_marker(dag_id="d", run_id="r", task_id="t2", kind="PIA"),
        approval_marker(dag_id="d", run_id="r", task_id="t", kind="PRODUCTION"),
    }
    assert a not in others and len(others) == 4
    with pytest.raises(InvalidInputError, match="run_id"):
        approval_marker(dag_id="d", run_id="", task_id="t", kind="PIA")


def test_decision_is_the_latest_status_move() -> None:
    histories = [
        _move(OWNER, "2026-11-20T09:00:00.000+0000", "In Progress"),
        {
            "author": OWNER,
            "created": "2026-11-20T09:30:00.000+0000",
            "items": [{"field": "labels", "toString": "x"}],
        },
        _move(REVIEWER, "2026-11-21T10:15:30.000+0100", "Done", "In Progress"),
    ]
    decision = decision_from_changelog("MLC-7", histories, done_status="Done", rejected_status="Rejected")
    assert decision is not None
    assert decision.outcome is Outcome.APPROVED and decision.status == "Done"
    assert decision.decided_by.email == "reviewer@example.com"
    assert decision.decided_at == datetime(2026, 11, 21, 9, 15, 30, tzinfo=UTC)
    assert Decision.from_dict(decision.to_dict()) == decision


def test_reopened_ticket_is_undecided_and_rejection_counts() -> None:
    done_then_reopened = [
        _move(REVIEWER, "2026-11-21T10:00:00.000+0000", "Done"),
        _move(REVIEWER, "2026-11-21T11:00:00.000+0000", "To Do", "Done"),
    ]
    assert (
        decision_from_changelog("K-1", done_then_reopened, done_status="Done", rejected_status="Rejected")
        is None
    )
    rejected = [_move(REVIEWER, "2026-11-21T10:00:00Z", "rejected")]
    decision = decision_from_changelog("K-1", rejected, done_status="Done", rejected_status="Rejected")
    assert decision is not None and decision.outcome is Outcome.REJECTED
    assert decision_from_changelog("K-1", [], done_status="Done", rejected_status="Rejected") is None


def test_malformed_changelog_is_named() -> None:
    with pytest.raises(InvalidInputError, match="created"):
        decision_from_changelog(
            "K-1",
            [{"items": [{"field": "status", "toString": "Done"}]}],
            done_status="Done",
            rejected_status="Rejected",
        )


def _decision(author: dict) -> Decision:
    return Decision(
        "K-1", Outcome.APPROVED, "Done", Person.from_jira(author), datetime(2026, 1, 1, tzinfo=UTC)
    )


HIDDEN_OWNER = {"accountId": "acc-own", "displayName": "Olga Owner"}  # Cloud: email hidden


def _rules(**kwargs: Any) -> GateRules:
    kwargs.setdefault("kind", "PIA")
    return GateRules(**kwargs)


def test_the_owner_is_refused_by_account_even_when_jira_hides_their_email() -> None:
    rules = _rules(exclusions=(Exclusion(OWNER_ROLE, "owner@example.com", ("acc-own",)),))
    refusal = rules.refusal(_decision(HIDDEN_OWNER))
    assert refusal is not None and "is the owner (owner@example.com)" in refusal
    assert rules.refusal(_decision(REVIEWER)) is None


def test_requester_and_registrant_are_refused() -> None:
    rules = _rules(
        exclusions=(
            Exclusion(REQUESTER, "mlc-bot@example.com", ("acc-bot",)),
            Exclusion(REGISTRANT, "dana", ("acc-rev",), note="via approvals.identity_map"),
        )
    )
    assert "is the registrant (dana)" in (rules.refusal(_decision(REVIEWER)) or "")
    assert "is the requester" in (rules.refusal(_decision({"accountId": "acc-bot"})) or "")
    # A rejection by an excluded person does not count either.
    rejected = Decision("K-1", Outcome.REJECTED, "Rejected", Person.from_jira(REVIEWER), datetime.now(UTC))
    assert rules.refusal(rejected) is not None


def test_an_unresolved_exclusion_refuses_every_move_until_it_is_mapped() -> None:
    rules = _rules(exclusions=(Exclusion(REGISTRANT, "arn:aws:iam::1:user/x", (), False, "not mapped"),))
    refusal = rules.refusal(_decision(REVIEWER)) or ""
    assert "could not be matched to a Jira account" in refusal and "approvals.identity_map" in refusal
    # Mapped to no person: nobody to exclude, the move counts.
    assert (
        _rules(exclusions=(Exclusion(REGISTRANT, "pipeline-role", (), True),)).refusal(_decision(REVIEWER))
        is None
    )


def test_a_mover_without_an_account_never_counts() -> None:
    # An email alone (no accountId, no username) cannot be compared: refused.
    assert "does not name the Jira account" in (_rules().refusal(_decision({"emailAddress": "a@b.c"})) or "")
    assert "does not name the Jira account" in (_rules().refusal(_decision({})) or "")


def test_approver_groups_when_configured() -> None:
    rules = _rules(approver_groups=("model-risk",))
    assert "not a member of an approver group" in (rules.refusal(_decision(REVIEWER), ["jira-users"]) or "")
    assert rules.refusal(_decision(REVIEWER), ["jira-users", "Model-Risk"]) is None


def test_one_gate_per_person_when_the_policy_says_so() -> None:
    other = {"acc-rev": "PIA (MLC-1)"}
    high = _rules(kind="PRODUCTION", one_person_many_gates=False, other_gates=other, risk_level="High")
    assert "already approved the PIA (MLC-1) gate" in (high.refusal(_decision(REVIEWER)) or "")
    assert high.refusal(_decision({"accountId": "acc-other"})) is None
    low = _rules(kind="PRODUCTION", one_person_many_gates=True, other_gates=other, risk_level="Low")
    assert low.refusal(_decision(REVIEWER)) is None
    # Rejecting is always possible for a reviewer who approved another gate.
    rejected = Decision("K-1", Outcome.REJECTED, "Rejected", Person.from_jira(REVIEWER), datetime.now(UTC))
    assert high.refusal(rejected) is None


def test_failed_tests_block_justify_allow() -> None:
    failed = ("performance.auc",)
    block = _rules(
        kind="TEST_RESULTS_REVIEW", failed_tests=failed, failed_tests_action=BLOCK, risk_level="High"
    )
    assert "cannot pass this review until it is re-tested" in (block.refusal(_decision(REVIEWER)) or "")
    justify = _rules(kind="TEST_RESULTS_REVIEW", failed_tests=failed, failed_tests_action=JUSTIFY)
    assert justify.needs_justification
    assert "needs a justification" in (justify.refusal(_decision(REVIEWER)) or "")
    assert (
        justify.refusal(_decision(REVIEWER), justification="the AUC drop is within the noise of 2k rows")
        is None
    )
    allow = _rules(kind="TEST_RESULTS_REVIEW", failed_tests=failed, failed_tests_action=ALLOW)
    assert allow.refusal(_decision(REVIEWER)) is None
    # No failed test: nothing to block or justify.
    assert _rules(kind="TEST_RESULTS_REVIEW", failed_tests_action=BLOCK).refusal(_decision(REVIEWER)) is None


def test_justification_is_the_movers_comment_written_before_the_move() -> None:
    mover = Person.from_jira(REVIEWER)
    moved = datetime(2026, 1, 2, tzinfo=UTC)
    text = "Justification: the AUC drop comes from a labelling backlog, fixed next month."
    comments = [
        Comment(Person.from_jira(OWNER), datetime(2026, 1, 1, tzinfo=UTC), text),  # someone else
        Comment(mover, datetime(2026, 1, 1, tzinfo=UTC), "Justification: ok"),  # too short
        Comment(mover, datetime(2026, 1, 3, tzinfo=UTC), text),  # after the move
    ]
    assert justification_of(comments, mover, moved) is None
    comments.append(Comment(mover, datetime(2026, 1, 1, 12, tzinfo=UTC), text))
    assert justification_of(comments, mover, moved) == text.split(": ", 1)[1]


def test_people_are_compared_by_account_never_by_email() -> None:
    person = Person.from_jira({"name": "rreviewer", "key": "JIRAUSER10100", "displayName": "R"})
    assert person.account == "rreviewer" and person.matches("RReviewer") and not person.matches(None)
    cloud = Person.from_jira(REVIEWER)
    assert cloud.account == "acc-rev" and not cloud.matches("reviewer@example.com")


def test_exclusions_round_trip() -> None:
    exclusion = Exclusion(REGISTRANT, "dana", ("acc-1",), True, "via approvals.identity_map", ("arn:x",))
    assert Exclusion.from_dict(exclusion.to_dict()) == exclusion


def test_failed_gated_tests_ids() -> None:
    report = {
        "results": [
            {"test": "performance.auc", "status": "failed"},
            {"test": "bias.ppr_disparity", "status": "failed", "feature": "gender", "group": "f"},
            {"test": "drift.ks", "status": "passed", "feature": "age"},
        ]
    }
    assert failed_gated_tests(report) == ["bias.ppr_disparity/gender/f", "performance.auc"]
    assert failed_gated_tests(None) == []


# -- the approval service, with a fake Jira and a real (SQLite) inventory ---------------------------------


@dataclass
class FakeTicket:
    key: str
    url: str
    created: bool


class FakeJira:
    """Jira as the approval service sees it: users (by account and email), tickets, moves, comments."""

    def __init__(self) -> None:
        self.settings = type(
            "S", (), {"done_status": "Done", "rejected_status": "Rejected", "reopen_status": "To Do"}
        )()
        self.users = [
            Person("acc-rev", None, "reviewer@example.com", "Rita Reviewer"),
            Person("acc-own", None, None, "Olga Owner"),  # hides their email
            Person("acc-risk", None, "risk@example.com", "Ravi Risk"),
        ]
        self.groups = {"acc-rev": ["model-reviewers"], "acc-risk": ["model-reviewers"], "acc-own": []}
        self.status: dict[str, str] = {}
        self.decisions: dict[str, Decision] = {}
        self.comment_log: dict[str, list[Comment]] = {}
        self.moves: list[tuple[str, str]] = []
        self.created: list[str] = []
        self.attached: dict[str, list[tuple[str, str, str | None]]] = {}

    def create_ticket(self, *, marker: str, **_: Any) -> FakeTicket:
        key = f"MLC-{marker[-6:]}"
        created = key not in self.status
        self.status.setdefault(key, "To Do")
        return FakeTicket(key, f"https://jira/{key}", created)

    def move(self, key: str, status: str, who: str, at: datetime) -> None:
        person = next(p for p in self.users if p.account == who)
        self.status[key] = status
        outcome = Outcome.APPROVED if status == "Done" else Outcome.REJECTED
        self.decisions[key] = Decision(key, outcome, status, person, at)

    def decision(self, key: str) -> Decision | None:
        return self.decisions.get(key) if self.status.get(key) in ("Done", "Rejected") else None

    def status_of(self, key: str) -> str:
        return self.status[key]

    def comment(self, key: str, body: str, *, marker: str | None = None) -> None:
        log = self.comment_log.setdefault(key, [])
        if marker and any(marker in c.body for c in log):
            return
        log.append(Comment(Person("acc-bot"), datetime.now(UTC), f"{body} [{marker}]"))

    def comments(self, key: str) -> list[Comment]:
        return list(self.comment_log.get(key, []))

    def transition(self, key: str, to_status: str) -> None:
        self.status[key] = to_status
        self.moves.append((key, to_status))

    def user_groups(self, person: Person) -> list[str]:
        return self.groups.get(person.account or "", [])

    def find_users(self, identifier: str) -> list[Person]:
        if "@" in identifier:
            # Cloud-like: a prefix search that also finds users whose email is hidden.
            return [p for p in self.users if p.email is None or p.email.startswith(identifier)]
        return [p for p in self.users if p.account == identifier]

    def browse_url(self, key: str) -> str:
        return f"https://jira/browse/{key}"

    def myself(self) -> Person:
        return Person("acc-bot", None, None, "MLC Bot")

    def attachment_digests(self, key: str) -> list[tuple[str, str, str | None]]:
        return list(self.attached.get(key, []))


@pytest.fixture
def inventory(tmp_path: Path) -> Inventory:
    inventory = Inventory.from_url(f"sqlite:///{tmp_path / 'inventory.db'}", upgrade_schema=True)
    inventory.ensure_business_entity(
        name="retail", account_id="123456789012", region="us-east-1", aws_conn_id="a"
    )
    return inventory


def _model(inventory: Inventory, risk_level: str, name: str = "churn") -> int:
    use_case = inventory.create_use_case(
        business_entity="retail", name=name, risk_level=risk_level, owner="owner@example.com"
    )
    inventory.link_model_group(
        use_case_id=use_case.id,
        name=name,
        arn=f"arn:aws:sagemaker:us-east-1:123456789012:model-package-group/{name}",
    )
    model, _ = inventory.upsert_model(
        package_arn=f"arn:aws:sagemaker:us-east-1:123456789012:model-package/{name}/1",
        status="Development Complete",
        actor="sync",
        reason="onboarded",
    )
    return model.id


def _service(
    jira: FakeJira, inventory: Inventory, created_by: dict[str, Any] | None = None, **settings: Any
) -> ApprovalService:
    return ApprovalService(
        jira=jira,
        config=parse_config(settings),
        inventory=inventory,
        registrant_of=lambda model: created_by,
    )


def _request(kind: str, model_id: int, run: str = "r1") -> ApprovalRequest:
    return ApprovalRequest(kind=kind, dag_id="mlc", run_id=run, task_id=kind.lower(), model_id=model_id)


def _text() -> TicketText:
    return TicketText(summary="s", description="d", project_key="MLC")


def test_service_refuses_the_hidden_email_owner_and_records_the_verified_decision(
    inventory: Inventory,
) -> None:
    jira, model_id = FakeJira(), _model(inventory, "Low")
    service = _service(
        jira, inventory, {"UserProfileName": "dana"}, approvals={"identity_map": {"dana": "risk@example.com"}}
    )
    request = _request("PIA", model_id)
    ticket = service.open(request, _text())
    excluded = {e.role: e for e in ticket.exclusions}
    # The owner's email is hidden, so the search can only offer the hidden-email account: it is excluded.
    assert excluded["owner"].accounts == ("acc-own",) and excluded["registrant"].accounts == ("acc-risk",)
    jira.move(ticket.key, "Done", "acc-own", datetime(2026, 1, 1, tzinfo=UTC))
    assert service.verified_decision(request, ticket.key) is None
    assert jira.status[ticket.key] == "To Do" and "is the owner" in jira.comment_log[ticket.key][-1].body
    jira.move(ticket.key, "Done", "acc-risk", datetime(2026, 1, 2, tzinfo=UTC))
    assert service.verified_decision(request, ticket.key) is None, "the registrant may not approve"
    jira.move(ticket.key, "Done", "acc-rev", datetime(2026, 1, 3, tzinfo=UTC))
    decision = service.verified_decision(request, ticket.key)
    assert decision is not None and decision.decided_by.account == "acc-rev"
    approval = inventory.approval(ticket.key)
    assert approval is not None and approval.state == "APPROVED" and approval.decided_by_account == "acc-rev"
    assert [r["account"] for r in approval.refusals or []] == ["acc-own", "acc-risk"]
    # The governance connection's own account never decides either.
    assert excluded["governance automation"].accounts == ("acc-bot",)
    # The same refused move seen again (a retried task) is recorded once.
    assert inventory.record_approval_refusal(ticket.key, approval.refusals[0]) is False  # type: ignore[index]


def test_service_one_gate_per_person_for_high_but_not_low(inventory: Inventory) -> None:
    for level, allowed in (("High", False), ("Low", True)):
        jira, model_id = FakeJira(), _model(inventory, level, name=f"m-{level.lower()}")
        service = _service(jira, inventory, {})
        pia = service.open(_request("PIA", model_id), _text())
        jira.move(pia.key, "Done", "acc-rev", datetime(2026, 1, 1, tzinfo=UTC))
        assert service.verified_decision(_request("PIA", model_id), pia.key) is not None
        # The same gate in a second run of the version (a rerun) is not another gate.
        again = service.open(_request("PIA", model_id, run="r2"), _text())
        jira.move(again.key, "Done", "acc-rev", datetime(2026, 1, 1, 1, tzinfo=UTC))
        assert service.verified_decision(_request("PIA", model_id, run="r2"), again.key) is not None
        production = service.open(_request("PRODUCTION", model_id), _text())
        jira.move(production.key, "Done", "acc-rev", datetime(2026, 1, 2, tzinfo=UTC))
        decided = service.verified_decision(_request("PRODUCTION", model_id), production.key)
        assert (decided is not None) is allowed, level


def test_service_unmapped_registrant_refuses_until_mapped(inventory: Inventory) -> None:
    jira, model_id = FakeJira(), _model(inventory, "Low")
    created_by = {"IamIdentity": {"Arn": "arn:aws:sts::123456789012:assumed-role/Pipeline/run-7"}}
    service = _service(jira, inventory, created_by)
    request = _request("PIA", model_id)
    ticket = service.open(request, _text())
    assert any(
        "identities to map" in c.body or "cannot be checked yet" in c.body
        for c in jira.comment_log[ticket.key]
    )
    jira.move(ticket.key, "Done", "acc-rev", datetime(2026, 1, 1, tzinfo=UTC))
    assert service.verified_decision(request, ticket.key) is None
    # An operator maps the pipeline role (every session) to no person; the next move counts.
    mapped = _service(
        jira,
        inventory,
        created_by,
        approvals={"identity_map": {"arn:aws:sts::123456789012:assumed-role/Pipeline/*": None}},
    )
    jira.move(ticket.key, "Done", "acc-rev", datetime(2026, 1, 2, tzinfo=UTC))
    assert mapped.verified_decision(request, ticket.key) is not None
    (registrant,) = [e for e in (inventory.approval(ticket.key).excluded or []) if e["role"] == "registrant"]  # type: ignore[union-attr]
    assert registrant["resolved"] and registrant["accounts"] == []


def test_service_justify_records_the_justification(inventory: Inventory) -> None:
    jira, model_id = FakeJira(), _model(inventory, "Medium")
    run = inventory.start_risk_test_run(model_id, run_key="mlc/r1/run_risk_tests/attempt-1", snapshot_id=None)
    inventory.finish_risk_test_run(
        run.run_key,
        passed=False,
        report={"results": [{"test": "performance.auc", "status": "failed"}]},
        report_uri="s3://b/r.json",
    )
    service = _service(jira, inventory, {})
    request = _request("TEST_RESULTS_REVIEW", model_id)
    assert service.duties(request)["failed_tests"] == ["performance.auc"]
    ticket = service.open(request, _text())
    jira.move(ticket.key, "Done", "acc-rev", datetime(2026, 1, 2, tzinfo=UTC))
    assert service.verified_decision(request, ticket.key) is None
    assert "needs a justification" in jira.comment_log[ticket.key][-1].body
    text = "Justification: AUC 0.68 on a comparator of 2,000 rows; the next release retrains."
    jira.comment_log[ticket.key].append(Comment(jira.users[0], datetime(2026, 1, 3, tzinfo=UTC), text))
    jira.move(ticket.key, "Done", "acc-rev", datetime(2026, 1, 4, tzinfo=UTC))
    assert service.verified_decision(request, ticket.key) is not None
    approval = inventory.approval(ticket.key)
    assert approval is not None and approval.justification == text.split(": ", 1)[1]


def test_accounts_for_email_prefers_the_exact_visible_email() -> None:
    people = [
        Person("a1", None, "reviewer@example.com"),
        Person("a2", None, None),
        Person("a3", None, "reviewer@example.com.au"),
    ]
    assert accounts_for_email("Reviewer@example.com", people)[0] == ("a1",)
    assert accounts_for_email("owner@example.com", people[1:2])[0] == ("a2",)
    assert accounts_for_email("x@example.com", [Person("a3", None, "x@example.com.au")])[0] == ()


def test_registrant_identities_most_specific_first() -> None:
    created_by = {
        "UserProfileName": "dana",
        "UserProfileArn": "arn:aws:sagemaker:us-east-1:1:user-profile/d-1/dana",
        "IamIdentity": {"Arn": "arn:aws:sts::1:assumed-role/Studio/dana"},
    }
    assert registrant_identities(created_by) == [
        "dana",
        "arn:aws:sagemaker:us-east-1:1:user-profile/d-1/dana",
        "arn:aws:sts::1:assumed-role/Studio/dana",
    ]
    assert registrant_identities({}) == []


def test_policy_defaults_per_risk_level() -> None:
    approvals = parse_config({}).approvals
    assert (approvals.policy("High").one_person_many_gates, approvals.policy("High").failed_tests) == (
        False,
        "block",
    )
    assert (approvals.policy("Medium").one_person_many_gates, approvals.policy("Medium").failed_tests) == (
        True,
        "justify",
    )
    assert (approvals.policy("Low").one_person_many_gates, approvals.policy("Low").failed_tests) == (
        True,
        "allow",
    )
    custom = parse_config({"approvals": {"policies": {"Low": {"failed_tests": "block"}}}}).approvals
    assert custom.policy("Low").failed_tests == "block" and custom.policy("High").failed_tests == "block"
    with pytest.raises(ConfigurationError, match=r"approvals\.policies\.High\.failed_tests"):
        parse_config({"approvals": {"policies": {"High": {"failed_tests": "maybe"}}}})


def test_an_approval_counts_only_while_the_ticket_shows_the_documents_governance_attached(
    inventory: Inventory,
) -> None:
    """A document replaced, removed, or shadowed by another file of its name: the reviewer may have read
    something else, so the approval is refused (and the ticket moved back); a rejection still counts."""
    jira, model_id = FakeJira(), _model(inventory, "Low")
    service = _service(jira, inventory)
    real, forged = "a" * 64, "b" * 64
    request = replace(_request("PRODUCTION", model_id), documents=(("review.pdf", real),))
    ticket = service.open(request, _text())
    cases = [
        ([("review.pdf", forged, "acc-own")], "review.pdf (SHA-256 aaaaaaaaaaaa...) is no longer attached"),
        ([], "review.pdf (SHA-256 aaaaaaaaaaaa...) is no longer attached"),
        (
            [("review.pdf", real, "acc-bot"), ("review.pdf", forged, "acc-own")],
            "another file was attached under the name review.pdf",
        ),
    ]
    for day, (attached, why) in enumerate(cases, start=1):
        jira.attached[ticket.key] = attached
        jira.move(ticket.key, "Done", "acc-rev", datetime(2026, 1, day, tzinfo=UTC))
        assert service.verified_decision(request, ticket.key) is None, attached
        assert jira.status[ticket.key] == "To Do"
        assert why in jira.comment_log[ticket.key][-1].body
    approval = inventory.approval(ticket.key)
    assert approval is not None and approval.state != "APPROVED" and len(approval.refusals or []) == 3
    # Another file under another name (a reviewer's notes), or an earlier version governance itself
    # attached under the same name (a cleared run's), is no reason to refuse.
    jira.attached[ticket.key] = [
        ("review.pdf", forged, "acc-bot"),
        ("review.pdf", real, "acc-bot"),
        ("notes.txt", forged, "acc-rev"),
    ]
    jira.move(ticket.key, "Done", "acc-rev", datetime(2026, 1, 9, tzinfo=UTC))
    assert service.verified_decision(request, ticket.key) is not None
    # A rejection stands whatever the attachments show.
    other = replace(_request("PIA", model_id), documents=(("review.pdf", real),))
    rejected = service.open(other, _text())
    jira.move(rejected.key, "Rejected", "acc-rev", datetime(2026, 1, 10, tzinfo=UTC))
    assert service.verified_decision(other, rejected.key) is not None


def test_a_later_gate_waits_while_an_earlier_approval_of_its_run_is_withdrawn_in_jira(
    inventory: Inventory,
) -> None:
    jira, model_id = FakeJira(), _model(inventory, "Low")
    service = _service(jira, inventory)
    pia = _request("PIA", model_id)
    pia_ticket = service.open(pia, _text())
    jira.move(pia_ticket.key, "Done", "acc-rev", datetime(2026, 1, 1, tzinfo=UTC))
    assert service.verified_decision(pia, pia_ticket.key) is not None
    # The same gate of another run, approved then withdrawn, is not this run's business.
    old = _request("PIA", model_id, run="r0")
    old_ticket = service.open(old, _text())
    jira.move(old_ticket.key, "Done", "acc-rev", datetime(2026, 1, 1, tzinfo=UTC))
    assert service.verified_decision(old, old_ticket.key) is not None
    jira.move(old_ticket.key, "Rejected", "acc-risk", datetime(2026, 1, 2, tzinfo=UTC))

    production = _request("PRODUCTION", model_id)
    ticket = service.open(production, _text())
    jira.move(ticket.key, "Done", "acc-risk", datetime(2026, 1, 3, tzinfo=UTC))
    jira.move(pia_ticket.key, "Rejected", "acc-risk", datetime(2026, 1, 3, tzinfo=UTC))
    jira.status[ticket.key] = "Done"
    assert service.verified_decision(production, ticket.key) is None
    assert jira.status[ticket.key] == "To Do"
    said = jira.comment_log[ticket.key][-1].body
    assert f"the PIA approval {pia_ticket.key} given by reviewer@example.com no longer stands in Jira" in said
    assert "moved to Rejected by Ravi Risk (acc-risk)" in said
    # Moved back to Done by someone else than its verified approver: still withdrawn.
    for who, day, counts in (("acc-risk", 4, False), ("acc-rev", 5, True)):
        jira.move(pia_ticket.key, "Done", who, datetime(2026, 1, day, tzinfo=UTC))
        jira.move(ticket.key, "Done", "acc-risk", datetime(2026, 1, day, 1, tzinfo=UTC))
        assert (service.verified_decision(production, ticket.key) is not None) is counts, who
    approval = inventory.approval(ticket.key)
    assert approval is not None and approval.state == "APPROVED" and len(approval.refusals or []) == 2
