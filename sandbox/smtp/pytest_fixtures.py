"""pytest fixture ``smtp_sink``: the SMTP sink on a free port, and the messages it received."""

from __future__ import annotations

import email
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from email.message import Message
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]


@dataclass
class SmtpSink:
    host: str
    port: int
    maildir: Path
    process: subprocess.Popen[str]

    def messages(self) -> list[Message]:
        return [email.message_from_bytes(p.read_bytes()) for p in sorted(self.maildir.glob("*.eml"))]

    def wait_for(self, count: int, timeout: float = 30) -> list[Message]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            found = self.messages()
            if len(found) >= count:
                return found
            time.sleep(0.2)
        raise TimeoutError(f"the SMTP sink got {len(self.messages())} messages, expected {count}")

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            self.process.wait(timeout=10)


def start_smtp_sink(maildir: Path) -> SmtpSink:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO_ROOT), os.environ.get("PYTHONPATH", "")])}
    process = subprocess.Popen(  # noqa: S603 - our own interpreter and module
        [sys.executable, "-m", "sandbox.smtp", "--port", "0", "--maildir", str(maildir)],
        cwd=REPO_ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    assert process.stdout is not None
    line = process.stdout.readline()
    if not line.startswith("sandbox.smtp ready on "):
        process.kill()
        raise RuntimeError(f"sandbox.smtp did not start: {line}{process.stdout.read()}")
    host, port = line.rsplit(" ", 1)[1].strip().rsplit(":", 1)
    return SmtpSink(host, int(port), maildir, process)


@pytest.fixture
def smtp_sink(tmp_path: Path) -> Iterator[SmtpSink]:
    sink = start_smtp_sink(tmp_path / "mail")
    try:
        yield sink
    finally:
        sink.stop()
