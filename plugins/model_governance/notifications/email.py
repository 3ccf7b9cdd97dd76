"""Operator notifications by email, through Airflow's SMTP provider and the configured recipients."""

from __future__ import annotations

import html
import logging
from typing import Any

from model_governance.config import GovernanceConfig, load_config

log = logging.getLogger(__name__)


def notify_operators(subject: str, body: str, *, config: GovernanceConfig | None = None) -> bool:
    """Email the configured operators; returns False (and logs why) when none are configured.

    ``body`` is plain text; it is escaped into the HTML mail so ticket text cannot inject markup.
    """
    settings = config or load_config()
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
    """``on_failure_callback`` for the MLC DAGs: tell the operators which step of which model failed.

    The seed's error handling: model not found, risk test suite configuration missing, a rejection, or any
    other exception is notified. The exception's message is ours (no secrets), the traceback stays in the
    task log the link points to.
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
