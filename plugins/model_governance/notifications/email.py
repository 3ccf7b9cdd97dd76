"""Operator notifications by email, through Airflow's SMTP provider and the configured recipients."""

from __future__ import annotations

import html
import logging

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
