"""Queue message bodies of every wrong shape are the message's own bad input, never an exception that
stops the batch: a table of the shapes found by probing, and a property over arbitrary JSON."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from model_governance.exceptions import InvalidInputError
from model_governance.sync import CLOUDTRAIL_DETAIL_TYPE, EVENT_DETAIL_TYPE, parse_event

ARN = "arn:aws:sagemaker:us-east-1:123456789012:model-package/churn/3"


def _state_change(**changes: Any) -> dict[str, Any]:
    event: dict[str, Any] = {
        "detail-type": EVENT_DETAIL_TYPE,
        "source": "aws.sagemaker",
        "time": "2026-11-30T09:00:00Z",
        "resources": [ARN],
        "detail": {"ModelPackageArn": ARN, "ModelPackageStatus": "Completed"},
    }
    event.update(changes)
    return event


def _cloudtrail(**detail_changes: Any) -> dict[str, Any]:
    detail: dict[str, Any] = {
        "eventName": "UpdateModelPackage",
        "requestParameters": {"modelPackageArn": ARN},
        "userIdentity": {"arn": "arn:aws:iam::123456789012:user/ds"},
    }
    detail.update(detail_changes)
    return {"detail-type": CLOUDTRAIL_DETAIL_TYPE, "time": "2026-11-30T09:00:00Z", "detail": detail}


BAD_BODIES = {
    "detail is a list": _state_change(detail=[1, 2]),
    "detail is a string": _state_change(detail="x", resources=[]),
    "time not ISO 8601": _state_change(time="yesterday at noon"),
    "time out of range": _state_change(time="99999-01-01T00:00:00Z"),
    "time a huge epoch": _state_change(time=1e20, detail={"ModelPackageArn": ARN}),
    "time a boolean": _state_change(time=True),
    "resources is a string": _state_change(resources=ARN, detail={}),
    "resources is an object": _state_change(resources={"a": ARN}, detail={}),
    "ARN is a number": _state_change(detail={"ModelPackageArn": 42}),
    "ARN malformed": _state_change(detail={"ModelPackageArn": "arn:aws:s3:::bucket"}),
    "cloudtrail requestParameters a string": _cloudtrail(requestParameters="modelPackageArn=x"),
    "cloudtrail detail a list": {"detail-type": CLOUDTRAIL_DETAIL_TYPE, "detail": []},
    "cloudtrail userIdentity a list": _cloudtrail(userIdentity=["x"]),
    "cloudtrail time missing": {**_cloudtrail(), "time": None},
    "not JSON": "{not json",
    "a JSON list": [1, 2, 3],
    "another detail-type": {"detail-type": "EC2 Instance State-change Notification", "detail": {}},
}


@pytest.mark.parametrize("body", list(BAD_BODIES.values()), ids=list(BAD_BODIES))
def test_each_bad_shape_is_invalid_input_naming_the_problem(body: Any) -> None:
    text = body if isinstance(body, str) else json.dumps(body)
    with pytest.raises(InvalidInputError) as caught:
        parse_event(text)
    assert str(caught.value)  # a message a person can act on
    assert "Traceback" not in str(caught.value)


def test_good_events_still_parse() -> None:
    event = parse_event(json.dumps(_state_change()))
    assert event is not None and event.package_arn == ARN and event.time.tzinfo is not None
    trail = parse_event(json.dumps(_cloudtrail()))
    assert trail is not None and trail.actor == "arn:aws:iam::123456789012:user/ds"
    offset = parse_event(json.dumps(_state_change(time="2026-11-30T10:00:00+01:00")))
    assert offset is not None and offset.time == event.time


def _parsed_or_refused(body: str) -> None:
    """Either a well-formed event (or None: nothing for the sync) or InvalidInputError; nothing else."""
    try:
        event = parse_event(body)
    except InvalidInputError as exc:
        assert str(exc)
        return
    assert event is None or (event.package_arn.startswith("arn:") and event.time.tzinfo is not None)


_JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=30),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=5)
    ),
    max_leaves=15,
)
_KEYS = st.sampled_from(["detail", "time", "resources", "detail-type", "source"])


@settings(max_examples=300, deadline=None)
@given(
    base=st.sampled_from(["state", "cloudtrail"]),
    replaced=st.dictionaries(_KEYS, _JSON, max_size=3),
    detail_replaced=st.dictionaries(
        st.sampled_from(
            ["ModelPackageArn", "ModelPackageStatus", "eventName", "requestParameters", "userIdentity"]
        ),
        _JSON,
        max_size=3,
    ),
)
def test_property_any_event_shape_parses_or_is_invalid_input(
    base: str, replaced: dict[str, Any], detail_replaced: dict[str, Any]
) -> None:
    event = _state_change() if base == "state" else _cloudtrail()
    event.update(replaced)
    if isinstance(event.get("detail"), dict):
        event["detail"] = {**event["detail"], **detail_replaced}
    _parsed_or_refused(json.dumps(event))


@settings(max_examples=200, deadline=None)
@given(body=st.text(max_size=200) | _JSON.map(json.dumps))
def test_property_any_body_parses_or_is_invalid_input(body: str) -> None:
    _parsed_or_refused(body)
