"""SageMaker model package and group ARNs as the inventory keys them."""

from __future__ import annotations

import re
from dataclasses import dataclass

from model_governance.exceptions import InvalidArnError

_PARTITION = r"arn:aws(?:-[a-z]+)*"
_NAME = r"[a-zA-Z0-9](?:-*[a-zA-Z0-9]){0,62}"
MODEL_PACKAGE_ARN = re.compile(
    rf"^(?P<prefix>{_PARTITION}:sagemaker:(?P<region>[a-z0-9-]+):(?P<account>\d{{12}})):"
    rf"model-package/(?P<group>{_NAME})/(?P<version>[1-9]\d*)$"
)
MODEL_PACKAGE_GROUP_ARN = re.compile(
    rf"^{_PARTITION}:sagemaker:[a-z0-9-]+:\d{{12}}:model-package-group/(?P<group>{_NAME})$"
)


@dataclass(frozen=True)
class PackageArn:
    """The parts of a versioned model package ARN."""

    arn: str
    region: str
    account_id: str
    group_name: str
    version: int
    group_arn: str


def parse_model_package_arn(arn: str) -> PackageArn:
    """Split a versioned model package ARN, or raise ``InvalidArnError`` naming it and the expected shape."""
    match = MODEL_PACKAGE_ARN.match(arn or "")
    if not match:
        raise InvalidArnError(
            f"{arn!r} is not a versioned SageMaker model package ARN; expected "
            "arn:aws:sagemaker:REGION:ACCOUNT:model-package/GROUP/VERSION"
        )
    return PackageArn(
        arn=arn,
        region=match["region"],
        account_id=match["account"],
        group_name=match["group"],
        version=int(match["version"]),
        group_arn=f"{match['prefix']}:model-package-group/{match['group']}",
    )


def check_group_arn(arn: str) -> None:
    if not MODEL_PACKAGE_GROUP_ARN.match(arn or ""):
        raise InvalidArnError(
            f"{arn!r} is not a SageMaker model package group ARN; expected "
            "arn:aws:sagemaker:REGION:ACCOUNT:model-package-group/NAME"
        )
