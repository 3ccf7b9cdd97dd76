"""Server-side input validation driven by botocore's SageMaker service model.

AWS validates every request against the same Smithy model that botocore ships (lengths, patterns, enums,
ranges, required members) and answers one ``ValidationException`` listing every violation, in Coral's
wording: ``2 validation errors detected: Value 'x' at 'modelLifeCycle.stage' failed to satisfy constraint:
Member must satisfy regular expression pattern: ...``. botocore itself only checks types, required members
and minimums on the client, so without this the sandbox would accept what AWS refuses.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Mapping
from typing import Any

import botocore.session
import regex  # the AWS patterns use \p{L}-style classes that the stdlib re module does not know
from botocore.model import OperationModel, Shape

from sandbox.aws.errors import AwsError


@functools.lru_cache(maxsize=1)
def sagemaker_model() -> Any:
    return botocore.session.get_session().get_service_model("sagemaker")


def operation(name: str) -> OperationModel:
    return sagemaker_model().operation_model(name)


@functools.lru_cache(maxsize=256)
def _compiled(pattern: str) -> Any:
    # Some SageMaker patterns end in a Java-style quantified anchor such as `${1,128}`; the intent is
    # "the whole value", which fullmatch already expresses.
    cleaned = regex.sub(r"\$\{\d+,\d+\}$", "", pattern)
    return regex.compile(cleaned)


def _camel(member: str) -> str:
    return member[:1].lower() + member[1:]


def _render(value: Any) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, Mapping | list):
        return json.dumps(value, default=str, sort_keys=True)
    return str(value)


def _string_problems(value: str, shape: Shape) -> list[str]:
    problems = []
    meta = shape.metadata
    if "max" in meta and len(value) > meta["max"]:
        problems.append(f"Member must have length less than or equal to {meta['max']}")
    if "min" in meta and len(value) < meta["min"]:
        problems.append(f"Member must have length greater than or equal to {meta['min']}")
    if shape.enum and value not in shape.enum:
        problems.append(f"Member must satisfy enum value set: [{', '.join(shape.enum)}]")
    pattern = meta.get("pattern")
    if pattern and not _compiled(pattern).fullmatch(value):
        problems.append(f"Member must satisfy regular expression pattern: {pattern}")
    return problems


def _walk(value: Any, shape: Shape, path: str, errors: list[str]) -> None:
    def add(problem: str) -> None:
        errors.append(f"Value '{_render(value)}' at '{path}' failed to satisfy constraint: {problem}")

    kind = shape.type_name
    meta = shape.metadata
    if value is None:
        return
    if kind == "structure":
        if not isinstance(value, Mapping):
            add("Member must be a structure")
            return
        for req in shape.required_members:
            if value.get(req) is None:
                prefix = f"{path}." if path else ""
                errors.append(
                    f"Value null at '{prefix}{_camel(req)}' failed to satisfy constraint: "
                    "Member must not be null"
                )
        for member, member_shape in shape.members.items():
            if member in value:
                child = f"{path}.{_camel(member)}" if path else _camel(member)
                _walk(value[member], member_shape, child, errors)
    elif kind == "string":
        if not isinstance(value, str):
            add("Member must be a string")
            return
        for problem in _string_problems(value, shape):
            add(problem)
    elif kind == "list":
        if not isinstance(value, list):
            add("Member must be a list")
            return
        if "max" in meta and len(value) > meta["max"]:
            add(f"Member must have length less than or equal to {meta['max']}")
        if "min" in meta and len(value) < meta["min"]:
            add(f"Member must have length greater than or equal to {meta['min']}")
        for index, item in enumerate(value, start=1):
            _walk(item, shape.member, f"{path}.{index}.member", errors)
    elif kind == "map":
        if not isinstance(value, Mapping):
            add("Member must be a map")
            return
        if "max" in meta and len(value) > meta["max"]:
            add(f"Member must have length less than or equal to {meta['max']}")
        if "min" in meta and len(value) < meta["min"]:
            add(f"Member must have length greater than or equal to {meta['min']}")
        key_problems: list[str] = []
        value_problems: list[str] = []
        for key, item in value.items():
            key_problems += [p for p in _string_problems(str(key), shape.key) if p not in key_problems]
            if shape.value.type_name == "string":
                if not isinstance(item, str):
                    problems = ["Member must be a string"]
                else:
                    problems = _string_problems(item, shape.value)
                value_problems += [p for p in problems if p not in value_problems]
            else:
                _walk(item, shape.value, f"{path}.{key}", errors)
        if key_problems:
            add(f"Map keys must satisfy constraint: [{', '.join(key_problems)}]")
        if value_problems:
            add(f"Map value must satisfy constraint: [{', '.join(value_problems)}]")
    elif kind in ("integer", "long"):
        if isinstance(value, bool) or not isinstance(value, int):
            add("Member must be a number")
            return
        if "max" in meta and value > meta["max"]:
            add(f"Member must have value less than or equal to {meta['max']}")
        if "min" in meta and value < meta["min"]:
            add(f"Member must have value greater than or equal to {meta['min']}")
    elif kind == "boolean" and not isinstance(value, bool):
        add("Member must be a boolean")


def validate(operation_name: str, params: Mapping[str, Any]) -> None:
    """Raise the AWS-shaped ValidationException for every constraint ``params`` breaks."""
    errors: list[str] = []
    _walk(params, operation(operation_name).input_shape, "", errors)
    if errors:
        raise validation_error_from(errors)


def validation_error_from(errors: list[str]) -> AwsError:
    noun = "error" if len(errors) == 1 else "errors"
    return AwsError("ValidationException", f"{len(errors)} validation {noun} detected: " + "; ".join(errors))
