"""Migrations only at init: opening the inventory checks the schema revision, ``model-governance db
upgrade`` migrates it. On SQLite and PostgreSQL (``inventory_url``)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import inspect, text
from sqlalchemy.engine import make_url

from model_governance.exceptions import ConfigurationError
from model_governance.inventory import Inventory, make_engine, migrate
from model_governance.inventory.cli import main
from model_governance.inventory.db import VERSION_TABLE, head_revision, schema_revision

#: This package's newest revision (migrations are added over time; 0007 stays behind it).
HEAD = head_revision()

UPGRADE = "run `model-governance db upgrade` (airflow-init does it)"


def _tables(url: str) -> set[str]:
    engine = make_engine(url)
    try:
        return set(inspect(engine).get_table_names())
    finally:
        engine.dispose()


def test_an_empty_database_is_refused_naming_the_command(inventory_url: str) -> None:
    shown = make_url(inventory_url).render_as_string(hide_password=True)
    with pytest.raises(ConfigurationError) as refused:
        Inventory.from_url(inventory_url)
    assert str(refused.value) == (
        f"The governance inventory at {shown} has no schema (an empty database), this package needs "
        f"revision {head_revision()}: {UPGRADE}."
    )
    assert _tables(inventory_url) == set(), "opening never migrates"


def test_a_database_behind_is_refused_then_upgraded_by_the_command(
    inventory_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    engine = make_engine(inventory_url)
    migrate(engine, "0007")
    engine.dispose()
    with pytest.raises(
        ConfigurationError, match=rf"is at revision 0007, this package needs {HEAD}: run `model-gov"
    ):
        Inventory.from_url(inventory_url)
    assert main(["db", "check", "--url", inventory_url]) == 1
    assert f"is at revision 0007, this package needs {HEAD}" in capsys.readouterr().err

    assert main(["db", "upgrade", "--url", inventory_url]) == 0
    assert f"upgraded from 0007 to revision {HEAD}" in capsys.readouterr().out
    assert main(["db", "upgrade", "--url", inventory_url]) == 0
    assert f"already at revision {HEAD}" in capsys.readouterr().out
    assert main(["db", "check", "--url", inventory_url]) == 0
    inventory = Inventory.from_url(inventory_url)
    inventory.ensure_business_entity(
        name="retail", account_id="123456789012", region="us-east-1", aws_conn_id="a"
    )


def test_upgrade_from_empty_and_check(inventory_url: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["db", "check", "--url", inventory_url]) == 1
    assert "has no schema (an empty database)" in capsys.readouterr().err
    assert main(["db", "upgrade", "--url", inventory_url]) == 0
    assert f"upgraded from an empty database to revision {head_revision()}" in capsys.readouterr().out
    assert {VERSION_TABLE, "mg_model", "mg_approval", "mg_audit_link"} <= _tables(inventory_url)
    assert schema_revision(make_engine(inventory_url)) == head_revision()


def test_a_revision_from_a_newer_release_says_so(inventory_url: str) -> None:
    engine = make_engine(inventory_url)
    migrate(engine)
    with engine.begin() as conn:
        conn.execute(text(f"UPDATE {VERSION_TABLE} SET version_num = '0099'"))
    engine.dispose()
    with pytest.raises(ConfigurationError, match=r"at revision 0099, which this package does not know"):
        Inventory.from_url(inventory_url)


def test_the_message_hides_the_password(inventory_url: str) -> None:
    url = make_url(inventory_url)
    if url.get_backend_name() != "postgresql":
        pytest.skip("a SQLite URL has no password")
    with_password = url.set(password="not-shown-0123").render_as_string(hide_password=False)
    with pytest.raises(ConfigurationError) as refused:
        Inventory.from_url(with_password)  # the local server trusts, so the password is not checked
    assert "not-shown-0123" not in str(refused.value)
    assert f"@{url.host}:{url.port}/{url.database} has no schema" in str(refused.value)


def test_tasks_check_and_never_migrate(inventory_url: str) -> None:
    """The hook every operator and sensor opens the inventory with refuses an empty database."""
    from model_governance.config import load_config
    from model_governance.hooks.inventory import GovernanceInventoryHook

    config = load_config(json.dumps({"inventory": {"url": inventory_url}}), environ={})
    with pytest.raises(ConfigurationError, match=r"has no schema .* run `model-governance db upgrade`"):
        GovernanceInventoryHook(config).get_conn()
    assert _tables(inventory_url) == set()
    migrate(make_engine(inventory_url))
    assert GovernanceInventoryHook(config).get_conn().list_models() == []


def test_the_module_command_finds_the_inventory_in_the_settings(tmp_path: Path) -> None:
    """``python -m model_governance.inventory upgrade`` as AirflowCluster.start runs it: the URL from
    MODEL_GOVERNANCE_CONFIG, else SQLite under AIRFLOW_HOME."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AIRFLOW", "MODEL_GOVERNANCE"))}
    configured = f"sqlite:///{tmp_path / 'configured.db'}"

    def upgrade(**extra: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "model_governance.inventory", "upgrade"],
            env={**env, "AIRFLOW_HOME": str(tmp_path / "home"), **extra},
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )

    done = upgrade(MODEL_GOVERNANCE_CONFIG=json.dumps({"inventory": {"url": configured}}))
    assert done.returncode == 0, done.stderr
    assert f"inventory at {configured} upgraded from an empty database" in done.stdout
    (tmp_path / "home").mkdir()
    done = upgrade()
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "home" / "model_governance.db").is_file()
    Inventory.from_url(configured)


def test_the_sandbox_cluster_upgrades_the_inventory_its_settings_name(tmp_path: Path) -> None:
    """``AirflowCluster.start`` (make demo, the e2e tier) runs the upgrade as airflow-init would, for the
    inventory in its environment (here without starting Airflow)."""
    from sandbox.airflow_cluster import AirflowCluster

    url = f"sqlite:///{tmp_path / 'demo-inventory.db'}"
    cluster = AirflowCluster(
        home=tmp_path / "airflow",
        overrides={"MODEL_GOVERNANCE_CONFIG": json.dumps({"inventory": {"url": url}})},
    )
    cluster.upgrade_inventory()
    assert Inventory.from_url(url).list_models() == []
