"""SQS long polling as AWS answers it, without moto's busy wait.

moto 5.2's ``ReceiveMessage`` loops until ``WaitTimeSeconds`` is over, calling ``Queue.wait_for_messages``
between scans, which waits until the queue holds a visible message. A FIFO queue whose group has a
message in flight holds visible messages the receive may not take, so that wait returned at once and
the loop scanned the queue without pause: one core spent for the whole long poll (3 CPU-seconds for a
3-second poll, measured here). The queue watcher of the lifecycle sync long-polls exactly then, while a
sync run holds the batch it received. Here the wait is for a new message (``add_message`` notifies), or
the second moto passes it anyway, whatever the queue holds; answers are unchanged.
"""

from __future__ import annotations

from typing import Any


def install() -> None:
    """Replace ``moto.sqs.models.Queue.wait_for_messages`` in this process (idempotent)."""
    from moto.sqs.models import Queue

    if getattr(Queue.wait_for_messages, "sandbox_long_poll", False):
        return

    def wait_for_messages(self: Any, timeout: int) -> None:
        with self._messages_lock:
            if self.messages:  # visible, yet not for this receive (their group is in flight): no spin
                self._messages_lock.wait(timeout=timeout)
            else:
                self._messages_lock.wait_for(lambda: self.messages, timeout=timeout)

    wait_for_messages.sandbox_long_poll = True  # type: ignore[attr-defined]
    Queue.wait_for_messages = wait_for_messages  # type: ignore[method-assign]
