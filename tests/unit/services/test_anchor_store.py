"""S3AnchorStore reads a chain's anchors page by page (ListObjectsV2 continuation tokens): every anchor in
seq order, and the newest from the last page only."""

from __future__ import annotations

import io
from datetime import UTC, datetime
from typing import Any

from model_governance.inventory.audit import Anchor
from model_governance.services.evidence import S3AnchorStore, anchor_key

BUCKET = "gov-bucket"


class PagingS3:
    """Objects in memory, listed ``page_size`` keys a page (as S3 lists them: in key order)."""

    def __init__(self, page_size: int = 2) -> None:
        self.objects: dict[str, bytes] = {}
        self.page_size = page_size
        self.listings: list[dict[str, Any]] = []

    def list_objects_v2(self, *, Bucket: str, Prefix: str, ContinuationToken: str | None = None) -> Any:
        self.listings.append({"Prefix": Prefix, "ContinuationToken": ContinuationToken})
        keys = sorted(k for k in self.objects if k.startswith(Prefix))
        start = int(ContinuationToken or 0)
        page = keys[start : start + self.page_size]
        more = start + self.page_size < len(keys)
        answer: dict[str, Any] = {"IsTruncated": more}
        if page:
            answer["Contents"] = [{"Key": k} for k in page]
        if more:
            answer["NextContinuationToken"] = str(start + self.page_size)
        return answer

    def get_object(self, *, Bucket: str, Key: str) -> dict[str, Any]:
        return {"Body": io.BytesIO(self.objects[Key])}


def _anchor(chain: str, seq: int) -> Anchor:
    return Anchor(chain, seq, f"mac-{seq}", "k1", datetime(2026, 3, 1, tzinfo=UTC), "signed")


def test_every_anchor_of_a_chain_across_pages_and_the_newest() -> None:
    s3 = PagingS3(page_size=2)
    for seq in (3, 1, 5, 2, 4):
        s3.objects[anchor_key("models", seq)] = _anchor("models", seq).to_json().encode()
    s3.objects[anchor_key("use_cases", 9)] = _anchor("use_cases", 9).to_json().encode()
    store = S3AnchorStore(s3, BUCKET)
    assert [a.seq for a in store.anchors("models")] == [1, 2, 3, 4, 5]
    assert [entry["ContinuationToken"] for entry in s3.listings] == [None, "2", "4"]
    assert store.newest("models") == _anchor("models", 5)
    assert store.newest("nothing") is None and store.anchors("nothing") == []
