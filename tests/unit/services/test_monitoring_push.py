"""A pushed monitoring value and its finding are one inventory transaction (SQLite): a failure while
recording the finding stores no value, so the pusher's retry stores it once and the finding counts it once;
the push API answers 500 for such a failure and the retry 201."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from model_governance.inventory import Inventory
from model_governance.inventory.models import Metric, MonitoringFinding
from model_governance.inventory.monitoring import Monitoring
from model_governance.ui.app import URL_PREFIX, create_app
from model_governance.ui.monitoring import parse_metric_push, record_push
from tests.unit.ui.conftest import FakeServices

ARN = "arn:aws:sagemaker:eu-west-1:123456789012:model-package/churn/1"
AT = datetime.now(UTC) - timedelta(hours=1)


@pytest.fixture
def inventory(tmp_path: Path) -> Inventory:
    inventory = Inventory.from_url(f"sqlite:///{tmp_path / 'inventory.db'}", upgrade_schema=True)
    inventory.ensure_business_entity(
        name="retail", account_id="123456789012", region="eu-west-1", aws_conn_id="aws_retail"
    )
    use_case = inventory.create_use_case(
        business_entity="retail", name="churn", risk_level="High", owner="owner@example.com"
    )
    inventory.link_model_group(
        use_case_id=use_case.id,
        name="churn",
        arn="arn:aws:sagemaker:eu-west-1:123456789012:model-package-group/churn",
    )
    inventory.upsert_model(package_arn=ARN, status="Deployed", actor="test", reason="t")
    return inventory


def _push(value: float, minutes: int = 0) -> dict[str, Any]:
    return {
        "model_package_arn": ARN,
        "metric": "auc",
        "value": value,
        "recorded_at": (AT + timedelta(minutes=minutes)).isoformat(),
        "source": "model-monitor",
        "threshold": 0.75,
        "direction": "higher_is_better",
    }


def _counts(inventory: Inventory) -> tuple[int, list[tuple[str, int]]]:
    with Session(inventory.engine) as session:
        metrics = session.scalar(select(func.count()).select_from(Metric)) or 0
        findings = [(f.state, f.breaches) for f in session.scalars(select(MonitoringFinding))]
    return metrics, findings


def _fail_once(monkeypatch: pytest.MonkeyPatch, name: str) -> list[int]:
    calls: list[int] = []
    original = getattr(Monitoring, name)

    def failing(*args: Any, **kwargs: Any) -> Any:
        calls.append(1)
        if len(calls) == 1:
            raise RuntimeError("the connection dropped while recording the finding")
        return original(*args, **kwargs)

    monkeypatch.setattr(Monitoring, name, staticmethod(failing))
    return calls


@pytest.mark.parametrize("step", ["_breach", "_clear"])
def test_a_failed_finding_stores_no_value_and_the_retry_stores_it_once(
    inventory: Inventory, monkeypatch: pytest.MonkeyPatch, step: str
) -> None:
    if step == "_clear":
        record_push(inventory, parse_metric_push(_push(0.7)))  # an open finding to clear
    before = _counts(inventory)
    value = 0.6 if step == "_breach" else 0.9
    _fail_once(monkeypatch, step)
    with pytest.raises(RuntimeError, match="connection dropped"):
        record_push(inventory, parse_metric_push(_push(value, 1)))
    assert _counts(inventory) == before, "nothing stored: neither the value nor the finding"

    metric, evaluation = record_push(inventory, parse_metric_push(_push(value, 1)))
    assert metric.passed is (step == "_clear")
    metrics, findings = _counts(inventory)
    assert metrics == before[0] + 1
    if step == "_breach":
        assert findings == [("open", 1)] and evaluation.opened
    else:
        assert findings == [("closed", 1)] and evaluation.cleared


def test_the_push_api_answers_500_and_the_retry_counts_once(
    inventory: Inventory, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = FastAPI()
    root.mount(URL_PREFIX, create_app(FakeServices(inventory)))  # type: ignore[arg-type]
    headers = {"x-test-user": "monitor-bot"}
    with TestClient(root, follow_redirects=False, raise_server_exceptions=False) as client:
        first = client.post(f"{URL_PREFIX}/api/v1/metrics", json=_push(0.7), headers=headers)
        assert first.status_code == 201, first.text
        _fail_once(monkeypatch, "_breach")
        failed = client.post(f"{URL_PREFIX}/api/v1/metrics", json=_push(0.6, 1), headers=headers)
        assert failed.status_code == 500
        retried = client.post(f"{URL_PREFIX}/api/v1/metrics", json=_push(0.6, 1), headers=headers)
        assert retried.status_code == 201, retried.text
    assert retried.json()["finding"]["finding_id"] == first.json()["finding"]["finding_id"]
    assert _counts(inventory) == (2, [("open", 2)]), "two values, each counted once"


def test_concurrent_first_breaches_open_one_finding(inventory: Inventory) -> None:
    """The loser of the open-key race updates the winner's row in the same transaction as its value."""
    import threading

    barrier = threading.Barrier(4)
    errors: list[BaseException] = []

    def push(i: int) -> None:
        try:
            barrier.wait()
            record_push(inventory, parse_metric_push(_push(0.5 + i / 100, i)))
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=push, args=(i,)) for i in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert _counts(inventory) == (4, [("open", 4)])
