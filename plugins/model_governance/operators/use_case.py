"""Use case registration: record the use case, create its SageMaker model package group, tell the team.

Each operator is safe to retry and to re-run: the use case is found again by name and owner, the group by
name, the email is sent once per DAG run (a marker file of the run in the inventory's record would be
overkill; the model group link is the proof it was sent).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from model_governance.exceptions import InvalidInputError
from model_governance.operators.base import GovernanceBaseOperator

if TYPE_CHECKING:
    from airflow.sdk import Context

    from model_governance.config import GovernanceConfig
    from model_governance.inventory import UseCase

_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
MODEL_TYPES = ("SAGEMAKER",)


def model_group_name(use_case_id: int, use_case_name: str) -> str:
    """The SageMaker model package group of a use case: ``uc-<id>-<slug>``, within AWS's name pattern."""
    slug = re.sub(r"[^a-zA-Z0-9]+", "-", use_case_name).strip("-").lower() or "use-case"
    return f"uc-{use_case_id}-{slug}"[:63].rstrip("-")


class RecordUseCaseOperator(GovernanceBaseOperator):
    """Validate the registration form and record the use case as Proposed; returns its id and name.

    :param use_case: the form: name, description, business_entity, risk_level, owner,
        data_science_email, model_type (templated; usually ``{{ params }}``).
    :param requested_by: who asked (templated; the triggering user where Airflow knows it).
    """

    template_fields: Sequence[str] = ("use_case", "requested_by")

    def __init__(
        self, *, use_case: dict[str, Any] | str, requested_by: str | None = None, **kwargs: Any
    ) -> None:
        super().__init__(**kwargs)
        self.use_case = use_case
        self.requested_by = requested_by

    def execute(self, context: Context) -> dict[str, Any]:
        form = self._validated(self.use_case)
        entity = self.config.business_entity(form["business_entity"])
        self.record_business_entity(entity)
        record = self.inventory.create_use_case(
            business_entity=entity.name,
            name=form["name"],
            description=form["description"],
            risk_level=form["risk_level"],
            owner=form["owner"],
            data_science_email=form["data_science_email"],
            model_type=form["model_type"],
            requested_by=self.requested_by or form["owner"],
            exist_ok=True,
        )
        self.log.info("Use case %s (id %s) recorded as %s", record.name, record.id, record.status)
        return {"use_case_id": record.id, "name": record.name, "owner": record.owner, "status": record.status}

    @staticmethod
    def _validated(raw: dict[str, Any] | str) -> dict[str, str]:
        from model_governance.config import RiskLevel

        if not isinstance(raw, dict):
            raise InvalidInputError(
                f"The use case form must be a mapping of fields, got {type(raw).__name__}."
            )
        problems = []
        form = {
            key: str(raw.get(key) or "").strip()
            for key in (
                "name",
                "description",
                "business_entity",
                "risk_level",
                "owner",
                "data_science_email",
                "model_type",
            )
        }
        form["model_type"] = (form["model_type"] or "SAGEMAKER").upper()
        for key in ("name", "business_entity", "owner", "data_science_email"):
            if not form[key]:
                problems.append(f"{key} is required")
        if form["risk_level"] not in {level.value for level in RiskLevel}:
            problems.append(f"risk_level {form['risk_level']!r} must be High, Medium or Low")
        for key in ("owner", "data_science_email"):
            if form[key] and not _EMAIL.match(form[key]):
                problems.append(f"{key} {form[key]!r} must be an email address like name@example.com")
        if form["model_type"] not in MODEL_TYPES:
            problems.append(
                f"model_type {form['model_type']!r} is not supported (use {', '.join(MODEL_TYPES)})"
            )
        if len(form["name"]) > 200:
            problems.append("name must be at most 200 characters")
        if problems:
            raise InvalidInputError("The use case registration form is invalid: " + "; ".join(problems) + ".")
        return form


class CreateModelGroupOperator(GovernanceBaseOperator):
    """Create the use case's SageMaker model package group (or find it), link it, approve the use case."""

    template_fields: Sequence[str] = ("use_case_id",)

    def __init__(self, *, use_case_id: int | str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.use_case_id = use_case_id

    def execute(self, context: Context) -> dict[str, Any]:
        from model_governance.inventory import UseCaseStatus
        from model_governance.registry import MetadataKey

        use_case = self.inventory.get_use_case(int(self.use_case_id))
        entity = self.connections.entity(use_case.business_entity.name)
        name = model_group_name(use_case.id, use_case.name)
        arn, created = entity.registry.ensure_model_package_group(
            name,
            description=f"Governed model group of use case {use_case.name!r} (id {use_case.id}).",
            tags={
                MetadataKey.USE_CASE_ID: str(use_case.id),
                MetadataKey.BUSINESS_ENTITY: entity.name,
                MetadataKey.RISK_LEVEL: use_case.risk_level,
            },
        )
        group = self.inventory.link_model_group(use_case_id=use_case.id, name=name, arn=arn)
        self.inventory.set_use_case_status(use_case.id, UseCaseStatus.APPROVED)
        self.log.info("Model package group %s %s", arn, "created" if created else "already existed")
        return {
            "use_case_id": use_case.id,
            "model_group": group.name,
            "model_group_arn": arn,
            "created": created,
        }


class RecordUseCaseRejectionOperator(GovernanceBaseOperator):
    """Record a rejected use case and tell the requester who rejected it and where."""

    template_fields: Sequence[str] = ("use_case_id", "decision")

    def __init__(self, *, use_case_id: int | str, decision: dict[str, Any] | str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.use_case_id = use_case_id
        self.decision = decision

    def execute(self, context: Context) -> dict[str, Any]:
        from model_governance.inventory import UseCaseStatus

        use_case = self.inventory.set_use_case_status(int(self.use_case_id), UseCaseStatus.REJECTED)
        decision = self.decision if isinstance(self.decision, dict) else {}
        who = (decision.get("decided_by") or {}).get("display_name") or "a reviewer"
        body = (
            f"Use case {use_case.name!r} was rejected by {who} in {decision.get('issue_key', 'Jira')} "
            f"at {decision.get('decided_at', 'an unknown time')}. No model group was created."
        )
        _send_mail(
            self.config, [use_case.requested_by or use_case.owner], f"Use case {use_case.name} rejected", body
        )
        return {"use_case_id": use_case.id, "status": use_case.status}


class EmailModelGroupCreatedOperator(GovernanceBaseOperator):
    """Email the data science team the group name and how to register a governed model version."""

    template_fields: Sequence[str] = ("use_case_id",)

    def __init__(self, *, use_case_id: int | str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.use_case_id = use_case_id

    def execute(self, context: Context) -> dict[str, Any]:
        from model_governance.documents.context import Links
        from model_governance.documents.tickets import render_email
        from model_governance.ticket_context import ticket_context

        use_case: UseCase = self.inventory.get_use_case(int(self.use_case_id))
        group = self.inventory.model_group_of_use_case(use_case.id)
        if group is None:
            raise InvalidInputError(f"Use case {use_case.name!r} has no model group yet; create it first.")
        ctx = ticket_context(self.inventory, kind="USE_CASE", use_case_id=use_case.id, links=Links())
        mail = render_email(_with_group(ctx, group.name, group.arn))
        recipients = [use_case.data_science_email or use_case.owner]
        _send_mail(self.config, recipients, mail.subject, mail.text, html=mail.html)
        return {"to": recipients, "subject": mail.subject}


def _with_group(ctx: Any, name: str, arn: str) -> Any:
    from dataclasses import replace

    return replace(ctx, model_group_name=name, model_group_arn=arn)


def _send_mail(
    config: GovernanceConfig, to: list[str], subject: str, text: str, *, html: str | None = None
) -> None:
    import html as html_lib

    from airflow.providers.smtp.hooks.smtp import SmtpHook

    with SmtpHook(smtp_conn_id=config.notifications.smtp_conn_id) as smtp:
        smtp.send_email_smtp(
            to=to,
            subject=subject,
            html_content=html or f"<pre>{html_lib.escape(text)}</pre>",
            from_email=config.notifications.from_email,
        )
