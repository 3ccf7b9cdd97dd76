"""The lifecycle sync at scale: SageMaker API calls and time against a naive baseline, measured in one run.

N model packages (default 10,000) in G groups (default 100), all linked to use cases, in the AWS sandbox.
For each scenario it prints our SageMaker calls and seconds beside the naive baseline's (list every group,
list each group's packages, describe every package: how a sync without Search would read the registry),
and the ratio:

- full reconcile, steady state (everything already in step);
- incremental reconcile with nothing changed (idle);
- 1,000 events (1,000 packages moved back to Under Development by their data scientists): ours reads their
  current state in bulk (Search, ARNs ``Or``-ed); the baseline describes the package each event names.

The first full reconcile (onboarding every package and writing the governance links back) is printed too,
reads and writes apart (aim: <= 60 s at 10,000), with the write-backs on ``--write-threads`` (8) threads.

The events are measured in ``--rounds`` (5) rounds. Each round moves two fresh sets of ``--events``
packages (no package is used twice), one set's events for each side, and runs both sides one after the
other, each after a ``gc.collect()``; the side that goes first alternates from round to round (ours first
in odd rounds, the conservative way round), so both see the same load and neither is always first. Each
round prints both sides' calls, reading part (time spent in Search / Describe, both sides timed the same
way) and total, and the ratios; the summary is the median of the rounds' ratios. The aims: faster than
the baseline in total, reading >= 10x faster. The events use 2 x events x rounds packages:
``--packages`` must be at least that (the run stops before starting if not). ``--profile FILE`` adds one
more round of ours only, under cProfile (not counted in the figures: the profiler slows it), writes the
stats to FILE and prints where the reading time went (botocore parsing, HTTP, the rest); cProfile sees
the calling thread only, not the write-backs on their threads.

Calls are counted by the sandbox server itself. Timings swing with the machine's load: take figures to
quote on a quiet machine. Usage: ``python benchmarks/sync.py [--packages 10000] [--groups 100]
[--events 1000] [--rounds 5] [--skip-reconcile-baselines] [--profile FILE]``.
"""

from __future__ import annotations

import argparse
import cProfile
import gc
import json
import os
import pstats
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from functools import partial
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT))
CONN_ID = "aws_bench"
ENTITY = "bench"
WRITES = {"sagemaker:UpdateModelPackage"}


def sagemaker_calls(sandbox: Any) -> tuple[int, int]:
    """(reads, writes) of SageMaker requests the sandbox has answered since its counters were reset."""
    requests = sandbox.counters()["requests"]
    reads = sum(n for key, n in requests.items() if key.startswith("sagemaker:") and key not in WRITES)
    writes = sum(n for key, n in requests.items() if key in WRITES)
    return reads, writes


def measure(sandbox: Any, work: Callable[[], Any]) -> tuple[int, int, float, Any]:
    sandbox.reset(counters=True, faults=False)
    started = time.perf_counter()
    result = work()
    elapsed = time.perf_counter() - started
    reads, writes = sagemaker_calls(sandbox)
    return reads, writes, elapsed, result


def populate(sandbox: Any, inventory: Any, packages: int, groups: int) -> list[str]:
    """G groups linked to use cases, N packages spread over them (Development Complete)."""
    sagemaker = sandbox.client("sagemaker", retries={"mode": "standard", "total_max_attempts": 5})
    group_names = [f"bench-group-{g:03d}" for g in range(groups)]
    for name in group_names:
        arn = sagemaker.create_model_package_group(ModelPackageGroupName=name)["ModelPackageGroupArn"]
        use_case = inventory.create_use_case(
            business_entity=ENTITY, name=name, risk_level="Medium", owner="owner@example.com"
        )
        inventory.link_model_group(use_case_id=use_case.id, name=name, arn=arn)

    def register(index: int) -> str:
        response = sagemaker.create_model_package(
            ModelPackageGroupName=group_names[index % groups],
            ModelPackageDescription=f"bench model {index}",
            InferenceSpecification={
                "Containers": [{"Image": "123456789012.dkr.ecr.us-east-1.amazonaws.com/bench:1"}],
                "SupportedContentTypes": ["text/csv"],
                "SupportedResponseMIMETypes": ["text/csv"],
            },
            ModelLifeCycle={"Stage": "Development", "StageStatus": "Complete"},
        )
        return str(response["ModelPackageArn"])

    with ThreadPoolExecutor(max_workers=8) as pool:
        return list(pool.map(register, range(packages)))


class NaiveRegistry:
    """The baseline's reads: every group, every group's packages, a Describe per package (for a reconcile);
    a Describe per event. Writes go through the real hook, so both sides apply the same changes."""

    def __init__(self, hook: Any) -> None:
        self.hook = hook
        self.client = hook.get_conn()

    def __getattr__(self, name: str) -> Any:
        return getattr(self.hook, name)

    def iter_all_packages(self) -> Any:
        for page in self.client.get_paginator("list_model_package_groups").paginate():
            for group in page["ModelPackageGroupSummaryList"]:
                for listed in self.client.get_paginator("list_model_packages").paginate(
                    ModelPackageGroupName=group["ModelPackageGroupName"]
                ):
                    for summary in listed["ModelPackageSummaryList"]:
                        yield self.client.describe_model_package(ModelPackageName=summary["ModelPackageArn"])

    def iter_modified_since(self, since: Any) -> Any:
        return (p for p in self.iter_all_packages() if p["LastModifiedTime"] >= since)

    def search_packages(self, arns: Any) -> Any:
        for arn in arns:
            yield self.client.describe_model_package(ModelPackageName=arn)


class ReadClock:
    """Passes every call through to ``registry`` and adds up the seconds spent reading it (Search,
    Describe, listing), generators included, so the reading part of a pass can be printed apart."""

    READS = ("search_packages", "describe_model_package", "iter_all_packages", "iter_modified_since")

    def __init__(self, registry: Any) -> None:
        self.registry = registry
        self.seconds = 0.0

    def __getattr__(self, name: str) -> Any:
        target = getattr(self.registry, name)
        if name not in self.READS:
            return target

        def timed(*args: Any, **kwargs: Any) -> Any:
            started = time.perf_counter()
            result = target(*args, **kwargs)
            self.seconds += time.perf_counter() - started
            if hasattr(result, "__next__"):
                return self._drain(result)
            return result

        return timed

    def _drain(self, iterator: Any) -> Any:
        while True:
            started = time.perf_counter()
            try:
                item = next(iterator)
            except StopIteration:
                self.seconds += time.perf_counter() - started
                return
            self.seconds += time.perf_counter() - started
            yield item


def events_for(sandbox: Any, arns: list[str]) -> list[Any]:
    """Data scientists move ``arns`` back to Under Development; the events they cause, off the queue."""
    from model_governance.sync import QueueMessage

    sqs = sandbox.client("sqs")
    queue = f"bench-events-{time.time_ns()}.fifo"
    url = sqs.create_queue(QueueName=queue, Attributes={"FifoQueue": "true"})["QueueUrl"]
    sandbox.set_events(queue=queue)
    sagemaker = sandbox.client("sagemaker")
    messages: list[QueueMessage] = []

    def drain() -> None:
        while batch := sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", []):
            messages.extend(QueueMessage(m["MessageId"], m["ReceiptHandle"], m["Body"]) for m in batch)
            entries = [{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(batch)]
            sqs.delete_message_batch(QueueUrl=url, Entries=entries)

    for done, arn in enumerate(arns, start=1):
        sagemaker.update_model_package(
            ModelPackageArn=arn, ModelLifeCycle={"Stage": "Development", "StageStatus": "InProgress"}
        )
        if done % 100 == 0:
            # moto's SendMessage recounts every message of the queue (its attributes, four times): drained
            # as it goes, the queue stays small; 2,000 events on one queue took ~4.5 min to prepare.
            drain()
    sandbox.set_events(queue=None)
    drain()
    return messages


def row(name: str, ours: tuple[int, int, float], naive: tuple[int, float] | None) -> str:
    reads, writes, seconds = ours
    if naive is None:
        return f"{name:<34} {reads:>7} {writes:>7} {seconds:>8.2f}s"
    base_calls, base_seconds = naive
    return (
        f"{name:<34} {reads:>7} {writes:>7} {seconds:>8.2f}s | {base_calls:>7} {base_seconds:>8.2f}s | "
        f"calls x{reads / max(base_calls, 1):.4f}  time x{seconds / max(base_seconds, 1e-9):.3f}"
    )


class EventsRound:
    """One events round: (reads, reading seconds, total seconds) of each side, and the ratios."""

    HEADER = (
        f"{'round':<6}{'first':<7}{'ours: calls':>11} {'reading':>8} {'total':>8} | "
        f"{'naive: calls':>12} {'reading':>8} {'total':>8} | {'reading':>14} {'total':>12}"
    )

    def __init__(
        self, number: int, first: str, ours: tuple[int, float, float], naive: tuple[int, float, float]
    ) -> None:
        self.number, self.first, self.ours, self.naive = number, first, ours, naive
        self.reading_x = naive[1] / max(ours[1], 1e-9)
        self.total_x = naive[2] / max(ours[2], 1e-9)

    def line(self) -> str:
        (reads, reading, total), (base_reads, base_reading, base_total) = self.ours, self.naive
        return (
            f"{self.number:<6}{self.first:<7}{reads:>11} {reading:>7.3f}s {total:>7.2f}s | "
            f"{base_reads:>12} {base_reading:>7.3f}s {base_total:>7.2f}s | "
            f"{self.reading_x:>7.1f}x faster {self.total_x:>5.2f}x faster"
        )


def _cumulative(stats: pstats.Stats, where: str, function: str) -> float:
    """Seconds spent in (and under) the functions called ``function`` in files ending with ``where``."""
    table: dict[Any, Any] = stats.stats  # type: ignore[attr-defined]
    return sum(row[3] for (path, _, name), row in table.items() if name == function and path.endswith(where))


def _server_cpu(sandbox: Any) -> float | None:
    """The sandbox server process's CPU seconds so far (Linux /proc), or None."""
    try:
        with open(f"/proc/{sandbox.process.pid}/stat") as stat:
            fields = stat.read().rsplit(")", 1)[1].split()
    except (AttributeError, OSError):
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def profile_round(sandbox: Any, sync: Callable[[], Any], events: list[Any], path: str) -> None:
    """Ours on ``events`` under cProfile: the stats to ``path``, and where the reading time went."""
    ours = sync()
    clock = ours.registry
    server_before = _server_cpu(sandbox)
    profiler = cProfile.Profile()
    started = time.perf_counter()
    profiler.runcall(ours.apply_messages, events)
    elapsed = time.perf_counter() - started
    server_after = _server_cpu(sandbox)
    profiler.dump_stats(path)
    stats = pstats.Stats(path)
    reading = _cumulative(stats, "", "search_packages")
    parsing = _cumulative(stats, os.path.join("botocore", "parsers.py"), "parse")
    http = _cumulative(stats, os.path.join("botocore", "endpoint.py"), "_send")
    server = (
        f"; the sandbox server used {server_after - server_before:.3f}s CPU meanwhile (all of the round's "
        "requests, writes included)"
        if server_before is not None and server_after is not None
        else ""
    )
    print(
        f"\nprofile of ours, {len(events)} events (cProfile slows it; stats in {path}): {elapsed:.2f}s in "
        f"all, {reading:.3f}s reading ({clock.seconds:.3f}s by the read clock), of which botocore parsing "
        f"the responses {parsing:.3f}s, HTTP (send, and wait for the sandbox's answer) {http:.3f}s, the "
        f"rest ({reading - parsing - http:.3f}s) botocore building and signing the requests and our "
        f"code{server}"
    )


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--packages", type=int, default=10_000)
    parser.add_argument("--groups", type=int, default=100)
    parser.add_argument("--events", type=int, default=1_000, help="events a side in each round")
    parser.add_argument(
        "--rounds", type=int, default=5, help="events rounds (each: naive and ours, fresh packages)"
    )
    parser.add_argument("--write-threads", type=int, default=8, help="write-back threads (1: in line)")
    parser.add_argument(
        "--skip-reconcile-baselines",
        action="store_true",
        help="skip the naive full and idle reconciles (minutes at 10,000 packages)",
    )
    parser.add_argument(
        "--profile",
        metavar="FILE",
        help="one more round of ours under cProfile (not in the figures): stats to FILE, a summary printed",
    )
    args = parser.parse_args()
    if args.events < 1 or args.rounds < 1:
        parser.error("--events and --rounds must be at least 1")
    needed = 2 * args.events * args.rounds + (args.events if args.profile else 0)
    if args.packages < needed:
        parser.error(
            f"--packages {args.packages} is too few: the events use fresh packages, 2 x --events "
            f"({args.events}) x --rounds ({args.rounds})"
            + (" + --events for --profile" if args.profile else "")
            + f" = {needed}; raise --packages or lower --events / --rounds"
        )

    from model_governance.hooks.sagemaker_registry import SageMakerRegistryHook
    from model_governance.inventory import Inventory
    from model_governance.sync import LifecycleSync
    from sandbox.airflow_cluster import SANDBOX_AUDIT_KEYS
    from sandbox.aws.pytest_fixtures import start_sandbox

    # The inventory signs its audit chain: the sandboxes' key, as the tests and the demo use it.
    os.environ.setdefault("MODEL_GOVERNANCE_AUDIT_KEYS", SANDBOX_AUDIT_KEYS)
    sandbox = start_sandbox("--seed", "7", "--quiet")
    try:
        os.environ[f"AIRFLOW_CONN_{CONN_ID.upper()}"] = json.dumps(
            {
                "conn_type": "aws",
                "login": "testing",
                "password": "testing",
                "extra": {"endpoint_url": sandbox.endpoint_url, "region_name": sandbox.region},
            }
        )
        workdir = Path(tempfile.mkdtemp(prefix="sync-bench-"))
        inventory = Inventory.from_url(f"sqlite:///{workdir / 'inventory.db'}", upgrade_schema=True)
        inventory.ensure_business_entity(
            name=ENTITY, account_id=sandbox.account_id, region=sandbox.region, aws_conn_id=CONN_ID
        )
        started = time.perf_counter()
        arns = populate(sandbox, inventory, args.packages, args.groups)
        print(f"setup: {len(arns)} packages in {args.groups} groups in {time.perf_counter() - started:.1f}s")

        clocks: list[ReadClock] = []

        def sync(naive: bool = False) -> LifecycleSync:
            hook = SageMakerRegistryHook(aws_conn_id=CONN_ID, region_name=sandbox.region)
            hook.get_conn()  # the client is made up front on both sides (NaiveRegistry makes it too)
            clock = ReadClock(NaiveRegistry(hook) if naive else hook)
            clocks.append(clock)
            # No lookback here: every package changed seconds ago, so the default 300 s lookback would make
            # the "idle" registry look busy; in service an idle registry is one with no change for 5 minutes.
            return LifecycleSync(
                inventory=inventory,
                registry=clock,
                business_entity=ENTITY,
                lookback=timedelta(0),
                write_concurrency=args.write_threads,
            )

        header = f"{'scenario':<34} {'reads':>7} {'writes':>7} {'time':>9} | {'naive':>7} {'time':>9} | ratio"
        print(header)
        print("-" * len(header))
        reads, writes, seconds, report = measure(sandbox, lambda: sync().reconcile(full=True))
        print(row("first full reconcile (onboard all)", (reads, writes, seconds), None))
        assert report.actions.get("onboard") == len(arns), report.actions
        # the write-back changed every package: the next pass records those times, then all is in step
        reads, writes, seconds, report = measure(sandbox, lambda: sync().reconcile(full=True))
        print(row("second full reconcile (settles)", (reads, writes, seconds), None))

        if not args.skip_reconcile_baselines:
            base_reads, _, base_seconds, _ = measure(sandbox, lambda: sync(naive=True).reconcile(full=True))
            reads, writes, seconds, report = measure(sandbox, lambda: sync().reconcile(full=True))
            print(row("full reconcile, in step", (reads, writes, seconds), (base_reads, base_seconds)))
            assert writes == 0 and report.seen >= len(arns), (writes, report.seen)

            base_reads, _, base_seconds, _ = measure(sandbox, lambda: sync(naive=True).reconcile())
            reads, writes, seconds, report = measure(sandbox, lambda: sync().reconcile())
            print(row("incremental reconcile, idle", (reads, writes, seconds), (base_reads, base_seconds)))
            assert writes == 0

        used = 0

        def fresh(count: int) -> list[str]:
            nonlocal used
            used += count
            return arns[used - count : used]

        def apply_events(naive: bool, messages: list[Any]) -> Any:
            return sync(naive=naive).apply_messages(messages)

        rounds: list[EventsRound] = []
        print(
            f"\nevents: {args.rounds} rounds of {args.events} events a side, fresh packages each round, "
            "the side going first alternating\n"
        )
        print(EventsRound.HEADER)
        print("-" * len(EventsRound.HEADER))
        for number in range(1, args.rounds + 1):
            # the same change to two sets of packages: one set's events for the baseline, one for ours
            events = {side: events_for(sandbox, fresh(args.events)) for side in ("naive", "ours")}
            # ours first in odd rounds: our reading tends to be slower first after events_for (not the
            # sandbox's Search, measured alone), so an odd number of rounds leans against ours, not for it
            order = ("ours", "naive") if number % 2 else ("naive", "ours")
            measured: dict[str, tuple[int, float, float]] = {}
            for side in order:
                gc.collect()  # each side starts without the garbage events_for or the other side left
                side_reads, _, side_seconds, side_report = measure(
                    sandbox, partial(apply_events, side == "naive", events[side])
                )
                measured[side] = (side_reads, clocks[-1].seconds, side_seconds)
                applied = side_report.actions.get("apply")
                assert applied == args.events, (side, side_report.actions)  # both apply every change
            rounds.append(EventsRound(number, order[0], measured["ours"], measured["naive"]))
            print(rounds[-1].line())
        print("-" * len(EventsRound.HEADER))
        reading_x = statistics.median(r.reading_x for r in rounds)
        total_x = statistics.median(r.total_x for r in rounds)
        print(
            f"median of the {len(rounds)} rounds' ratios: reading {reading_x:.1f}x faster (aim >= 10x), "
            f"total {total_x:.2f}x faster (aim > 1x)"
        )
        print(
            f"calls a round: ours {statistics.median(r.ours[0] for r in rounds):.0f} "
            f"(Search), naive {statistics.median(r.naive[0] for r in rounds):.0f} (Describe)"
        )
        if args.profile:
            our_events = events_for(sandbox, fresh(args.events))
            profile_round(sandbox, sync, our_events, args.profile)
        print(
            f"\naims: full reconcile ~N/100 = {len(arns) // 100} reads; "
            "idle incremental <= 2 reads per registry."
            "\nBoth sides apply the same changes (writes: one UpdateModelPackage per changed package for the"
            " governance links); the baseline only reads the registry the naive way."
        )
    finally:
        sandbox.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
