"""SageMaker's model card JSON schema, applied to ``ModelCardContent`` the way SageMaker applies it.

``model_card_schema.json`` is the published schema (its ``$comment`` names the source and version). A model
package's card is narrower than a standalone model card: per the API reference (ModelPackageModelCard),
its schema has no ``model_package_details`` and its ``model_overview`` is composed of ``model_creator`` and
``model_artifact`` only. ``PACKAGE_CARD_SCHEMA`` is the published schema with that narrowing; the sandbox
checks CreateModelPackage / UpdateModelPackage cards against it and standalone cards against the full one.

SageMaker's wording for a schema refusal is not published; the message names the JSON pointer of each
violation, as SageMaker's own validator does, so a test (or a person) sees exactly what would be refused.
"""

from __future__ import annotations

import copy
import json
from functools import cache
from pathlib import Path
from typing import Any

from jsonschema import Draft7Validator

from sandbox.aws.errors import AwsError

SCHEMA_PATH = Path(__file__).with_name("model_card_schema.json")
#: What ModelPackageModelCard keeps of ``model_overview``.
PACKAGE_MODEL_OVERVIEW = ("model_creator", "model_artifact")
#: Violations named in one error message (the rest are counted).
_MAX_REPORTED = 5


@cache
def card_schema() -> dict[str, Any]:
    """The published model card schema (a standalone CreateModelCard's content)."""
    schema: dict[str, Any] = json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))
    return schema


@cache
def package_card_schema() -> dict[str, Any]:
    """The model package card's schema: the published one with ``model_overview`` narrowed."""
    schema = copy.deepcopy(card_schema())
    overview = schema["properties"]["model_overview"]
    overview["properties"] = {k: v for k, v in overview["properties"].items() if k in PACKAGE_MODEL_OVERVIEW}
    return schema


@cache
def _validator(package: bool) -> Draft7Validator:
    return Draft7Validator(package_card_schema() if package else card_schema())


def _pointer(path: Any) -> str:
    return "#/" + "/".join(str(part) for part in path) if path else "#"


def violations(content: Any, *, package: bool = True) -> list[str]:
    """Every schema violation of ``content`` (parsed JSON), as ``"#/pointer: reason"``, in path order."""
    errors = sorted(_validator(package).iter_errors(content), key=lambda e: [str(p) for p in e.absolute_path])
    return [f"{_pointer(e.absolute_path)}: {e.message}" for e in errors]


def check_content(content: Any, *, field: str, package: bool = True) -> None:
    """Refuse ``content`` that the model card schema refuses, with SageMaker's ValidationException."""
    found = violations(content, package=package)
    if not found:
        return
    shown = "; ".join(found[:_MAX_REPORTED])
    more = f" (and {len(found) - _MAX_REPORTED} more)" if len(found) > _MAX_REPORTED else ""
    kind = "model package model card" if package else "model card"
    raise AwsError(
        "ValidationException",
        f"{field} does not conform to the {kind} JSON schema: {shown}{more}. Custom fields belong under "
        "additional_information.custom_details (string values of at most 1024 characters).",
    )


#: Standalone model card operations (moto answers them; the sandbox checks their ``Content`` first).
STANDALONE_CARD_ACTIONS = ("CreateModelCard", "UpdateModelCard")


def check_standalone_card(params: dict[str, Any]) -> None:
    """CreateModelCard / UpdateModelCard: ``Content`` must be a JSON object valid under the full schema."""
    content = params.get("Content")
    if content is None:
        return
    try:
        parsed = json.loads(content)
    except (TypeError, ValueError) as exc:
        raise AwsError("ValidationException", f"Content is not valid JSON ({exc}).") from exc
    if not isinstance(parsed, dict):
        raise AwsError("ValidationException", "Content must be a JSON object, not a list or scalar.")
    check_content(parsed, field="Content", package=False)
