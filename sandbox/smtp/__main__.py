"""``python -m sandbox.smtp --port PORT --maildir DIR``: accept mail on loopback, write each to DIR.

Prints ``sandbox.smtp ready on 127.0.0.1:PORT`` when listening; stops cleanly on SIGTERM. Messages are
written atomically as ``<n>-<timestamp>.eml`` so a reader never sees half a message.
"""

from __future__ import annotations

import argparse
import itertools
import os
import signal
import threading
import time
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller


class MaildirHandler:
    """Stores each accepted message, envelope recipients included, as one .eml file."""

    def __init__(self, maildir: Path) -> None:
        self.maildir = maildir
        self._numbers = itertools.count(1)
        self._lock = threading.Lock()

    # aiosmtpd calls the handler by this name.
    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        with self._lock:
            number = next(self._numbers)
        name = f"{number:06d}-{int(time.time() * 1000)}.eml"
        header = f"X-Envelope-From: {envelope.mail_from}\r\nX-Envelope-To: {', '.join(envelope.rcpt_tos)}\r\n"
        content = envelope.original_content or envelope.content
        data = header.encode() + (content if isinstance(content, bytes) else str(content).encode())
        partial = self.maildir / f".{name}.tmp"
        partial.write_bytes(data)
        os.replace(partial, self.maildir / name)
        return "250 Message accepted for delivery"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m sandbox.smtp", description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8025, help="0 picks a free port")
    parser.add_argument("--maildir", required=True, help="folder the messages are written to")
    args = parser.parse_args(argv)
    maildir = Path(args.maildir)
    maildir.mkdir(parents=True, exist_ok=True)
    port = args.port
    if port == 0:
        import socket

        with socket.socket() as probe:
            probe.bind((args.host, 0))
            port = probe.getsockname()[1]
    controller = Controller(MaildirHandler(maildir), hostname=args.host, port=port)
    controller.start()
    stopped = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stopped.set())
    signal.signal(signal.SIGINT, lambda *_: stopped.set())
    print(f"sandbox.smtp ready on {args.host}:{port}", flush=True)
    stopped.wait()
    controller.stop()
    print("sandbox.smtp stopped", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
