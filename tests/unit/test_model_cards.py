"""The model card builder: its output passes SageMaker's model package card schema (the sandbox's copy) for
real risk test reports and edge cases, the data scientist's content survives the merge, and the card
status only moves forward and never off Archived."""

from __future__ import annotations

import json
from typing import Any

import pytest

from model_governance import model_cards
from model_governance.exceptions import ArchivedModelCardError, ConflictError, ModelCardTooLargeError
from model_governance.model_cards import CardFacts, CardStatus
from model_governance.risk_tests.engine import run_risk_tests
from sandbox.aws.model_card_schema import violations
from tests.unit.risk_tests.conftest import (
    classification_schema,
    classification_table,
    regression_schema,
    regression_table,
)

ARN = "arn:aws:sagemaker:us-east-1:123456789012:model-package/churn/3"

MANIFEST: dict[str, Any] = {
    "manifest_version": 1,
    "model_package": {
        "arn": ARN,
        "group": "churn",
        "version": 3,
        "description": "churn classifier v3",
        "inference_containers": [
            {"image": "123.dkr.ecr/x:1", "model_data_url": "s3://models/churn/3/model.tar.gz"},
            {"image": "123.dkr.ecr/y:1", "model_data_url": None},
        ],
    },
    "use_case": {"id": 7, "name": "churn", "risk_level": "High"},
}

#: What a data scientist registered: every section of the package card schema, some fields governance
#: also offers (purpose, business problem), one evaluation and custom details of their own.
DATA_SCIENTIST = {
    "model_overview": {"model_creator": "ds-team", "model_artifact": ["s3://scratch/old.tar.gz"]},
    "intended_uses": {
        "purpose_of_model": "Rank customers by churn risk",
        "intended_uses": "Batch scoring for the retention team",
        "risk_rating": "Low",
    },
    "business_details": {"business_problem": "Reduce attrition"},
    "training_details": {
        "training_observations": "converged after 3 epochs",
        "training_job_details": {
            "training_arn": "arn:aws:sagemaker:us-east-1:123456789012:training-job/churn-3",
            "training_metrics": [{"name": "train:auc", "value": 0.91}],
        },
    },
    "evaluation_details": [
        {
            "name": "holdout",
            "metric_groups": [
                {"name": "quality", "metric_data": [{"name": "auc", "type": "number", "value": 0.9}]}
            ],
        }
    ],
    "additional_information": {
        "caveats_and_recommendations": "Not for credit decisions",
        "custom_details": {"notebook": "s3://notebooks/churn.ipynb"},
    },
}


def _report(kind: str, risk_level: str = "High", **overrides: Any) -> dict[str, Any]:
    if kind == "classification":
        base, comp = classification_table(600, seed=1), classification_table(600, seed=2, shift=0.5)
        schema = classification_schema()
    else:
        base, comp = regression_table(600, seed=3), regression_table(600, seed=4, shift=1.0)
        schema = regression_schema()
    return run_risk_tests(base, comp, schema, risk_level=risk_level, **overrides).to_dict()


@pytest.fixture(scope="module")
def classification_report() -> dict[str, Any]:
    return _report("classification")


def _facts(**changes: Any) -> CardFacts:
    facts = CardFacts.from_manifest(
        MANIFEST,
        use_case_description="Predict which customers leave in the next 90 days",
        owner="owner@example.com",
        business_entity="retail",
        snapshot="ab" * 32,
        risk_report_uri="s3://governance/reports/churn-3.json",
        details={"use_case_id": "7", "model_id": "12", "review_approved_in": "MLC-4"},
    )
    return CardFacts(**{**facts.__dict__, **changes})


def _valid(content: dict[str, Any]) -> None:
    assert violations(content, package=True) == []


def test_risk_level_maps_to_the_schema_enum() -> None:
    assert [model_cards.risk_rating(x) for x in ("High", "medium", " LOW ", None, "", "Critical")] == [
        "High",
        "Medium",
        "Low",
        "Unknown",
        "Unknown",
        "Unknown",
    ]


@pytest.mark.parametrize("kind", ["classification", "regression"])
@pytest.mark.parametrize("risk_level", ["High", "Medium", "Low"])
def test_card_from_real_risk_reports_passes_the_schema(kind: str, risk_level: str) -> None:
    report = _report(kind, risk_level)
    card = model_cards.governed_card(ARN, None, _facts(risk_level=risk_level, risk_report=report))
    content = json.loads(card["ModelCardContent"])
    _valid(content)
    assert content["intended_uses"]["risk_rating"] == risk_level
    (evaluation,) = content["evaluation_details"]
    assert evaluation["name"] == model_cards.GOVERNANCE_EVALUATION
    groups = {g["name"]: g["metric_data"] for g in evaluation["metric_groups"]}
    categories = {r["test"].split(".")[0] for r in report["results"]}
    assert set(groups) == {"verdict", *categories}
    assert sum(len(groups[c]) for c in categories) == len(report["results"])
    verdict = {m["name"]: m["value"] for m in groups["verdict"]}
    assert verdict["failed"] == report["summary"]["failed"]
    assert evaluation["metadata"]["report_uri"] == "s3://governance/reports/churn-3.json"
    assert card["ModelCardStatus"] == "Draft"


def test_sections_hold_the_governance_facts(classification_report: dict[str, Any]) -> None:
    content = json.loads(
        model_cards.governed_card(ARN, None, _facts(risk_report=classification_report))["ModelCardContent"]
    )
    assert content["model_overview"] == {"model_artifact": ["s3://models/churn/3/model.tar.gz"]}
    assert content["business_details"] == {
        "business_problem": "Predict which customers leave in the next 90 days",
        "business_stakeholders": "owner@example.com",
        "line_of_business": "retail",
    }
    assert content["intended_uses"]["purpose_of_model"] == "Predict which customers leave in the next 90 days"
    assert "High" in content["intended_uses"]["explanations_for_risk_rating"]
    assert content["additional_information"]["custom_details"] == {
        "model_package_group": "churn",
        "model_package_version": "3",
        "use_case": "churn",
        "snapshot": "ab" * 32,
        "risk_test_report": "s3://governance/reports/churn-3.json",
        "use_case_id": "7",
        "model_id": "12",
        "review_approved_in": "MLC-4",
    }


def test_values_that_break_schema_limits_are_fitted() -> None:
    """Long texts, odd values and a report with null / non-finite values still give a valid card."""
    report = {
        "risk_level": "High",
        "passed": None,
        "summary": {"passed": 0, "failed": 0, "error": 1, "not_judged": ["performance.auc"]},
        "inputs": {"baseline": {"source": "s3://b/" + "x" * 2000}},
        "results": [
            {
                "test": "performance.auc",
                "dataset": "comparator",
                "value": None,
                "status": "not_applicable",
                "reason": "one class only " * 200,
                "threshold": {"text": ">= 0.7"},
            },
            {
                "test": "bias.ppr_disparity",
                "dataset": "comparator",
                "feature": "g" * 300,
                "group": "女性",
                "value": 1.2,
                "status": "failed",
                "threshold": {"text": "[0.8, 1.25]"},
            },
            {"test": "data_drift.psi", "dataset": "both", "value": True, "status": "info"},
            {"test": "x" * 100, "dataset": "baseline", "value": 3, "status": "passed"},
        ],
    }
    facts = _facts(
        risk_report=report,
        risk_level="Critical",
        use_case_description="d" * 5000,
        owner="o" * 3000,
        model_artifacts=tuple(f"s3://m/{i}" for i in range(20)),
        details={"long": "v" * 5000},
    )
    content = json.loads(model_cards.governed_card(ARN, None, facts)["ModelCardContent"])
    _valid(content)
    assert content["intended_uses"]["risk_rating"] == "Unknown"
    assert len(content["model_overview"]["model_artifact"]) == 15


def test_merge_keeps_every_data_scientist_section(classification_report: dict[str, Any]) -> None:
    card = {"ModelCardContent": json.dumps(DATA_SCIENTIST), "ModelCardStatus": "Draft"}
    content = json.loads(
        model_cards.governed_card(ARN, card, _facts(risk_report=classification_report))["ModelCardContent"]
    )
    _valid(content)
    assert content["training_details"] == DATA_SCIENTIST["training_details"]
    assert content["model_overview"]["model_creator"] == "ds-team"
    # governance owns the risk rating and the artifacts the snapshot pinned
    assert content["intended_uses"]["risk_rating"] == "High"
    assert content["model_overview"]["model_artifact"] == ["s3://models/churn/3/model.tar.gz"]
    # the data scientist's own texts win where governance only offers a default
    assert content["intended_uses"]["purpose_of_model"] == "Rank customers by churn risk"
    assert content["intended_uses"]["intended_uses"] == "Batch scoring for the retention team"
    assert content["business_details"]["business_problem"] == "Reduce attrition"
    assert content["business_details"]["line_of_business"] == "retail"  # was empty: filled
    assert [e["name"] for e in content["evaluation_details"]] == [
        "holdout",
        model_cards.GOVERNANCE_EVALUATION,
    ]
    info = content["additional_information"]
    assert info["caveats_and_recommendations"] == "Not for credit decisions"
    assert info["custom_details"]["notebook"] == "s3://notebooks/churn.ipynb"
    assert info["custom_details"]["snapshot"] == "ab" * 32


def test_merge_again_replaces_only_governance_evaluation(classification_report: dict[str, Any]) -> None:
    card = {"ModelCardContent": json.dumps(DATA_SCIENTIST)}
    first = model_cards.governed_card(ARN, card, _facts(risk_report=classification_report))
    second = model_cards.governed_card(ARN, first, _facts(risk_report=classification_report))
    assert first["ModelCardContent"] == second["ModelCardContent"], "filling twice changes nothing"
    names = [e["name"] for e in json.loads(second["ModelCardContent"])["evaluation_details"]]
    assert names == ["holdout", model_cards.GOVERNANCE_EVALUATION]


def test_legacy_top_level_governance_key_is_migrated() -> None:
    legacy = {"governance": {"snapshot": "x"}, "intended_uses": {"intended_uses": "scoring"}}
    content = model_cards.with_links(legacy, {"snapshot": "cd" * 32})
    assert content is not None and "governance" not in content
    _valid(content)
    assert content["intended_uses"] == {"intended_uses": "scoring"}
    assert content["additional_information"]["custom_details"] == {"snapshot": "cd" * 32}


def test_links_write_only_when_they_differ_and_never_on_archived_card(
    caplog: pytest.LogCaptureFixture,
) -> None:
    card = {"ModelCardContent": json.dumps(DATA_SCIENTIST), "ModelCardStatus": "Approved"}
    body = model_cards.card_with_links(ARN, card, {"status": "Deployed", "notebook": "s3://other"})
    assert body is not None and body["ModelCardStatus"] == "Approved"
    content = json.loads(body["ModelCardContent"])
    _valid(content)
    assert content["additional_information"]["custom_details"]["status"] == "Deployed"
    assert model_cards.card_with_links(ARN, body, {"status": "Deployed"}) is None
    archived = {**body, "ModelCardStatus": "Archived"}
    with caplog.at_level("INFO", logger="model_governance.model_cards"):
        assert model_cards.card_with_links(ARN, archived, {"status": "Decommissioned"}) is None
    assert "Archived" in caplog.text


def test_status_moves_forward_only_and_archived_is_final() -> None:
    after = model_cards.status_after
    assert after(ARN, None, CardStatus.PENDING_REVIEW) is CardStatus.PENDING_REVIEW
    assert after(ARN, "PendingReview", "Approved") is CardStatus.APPROVED
    assert after(ARN, "Approved", "PendingReview") is CardStatus.APPROVED  # a re-run gate: no step back
    assert after(ARN, "Approved", None) is CardStatus.APPROVED
    assert after(ARN, "Approved", "Archived") is CardStatus.ARCHIVED
    with pytest.raises(ArchivedModelCardError, match="Archived") as excinfo:
        after(ARN, "Archived", "Approved")
    assert isinstance(excinfo.value, ConflictError)
    card = {"ModelCardContent": "{}", "ModelCardStatus": "PendingReview"}
    assert model_cards.status_move(ARN, card, "Approved") == {"ModelCardStatus": "Approved"}
    assert model_cards.status_move(ARN, {**card, "ModelCardStatus": "Approved"}, "Approved") is None
    assert model_cards.status_move(ARN, {**card, "ModelCardStatus": "Archived"}, "Archived") is None
    assert model_cards.status_move(ARN, None, "Archived") is None  # no card: nothing to archive
    with pytest.raises(ArchivedModelCardError):
        model_cards.governed_card(ARN, {**card, "ModelCardStatus": "Archived"}, _facts())


def test_too_large_card_drops_informational_results_then_fails_clearly(
    classification_report: dict[str, Any],
) -> None:
    report = dict(classification_report)
    info = [r for r in report["results"] if not r.get("threshold")]
    gated = [r for r in report["results"] if r.get("threshold")]
    assert info and gated
    report["results"] = gated + info * 60  # informational results blow the limit
    content = json.loads(model_cards.governed_card(ARN, None, _facts(risk_report=report))["ModelCardContent"])
    _valid(content)
    (evaluation,) = content["evaluation_details"]
    assert "informational results left out" in evaluation["evaluation_observation"]
    assert sum(len(g["metric_data"]) for g in evaluation["metric_groups"][1:]) == len(gated)
    huge = {
        **DATA_SCIENTIST,
        "additional_information": {"custom_details": {f"k{i}": "v" * 1000 for i in range(120)}},
    }
    with pytest.raises(
        ModelCardTooLargeError, match=r"over SageMaker's 100,000 limit.*additional_information"
    ):
        model_cards.governed_card(ARN, {"ModelCardContent": json.dumps(huge)}, _facts())
