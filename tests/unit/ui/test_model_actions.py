"""The model page's governance actions: buttons by status and permission, the confirmation step, the DAG run
triggered through a fake Airflow API with the user's token and conf, the refusals (reason, CSRF, 403)."""

from __future__ import annotations

import re
from typing import Any

import pytest

from model_governance.lifecycle import GovernanceStatus as S
from model_governance.ui.actions import ACTION_DAG, available_actions, csrf_token, same_origin
from model_governance.ui.app import URL_PREFIX
from tests.unit.ui.conftest import Dashboard

FORM = {"content-type": "application/x-www-form-urlencoded"}


def _model(dashboard: Dashboard, status: S) -> Any:
    models = dashboard.inventory.list_models(status=status, limit=1)
    assert models, f"the seed has no model in {status.value}"
    return models[0]


def _post(
    dashboard: Dashboard, model_id: int, data: dict[str, str], user: str = "alice", **headers: str
) -> Any:
    return dashboard.client.post(
        f"{URL_PREFIX}/models/{model_id}/actions",
        data=data,
        headers={"x-test-user": user, **headers},
    )


def _confirm_fields(html: str) -> dict[str, str]:
    form = html[html.index('id="confirm-form"') :]
    return dict(re.findall(r'name="(\w+)" value="([^"]*)"', form))


def test_available_actions_follow_the_status() -> None:
    def names(status: S) -> list[str]:
        return [c.action for c in available_actions(status.value)]

    assert names(S.DEPLOYED) == ["start_change", "decommission"]
    assert names(S.AWAITING_APPROVAL) == ["hold", "decommission"]
    assert names(S.ON_HOLD_DEVELOPMENT) == ["resume", "decommission"]
    assert names(S.DECOMMISSIONED) == []
    assert available_actions("not a status") == []


def test_deployed_model_page_shows_its_buttons_with_a_required_reason(dashboard: Dashboard) -> None:
    model = _model(dashboard, S.DEPLOYED)
    html = dashboard.get(f"/models/{model.id}").text
    assert 'id="action-start_change"' in html and 'id="action-decommission"' in html
    assert 'id="action-hold"' not in html and 'id="action-resume"' not in html
    assert html.count('name="reason" required minlength="3"') == 2
    assert f'name="csrf" value="{csrf_token("token-of-alice", model.id)}"' in html


def test_buttons_hidden_when_the_user_may_not_trigger_the_dag(dashboard: Dashboard) -> None:
    dashboard.services.triggerers = {"bob"}
    model = _model(dashboard, S.DEPLOYED)
    html = dashboard.get(f"/models/{model.id}").text
    assert '<form method="post"' not in html
    assert 'id="actions-not-allowed"' in html and ACTION_DAG in html


def test_confirm_then_trigger_as_the_user_with_the_conf(dashboard: Dashboard) -> None:
    model = _model(dashboard, S.DEPLOYED)
    csrf = csrf_token("token-of-alice", model.id)
    first = _post(dashboard, model.id, {"csrf": csrf, "action": "start_change", "reason": "new data  source"})
    assert first.status_code == 200, first.text
    assert "Confirm: Start a model change" in first.text
    assert dashboard.services.triggered == []  # nothing before the confirmation
    fields = _confirm_fields(first.text)
    assert fields["confirm"] == "yes" and fields["reason"] == "new data source"
    # requested_by is not a form field: a forged one is ignored
    done = _post(dashboard, model.id, {**fields, "requested_by": "mallory"}, **FORM)
    assert done.status_code == 200, done.text
    [(token, dag_id, body)] = dashboard.services.triggered
    assert token == "token-of-alice" and dag_id == ACTION_DAG
    assert body["logical_date"] is None
    assert body["conf"] == {
        "action": "start_change",
        "model": model.package_arn,
        "use_case_id": "",
        "reason": "new data source",
        "requested_by": "alice",
        "to_status": "",
    }
    run_id = body["dag_run_id"]
    assert run_id.startswith(f"dashboard__start_change__model-{model.id}__")
    assert f'id="run-id">{run_id}<' in done.text
    assert f"/dags/{ACTION_DAG}/runs/{run_id}" in done.text
    # confirming twice (a double click) does not start a second run
    again = _post(dashboard, model.id, fields)
    assert again.status_code == 200 and "Already requested" in again.text
    assert len(dashboard.services.triggered) == 1


def test_reason_is_required(dashboard: Dashboard) -> None:
    model = _model(dashboard, S.DEPLOYED)
    csrf = csrf_token("token-of-alice", model.id)
    for reason in ("", "  ", "ok"):
        answer = _post(dashboard, model.id, {"csrf": csrf, "action": "decommission", "reason": reason})
        assert answer.status_code == 400 and "Reason required" in answer.text
    confirmed = {"csrf": csrf, "action": "decommission", "reason": "", "confirm": "yes", "nonce": "0" * 16}
    assert _post(dashboard, model.id, confirmed).status_code == 400
    assert dashboard.services.triggered == []


def test_airflow_403_is_shown_as_such(dashboard: Dashboard) -> None:
    dashboard.services.api_refusal = (403, "Forbidden")
    model = _model(dashboard, S.DEPLOYED)
    data = {
        "csrf": csrf_token("token-of-alice", model.id),
        "action": "decommission",
        "reason": "retired product",
        "confirm": "yes",
        "nonce": "a" * 16,
    }
    answer = _post(dashboard, model.id, data)
    assert answer.status_code == 403
    assert "Not allowed by Airflow" in answer.text and "403" in answer.text and ACTION_DAG in answer.text


@pytest.mark.parametrize(
    ("status", "detail", "code", "words"),
    [
        (401, "Not authenticated", 401, "log in to Airflow again"),
        (404, "DAG not found", 404, "DAG processor"),
        (0, "ConnectError", 502, "[api] base_url"),
    ],
)
def test_other_airflow_errors_name_the_fix(
    dashboard: Dashboard, status: int, detail: str, code: int, words: str
) -> None:
    dashboard.services.api_refusal = (status, detail)
    model = _model(dashboard, S.DEPLOYED)
    data = {
        "csrf": csrf_token("token-of-alice", model.id),
        "action": "decommission",
        "reason": "retired product",
        "confirm": "yes",
        "nonce": "b" * 16,
    }
    answer = _post(dashboard, model.id, data)
    assert answer.status_code == code and words in answer.text


def test_user_not_allowed_is_refused_before_airflow_is_asked(dashboard: Dashboard) -> None:
    dashboard.services.triggerers = {"bob"}
    model = _model(dashboard, S.AWAITING_APPROVAL)
    data = {"csrf": csrf_token("token-of-alice", model.id), "action": "hold", "reason": "board review"}
    answer = _post(dashboard, model.id, data)
    assert answer.status_code == 403 and "may not trigger" in answer.text
    assert dashboard.services.triggered == []


def test_csrf_token_of_another_session_or_model_is_refused(dashboard: Dashboard) -> None:
    model = _model(dashboard, S.DEPLOYED)
    other = _model(dashboard, S.AWAITING_APPROVAL)
    for csrf in ("", csrf_token("token-of-mallory", model.id), csrf_token("token-of-alice", other.id)):
        answer = _post(dashboard, model.id, {"csrf": csrf, "action": "decommission", "reason": "because"})
        assert answer.status_code == 403 and "Reload the model page" in answer.text
    assert dashboard.services.triggered == []


def test_cross_site_post_is_refused(dashboard: Dashboard) -> None:
    model = _model(dashboard, S.DEPLOYED)
    data = {"csrf": csrf_token("token-of-alice", model.id), "action": "decommission", "reason": "because"}
    answer = _post(dashboard, model.id, data, origin="https://evil.example.com")
    assert answer.status_code == 403 and "Cross-site" in answer.text
    answer = _post(dashboard, model.id, data, **{"sec-fetch-site": "cross-site"})
    assert answer.status_code == 403
    assert _post(dashboard, model.id, data, origin="http://testserver").status_code == 200
    assert same_origin({"origin": "https://gov.example.com"}, "gov.example.com")


def test_action_that_does_not_apply_is_refused(dashboard: Dashboard) -> None:
    model = _model(dashboard, S.DEPLOYED)
    data = {"csrf": csrf_token("token-of-alice", model.id), "action": "resume", "reason": "because"}
    answer = _post(dashboard, model.id, data)
    assert answer.status_code == 409 and "does not apply" in answer.text


def test_anonymous_post_goes_to_login(dashboard: Dashboard) -> None:
    model = _model(dashboard, S.DEPLOYED)
    answer = dashboard.client.post(f"{URL_PREFIX}/models/{model.id}/actions", data={"action": "hold"})
    assert answer.status_code == 302
    assert dashboard.services.triggered == []
