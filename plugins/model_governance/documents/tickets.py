"""Approval ticket texts (one template per ``ApprovalKind``) and the "model group created" email.

Ticket templates (``templates/jira/<kind>.j2``, e.g. ``jira/test_results_review.j2``) are written once in
Jira wiki markup with every value wiki-escaped, and export a ``summary``. ``render_ticket`` returns the
description for the connection's flavour: wiki markup text for Jira Data Center (REST API v2), an ADF
document for Jira Cloud (REST API v3), converted by ``adf.wiki_to_adf``. The email has an HTML template
(autoescaped) and a plain-text one, each exporting a ``subject``.
"""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass
from typing import Any, Literal

from markupsafe import Markup

from model_governance.config import ApprovalKind
from model_governance.documents.adf import wiki_to_adf
from model_governance.documents.context import TicketContext, approval_kind
from model_governance.documents.environment import TemplateSet
from model_governance.documents.escaping import one_line, unescape_wiki
from model_governance.documents.review import (
    KIND_LABELS,
    decision_view,
    model_identity_view,
    result_row,
    result_sort_key,
    training_metrics_view,
)
from model_governance.exceptions import ConfigurationError, InvalidInputError

__all__ = [
    "CLOUD",
    "DATACENTER",
    "RenderedEmail",
    "RenderedTicket",
    "render_email",
    "render_ticket",
    "ticket_template",
]

CLOUD = "cloud"
DATACENTER = "datacenter"
JiraFlavor = Literal["cloud", "datacenter"]
#: Jira's limit on an issue summary.
SUMMARY_LIMIT = 255
#: At most this many failed tests are listed in a ticket; the review document has them all.
TICKET_FAILURES = 25


def ticket_template(kind: ApprovalKind | str) -> str:
    """The template of an approval kind: ``jira/<kind in lower case>.j2``."""
    return f"jira/{approval_kind(kind, 'Approval kind').value.lower()}.j2"


@dataclass(frozen=True)
class RenderedTicket:
    """A ticket's summary (plain text) and description in the connection's format."""

    kind: ApprovalKind
    flavor: str
    summary: str
    #: ADF document (dict) for Jira Cloud; wiki markup (str) for Data Center.
    description: dict[str, Any] | str
    #: The wiki markup the description was made from (the same text Data Center gets).
    wiki: str


@dataclass(frozen=True)
class RenderedEmail:
    subject: str
    html: str
    text: str


def ticket_variables(ctx: TicketContext) -> dict[str, Any]:
    """The variables ticket and email templates see (documented in ``templates/README.md``)."""
    if not isinstance(ctx, TicketContext):
        raise InvalidInputError(f"Ticket rendering needs a TicketContext, got {type(ctx).__name__}.")
    model = ctx.model
    snapshot = ctx.snapshot
    failures: list[dict[str, Any]] = []
    risk: dict[str, Any] | None = None
    if ctx.risk_report is not None:
        report = ctx.risk_report
        failed = sorted((r for r in report.results if r.status in ("failed", "error")), key=result_sort_key)
        failures = [result_row(r) for r in failed[:TICKET_FAILURES]]
        summary = report.summary()
        risk = {
            "passed": report.passed,
            "verdict": {True: "passed", False: "failed", None: "needs judgement"}[report.passed],
            "failed": summary["failed"],
            "errors": summary["error"],
            "passed_count": summary["passed"],
            "not_judged": list(summary["not_judged"]),
            "more_failures": max(0, len(failed) - TICKET_FAILURES),
        }
    return {
        "kind": ctx.decision.kind.value,
        "label": KIND_LABELS[ctx.decision.kind.value],
        "decision": decision_view(ctx.decision),
        "use_case": asdict(ctx.use_case),
        "model": None
        if model is None
        else {**model_identity_view(model), "training_metrics": training_metrics_view(model)},
        "snapshot": None
        if snapshot is None
        else {
            "id": snapshot.snapshot_id,
            "content_hash": snapshot.content_hash,
            "uri": snapshot.uri,
            "endpoint_config_name": snapshot.endpoint_config_name,
            "assets": [{"role": a.role, "uri": a.uri, "digest": a.digest or "n/a"} for a in snapshot.assets],
        },
        "model_group": {"name": ctx.model_group_name, "arn": ctx.model_group_arn},
        "risk": risk,
        "failures": failures,
        "error": ctx.error,
        "attempt": None
        if ctx.attempt is None
        else {
            "number": ctx.attempt,
            "of": ctx.max_attempts,
            "reruns_left": None if ctx.max_attempts is None else ctx.max_attempts - ctx.attempt,
        },
        "document_sha256": ctx.document_sha256,
        "links": ctx.links.as_dict(),
        "extra": ctx.extra,
    }


def _exported(module: Any, name: str, template: str) -> str:
    value = getattr(module, name, None)
    if value is None:
        raise ConfigurationError(
            f"Template {template!r} does not set {name!r}; add {{% set {name} %}}...{{% endset %}} "
            "at its top level."
        )
    return str(value)


def _summary(text: str) -> str:
    summary = one_line(text)
    if len(summary) > SUMMARY_LIMIT:
        summary = summary[: SUMMARY_LIMIT - 1].rstrip() + "\u2026"
    if not summary:
        raise ConfigurationError(
            "A ticket template rendered an empty summary; make its summary say what is asked."
        )
    return summary


def render_ticket(
    ctx: TicketContext,
    *,
    flavor: JiraFlavor | str,
    templates: TemplateSet | None = None,
    templates_dir: str | os.PathLike[str] | None = None,
) -> RenderedTicket:
    """The summary and description of the approval ticket for ``ctx.decision.kind``.

    ``flavor`` is the Jira connection's flavour: ``cloud`` gives an ADF description, ``datacenter`` wiki
    markup.
    """
    if flavor not in (CLOUD, DATACENTER):
        raise InvalidInputError(
            f"Jira flavour {flavor!r} is not 'cloud' or 'datacenter'; set the connection's flavor."
        )
    templates = templates or TemplateSet(templates_dir)
    name = ticket_template(ctx.decision.kind)
    body, module = templates.render_module(name, "wiki", ticket_variables(ctx))
    wiki = _tidy(body)
    # The summary was rendered with wiki escaping; Jira shows summaries as plain text.
    summary = _summary(unescape_wiki(_exported(module, "summary", name)))
    description: dict[str, Any] | str = wiki_to_adf(wiki) if flavor == CLOUD else wiki
    return RenderedTicket(
        kind=ctx.decision.kind, flavor=flavor, summary=summary, description=description, wiki=wiki
    )


def render_email(
    ctx: TicketContext,
    *,
    name: str = "model_group_created",
    templates: TemplateSet | None = None,
    templates_dir: str | os.PathLike[str] | None = None,
) -> RenderedEmail:
    """The email ``email/<name>.html.j2`` + ``email/<name>.txt.j2`` (subject from the text template)."""
    if not name.replace("_", "").isalnum():
        raise InvalidInputError(f"Email template name {name!r} must be letters, digits and '_'.")
    templates = templates or TemplateSet(templates_dir)
    variables = ticket_variables(ctx)
    html, _ = templates.render_module(f"email/{name}.html.j2", "html", variables)
    text, module = templates.render_module(f"email/{name}.txt.j2", "text", variables)
    subject = one_line(_exported(module, "subject", f"email/{name}.txt.j2"))
    if isinstance(subject, Markup):  # defensive: a subject is plain text
        subject = subject.striptags()
    return RenderedEmail(subject=subject[:200], html=_tidy(html), text=_tidy(text))


def _tidy(text: str) -> str:
    """Trailing spaces off, at most one blank line in a row, one final newline; {noformat} kept as is."""
    out: list[str] = []
    literal = False
    for raw in text.replace("\r\n", "\n").split("\n"):
        if literal:
            out.append(raw)
            literal = raw.strip() != "{noformat}"
            continue
        line = raw.rstrip()
        if line == "{noformat}":
            literal = True
        if not line and (not out or not out[-1]):
            continue
        out.append(line)
    while out and not out[-1]:
        out.pop()
    return "\n".join(out) + "\n"
