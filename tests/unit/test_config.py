from __future__ import annotations

import json
from pathlib import Path

import pytest

from model_governance.config import (
    ApprovalKind,
    GovernanceConfig,
    RiskLevel,
    default_inventory_url,
    inventory_url,
    load_config,
)
from model_governance.exceptions import ConfigurationError

GOOD = {
    "business_entities": [
        {
            "name": "retail-bank",
            "account_id": "123456789012",
            "region": "us-east-1",
            "aws_conn_id": "aws_retail",
            "sqs_queue_url": "http://127.0.0.1:5000/123456789012/mlc-events.fifo",
        },
        {"name": "insurance", "account_id": "210987654321", "region": "eu-west-1"},
    ],
    "jira": {
        "conn_id": "jira_mlc",
        "project_key": "MLC",
        "approver_groups": {"PRODUCTION": ["risk-committee"]},
    },
    "governance_bucket": "model-governance-artifacts",
    "inventory": {"url": "postgresql+psycopg2://gov@db/inventory"},
    "risk_thresholds": {"High": {"performance.auc": 0.8, "bias.ppr_disparity": [0.85, 1.15]}},
    "notifications": {"operators": ["mlops@example.com"]},
}


def test_full_settings_parse_typed() -> None:
    config = load_config(json.dumps(GOOD), environ={})
    assert isinstance(config, GovernanceConfig)
    assert config.business_entity("insurance").aws_conn_id == "aws_default"
    assert config.jira.approver_groups[ApprovalKind.PRODUCTION] == ["risk-committee"]
    assert config.risk_thresholds[RiskLevel.HIGH]["bias.ppr_disparity"] == (0.85, 1.15)
    assert config.jira.done_status == "Done" and config.jira.rejected_status == "Rejected"


def test_defaults_when_nothing_is_configured(tmp_path: Path) -> None:
    config = load_config("", environ={"AIRFLOW_HOME": str(tmp_path)})
    assert config.business_entities == []
    assert (
        inventory_url(config, {"AIRFLOW_HOME": str(tmp_path)}) == f"sqlite:///{tmp_path}/model_governance.db"
    )
    assert (
        default_inventory_url({"AIRFLOW_HOME": "/opt/airflow"})
        == "sqlite:////opt/airflow/model_governance.db"
    )


def test_environment_overrides_win_and_merge() -> None:
    env = {
        "MODEL_GOVERNANCE__JIRA__PROJECT_KEY": "GOV",
        "MODEL_GOVERNANCE__JIRA__POLL_INTERVAL_SECONDS": "30",
        "MODEL_GOVERNANCE__GOVERNANCE_BUCKET": "other-bucket",
    }
    config = load_config(json.dumps(GOOD), environ=env)
    assert config.jira.project_key == "GOV"
    assert config.jira.poll_interval_seconds == pytest.approx(30.0)
    assert config.jira.conn_id == "jira_mlc"  # untouched sibling survives the merge
    assert config.governance_bucket == "other-bucket"


def test_config_env_as_file(tmp_path: Path) -> None:
    path = tmp_path / "governance.json"
    path.write_text(json.dumps(GOOD), encoding="utf-8")
    config = load_config("", environ={"MODEL_GOVERNANCE_CONFIG": str(path)})
    assert config.governance_bucket == "model-governance-artifacts"


@pytest.mark.parametrize(
    ("patch", "named", "expected"),
    [
        (
            {"business_entities": [{"name": "x", "account_id": "12", "region": "us-east-1"}]},
            "business_entities.0.account_id",
            "12-digit",
        ),
        (
            {"business_entities": [{"name": "x", "account_id": "123456789012", "region": "US East"}]},
            "business_entities.0.region",
            "us-east-1",
        ),
        ({"jira": {"project_key": "mlc"}}, "jira.project_key", "upper-case Jira project key"),
        ({"governance_bucket": "Bad_Bucket"}, "governance_bucket", "S3 bucket name"),
        ({"inventory": {"url": "sqlite:///a.db", "conn_id": "x"}}, "inventory", "either url or conn_id"),
        ({"risk_thresholds": {"Extreme": {}}}, "risk_thresholds.Extreme", "High"),
        ({"risk_thresholds": {"High": {"AUC": 0.7}}}, "risk_thresholds", "performance.auc"),
        ({"risk_thresholds": {"High": {"bias.ppr_disparity": [1.2, 0.8]}}}, "risk_thresholds", "low <= high"),
        ({"notifications": {"operators": ["not-an-email"]}}, "notifications.operators", "name@example.com"),
        ({"jira": {"approver_groups": {"SIGNOFF": ["g"]}}}, "jira.approver_groups.SIGNOFF", "PIA"),
        ({"jira": {"projectkey": "MLC"}}, "jira.projectkey", "Extra inputs are not permitted"),
    ],
)
def test_bad_setting_is_named_with_expected_form(patch: dict, named: str, expected: str) -> None:
    with pytest.raises(ConfigurationError) as raised:
        load_config(json.dumps(patch), environ={})
    message = str(raised.value)
    assert named in message and expected in message, message


def test_duplicate_business_entities_rejected() -> None:
    entity = {"name": "a", "account_id": "123456789012", "region": "us-east-1"}
    with pytest.raises(ConfigurationError, match="repeated: a"):
        load_config(json.dumps({"business_entities": [entity, entity]}), environ={})


def test_unknown_business_entity_lists_the_known_ones() -> None:
    config = load_config(json.dumps(GOOD), environ={})
    with pytest.raises(ConfigurationError, match=r"'nope'.*retail-bank, insurance"):
        config.business_entity("nope")


@pytest.mark.parametrize("text", ["{not json", "[1, 2]", "/no/such/file.json"])
def test_unreadable_source_is_named(text: str) -> None:
    with pytest.raises(ConfigurationError, match="model_governance_config"):
        load_config(text, environ={})


def test_settings_are_immutable() -> None:
    config = load_config(json.dumps(GOOD), environ={})
    with pytest.raises(Exception, match="frozen"):
        config.jira.project_key = "X"  # type: ignore[misc]


def test_reads_the_airflow_variable(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    # Airflow's environment-variable secrets backend is the first place Variable.get looks.
    monkeypatch.setenv("AIRFLOW_HOME", str(tmp_path))
    monkeypatch.setenv(
        "AIRFLOW_VAR_MODEL_GOVERNANCE_CONFIG", json.dumps({"governance_bucket": "from-variable"})
    )
    monkeypatch.setenv("MODEL_GOVERNANCE__JIRA__PROJECT_KEY", "ENV")
    config = load_config()
    assert config.governance_bucket == "from-variable"
    assert config.jira.project_key == "ENV"
