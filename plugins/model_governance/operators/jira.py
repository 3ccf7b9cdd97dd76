"""Open an approval ticket in Jira (idempotently) and wait for its verified decision."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from functools import cached_property
from typing import TYPE_CHECKING, Any

from model_governance.exceptions import ConfigurationError, InvalidInputError
from model_governance.sensors.jira import JiraApprovalSensor

if TYPE_CHECKING:
    from airflow.sdk import Context

    from model_governance.services.approvals import ApprovalRequest


class JiraApprovalOperator(JiraApprovalSensor):
    """Open the approval ticket for this gate of this DAG run, then wait for a verified decision.

    The ticket carries a marker label derived from dag_id, run_id, task_id and approval kind, so a retried
    task, a cleared task or a rerun of the run finds its ticket instead of opening another. Links (Airflow
    run, SageMaker package, document) are added as remote links; files are attached once by name + SHA-256.
    Opening goes through the approval service, which also resolves who may not decide (owner, requester,
    registrant) to Jira accounts and records them with the request; the rendered ticket says who may
    decide and which risk-level policy applies. Everything else is ``JiraApprovalSensor``: deferred wait,
    verified decision, inventory record.

    :param summary: / :param description: the ticket text (templated). ``description`` is wiki markup for
        Data Center or a string or ADF document for Cloud. Left out, both are rendered from the ticket
        template of the approval kind (``templates/jira/<kind>.j2``) with what the inventory holds about
        ``use_case_id`` / ``model_id``, in the connection's flavour.
    :param links: title -> URL to add as remote links (templated).
    :param attachments: filename -> bytes to attach.
    :param attachment_uris: filename -> ``s3://`` URI of a file to attach (templated), read with
        ``aws_conn_id`` (default: the connection of the model's business entity).
    """

    template_fields: Sequence[str] = (
        "issue_key",
        "model_owner",
        "requester",
        "model_id",
        "use_case_id",
        "summary",
        "description",
        "links",
        "attachment_uris",
    )

    def __init__(
        self,
        *,
        summary: str | None = None,
        description: Any = None,
        issue_type: str | None = None,
        labels: Sequence[str] = (),
        links: Mapping[str, str] | None = None,
        attachments: Mapping[str, bytes] | None = None,
        attachment_uris: Mapping[str, str] | str | None = None,
        aws_conn_id: str | None = None,
        check_project: bool = True,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.summary = summary
        self.description = description
        self.issue_type = issue_type
        self.labels = labels
        self.links = links
        self.attachments = attachments
        self.attachment_uris = attachment_uris
        self.aws_conn_id = aws_conn_id
        self.check_project = check_project

    def execute(self, context: Context) -> Any:
        from model_governance.services.approvals import TicketText

        project = self.project_key or self.hook.settings.project_key or _configured_project(self)
        if self.check_project:
            self.hook.check_project(project)
        ti = context["ti"]
        request = self.approval_request(context)
        summary, description = self._ticket_text(request)
        ticket = self.approvals.open(
            request,
            TicketText(
                summary=summary,
                description=description,
                project_key=project,
                issue_type=self.issue_type or self.config.jira.issue_type,
                labels=(
                    "model-governance",
                    f"approval-{self.approval_kind.lower().replace('_', '-')}",
                    *self.labels,
                ),
            ),
        )
        self.log.info("Approval ticket %s %s", ticket.url, "opened" if ticket.created else "found")
        for title, url in sorted((self.links or {}).items()):
            self.hook.add_remote_link(ticket.key, url=url, title=title)
        for filename, content in sorted(self.governed_files.items()):
            self.hook.attach(ticket.key, filename=filename, content=content)
        ti.xcom_push(key="issue_key", value=ticket.key)
        ti.xcom_push(key="issue_url", value=ticket.url)
        self.issue_key = ticket.key
        self.project_key = project
        return super().execute(context)

    def _ticket_text(self, request: ApprovalRequest) -> tuple[str, Any]:
        if self.summary is not None and self.description is not None:
            return self.summary, self.description
        from dataclasses import replace

        from model_governance.documents.context import Links
        from model_governance.documents.tickets import render_ticket
        from model_governance.ticket_context import ticket_context

        links = dict(self.links or {})
        duties = self.approvals.duties(request)
        ctx = ticket_context(
            self.inventory,
            kind=self.approval_kind,
            use_case_id=request.use_case_id,
            model_id=request.model_id,
            requested_by=self.requester,
            approvers=duties["approver_groups"],
            links=Links(
                airflow_run=links.get("Airflow run"), model_package=links.get("SageMaker model package")
            ),
        )
        # Who may decide and what the risk level's policy does: the ticket says which rules apply.
        ctx = replace(ctx, extra={**ctx.extra, "duties": duties})
        rendered = render_ticket(
            ctx, flavor=self.hook.settings.flavor, templates_dir=self.config.templates_dir
        )
        return self.summary or rendered.summary, self.description or rendered.description

    def approval_request(self, context: Context) -> ApprovalRequest:
        """The sensor's request with the files attached: an approval counts only while they are unchanged."""
        from dataclasses import replace

        request = super().approval_request(context)
        digests = {name: hashlib.sha256(content).hexdigest() for name, content in self.governed_files.items()}
        return replace(request, documents=tuple(sorted(digests.items())))

    @cached_property
    def governed_files(self) -> dict[str, bytes]:
        """File name -> bytes governance attaches: ``attachments``, and ``attachment_uris`` read from S3."""
        files = dict(self.attachments or {})
        if not self.attachment_uris:
            return files
        if not isinstance(self.attachment_uris, Mapping):
            raise InvalidInputError(
                f"attachment_uris of task {self.task_id!r} is a {type(self.attachment_uris).__name__}; "
                "it must be a mapping of file name to s3:// URI (use render_template_as_native_obj)."
            )
        from model_governance.snapshots import parse_s3_uri

        if self.aws_conn_id is None and self.model_id:
            entity = self.connections.of_model(int(self.model_id))
        else:  # the connection given (None: boto3's own credentials, as the Amazon provider takes them)
            entity = self.connections.connection(self.aws_conn_id)
        for filename, uri in self.attachment_uris.items():
            location = parse_s3_uri(uri, what=f"Attachment {filename!r} of task {self.task_id!r}")
            files[filename] = entity.evidence(location.bucket).read(location.key, what="The attachment")
        return files


def _configured_project(task: JiraApprovalOperator) -> str:
    project = task.config.jira.project_key
    if not project:
        raise ConfigurationError(
            f"No Jira project for task {task.task_id!r}: pass project_key, set it in the Jira "
            "connection's extras, or in the settings (jira.project_key)."
        )
    return str(project)
