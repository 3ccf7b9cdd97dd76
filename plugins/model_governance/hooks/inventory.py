"""The governance inventory's database connection, resolved from the deployment settings at run time."""

from __future__ import annotations

from functools import cached_property

from airflow.sdk import BaseHook

from model_governance.config import GovernanceConfig, inventory_url, load_config
from model_governance.inventory import Inventory


class GovernanceInventoryHook(BaseHook):
    """Open the inventory (SQLite under AIRFLOW_HOME by default, or the configured URL / connection).

    The schema is migrated to the latest revision on first use, so a new deployment needs no extra step.
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
        return Inventory.from_url(inventory_url(self.config))
