"""Command line entry: ``python -m sandbox.aws --port PORT [options]``."""

from __future__ import annotations

import argparse
import logging
import signal
import sys
import threading
from types import FrameType

from sandbox.aws.errors import AwsError

READY_LINE = "sandbox.aws ready on http://{host}:{port}"


def _rate(text: str) -> float:
    value = float(text)
    if not 0.0 <= value <= 1.0:
        raise argparse.ArgumentTypeError(f"{text} is not a rate: give a number from 0.0 to 1.0")
    return value


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m sandbox.aws",
        description="Local AWS stand-in (S3, SQS, SageMaker Model Registry) for the demo and the tests.",
    )
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    parser.add_argument(
        "--port", type=int, default=4566, help="port to bind; 0 picks a free one (default 4566)"
    )
    parser.add_argument("--account-id", default="123456789012", help="AWS account id (default 123456789012)")
    parser.add_argument(
        "--region", default="us-east-1", help="region of the events queue (default us-east-1)"
    )
    parser.add_argument(
        "--seed", type=int, default=0, help="seed for fault and duplicate decisions (default 0)"
    )
    parser.add_argument("--throttle-rate", type=_rate, default=0.0, help="share of requests throttled (0..1)")
    parser.add_argument("--latency-ms", type=float, default=0.0, help="latency added to each request, ms")
    parser.add_argument(
        "--fault-actions",
        default=None,
        help="comma-separated service:Action patterns the faults apply to (default: all), e.g. 'sagemaker:*'",
    )
    parser.add_argument(
        "--events-queue", default=None, help="SQS FIFO queue (name.fifo) for model package events"
    )
    parser.add_argument(
        "--duplicate-rate", type=_rate, default=0.0, help="share of events delivered twice (0..1)"
    )
    parser.add_argument("--quiet", action="store_true", help="do not log each request")
    args = parser.parse_args(argv)
    if args.latency_ms < 0:
        parser.error(f"--latency-ms {args.latency_ms} must be >= 0")
    if args.events_queue and not args.events_queue.endswith(".fifo"):
        parser.error(f"--events-queue {args.events_queue} must name a FIFO queue (ending in .fifo)")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    from moto.moto_server.werkzeug_app import MotoRequestHandler
    from werkzeug.serving import make_server

    from sandbox.aws.app import SandboxApp, Settings

    if args.quiet:
        logging.getLogger("werkzeug").setLevel(logging.WARNING)
    settings = Settings(
        account_id=args.account_id,
        region=args.region,
        seed=args.seed,
        throttle_rate=args.throttle_rate,
        latency_ms=args.latency_ms,
        fault_actions=[a.strip() for a in args.fault_actions.split(",") if a.strip()]
        if args.fault_actions
        else None,
        events_queue=args.events_queue,
        duplicate_rate=args.duplicate_rate,
    )
    try:
        app = SandboxApp(settings)
    except AwsError as err:
        print(f"sandbox.aws: {err.message}", file=sys.stderr)
        return 2
    try:
        server = make_server(args.host, args.port, app, threaded=True, request_handler=MotoRequestHandler)
    except OSError as err:
        print(
            f"sandbox.aws: cannot listen on {args.host}:{args.port} ({err}); pick another --port or 0",
            file=sys.stderr,
        )
        return 2

    stop = threading.Event()

    def _on_signal(signum: int, frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, _on_signal)
    signal.signal(signal.SIGINT, _on_signal)
    # serve_forever runs in a thread so the main thread stays free to receive the signal and then call
    # shutdown(), which would deadlock if called from the serving thread itself.
    serving = threading.Thread(target=server.serve_forever, name="sandbox-aws", daemon=True)
    serving.start()
    port = server.server_address[1]
    app.workloads.endpoint_url = f"http://{args.host}:{port}"
    print(READY_LINE.format(host=args.host, port=port), flush=True)
    stop.wait()
    server.shutdown()
    server.server_close()
    serving.join(timeout=10)
    print("sandbox.aws stopped", flush=True)
    return 0
