"""No secret reaches a dashboard viewer: settings errors on the 503 page, manifests on the model page."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import text

from model_governance.exceptions import ConfigurationError
from tests.unit.ui.conftest import Dashboard

SECRET_URL = "postgresql+psycopg2://governance:Sup3r-s3cret@db.internal:5432/inventory"


def test_a_settings_error_page_does_not_show_the_url_password(
    dashboard: Dashboard, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken() -> None:
        raise ConfigurationError(f"Inventory database {SECRET_URL} refused the connection; check it.")

    monkeypatch.setattr(dashboard.services, "inventory", broken)
    for path in ("/", f"/models/{dashboard.seeded.failed_risk_model}"):
        response = dashboard.get(path)
        assert response.status_code == 503
        assert "Sup3r-s3cret" not in response.text
        assert "db.internal:5432/inventory" in response.text  # still says which server
    api = dashboard.post_metric({"model_package_arn": "x", "metric": "auc", "value": 1.0})
    assert "Sup3r-s3cret" not in api.text


def test_the_model_page_shows_the_manifest_without_secrets(dashboard: Dashboard) -> None:
    model_id = dashboard.seeded.failed_risk_model
    manifest = {
        "model_package_arn": "arn:aws:sagemaker:us-east-1:123456789012:model-package/g/1",
        "assets": [
            {
                "role": "BASELINE_DATA",
                "uri": "https://bucket.s3.amazonaws.com/b.csv?X-Amz-Signature=deadbeefcafe",
            }
        ],
        "environment": {"DB_PASSWORD": "hunter2hunter2", "DATABASE_URL": SECRET_URL},
    }
    with dashboard.inventory.engine.begin() as conn:
        conn.execute(
            text("UPDATE mg_snapshot SET manifest = :manifest WHERE model_id = :id"),
            {"manifest": json.dumps(manifest), "id": model_id},
        )
    html = dashboard.get(f"/models/{model_id}").text
    for secret in ("hunter2hunter2", "Sup3r-s3cret", "deadbeefcafe"):
        assert secret not in html
    assert "BASELINE_DATA" in html
