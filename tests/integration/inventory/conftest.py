"""Fixtures of the inventory tier: an inventory on each backend with one business entity and model."""

from __future__ import annotations

import pytest

from model_governance.inventory import Inventory
from model_governance.lifecycle import GovernanceStatus as S

ACCOUNT = "123456789012"
GROUP_ARN = f"arn:aws:sagemaker:us-east-1:{ACCOUNT}:model-package-group/Churn-Model"
PACKAGE_ARN = f"arn:aws:sagemaker:us-east-1:{ACCOUNT}:model-package/churn-model/1"


@pytest.fixture
def inventory(inventory_url: str) -> Inventory:
    inv = Inventory.from_url(inventory_url, upgrade_schema=True)
    inv.ensure_business_entity(
        name="retail", account_id=ACCOUNT, region="us-east-1", aws_conn_id="aws_default"
    )
    return inv


@pytest.fixture
def model_id(inventory: Inventory) -> int:
    use_case = inventory.create_use_case(
        business_entity="retail", name="churn", risk_level="High", owner="owner@example.com"
    )
    inventory.link_model_group(use_case_id=use_case.id, name="Churn-Model", arn=GROUP_ARN)
    model, created = inventory.upsert_model(
        package_arn=PACKAGE_ARN, status=S.DEVELOPMENT_COMPLETE, actor="sync", reason="onboarded"
    )
    assert created
    return model.id
