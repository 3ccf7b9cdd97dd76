"""The model page's governance actions: which apply to a status, the form's CSRF token, the DAG run's conf.

The dashboard does not perform an action itself: it triggers a ``model_governance_action`` DAG run through
Airflow's REST API as the logged-in user (their own token), so Airflow's permissions decide and the run is
the record (docs/after-go-live.md). This module holds the pure parts; ``ui/app.py`` the routes.

CSRF: the form carries ``csrf_token(session_token, model_id)``, an HMAC keyed by the user's own Airflow
token (the ``_token`` cookie, which another site cannot read; note Airflow's login page sets it from
JavaScript, so it is not httponly), so a form posted from elsewhere, or with another session, is refused.
The routes also refuse a cross-site ``Origin`` / ``Sec-Fetch-Site``. tests/e2e/test_dashboard_actions.py
proves both against a real api-server.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from model_governance.exceptions import IllegalTransitionError
from model_governance.lifecycle import (
    DEVELOPMENT_PHASE,
    MLC_GATE_PHASE,
    ON_HOLD,
    GovernanceStatus,
    check_transition,
    parse_status,
)

S = GovernanceStatus

#: The DAG a dashboard button triggers.
ACTION_DAG = "model_governance_action"
REASON_MIN = 3
REASON_MAX = 2000
#: The nonce the confirmation step puts in the run id: a second click on Confirm is the same run (409).
_NONCE = re.compile(r"[0-9a-f]{16}")
_FINAL = frozenset({S.DECOMMISSIONING, S.DECOMMISSIONED})


@dataclass(frozen=True)
class ActionChoice:
    """One button of the model page: the action, its label, and what it does from the current status."""

    action: str
    label: str
    effect: str
    danger: bool = False


def _allowed(current: GovernanceStatus, target: GovernanceStatus) -> bool:
    try:
        check_transition(current, target)
    except IllegalTransitionError:
        return False
    return True


def available_actions(status: str) -> list[ActionChoice]:
    """The governance actions that apply to a model version in ``status`` (the life cycle graph decides;
    the action run checks again when it runs)."""
    try:
        current = parse_status(status)
    except Exception:
        return []
    choices: list[ActionChoice] = []
    if current in {S.PROPOSED, *DEVELOPMENT_PHASE, *MLC_GATE_PHASE}:
        target = S.ON_HOLD_PROPOSAL if current is S.PROPOSED else S.ON_HOLD_DEVELOPMENT
        if _allowed(current, target):
            choices.append(
                ActionChoice(
                    "hold",
                    "Put on hold",
                    f"{current.value} -> {target.value}; approval waits stay parked until resumed",
                )
            )
    if current in ON_HOLD:
        choices.append(ActionChoice("resume", "Resume", "back to the status the hold left"))
    if current is S.DEPLOYED:
        choices.append(
            ActionChoice(
                "start_change",
                "Start a model change",
                f"{current.value} -> {S.MODEL_CHANGE_IN_PROGRESS.value}; the group's next version is the "
                "challenger, reviewed against this champion",
            )
        )
    if current not in _FINAL and _allowed(current, S.DECOMMISSIONING):
        choices.append(
            ActionChoice(
                "decommission",
                "Decommission",
                f"{current.value} -> {S.DECOMMISSIONING.value} -> {S.DECOMMISSIONED.value}; endpoints per "
                "deployment.on_decommission, model card archived",
                danger=True,
            )
        )
    return choices


def csrf_token(session_token: str, model_id: int) -> str:
    """The form's token: bound to the user's Airflow session token and to the model."""
    return hmac.new(
        session_token.encode("utf-8"), f"model-governance-action|{model_id}".encode(), hashlib.sha256
    ).hexdigest()


def csrf_ok(session_token: str | None, model_id: int, given: str | None) -> bool:
    if not session_token or not given:
        return False
    return hmac.compare_digest(csrf_token(session_token, model_id), given)


def new_nonce() -> str:
    return secrets.token_hex(8)


def valid_nonce(value: str | None) -> bool:
    return bool(value) and _NONCE.fullmatch(value or "") is not None


def run_id_for(model_id: int, action: str, nonce: str) -> str:
    """The DAG run id of a confirmed request: repeating the confirmation reaches the same run."""
    return f"dashboard__{action}__model-{model_id}__{nonce}"


def action_conf(action: str, package_arn: str, reason: str, requested_by: str) -> dict[str, Any]:
    """The ``model_governance_action`` run's conf (its form's params)."""
    return {
        "action": action,
        "model": package_arn,
        "use_case_id": "",
        "reason": reason,
        "requested_by": requested_by,
        "to_status": "",
    }


def same_origin(headers: Any, host: str, public_url: str | None = None) -> bool:
    """False for a request a browser marks as cross-site (``Sec-Fetch-Site``) or whose ``Origin`` names
    another host than ``host`` (the request's Host) and than ``public_url``'s (Airflow's ``[api] base_url``:
    behind a reverse proxy that rewrites Host, the browser's Origin is the public address); without either
    header (a non-browser client) it passes: the CSRF token decides."""
    if (headers.get("sec-fetch-site") or "").lower() == "cross-site":
        return False
    origin = headers.get("origin")
    if origin is None:
        return True
    netloc = urlsplit(origin).netloc.lower()
    if netloc and netloc == host.lower():
        return True
    if not public_url:
        return False
    public = urlsplit(public_url)
    return bool(netloc) and (public.scheme, public.netloc.lower()) == (urlsplit(origin).scheme, netloc)


class AirflowApiError(Exception):
    """Airflow's REST API answered an error (``status``: its HTTP status; 0: it could not be reached)."""

    def __init__(self, status: int, detail: str) -> None:
        super().__init__(f"HTTP {status}: {detail}")
        self.status = status
        self.detail = detail


__all__ = [
    "ACTION_DAG",
    "REASON_MAX",
    "REASON_MIN",
    "ActionChoice",
    "AirflowApiError",
    "action_conf",
    "available_actions",
    "csrf_ok",
    "csrf_token",
    "new_nonce",
    "run_id_for",
    "same_origin",
    "valid_nonce",
]
