"""Operator notifications by email, through Airflow's SMTP provider and the configured recipients."""

from __future__ import annotations

import html
from typing import TYPE_CHECKING, Any

from model_governance.redaction import get_logger

if TYPE_CHECKING:
    from model_governance.config import GovernanceConfig

log = get_logger(__name__)


def _settings(config: GovernanceConfig | None) -> GovernanceConfig:
    # Imported when needed: every DAG file imports this module for its failure callback.
    from model_governance.config import load_config

    return config or load_config()


def notify_operators(subject: str, body: str, *, config: GovernanceConfig | None = None) -> bool:
    """Email the configured operators; returns False (and logs why) when none are configured.

    ``body`` is plain text; it is escaped into the HTML mail so ticket text cannot inject markup.
    """
    settings = _settings(config)
    recipients = settings.notifications.operators
    if not recipients:
        log.warning("No operator recipients configured (notifications.operators); not sent: %s", subject)
        return False
    from airflow.providers.smtp.hooks.smtp import SmtpHook

    with SmtpHook(smtp_conn_id=settings.notifications.smtp_conn_id) as smtp:
        smtp.send_email_smtp(
            to=recipients,
            subject=f"[model governance] {subject}",
            html_content=f"<pre>{html.escape(body)}</pre>",
            from_email=settings.notifications.from_email,
        )
    return True


def notify_task_failure(context: Any) -> None:
    """``on_failure_callback`` for the MLC DAGs: tell the operators which step of which model failed, and
    say so on the model's open approval tickets, where the reviewers are looking.

    The seed's error handling: model not found, risk test suite configuration missing, a rejection, or any
    other exception is notified. The exception's message is ours (no secrets), the traceback stays in the
    task log.
    """
    ti = context.get("ti")
    exception = context.get("exception")
    dag_id, run_id, task_id = (
        getattr(ti, "dag_id", "?"),
        getattr(ti, "run_id", "?"),
        getattr(ti, "task_id", "?"),
    )
    body = f"DAG {dag_id}, run {run_id}, task {task_id} failed:\n{type(exception).__name__}: {exception}"
    try:
        notify_operators(f"{dag_id}.{task_id} failed", body)
    except Exception:
        log.exception("Could not notify operators of the failure of %s.%s", dag_id, task_id)
    try:
        comment_on_open_tickets(ti, body)
    except Exception:
        log.exception("Could not comment the failure of %s.%s on its Jira tickets", dag_id, task_id)


def comment_on_open_tickets(ti: Any, body: str, *, config: GovernanceConfig | None = None) -> list[str]:
    """Comment ``body`` once on each open approval ticket of the run's model; returns the ticket keys."""
    onboarded = ti.xcom_pull(task_ids="onboard_model") if ti is not None else None
    if not isinstance(onboarded, dict) or "model_id" not in onboarded:
        return []
    from model_governance.hooks.inventory import GovernanceInventoryHook
    from model_governance.hooks.jira import JiraHook

    settings = _settings(config)
    inventory = GovernanceInventoryHook(settings).get_conn()
    keys = [a.jira_key for a in inventory.approvals(model_id=int(onboarded["model_id"])) if a.state == "OPEN"]
    if keys:
        jira = JiraHook(settings.jira.conn_id)
        for key in keys:
            jira.comment(key, body, marker=f"mg-failure-{ti.dag_id}-{ti.run_id}-{ti.task_id}-{ti.try_number}")
    return keys
