"""Command line: run the Jira sandbox, or move a ticket as a reviewer.

python -m sandbox.jira --port 8090 [--flavor cloud|datacenter] [--state FILE] [--search-lag SECONDS] ...
python -m sandbox.jira transition KEY Done --as reviewer@example.com [--url URL]
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import threading
import urllib.error
import urllib.request
from collections.abc import Sequence
from typing import Any

DEFAULT_PORT = 8090
DEFAULT_URL = os.environ.get("SANDBOX_JIRA_URL", f"http://127.0.0.1:{DEFAULT_PORT}")


def serve_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m sandbox.jira", description="Run the Jira REST sandbox.")
    p.add_argument("--host", default="127.0.0.1", help="address to bind (0.0.0.0 in a container)")
    p.add_argument("--port", type=int, default=DEFAULT_PORT, help="port to listen on; 0 picks a free one")
    p.add_argument("--flavor", choices=["cloud", "datacenter"], default="cloud")
    p.add_argument("--state", help="SQLite state file; omitted: state lives in memory only")
    p.add_argument(
        "--search-lag", type=float, default=0.0, help="seconds before a write is visible to search"
    )
    p.add_argument("--attachment-limit", type=int, default=10 * 1024 * 1024, help="largest attachment, bytes")
    p.add_argument("--attachments-disabled", action="store_true", help="start with attachments disabled")
    p.add_argument("--seed", type=int, default=0, help="seed of the fault generator")
    p.add_argument("--throttle-rate", type=float, default=0.0, help="share of requests answered 429")
    p.add_argument("--retry-after", type=int, default=1, help="Retry-After seconds sent with 429")
    p.add_argument("--error-rate", type=float, default=0.0, help="share of requests answered 5xx")
    p.add_argument("--error-status", type=int, default=503, help="the 5xx status for --error-rate")
    p.add_argument(
        "--drop-rate", type=float, default=0.0, help="share of issue creates committed then dropped"
    )
    p.add_argument("--latency", type=float, default=0.0, help="seconds added to every REST request")
    p.add_argument(
        "--login-page-rate",
        type=float,
        default=0.0,
        help="share of requests answered 200 with an HTML SSO login page (a gateway's expired session)",
    )
    return p


def serve(argv: Sequence[str]) -> int:
    from sandbox.jira.server import Config, Faults, JiraSandbox, make_server
    from sandbox.jira.store import Store

    args = serve_parser().parse_args(argv)
    store = Store(args.state, search_lag=args.search_lag)
    if args.attachments_disabled:
        with store.write():
            store.meta["attachments_enabled"] = False
            store.put("meta", "meta", store.meta)
    faults = Faults(args.seed)
    faults.update(
        {
            "throttle": {"rate": args.throttle_rate, "retry_after": args.retry_after},
            "error": {"rate": args.error_rate, "status": args.error_status},
            "drop": {"rate": args.drop_rate},
            "latency": {"seconds": args.latency},
            "html_login_page": {"rate": args.login_page_rate},
        }
    )
    sandbox = JiraSandbox(store, Config(flavor=args.flavor, attachment_limit=args.attachment_limit), faults)
    server = make_server(sandbox, args.host, args.port)
    port = server.server_port
    shown_host = "127.0.0.1" if args.host in ("0.0.0.0", "") else args.host  # noqa: S104 - only for the printed URL

    def stop(signum: int, frame: Any) -> None:
        # shutdown() waits for serve_forever to return, so it must run outside the serving thread.
        threading.Thread(target=server.shutdown, daemon=True).start()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    print(f"sandbox.jira ready on http://{shown_host}:{port} ({args.flavor})", flush=True)
    try:
        server.serve_forever(poll_interval=0.2)
    finally:
        server.server_close()
        store.close()
    print("sandbox.jira stopped", flush=True)
    return 0


def transition(argv: Sequence[str]) -> int:
    p = argparse.ArgumentParser(
        prog="python -m sandbox.jira transition", description="Move a ticket to a status as a sandbox user."
    )
    p.add_argument("key", help="issue key, e.g. MLC-1")
    p.add_argument("status", help="target status, e.g. Done or Rejected")
    p.add_argument("--as", dest="actor", required=True, help="the acting user's email, username or accountId")
    p.add_argument(
        "--url", default=DEFAULT_URL, help=f"sandbox URL (default {DEFAULT_URL}, env SANDBOX_JIRA_URL)"
    )
    args = p.parse_args(argv)
    url = f"{args.url.rstrip('/')}/_sandbox/issues/{args.key}/transition"
    if not url.startswith(("http://", "https://")):
        print(f"--url must be an http(s) URL, not {args.url!r}", file=sys.stderr)
        return 2
    data = json.dumps({"to": args.status, "as": args.actor}).encode()
    request = urllib.request.Request(  # noqa: S310 - scheme checked above
        url, data=data, method="POST", headers={"Content-Type": "application/json"}
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310 - scheme checked above
            result = json.loads(response.read())
    except urllib.error.HTTPError as error:
        detail = error.read().decode("utf-8", "replace")
        try:
            messages = json.loads(detail)
            detail = "; ".join(messages.get("errorMessages") or []) or json.dumps(messages.get("errors"))
        except ValueError:
            pass
        print(f"{args.key}: not moved to {args.status} (HTTP {error.code}): {detail}", file=sys.stderr)
        return 1
    except urllib.error.URLError as error:
        print(
            f"Cannot reach the Jira sandbox at {args.url} ({error.reason}); start it or pass --url.",
            file=sys.stderr,
        )
        return 1
    via = " -> ".join(result["path"]) or "no step"
    print(f"{result['key']} is now {result['status']} (as {result['as']}; via {via})")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv and argv[0] == "transition":
        return transition(argv[1:])
    return serve(argv)


if __name__ == "__main__":
    sys.exit(main())
