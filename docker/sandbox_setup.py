"""The sandbox-setup service of docker-compose's `sandbox` profile: what an AWS administrator would have
done before the first model is governed, here in the AWS stand-in: the governance bucket (snapshots,
reports, review documents) and a data bucket for the data scientists' baseline and comparator data.

    python docker/sandbox_setup.py --endpoint-url http://aws-sandbox:4566 --bucket model-governance

Safe to run again. Never point it at a real account: it uses the sandbox's fixed test credentials.
"""

from __future__ import annotations

import argparse


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="sandbox_setup.py", description=__doc__.splitlines()[0])
    parser.add_argument("--endpoint-url", required=True, help="the AWS sandbox, e.g. http://aws-sandbox:4566")
    parser.add_argument("--region", default="us-east-1")
    parser.add_argument("--bucket", action="append", required=True, help="a bucket to create (repeatable)")
    args = parser.parse_args(argv)
    if not args.endpoint_url.startswith(("http://127.", "http://localhost", "http://aws-sandbox")):
        parser.error(f"--endpoint-url {args.endpoint_url} is not the local AWS sandbox")

    import boto3

    s3 = boto3.client(
        "s3",
        endpoint_url=args.endpoint_url,
        region_name=args.region,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",  # noqa: S106 - the sandbox's fixed test credentials
    )
    for bucket in args.bucket:
        try:
            s3.create_bucket(Bucket=bucket)
            print(f"sandbox_setup: bucket {bucket} created", flush=True)
        except s3.exceptions.BucketAlreadyOwnedByYou:
            print(f"sandbox_setup: bucket {bucket} exists", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
