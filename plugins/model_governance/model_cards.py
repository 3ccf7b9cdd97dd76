"""A model package's SageMaker model card, filled from governance facts (pure: no Airflow, no AWS client).

SageMaker checks ``ModelCardContent`` against its model card JSON schema, and a model package's card is the
narrow variant: top-level sections ``model_overview`` (only ``model_creator`` and ``model_artifact``),
``intended_uses``, ``business_details``, ``training_details``, ``evaluation_details`` and
``additional_information``, nothing else; custom fields only as strings (at most 1,024 characters) under
``additional_information.custom_details``; the whole content at most 100,000 characters. See
docs/model-cards.md for where each governance fact goes.

Who owns what, when governance merges its sections into the card the data scientist registered:

- governance owns ``intended_uses.risk_rating`` and ``explanations_for_risk_rating`` (the use case's risk
  level), ``model_overview.model_artifact`` (the artifacts the snapshot pinned), its own entry of
  ``evaluation_details`` (named ``GOVERNANCE_EVALUATION``) and its own keys of ``custom_details``; those
  win;
- everything else governance offers (purpose of the model, business details) fills only what is empty;
- the data scientist's other content is kept as is, section by section and field by field.

Card status (``ModelCardStatus``) moves forward only: Draft -> PendingReview (the test results review
accepted) -> Approved (production approval) -> Archived (decommissioned). Archived is final: SageMaker
refuses any change to an archived card, so governance never writes one.
"""

from __future__ import annotations

import copy
import json
import logging
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from model_governance.exceptions import ArchivedModelCardError, ModelCardTooLargeError

#: SageMaker's limit on ``ModelCardContent``.
CARD_CONTENT_MAX = 100_000
#: The name of governance's entry in ``evaluation_details`` (at most 63 characters).
GOVERNANCE_EVALUATION = "Governance risk tests"
#: Top-level key this provider wrote before it followed the schema; SageMaker refuses it, so it goes.
LEGACY_GOVERNANCE_KEY = "governance"

log = logging.getLogger(__name__)

# The schema's limits on what governance writes.
_CUSTOM_VALUE_MAX = 1024
_TEXT_MAX = 2048
_OBSERVATION_MAX = 2096
_NAME_MAX = 63
_METRIC_NAME_MAX = 255
_NOTES_MAX = 1024
_STRING_VALUE_MAX = 63
_ARTIFACTS_MAX = 15
_DATASETS_MAX = 10
_METADATA_VALUE_MAX = 1024

#: (section, field) pairs whose governance value wins over the card's.
GOVERNANCE_OWNED = frozenset(
    {
        ("intended_uses", "risk_rating"),
        ("intended_uses", "explanations_for_risk_rating"),
        ("model_overview", "model_artifact"),
    }
)


class CardStatus(StrEnum):
    """``ModelCardStatus``, in the order a governed card moves through it."""

    DRAFT = "Draft"
    PENDING_REVIEW = "PendingReview"
    APPROVED = "Approved"
    ARCHIVED = "Archived"


_ORDER = {status: rank for rank, status in enumerate(CardStatus)}

#: Governance risk level -> the schema's ``risk_rating`` enum (High | Medium | Low | Unknown).
_RISK_RATINGS = {"high": "High", "medium": "Medium", "low": "Low"}


def risk_rating(risk_level: str | None) -> str:
    """The card's ``risk_rating`` for a use case's risk level; ``Unknown`` for anything unrated."""
    return _RISK_RATINGS.get((risk_level or "").strip().lower(), "Unknown")


def card_status(card: Mapping[str, Any] | None) -> CardStatus:
    """The status of a package's ``ModelCard`` (a card without one is a Draft, as SageMaker shows it)."""
    value = (card or {}).get("ModelCardStatus") or CardStatus.DRAFT.value
    try:
        return CardStatus(value)
    except ValueError:
        return CardStatus.DRAFT


def status_after(arn: str, current: CardStatus | str | None, wanted: CardStatus | str | None) -> CardStatus:
    """The status a card write leaves: ``wanted`` when it is a step forward, else ``current`` (a re-run of
    an earlier gate does not move an approved card back). Raises ``ArchivedModelCardError`` for an
    Archived card: nothing may change it."""
    now = CardStatus(current or CardStatus.DRAFT)
    if now is CardStatus.ARCHIVED:
        raise ArchivedModelCardError(
            f"The model card of {arn!r} is Archived; SageMaker refuses any change to it. Register a new "
            "model package version to record a new card."
        )
    if wanted is None:
        return now
    target = CardStatus(wanted)
    return target if _ORDER[target] > _ORDER[now] else now


def parse_content(text: str | None) -> dict[str, Any]:
    """``ModelCardContent`` as a dict (empty for no content; SageMaker stores only JSON objects)."""
    if not text:
        return {}
    try:
        parsed = json.loads(text)
    except ValueError:
        return {}
    return parsed if isinstance(parsed, dict) else {}


def _text(value: Any, limit: int) -> str:
    text = str(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"


@dataclass(frozen=True)
class CardFacts:
    """What governance knows about a model version that belongs on its card."""

    package_arn: str
    use_case_name: str
    risk_level: str | None
    use_case_description: str = ""
    owner: str | None = None
    business_entity: str | None = None
    package_group: str | None = None
    package_version: int | None = None
    package_description: str | None = None
    #: The model artifacts the snapshot pinned (S3 URIs of the inference containers' model data).
    model_artifacts: tuple[str, ...] = ()
    snapshot: str | None = None
    #: The risk test report (``RiskTestReport`` JSON) of the snapshot, and where it is stored.
    risk_report: Mapping[str, Any] | None = None
    risk_report_uri: str | None = None
    #: Governance links for ``custom_details`` (key -> string).
    details: Mapping[str, str] = field(default_factory=dict)

    @classmethod
    def from_manifest(
        cls,
        manifest: Mapping[str, Any],
        *,
        use_case_description: str = "",
        owner: str | None = None,
        business_entity: str | None = None,
        snapshot: str | None = None,
        risk_report: Mapping[str, Any] | None = None,
        risk_report_uri: str | None = None,
        details: Mapping[str, str] | None = None,
    ) -> CardFacts:
        """The facts of a snapshot manifest (``snapshots`` module) plus what the inventory adds."""
        package = manifest.get("model_package") or {}
        use_case = manifest.get("use_case") or {}
        artifacts = tuple(
            str(c["model_data_url"])
            for c in package.get("inference_containers") or []
            if c.get("model_data_url")
        )
        version = package.get("version")
        return cls(
            package_arn=str(package.get("arn", "")),
            use_case_name=str(use_case.get("name", "")),
            risk_level=use_case.get("risk_level"),
            use_case_description=use_case_description,
            owner=owner,
            business_entity=business_entity,
            package_group=package.get("group"),
            package_version=int(version) if version is not None else None,
            package_description=package.get("description"),
            model_artifacts=artifacts,
            snapshot=snapshot,
            risk_report=risk_report,
            risk_report_uri=risk_report_uri,
            details=dict(details or {}),
        )


def _metric(result: Mapping[str, Any]) -> dict[str, Any]:
    """One risk test result as a ``simple_metric``: its number, or its status when it has none."""
    name = str(result.get("test", "?"))
    if result.get("feature"):
        name += f" {result['feature']}"
    if result.get("group") is not None:
        name += f"={result['group']}"
    if result.get("dataset"):
        name += f" [{result['dataset']}]"
    status = str(result.get("status", "unknown"))
    notes = f"status {status}"
    threshold = result.get("threshold") or {}
    if threshold.get("text"):
        notes += f"; threshold {threshold['text']}"
    if result.get("reason"):
        notes += f"; {result['reason']}"
    value = result.get("value")
    metric: dict[str, Any] = {"name": _text(name, _METRIC_NAME_MAX), "notes": _text(notes, _NOTES_MAX)}
    if isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value):
        metric.update(type="number", value=value)
    else:
        metric.update(type="string", value=_text(status, _STRING_VALUE_MAX))
    return metric


def _evaluation(facts: CardFacts, *, gated_only: bool) -> dict[str, Any] | None:
    """Governance's ``evaluation_details`` entry: one metric group per risk test category."""
    report = facts.risk_report
    if not report:
        return None
    results = list(report.get("results") or [])
    omitted = 0
    if gated_only:
        kept = [r for r in results if r.get("threshold")]
        omitted, results = len(results) - len(kept), kept
    groups: dict[str, list[dict[str, Any]]] = {}
    for result in results:
        category = str(result.get("test", "other")).split(".", 1)[0] or "other"
        groups.setdefault(category, []).append(_metric(result))
    summary = report.get("summary") or {}
    verdict = report.get("passed")
    overall: list[dict[str, Any]] = [
        {"name": "passed", "type": "boolean", "value": verdict}
        if isinstance(verdict, bool)
        else {"name": "passed", "type": "string", "value": "not judged: a reviewer decides"}
    ]
    overall += [
        {"name": key, "type": "number", "value": summary[key]}
        for key in ("passed", "failed", "not_applicable", "info", "error")
        if isinstance(summary.get(key), int)
    ]
    metric_groups = [{"name": "verdict", "metric_data": overall}]
    metric_groups += [{"name": _text(name, _NAME_MAX), "metric_data": data} for name, data in groups.items()]
    observation = (
        f"Standard risk tests against the {report.get('risk_level') or facts.risk_level} thresholds: "
        f"{summary.get('passed', 0)} passed, {summary.get('failed', 0)} failed, "
        f"{summary.get('error', 0)} errored; verdict "
        f"{'passed' if verdict is True else 'failed' if verdict is False else 'not judged'}."
    )
    if summary.get("not_judged"):
        observation += f" Not judged: {', '.join(map(str, summary['not_judged']))}."
    if omitted:
        observation += f" {omitted} informational results left out to fit the card; see the full report."
    if facts.risk_report_uri:
        observation += f" Full report: {facts.risk_report_uri}"
    inputs = report.get("inputs") or {}
    datasets = [
        _text(inputs[k]["source"], 1024)
        for k in ("baseline", "comparator")
        if isinstance(inputs.get(k), Mapping) and inputs[k].get("source")
    ]
    metadata = {
        "risk_level": report.get("risk_level") or facts.risk_level,
        "engine_version": report.get("engine_version"),
        "report_schema_version": report.get("schema_version"),
        "problem_type": report.get("problem_type"),
        "report_uri": facts.risk_report_uri,
        "snapshot": facts.snapshot,
    }
    entry: dict[str, Any] = {
        "name": GOVERNANCE_EVALUATION,
        "evaluation_observation": _text(observation, _OBSERVATION_MAX),
        "metadata": {k: _text(v, _METADATA_VALUE_MAX) for k, v in metadata.items() if v is not None},
        "metric_groups": metric_groups,
    }
    if datasets:
        entry["datasets"] = datasets[:_DATASETS_MAX]
    return entry


def custom_details(facts: CardFacts) -> dict[str, str]:
    """Governance's keys of ``additional_information.custom_details`` (strings, at most 1,024 each)."""
    details: dict[str, str] = {}
    if facts.package_group:
        details["model_package_group"] = facts.package_group
    if facts.package_version is not None:
        details["model_package_version"] = str(facts.package_version)
    if facts.use_case_name:
        details["use_case"] = facts.use_case_name
    if facts.snapshot:
        details["snapshot"] = facts.snapshot
    if facts.risk_report_uri:
        details["risk_test_report"] = facts.risk_report_uri
    details.update(facts.details)
    return {k: _text(v, _CUSTOM_VALUE_MAX) for k, v in details.items()}


def governance_sections(facts: CardFacts, *, gated_only: bool = False) -> dict[str, Any]:
    """The card content governance contributes (merge it into the card with ``merge_content``)."""
    rating = risk_rating(facts.risk_level)
    explanation = (
        f"Use case {facts.use_case_name!r} is rated {facts.risk_level} risk in the governance inventory; "
        f"its risk tests and approvals follow the {facts.risk_level} policy."
        if rating != "Unknown"
        else f"Use case {facts.use_case_name!r} has no risk rating in the governance inventory."
    )
    intended: dict[str, Any] = {
        "risk_rating": rating,
        "explanations_for_risk_rating": _text(explanation, _TEXT_MAX),
    }
    purpose = facts.use_case_description or facts.package_description
    if purpose:
        intended["purpose_of_model"] = _text(purpose, _TEXT_MAX)
    sections: dict[str, Any] = {"intended_uses": intended}
    if facts.model_artifacts:
        sections["model_overview"] = {
            "model_artifact": [_text(a, 1024) for a in facts.model_artifacts[:_ARTIFACTS_MAX]]
        }
    business = {
        "business_problem": facts.use_case_description,
        "business_stakeholders": facts.owner,
        "line_of_business": facts.business_entity,
    }
    business = {k: _text(v, _TEXT_MAX) for k, v in business.items() if v}
    if business:
        sections["business_details"] = business
    evaluation = _evaluation(facts, gated_only=gated_only)
    if evaluation is not None:
        sections["evaluation_details"] = [evaluation]
    details = custom_details(facts)
    if details:
        sections["additional_information"] = {"custom_details": details}
    return sections


def governance_fills(facts: CardFacts) -> dict[tuple[str, str], Any]:
    """The (section, field) values governance writes into its sections' fields that the card leaves empty
    (``merge_content``): after the review they read as the card's own, so a snapshot retaken then must
    recognise them as governance's (``snapshots.data_scientist_card``)."""
    return {
        (section, name): value
        for section, offered in governance_sections(facts).items()
        if isinstance(offered, Mapping) and section != "additional_information"
        for name, value in offered.items()
        if (section, name) not in GOVERNANCE_OWNED
    }


def merge_content(existing: Mapping[str, Any], governance: Mapping[str, Any]) -> dict[str, Any]:
    """``governance`` sections merged into the card's ``existing`` content by the ownership rules above:
    nothing of the data scientist's is dropped; governance's fields win only where governance owns them."""
    merged = copy.deepcopy(dict(existing))
    merged.pop(LEGACY_GOVERNANCE_KEY, None)
    for section, offered in governance.items():
        current = merged.get(section)
        if section == "evaluation_details":
            names = {e.get("name") for e in offered if isinstance(e, Mapping)}
            kept = [e for e in (current or []) if not (isinstance(e, Mapping) and e.get("name") in names)]
            merged[section] = [*kept, *copy.deepcopy(list(offered))]
        elif isinstance(offered, Mapping) and isinstance(current, Mapping):
            out = dict(current)
            for key, value in offered.items():
                if section == "additional_information" and key == "custom_details":
                    out[key] = {**dict(out.get(key) or {}), **dict(value)}
                elif (section, key) in GOVERNANCE_OWNED or out.get(key) in (None, "", []):
                    out[key] = copy.deepcopy(value)
            merged[section] = out
        elif current is None:
            merged[section] = copy.deepcopy(offered)
    return merged


def with_links(existing: Mapping[str, Any], details: Mapping[str, str]) -> dict[str, Any] | None:
    """``existing`` with ``details`` in ``additional_information.custom_details``, or None when they are
    there already (so an unchanged card is not written again)."""
    info = existing.get("additional_information")
    current = dict((info or {}).get("custom_details") or {}) if isinstance(info, Mapping) else {}
    wanted = {k: _text(v, _CUSTOM_VALUE_MAX) for k, v in details.items()}
    if LEGACY_GOVERNANCE_KEY not in existing and all(current.get(k) == v for k, v in wanted.items()):
        return None
    return merge_content(existing, {"additional_information": {"custom_details": wanted}})


def _sizes(content: Mapping[str, Any]) -> str:
    sizes = sorted(((len(json.dumps(v)), k) for k, v in content.items()), reverse=True)
    return ", ".join(f"{k} {n:,}" for n, k in sizes[:3])


def card_text(arn: str, content: Mapping[str, Any]) -> str:
    """``content`` as the ``ModelCardContent`` string, refused with a clear error above 100,000 characters."""
    text = json.dumps(content, sort_keys=True)
    if len(text) > CARD_CONTENT_MAX:
        raise ModelCardTooLargeError(
            f"The model card of {arn!r} would be {len(text):,} characters, over SageMaker's "
            f"{CARD_CONTENT_MAX:,} limit (largest sections: {_sizes(content)}). Shorten the card's own "
            "sections in SageMaker (long material belongs in S3, linked from custom_details)."
        )
    return text


def governed_card(
    arn: str,
    card: Mapping[str, Any] | None,
    facts: CardFacts,
    *,
    status: CardStatus | str | None = None,
) -> dict[str, str]:
    """The package's ``ModelCard`` after governance fills it from ``facts`` (the body of an
    UpdateModelPackage): merged by the ownership rules, at ``status`` when that is a step forward.

    When the full evaluation does not fit, the informational risk test results are left out (the full
    report stays linked); if it still does not fit, ``ModelCardTooLargeError`` says which sections are big.
    """
    new_status = status_after(arn, card_status(card), status)
    existing = parse_content((card or {}).get("ModelCardContent"))
    content = merge_content(existing, governance_sections(facts))
    try:
        text = card_text(arn, content)
    except ModelCardTooLargeError:
        text = card_text(arn, merge_content(existing, governance_sections(facts, gated_only=True)))
    return {"ModelCardContent": text, "ModelCardStatus": new_status.value}


def card_with_links(
    arn: str, card: Mapping[str, Any] | None, details: Mapping[str, str]
) -> dict[str, str] | None:
    """The package's ``ModelCard`` with governance ``details`` in its custom details, or None when they are
    in place already or the card is Archived (never changed; the caller says so)."""
    if not details:
        return None
    content = with_links(parse_content((card or {}).get("ModelCardContent")), details)
    if content is None:
        return None
    if card_status(card) is CardStatus.ARCHIVED:
        log.info(
            "The model card of %s is Archived: governance links left out of it (SageMaker refuses any "
            "change to an archived card; the package's customer metadata still carries them).",
            arn,
        )
        return None
    return {"ModelCardContent": card_text(arn, content), "ModelCardStatus": card_status(card).value}


def status_move(arn: str, card: Mapping[str, Any] | None, wanted: CardStatus | str) -> dict[str, str] | None:
    """The ``ModelCard`` body that moves a card to ``wanted`` (status only, content untouched), or None when
    the package has no card, or the card is there already or further on. An Archived card is never
    changed: None as well (archiving twice is a no-op, anything else has nothing to do on it)."""
    if not card or card_status(card) is CardStatus.ARCHIVED:
        return None
    now = card_status(card)
    target = status_after(arn, now, wanted)
    if target is now:
        return None
    return {"ModelCardStatus": target.value}


def merged_card(
    arn: str, card: Mapping[str, Any] | None, content: Mapping[str, Any], *, status: CardStatus | str | None
) -> dict[str, str]:
    """A card write of arbitrary ``content`` (sections in the schema's shape) merged by the ownership rules;
    raises ``ArchivedModelCardError`` for an Archived card."""
    new_status = status_after(arn, card_status(card), status)
    existing = parse_content((card or {}).get("ModelCardContent"))
    return {
        "ModelCardContent": card_text(arn, merge_content(existing, content)),
        "ModelCardStatus": new_status.value,
    }


__all__: Sequence[str] = (
    "CARD_CONTENT_MAX",
    "GOVERNANCE_EVALUATION",
    "CardFacts",
    "CardStatus",
    "card_status",
    "card_text",
    "card_with_links",
    "custom_details",
    "governance_sections",
    "governed_card",
    "merge_content",
    "merged_card",
    "parse_content",
    "risk_rating",
    "status_after",
    "status_move",
    "with_links",
)
