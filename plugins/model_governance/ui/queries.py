"""The dashboard's read queries live in the inventory (``model_governance.inventory.dashboard``, reached as
``Inventory.dashboard``); the names scripts and tests import from here stay importable."""

from __future__ import annotations

from model_governance.inventory.dashboard import DashboardQueries, Filters

__all__ = ["DashboardQueries", "Filters"]
