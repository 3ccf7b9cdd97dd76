"""What the onboarding tests share: an audit link's record without what differs between two inventories'
rows by nature, to compare onboarding in a batch with onboarding one version at a time."""

from __future__ import annotations

import json
from typing import Any

#: Fields that differ between two inventories' rows by nature (ids, times, and what they hash).
VOLATILE = frozenset(
    {
        "id",
        "model_id",
        "record_id",
        "created_at",
        "updated_at",
        "hash",
        "prev_hash",
        "mac",
        "prev_mac",
    }
)


def stable_record(text: str) -> dict[str, Any]:
    """An audit link's record (its JSON text) without the ``VOLATILE`` fields."""
    return {k: v for k, v in json.loads(text).items() if k not in VOLATILE}
