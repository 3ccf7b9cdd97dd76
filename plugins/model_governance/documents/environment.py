"""The Jinja environments documents and tickets are rendered in, and where their templates come from.

Templates are looked up in two places, first match wins (a ``ChoiceLoader``):

1. the organisation's templates folder, when one is configured: a file there with the same relative path
   (``review_document/review.html.j2``, ``jira/pia.j2``, ``email/model_group_created.html.j2``) replaces
   ours, so documents and tickets change without touching code;
2. ours: the top-level ``templates/`` folder of the repository, found from this package's location. An
   installed distribution carries the same files inside the package as ``documents/templates`` (see
   ``builtin_templates_dir``).

Every environment is an ``ImmutableSandboxedEnvironment`` with ``StrictUndefined``: a template cannot
reach Python internals or change the values it is given, and a missing variable is an error instead of
an empty string. Untrusted text is escaped for the output format: HTML by autoescape, Markdown and Jira
wiki markup by a ``finalize`` hook that escapes every ``{{ ... }}`` result unless this package built it
as markup on purpose (``MarkdownSafe``, ``WikiSafe``).
"""

from __future__ import annotations

import math
import os
import re
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType
from typing import Any, Literal

from jinja2 import (
    BaseLoader,
    ChoiceLoader,
    FileSystemLoader,
    StrictUndefined,
    Template,
    TemplateError,
    TemplateNotFound,
    TemplateSyntaxError,
    UndefinedError,
)
from jinja2.sandbox import ImmutableSandboxedEnvironment, SecurityError
from markupsafe import Markup

from model_governance.documents.escaping import (
    MarkdownSafe,
    WikiSafe,
    clean_text,
    escape_html,
    escape_markdown,
    escape_wiki,
    one_line,
    safe_url,
)
from model_governance.exceptions import ConfigurationError

Flavor = Literal["html", "markdown", "wiki", "text"]
FLAVORS: tuple[Flavor, ...] = ("html", "markdown", "wiki", "text")

_PACKAGE_TEMPLATES = Path(__file__).resolve().parent / "templates"
_REPO_TEMPLATES = Path(__file__).resolve().parents[3] / "templates"
_MARKER = "review_document"


def builtin_templates_dir() -> Path:
    """The folder holding this package's own templates.

    Inside an installed distribution they are package data (``model_governance/documents/templates``);
    in a source checkout they are the repository's top-level ``templates/`` folder.
    """
    for candidate in (_PACKAGE_TEMPLATES, _REPO_TEMPLATES):
        if (candidate / _MARKER).is_dir():
            return candidate
    raise ConfigurationError(
        f"The model governance templates were not found in {_PACKAGE_TEMPLATES} or {_REPO_TEMPLATES}; "
        "reinstall the package (its templates are package data) or run from a source checkout."
    )


def template_dirs(user_dir: str | os.PathLike[str] | None = None) -> list[Path]:
    """The template folders in lookup order: the configured folder first (when given), then ours."""
    dirs: list[Path] = []
    if user_dir is not None and str(user_dir).strip():
        path = Path(user_dir).expanduser()
        if not path.is_dir():
            raise ConfigurationError(
                f"Templates folder {str(path)!r} does not exist or is not a folder; create it with the "
                "templates to override (same relative paths as ours, e.g. review_document/review.html.j2) "
                "or unset it."
            )
        dirs.append(path)
    dirs.append(builtin_templates_dir())
    return dirs


# -- formatting filters shared by every flavour -------------------------------------------------------


def format_number(value: Any, digits: int = 4) -> str:
    """A stable, readable number: ``digits`` significant digits, scientific only when very large/small."""
    if value is None:
        return "n/a"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int):
        return str(value)
    try:
        number = float(value)
    except (TypeError, ValueError):
        return clean_text(value)
    if math.isnan(number):
        return "NaN"
    if math.isinf(number):
        return "inf" if number > 0 else "-inf"
    if number == 0:
        return "0"
    if abs(number) >= 10 ** (digits + 2) or abs(number) < 10**-digits:
        return f"{number:.{max(digits - 1, 0)}e}"
    text = f"{number:.{digits}g}"
    # Python switches to exponent form for e.g. 12345 at 4 digits; write such numbers out in full.
    return f"{number:.0f}" if "e" in text else text


def format_percent(value: Any, digits: int = 1) -> str:
    if value is None:
        return "n/a"
    return f"{float(value) * 100:.{digits}f}%"


def format_datetime(value: Any) -> str:
    """A UTC timestamp like ``2026-03-01 14:05:09 UTC``; naive datetimes are taken as UTC."""
    if value is None:
        return "n/a"
    if isinstance(value, datetime):
        moment = value if value.tzinfo else value.replace(tzinfo=UTC)
        return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
    return clean_text(value)


def paragraphs(value: Any) -> list[str]:
    """User text split into paragraphs at blank lines; each paragraph on one line."""
    text = clean_text(value).replace("\r\n", "\n").replace("\r", "\n")
    blocks = [one_line(block) for block in text.split("\n\n")]
    return [block for block in blocks if block]


def short_hash(value: Any, length: int = 12) -> str:
    return clean_text(value)[:length]


def _link(escape: Callable[[Any], str], build: Callable[[str, str], str]) -> Callable[[Any, Any], str]:
    """A template's ``link(text, url)`` in one output format: the label (``text``, else the URL) escaped
    by ``escape``; a link ``build``-t from the label and the URL when the URL is a safe http(s) one, else
    the label alone."""

    def link(text: Any, url: Any) -> str:
        href = safe_url(url)
        label = escape(text if text not in (None, "") else url)
        return label if href is None else build(label, href)

    return link


_html_link = _link(escape_html, lambda label, href: Markup('<a href="{}">{}</a>').format(href, label))
_markdown_link = _link(
    lambda value: MarkdownSafe(escape_markdown(value)),
    lambda label, href: MarkdownSafe(f"[{label}](<{href}>)"),
)
_wiki_link = _link(
    lambda value: WikiSafe(escape_wiki(value)), lambda label, href: WikiSafe(f"[{label}|{href}]")
)


def _wiki_noformat(value: Any) -> WikiSafe:
    """Multi-line text (an error message, a traceback) as a literal ``{noformat}`` block."""
    text = clean_text(value).replace("\r\n", "\n").replace("\r", "\n").strip("\n")
    # Only the closing macro could end the block early: break it up wherever it appears.
    text = re.sub(r"\{(noformat)\}", r"{ \1}", text, flags=re.IGNORECASE)
    return WikiSafe("{noformat}\n" + text + "\n{noformat}")


_text_link = _link(one_line, lambda label, href: href if label == href else f"{label} <{href}>")


_LINKS: dict[str, Callable[[Any, Any], str]] = {
    "html": _html_link,
    "markdown": _markdown_link,
    "wiki": _wiki_link,
    "text": _text_link,
}


def _markdown_finalize(value: Any) -> str:
    return escape_markdown(value)


def _wiki_finalize(value: Any) -> str:
    return escape_wiki(value)


def _text_finalize(value: Any) -> str:
    # Plain text has no markup to inject, but control and bidi characters can still disguise it.
    return clean_text(value)


_FINALIZE: dict[str, Callable[[Any], str] | None] = {
    "html": None,
    "markdown": _markdown_finalize,
    "wiki": _wiki_finalize,
    "text": _text_finalize,
}


def make_environment(flavor: Flavor, loader: BaseLoader) -> ImmutableSandboxedEnvironment:
    """A sandboxed, strict environment that escapes untrusted values for ``flavor``."""
    if flavor not in _LINKS:
        raise ConfigurationError(f"Template flavour {flavor!r} is not one of {sorted(_LINKS)}.")
    env = ImmutableSandboxedEnvironment(
        loader=loader,
        undefined=StrictUndefined,
        autoescape=flavor == "html",
        finalize=_FINALIZE[flavor],
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
        auto_reload=False,
    )
    env.filters.update(
        num=format_number,
        pct=format_percent,
        dt=format_datetime,
        paragraphs=paragraphs,
        one_line=one_line,
        short_hash=short_hash,
    )
    env.globals["link"] = _LINKS[flavor]
    if flavor == "wiki":
        env.filters["noformat"] = _wiki_noformat
    return env


class TemplateSet:
    """The four flavoured environments over one loader: the configured folder first, then ours."""

    def __init__(self, user_dir: str | os.PathLike[str] | None = None) -> None:
        self.dirs = template_dirs(user_dir)
        loader = ChoiceLoader([FileSystemLoader(str(path), encoding="utf-8") for path in self.dirs])
        self._envs = {flavor: make_environment(flavor, loader) for flavor in FLAVORS}

    def environment(self, flavor: Flavor) -> ImmutableSandboxedEnvironment:
        return self._envs[flavor]

    def get(self, name: str, flavor: Flavor) -> Template:
        """Load template ``name``; a missing or broken template raises ``ConfigurationError``."""
        try:
            return self._envs[flavor].get_template(name)
        except TemplateNotFound:
            searched = ", ".join(str(path) for path in self.dirs)
            raise ConfigurationError(
                f"Template {name!r} was not found in {searched}; add it to the templates folder or remove "
                "the setting that asks for it."
            ) from None
        except TemplateSyntaxError as exc:
            raise ConfigurationError(
                f"Template {exc.filename or name!r} has a syntax error at line {exc.lineno}: {exc.message}; "
                "fix the template."
            ) from None

    def render(self, name: str, flavor: Flavor, variables: Mapping[str, Any]) -> str:
        return render_template(self.get(name, flavor), variables)

    def render_module(self, name: str, flavor: Flavor, variables: Mapping[str, Any]) -> tuple[str, Any]:
        """Render ``name`` and also return its exported top-level ``{% set %}`` values (e.g. ``summary``)."""
        template = self.get(name, flavor)
        module = guarded(template.name or name, lambda: template.make_module(dict(variables)))
        return str(module), module


def render_template(template: Template, variables: Mapping[str, Any]) -> str:
    return guarded(template.name or "<template>", lambda: template.render(dict(variables)))


def guarded(name: str, render: Callable[[], Any]) -> Any:
    """Run ``render``; turn Jinja's errors into ``ConfigurationError`` naming the template, line and cause."""
    try:
        return render()
    except UndefinedError as exc:
        where = _location(exc.__traceback__, name)
        raise ConfigurationError(
            f"Template {where} uses a variable that was not given: {exc.message}. Pass it in the context, "
            "or fix the template (see the variables listed in templates/README.md)."
        ) from None
    except SecurityError as exc:
        where = _location(exc.__traceback__, name)
        raise ConfigurationError(
            f"Template {where} tried an operation the sandbox forbids: {exc}; remove it from the template."
        ) from None
    except TemplateSyntaxError as exc:
        raise ConfigurationError(
            f"Template {exc.filename or exc.name or name!r} has a syntax error at line {exc.lineno}: "
            f"{exc.message}; fix the template."
        ) from None
    except TemplateError as exc:
        where = _location(exc.__traceback__, name)
        raise ConfigurationError(f"Template {where} failed to render: {exc}; fix the template.") from None


def _location(tb: TracebackType | None, name: str) -> str:
    """``'review.html.j2' line 12``: the deepest template frame in the traceback (Jinja rewrites them)."""
    found = f"{name!r}"
    while tb is not None:
        code = tb.tb_frame.f_code
        if code.co_filename.endswith(".j2"):
            found = f"{_short(code.co_filename)!r} line {tb.tb_lineno}"
        tb = tb.tb_next
    return found


def _short(filename: str) -> str:
    parts = Path(filename).parts
    return "/".join(parts[-2:]) if len(parts) >= 2 else filename
