"""The governance inventory's database connection, resolved from the deployment settings at run time."""

from __future__ import annotations

from functools import cached_property

from airflow.sdk import BaseHook

from model_governance.config import GovernanceConfig, inventory_url, load_config
from model_governance.inventory import Inventory
from model_governance.inventory.audit import AUDIT_CONN_ID, AuditKeyring
from model_governance.services.evidence import S3AnchorStore, keyring_from_connection


class GovernanceInventoryHook(BaseHook):
    """Open the inventory (SQLite under AIRFLOW_HOME by default, or the configured URL / connection).

    One engine per URL per process (``inventory.db.shared_engine``), so a sensor resuming many times, or
    many tasks in one worker, reuse one connection pool. Tasks never migrate the schema: a database behind
    this package's revision, or empty, fails with a ConfigurationError naming ``model-governance db
    upgrade``, which airflow-init runs.
    """

    hook_name = "Model governance inventory"

    def __init__(self, config: GovernanceConfig | None = None) -> None:
        super().__init__()
        self._config = config

    @cached_property
    def config(self) -> GovernanceConfig:
        return self._config or load_config()

    def get_conn(self) -> Inventory:
        return self._inventory

    @cached_property
    def _inventory(self) -> Inventory:
        keyring = self.audit_keyring()
        return Inventory.from_url(inventory_url(self.config), audit_keyring=keyring, anchors=self._anchors())

    def audit_keyring(self) -> AuditKeyring | None:
        """The audit chain's key from connection ``model_governance_audit`` (login = key id, password =
        secret). Without the connection: None, and the inventory reads MODEL_GOVERNANCE_AUDIT_KEYS when it
        first signs or verifies (a ConfigurationError saying what to set if neither exists), so read-only
        users such as the dashboard's document download still work."""
        from airflow.sdk.exceptions import AirflowNotFoundException

        try:
            conn = self.get_connection(AUDIT_CONN_ID)
        except AirflowNotFoundException:
            return None
        return keyring_from_connection(conn.login, conn.password, conn.extra_dejson)

    def _anchors(self) -> S3AnchorStore | None:
        """Chain heads go to the governance bucket through the first business entity's AWS connection
        (opened on the first anchor, not here)."""
        entities = self.config.business_entities
        if not entities:
            return None
        entity = entities[0]

        def client() -> object:
            from airflow.providers.amazon.aws.hooks.s3 import S3Hook

            return S3Hook(aws_conn_id=entity.aws_conn_id, region_name=entity.region).get_conn()

        return S3AnchorStore(client, self.config.governance_bucket)
