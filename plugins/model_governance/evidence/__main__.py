"""``python -m model_governance.evidence``: export a model's audit pack, or verify one offline.

    export --model ARN --out DIR   the inventory (settings from MODEL_GOVERNANCE_CONFIG or --inventory-url),
                                   the review documents and anchors from the governance bucket (boto3;
                                   AWS_ENDPOINT_URL and the usual AWS variables apply)
    verify DIR|DIR.zip             every digest, the manifest's and the chain's MACs, the anchors

Both need the audit key in MODEL_GOVERNANCE_AUDIT_KEYS (key_id:secret[,...]). Exit status 0 = verified,
1 = problems found (each names the file), 2 = the command could not run (the message says why).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from model_governance.exceptions import ModelGovernanceError


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m model_governance.evidence", description=__doc__.split("\n")[0]
    )
    commands = parser.add_subparsers(dest="command", required=True)
    export = commands.add_parser("export", help="write a model's audit pack (folder and zip)")
    export.add_argument("--model", required=True, help="the model package ARN (or inventory model id)")
    export.add_argument(
        "--out", required=True, type=Path, help="the pack folder (replaced); DIR.zip beside it"
    )
    export.add_argument("--inventory-url", help="SQLAlchemy URL of the inventory (default: the settings')")
    export.add_argument("--bucket", help="the governance bucket holding the anchors (default: the settings')")
    verify = commands.add_parser("verify", help="check a pack offline")
    verify.add_argument("pack", type=Path, help="the pack folder or its zip")
    return parser


def _s3_client(endpoint: str | None = None, region: str | None = None) -> Any:
    import boto3

    return boto3.client("s3", endpoint_url=endpoint, region_name=region)


def _fetch(client: Any) -> Any:
    def fetch(uri: str) -> bytes:
        if not uri.startswith("s3://"):
            raise ValueError(f"{uri!r} is not an s3:// URI")
        bucket, key = uri[len("s3://") :].split("/", 1)
        return bytes(client.get_object(Bucket=bucket, Key=key)["Body"].read())

    return fetch


def _export(args: argparse.Namespace) -> int:
    from model_governance.config import inventory_url, load_config
    from model_governance.inventory import Inventory
    from model_governance.inventory.audit import AuditKeyring
    from model_governance.services.evidence import S3AnchorStore, export_pack

    keyring = AuditKeyring.from_env()
    config = load_config(variable_text="") if not (args.inventory_url and args.bucket) else None
    url = args.inventory_url or inventory_url(config)  # type: ignore[arg-type]
    bucket = args.bucket or config.governance_bucket  # type: ignore[union-attr]
    region = config.business_entities[0].region if config is not None and config.business_entities else None
    client = _s3_client(region=region)
    inventory = Inventory.from_url(url, audit_keyring=keyring, anchors=S3AnchorStore(client, bucket))
    model: int | str = int(args.model) if args.model.isdigit() else args.model
    out = export_pack(inventory, model, args.out, fetch=_fetch(client))
    print(f"evidence pack written: {out} (and {out.with_name(out.name + '.zip')})")
    return 0


def _verify(args: argparse.Namespace) -> int:
    from model_governance.inventory.audit import AuditKeyring
    from model_governance.services.evidence import verify_pack

    problems = verify_pack(args.pack, AuditKeyring.from_env())
    if problems:
        print(f"evidence pack {args.pack}: NOT verified, {len(problems)} problem(s):")
        for problem in problems:
            print(f"  - {problem}")
        return 1
    print(f"evidence pack {args.pack}: verified")
    return 0


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        return _export(args) if args.command == "export" else _verify(args)
    except ModelGovernanceError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
