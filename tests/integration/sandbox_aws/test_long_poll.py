"""The AWS sandbox's SQS long poll (sandbox/aws/long_poll.py), on moto's own backend in this process: a
receive that waits while its FIFO group is in flight waits for a new message instead of scanning the queue
without pause, and still returns what AWS would (a new message of another group at once, nothing for the
blocked group)."""

from __future__ import annotations

import threading
import uuid
from typing import Any

import pytest

from sandbox.aws import long_poll

pytestmark = pytest.mark.integration

ACCOUNT, REGION = "123456789012", "us-east-1"


@pytest.fixture
def backend() -> Any:
    from moto.sqs.models import sqs_backends

    return sqs_backends[ACCOUNT][REGION]


@pytest.fixture
def blocked_queue(backend: Any) -> str:
    """A FIFO queue whose group ``g`` has one message in flight and a second one waiting behind it."""
    name = f"long-poll-{uuid.uuid4().hex[:8]}.fifo"
    backend.create_queue(name, FifoQueue="true")
    for n in range(2):
        backend.send_message(name, f"g-{n}", group_id="g", deduplication_id=f"g-{n}")
    taken = backend.receive_message(name, 1, 0, 60)
    assert [m.body for m in taken] == ["g-0"]
    return name


def _counting_waits(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    from moto.sqs.models import Queue

    long_poll.install()
    installed = Queue.wait_for_messages
    calls: list[int] = []

    def counted(self: Any, timeout: int) -> None:
        calls.append(timeout)
        installed(self, timeout)

    monkeypatch.setattr(Queue, "wait_for_messages", counted)
    return calls


def test_a_long_poll_behind_an_in_flight_group_waits_instead_of_scanning(
    backend: Any, blocked_queue: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    waits = _counting_waits(monkeypatch)
    got = backend.receive_message(blocked_queue, 10, 2, 60)
    assert got == []  # the group's next message stays behind the one in flight, as on AWS
    # One wait per second of the poll (moto re-checks each second), not a scan loop: moto's own wait
    # returned at once here and was called tens of thousands of times in two seconds.
    assert 1 <= len(waits) <= 4, len(waits)


def test_a_new_message_of_another_group_ends_the_wait_with_it(
    backend: Any, blocked_queue: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    _counting_waits(monkeypatch)
    sent = threading.Event()

    def send_later() -> None:
        sent.wait(5)
        backend.send_message(blocked_queue, "h-0", group_id="h", deduplication_id="h-0")

    sender = threading.Thread(target=send_later)
    sender.start()
    sent.set()
    got = backend.receive_message(blocked_queue, 10, 20, 60)
    sender.join()
    assert [m.body for m in got] == ["h-0"]


def test_install_is_idempotent() -> None:
    from moto.sqs.models import Queue

    long_poll.install()
    first = Queue.wait_for_messages
    long_poll.install()
    assert Queue.wait_for_messages is first and getattr(first, "sandbox_long_poll", False)
