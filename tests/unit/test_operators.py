"""The pure parts of the MLC operators: names, form validation, branching, paths."""

from __future__ import annotations

import re
from typing import Any

import pytest

from model_governance.exceptions import InvalidInputError
from model_governance.operators.branching import ApprovalOutcomeBranchOperator
from model_governance.operators.review_document import _snapshot_prefix
from model_governance.operators.use_case import RecordUseCaseOperator, model_group_name
from model_governance.services.approvals import airflow_run_url

GROUP_NAME = re.compile(r"^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}$")


@pytest.mark.parametrize(
    ("use_case_id", "name", "expected"),
    [
        (7, "Churn prediction", "uc-7-churn-prediction"),
        (12, "  Crédit / limite #2 ", "uc-12-cr-dit-limite-2"),
        (3, "!!!", "uc-3-use-case"),
        (99999, "x" * 300, "uc-99999-" + "x" * 54),
    ],
)
def test_model_group_name_fits_sagemakers_pattern(use_case_id: int, name: str, expected: str) -> None:
    group = model_group_name(use_case_id, name)
    assert group == expected
    assert GROUP_NAME.match(group) and len(group) <= 63


FORM = {
    "name": "Churn",
    "description": "d",
    "business_entity": "retail",
    "risk_level": "High",
    "owner": "owner@example.com",
    "data_science_email": "ds@example.com",
    "model_type": "sagemaker",
}


def test_form_is_normalised() -> None:
    assert RecordUseCaseOperator._validated(FORM)["model_type"] == "SAGEMAKER"


@pytest.mark.parametrize(
    ("patch", "named"),
    [
        ({"name": ""}, "name is required"),
        ({"risk_level": "Extreme"}, "risk_level 'Extreme'"),
        ({"owner": "not-an-email"}, "owner 'not-an-email'"),
        ({"data_science_email": None}, "data_science_email is required"),
        ({"model_type": "LLM"}, "model_type 'LLM'"),
    ],
)
def test_bad_form_names_every_problem(patch: dict[str, Any], named: str) -> None:
    with pytest.raises(InvalidInputError, match=re.escape(named)):
        RecordUseCaseOperator._validated({**FORM, **patch})
    with pytest.raises(InvalidInputError, match="mapping"):
        RecordUseCaseOperator._validated("{'name': 'x'}")


class FakeTI:
    def __init__(self, value: object) -> None:
        self.value = value

    def xcom_pull(self, task_ids: str) -> object:
        return self.value


@pytest.mark.parametrize(
    ("decision", "branch"),
    [({"outcome": "approved"}, ["go"]), ({"outcome": "rejected"}, ["stop", "tell"])],
)
def test_branch_follows_the_outcome(decision: dict, branch: list[str]) -> None:
    operator = ApprovalOutcomeBranchOperator(
        task_id="b", approval_task_id="approval", approved=["go"], rejected=["stop", "tell"]
    )
    assert operator.choose_branch({"ti": FakeTI(decision)}) == branch  # type: ignore[arg-type]
    with pytest.raises(InvalidInputError, match="raise_on_reject=False"):
        operator.choose_branch({"ti": FakeTI(None)})  # type: ignore[arg-type]


def test_paths_and_links() -> None:
    assert _snapshot_prefix("s3://gov/snapshots/g/1/abc.json", "gov") == "snapshots/g/1/abc"
    with pytest.raises(InvalidInputError, match="governance bucket"):
        _snapshot_prefix("s3://other/snapshots/x.json", "gov")
    url = airflow_run_url("http://airflow:8080", "mlc", "manual__2026-01-01T00:00:00+00:00")
    assert url == "http://airflow:8080/dags/mlc/runs/manual__2026-01-01T00%3A00%3A00%2B00%3A00"
    assert airflow_run_url("airflow:8080", "d", "r") is None
