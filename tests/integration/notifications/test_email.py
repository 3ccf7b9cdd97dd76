"""Operator notifications go out through Airflow's SMTP provider; the sink shows what was sent."""

from __future__ import annotations

import json

import pytest

from model_governance.config import load_config
from model_governance.notifications.email import notify_operators
from sandbox.smtp.pytest_fixtures import SmtpSink


def test_operators_get_the_mail_escaped(smtp_sink: SmtpSink, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(
        "AIRFLOW_CONN_SMTP_SINK",
        json.dumps(
            {
                "conn_type": "smtp",
                "host": smtp_sink.host,
                "port": smtp_sink.port,
                "extra": {"disable_tls": True, "disable_ssl": True},
            }
        ),
    )
    config = load_config(
        json.dumps({"notifications": {"smtp_conn_id": "smtp_sink", "operators": ["mlops@example.com"]}}),
        environ={},
    )
    assert notify_operators(
        "Approval MLC-1 refused", "<script>alert(1)</script> moved by owner", config=config
    )
    [message] = smtp_sink.wait_for(1)
    assert message["To"] == "mlops@example.com"
    assert message["Subject"] == "[model governance] Approval MLC-1 refused"
    body = next(
        part.get_payload(decode=True).decode()
        for part in message.walk()
        if part.get_content_type() == "text/html"
    )
    assert "&lt;script&gt;" in body and "<script>" not in body


def test_no_recipients_is_logged_not_sent(smtp_sink: SmtpSink) -> None:
    config = load_config("{}", environ={})
    assert notify_operators("nobody listens", "body", config=config) is False
    assert smtp_sink.messages() == []
