"""Model review documents and approval ticket / email texts, rendered from Jinja templates.

A domain module (no Airflow import). ``render_review_document(ReviewContext)`` gives the review document
as HTML, Markdown and PDF; ``render_ticket`` the Jira ticket of an approval kind (ADF for Jira Cloud,
wiki markup for Data Center); ``render_email`` the "model group created" email; ``store_document`` puts
a rendered document in S3 under its snapshot and records it in the inventory.
"""

from __future__ import annotations

from model_governance.documents.context import (
    ApprovalRecord,
    Asset,
    DecisionRequest,
    Links,
    ModelInfo,
    ReviewContext,
    SnapshotInfo,
    TicketContext,
    UseCaseInfo,
)
from model_governance.documents.environment import TemplateSet, builtin_templates_dir
from model_governance.documents.review import RenderedDocument, render_review_document, verify_footer_hash

__all__ = [
    "ApprovalRecord",
    "Asset",
    "DecisionRequest",
    "Links",
    "ModelInfo",
    "RenderedDocument",
    "ReviewContext",
    "SnapshotInfo",
    "TemplateSet",
    "TicketContext",
    "UseCaseInfo",
    "builtin_templates_dir",
    "render_review_document",
    "verify_footer_hash",
]
