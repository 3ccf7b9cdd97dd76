"""The README's links into the docs site resolve (mkdocs --strict in `make lint` checks the site itself)."""

from __future__ import annotations

import re

from tests.conftest import REPO_ROOT


def _slug(heading: str) -> str:
    """Python-Markdown's toc anchor for a heading (what mkdocs links to)."""
    text = re.sub(r"[`*_\[\]()]", "", heading).strip().lower()
    return re.sub(r"[\s]+", "-", re.sub(r"[^\w\s-]", "", text))


def _anchors(path: str) -> set[str]:
    text = (REPO_ROOT / path).read_text(encoding="utf-8")
    text = re.sub(r"```.*?```", "", text, flags=re.DOTALL)  # a '#' in a code block is no heading
    return {_slug(h) for h in re.findall(r"^#+ (.+)$", text, flags=re.MULTILINE)}


def test_readme_links_into_docs_resolve() -> None:
    readme = (REPO_ROOT / "README.md").read_text(encoding="utf-8")
    links = re.findall(r"\]\((docs/[^)#\s]+)(?:#([^)\s]+))?\)", readme)
    assert len(links) >= 10, links
    broken = []
    for path, anchor in links:
        if not (REPO_ROOT / path).is_file():
            broken.append(path)
        elif anchor and anchor not in _anchors(path):
            broken.append(f"{path}#{anchor}")
    assert not broken, f"README links with no target in docs/: {broken}"
