"""The audit chain's pure parts: keyrings, canonical records, link MACs, anchors, verification rules."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone

import pytest

from model_governance.exceptions import ConfigurationError
from model_governance.inventory.audit import (
    AUDIT_KEYS_ENV,
    Anchor,
    AuditKeyring,
    ChainLink,
    CurrentRecord,
    canonical,
    link_message,
    record_fields,
    verify_links,
)
from model_governance.services.evidence import anchor_key, keyring_from_connection

SECRET = "0123456789abcdef-secret"
KEYS = AuditKeyring("k1", {"k1": SECRET})
T0 = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)


def _chain(*facts: tuple[str, int, dict[str, object]], keyring: AuditKeyring = KEYS) -> list[ChainLink]:
    links: list[ChainLink] = []
    prev = None
    for seq, (kind, record_id, record) in enumerate(facts, start=1):
        text = canonical(record)
        at = T0 + timedelta(seconds=seq)
        mac = keyring.mac(
            keyring.current_id,
            link_message(
                chain="model/1",
                seq=seq,
                kind=kind,
                record_id=record_id,
                action="a",
                created_at=at,
                key_id=keyring.current_id,
                prev_mac=prev,
                record=text,
            ),
        )
        links.append(ChainLink("model/1", seq, kind, record_id, "a", text, prev, mac, keyring.current_id, at))
        prev = mac
    return links


def _event(record_id: int, origin: str | None, target: str) -> tuple[str, int, dict[str, object]]:
    return ("status_event", record_id, {"id": record_id, "from_status": origin, "to_status": target})


def _approval(record_id: int, kind: str, state: str) -> tuple[str, int, dict[str, object]]:
    return ("approval", record_id, {"id": record_id, "kind": kind, "state": state})


MLC = (
    _event(1, None, "Development Complete"),
    _event(2, "Development Complete", "Pre Implementation Review"),
    _approval(1, "TEST_RESULTS_REVIEW", "APPROVED"),
    _event(3, "Pre Implementation Review", "Validation Complete"),
)


def test_keyring_parses_rotation_lists_and_hides_secrets() -> None:
    ring = AuditKeyring.parse(f"new:{SECRET}-2, old:{SECRET}", source="test")
    assert ring.current_id == "new" and ring.key_ids == ["new", "old"]
    assert SECRET not in repr(ring)
    assert ring.mac("old", b"x") == KEYS.mac("k1", b"x")


@pytest.mark.parametrize(
    ("value", "match"),
    [("", "model_governance_audit"), ("k1", "not key_id:secret"), ("k1:short", "shorter than 16 bytes")],
)
def test_keyring_errors_say_what_to_set(value: str, match: str) -> None:
    with pytest.raises(ConfigurationError, match=match):
        AuditKeyring.from_env({AUDIT_KEYS_ENV: value})


def test_keyring_from_the_airflow_connection() -> None:
    ring = keyring_from_connection("k2", SECRET + "2", {"previous": {"k1": SECRET}})
    assert ring.current_id == "k2" and ring.key_ids == ["k1", "k2"]
    with pytest.raises(ConfigurationError, match="login = the audit key id"):
        keyring_from_connection(None, SECRET, {})


def test_canonical_records_are_stable_across_backends() -> None:
    naive = datetime(2026, 12, 1, 12, 0, 0, 5)  # SQLite hands back naive UTC
    aware = datetime(2026, 12, 1, 13, 0, 0, 5, tzinfo=timezone(timedelta(hours=1)))
    assert record_fields({"at": naive, "x": None}) == record_fields({"at": aware})
    assert canonical({"b": 1, "a": {"z": [1, 2.5]}}) == '{"a":{"z":[1,2.5]},"b":1}'


def test_an_intact_chain_verifies() -> None:
    assert verify_links(chain="model/1", links=_chain(*MLC), keyring=KEYS) == []


def test_a_link_signed_with_another_key_fails_its_mac() -> None:
    forged = _chain(*MLC, keyring=AuditKeyring("k1", {"k1": "a-guessed-key-of-16-bytes"}))
    problems = verify_links(chain="model/1", links=forged, keyring=KEYS)
    assert "chain model/1 link seq 1 (status_event id 1, a) fails its MAC" in problems[0]


def test_edited_record_inside_a_link_fails_its_mac() -> None:
    links = _chain(*MLC)
    links[2].record = canonical({"id": 1, "kind": "TEST_RESULTS_REVIEW", "state": "REJECTED"})
    problems = verify_links(chain="model/1", links=links, keyring=KEYS)
    assert any("link seq 3 (approval id 1, a) fails its MAC" in p for p in problems), problems


def test_illegal_step_and_missing_approval_are_named() -> None:
    links = _chain(
        _event(1, None, "Development Complete"),
        _event(2, "Development Complete", "Pre Implementation Review"),
        _event(3, "Pre Implementation Review", "Deployed"),
        _event(4, "Deployed", "Model Change in Progress"),
    )
    problems = verify_links(chain="model/1", links=links, keyring=KEYS)
    assert any("link seq 3 (status_event id 3, a): illegal status step" in p for p in problems), problems
    no_review = _chain(
        _event(1, None, "Development Complete"),
        _event(2, "Development Complete", "Pre Implementation Review"),
        _approval(1, "TEST_RESULTS_REVIEW", "REJECTED"),
        _event(3, "Pre Implementation Review", "Validation Complete"),
    )
    problems = verify_links(chain="model/1", links=no_review, keyring=KEYS)
    assert problems == [
        "chain model/1 link seq 4 (status_event id 3, a) moves to 'Validation Complete' without a verified "
        "TEST_RESULTS_REVIEW approval earlier in the chain"
    ]


def test_rows_are_compared_with_what_was_chained() -> None:
    links = _chain(*MLC)
    current = [
        CurrentRecord("status_event", 1, json.loads(links[0].record), "status event seq 1"),
        CurrentRecord("status_event", 2, json.loads(links[1].record), "status event seq 2"),
        CurrentRecord("approval", 1, {"id": 1, "kind": "TEST_RESULTS_REVIEW", "state": "OPEN"}, "approval 1"),
        CurrentRecord("document", 9, {"id": 9}, "document id 9"),
    ]
    problems = verify_links(chain="model/1", links=links, keyring=KEYS, current=current)
    assert any(
        p.startswith("approval 1 differs from its audit record (chain model/1 link seq 3") for p in problems
    )
    assert any(p.startswith("document id 9 is not in the audit chain model/1") for p in problems)
    assert any(
        p.startswith("status_event id 3 of chain model/1 link seq 4") and "missing" in p for p in problems
    )


def test_anchors_catch_rollback_and_forgery() -> None:
    links = _chain(*MLC)
    anchor = Anchor("model/1", 4, links[3].mac, "k1", T0).signed(KEYS)
    assert Anchor.from_json(anchor.to_json()) == anchor
    assert verify_links(chain="model/1", links=links, keyring=KEYS, anchor=anchor) == []
    rolled_back = verify_links(chain="model/1", links=links[:2], keyring=KEYS, anchor=anchor)
    assert any("ends at seq 2 but was anchored at seq 4" in p for p in rolled_back), rolled_back
    rewritten = Anchor("model/1", 2, "f" * 64, "k1", T0).signed(KEYS)
    problems = verify_links(chain="model/1", links=links, keyring=KEYS, anchor=rewritten)
    assert any("is not the link anchored at seq 2" in p for p in problems), problems
    unsigned = Anchor("model/1", 9, "f" * 64, "k1", T0, anchor_mac="0" * 64)
    problems = verify_links(chain="model/1", links=links, keyring=KEYS, anchor=unsigned)
    assert problems == ["chain model/1: the newest anchor (seq 9) is not signed by a known audit key"]


def test_anchor_keys_sort_in_seq_order() -> None:
    assert anchor_key("model/7", 9) < anchor_key("model/7", 10)
    assert anchor_key("model/7", 10) == "audit-anchors/model/7/000000000010.json"
