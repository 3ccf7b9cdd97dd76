"""Seeded users, groups, projects and workflows of a fresh Jira sandbox.

Credentials are fixed so tests, the demo and the Airflow connection in the README can use them; they are
sandbox-only values, never real secrets.
"""

from __future__ import annotations

from typing import Any

ADMIN_GROUP = "jira-administrators"
USERS_GROUP = "jira-software-users"

# Status ids as a fresh Jira Cloud site numbers them; Rejected is a custom status.
TODO, IN_PROGRESS, DONE, REJECTED = "10000", "3", "10001", "10002"

CATEGORIES = {
    "new": {"id": 2, "key": "new", "colorName": "blue-gray", "name": "To Do"},
    "indeterminate": {"id": 4, "key": "indeterminate", "colorName": "yellow", "name": "In Progress"},
    "done": {"id": 3, "key": "done", "colorName": "green", "name": "Done"},
}


def _user(
    name: str,
    display: str,
    account_id: str,
    *,
    email_visible: bool = True,
) -> dict[str, Any]:
    return {
        "id": name,
        "name": name,
        "key": f"JIRAUSER{10000 + sum(map(ord, name))}",
        "accountId": account_id,
        "email": f"{name}@example.com",
        "email_visible": email_visible,
        "displayName": display,
        "active": True,
        # Cloud: email + API token (basic). Data Center: username + password (basic) or a PAT (bearer).
        "api_token": f"{name}-api-token",
        "password": f"{name}-password",
        "pat": f"{name}-pat",
    }


USERS = [
    _user("mlc-bot", "MLC Bot", "712020:0b1c2d3e-0000-4000-8000-00000000b07a"),
    _user("reviewer", "Rita Reviewer", "712020:0b1c2d3e-0000-4000-8000-0000000000r1"),
    _user("risk-officer", "Ravi Risk", "712020:0b1c2d3e-0000-4000-8000-0000000000r2"),
    # Cloud users may hide their email: the API then omits emailAddress, as Jira Cloud does.
    _user(
        "private-reviewer", "Pat Private", "712020:0b1c2d3e-0000-4000-8000-0000000000p3", email_visible=False
    ),
    _user("viewer", "Vera Viewer", "712020:0b1c2d3e-0000-4000-8000-0000000000v4"),
    # A use case owner who may edit tickets but must never approve their own model; hides their email on
    # Cloud, the case an email comparison misses (separation of duties compares accountIds).
    _user("owner", "Olivia Owner", "712020:0b1c2d3e-0000-4000-8000-0000000000w7", email_visible=False),
    _user("outsider", "Otto Outsider", "712020:0b1c2d3e-0000-4000-8000-0000000000o5"),
    _user("admin", "Ada Admin", "712020:0b1c2d3e-0000-4000-8000-0000000000a6"),
]

GROUPS = {
    USERS_GROUP: [u["id"] for u in USERS],
    ADMIN_GROUP: ["admin"],
    # Browse the governance projects.
    "mlc-members": ["mlc-bot", "reviewer", "risk-officer", "private-reviewer", "viewer", "admin", "owner"],
    # Create, edit, comment, attach and transition there.
    "mlc-editors": ["mlc-bot", "reviewer", "risk-officer", "private-reviewer", "admin", "owner"],
    # Who may approve (the project checks this against the changelog author; Jira does not enforce it).
    "model-reviewers": ["reviewer", "risk-officer", "private-reviewer"],
}

FULL_WORKFLOW = [
    {"id": "11", "name": "In Progress", "from": [TODO], "to": IN_PROGRESS},
    {"id": "21", "name": "Done", "from": [IN_PROGRESS], "to": DONE},
    {"id": "31", "name": "Rejected", "from": [IN_PROGRESS], "to": REJECTED},
    {"id": "41", "name": "Reopen", "from": [DONE, REJECTED], "to": TODO},
]

# A project whose workflow lacks Rejected: the misconfiguration the hook must report clearly.
NO_REJECT_WORKFLOW = [t for t in FULL_WORKFLOW if t["to"] != REJECTED]
NO_REJECT_WORKFLOW = [
    {**t, "from": [s for s in t["from"] if s != REJECTED]} for t in NO_REJECT_WORKFLOW if t["from"]
]


def _project(
    pid: str,
    key: str,
    name: str,
    workflow: list[dict[str, Any]],
    *,
    attachments: bool = True,
) -> dict[str, Any]:
    statuses = [TODO]
    for transition in workflow:
        if transition["to"] not in statuses:
            statuses.append(transition["to"])
    return {
        "id": pid,
        "key": key,
        "name": name,
        "lead": "admin",
        "issuetypes": ["10001", "10002"],
        "statuses": statuses,
        "workflow": workflow,
        "browse_groups": ["mlc-members"],
        "edit_groups": ["mlc-editors"],
        "attachments": attachments,
        "next_number": 1,
    }


def initial_state() -> dict[str, Any]:
    statuses = {
        TODO: {"id": TODO, "name": "To Do", "category": "new"},
        IN_PROGRESS: {"id": IN_PROGRESS, "name": "In Progress", "category": "indeterminate"},
        DONE: {"id": DONE, "name": "Done", "category": "done"},
        REJECTED: {"id": REJECTED, "name": "Rejected", "category": "done"},
    }
    return {
        "meta": {
            "seq": 10000,
            "attachments_enabled": True,
            "statuses": statuses,
            "issuetypes": {
                "10001": {"id": "10001", "name": "Task", "description": "A small, distinct piece of work."},
                "10002": {"id": "10002", "name": "Story", "description": "A user story."},
            },
            "resolutions": {
                "10000": {
                    "id": "10000",
                    "name": "Done",
                    "description": "Work has been completed on this issue.",
                },
                "10001": {"id": "10001", "name": "Won't Do", "description": "This issue won't be actioned."},
            },
            # Which resolution a transition into each done-category status sets.
            "resolution_for": {DONE: "10000", REJECTED: "10001"},
        },
        "users": [dict(u) for u in USERS],
        "groups": [
            {"name": name, "groupId": f"group-{i:04d}-0000-4000-8000-000000000000", "members": list(members)}
            for i, (name, members) in enumerate(GROUPS.items(), start=1)
        ],
        "projects": [
            _project("10000", "MLC", "Model Life Cycle", FULL_WORKFLOW),
            _project("10001", "BROKEN", "Misconfigured (no Rejected status)", NO_REJECT_WORKFLOW),
            _project("10002", "NOATT", "Attachments not permitted", FULL_WORKFLOW, attachments=False),
        ],
    }
