"""The PDF: rendered by WeasyPrint, turned into PNG pages with pdftoppm, checked page by page.

Needs the Debian packages poppler-utils (pdftoppm), libpango-1.0-0 / libpangoft2-1.0-0 and
fonts-dejavu-core, and the PyPI packages weasyprint and pillow (a weasyprint dependency).
"""

from __future__ import annotations

import hashlib
import re
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageStat

from model_governance.documents import render_review_document
from model_governance.documents.pdf import html_to_pdf
from tests.unit.documents import builders


@pytest.fixture(scope="module")
def pdf_bytes() -> bytes:
    return render_review_document(builders.review_context(), formats=("pdf",))["pdf"].content


def _pdftoppm() -> str:
    tool = shutil.which("pdftoppm")
    if tool is None:
        pytest.fail("pdftoppm is not installed: apt-get install poppler-utils (the Makefile's setup does)")
    return tool


def _pages(pdf: bytes, folder: Path, dpi: int = 50) -> list[Path]:
    source = folder / "doc.pdf"
    source.write_bytes(pdf)
    subprocess.run([_pdftoppm(), "-r", str(dpi), "-png", str(source), str(folder / "page")], check=True)
    return sorted(folder.glob("page-*.png"), key=lambda p: int(re.findall(r"\d+", p.stem)[-1]))


def _ink(path: Path) -> float:
    """Share of pixels that are not (near) white."""
    with Image.open(path) as image:
        gray = image.convert("L")
        dark = gray.point(lambda v: 255 if v < 200 else 0)
        return ImageStat.Stat(dark).mean[0] / 255


def test_pdf_pages_are_a4_and_none_is_blank(pdf_bytes: bytes, tmp_path: Path) -> None:
    assert pdf_bytes.startswith(b"%PDF-")
    pages = _pages(pdf_bytes, tmp_path)
    # The fixed context fills more than a page and less than a dozen.
    assert 3 <= len(pages) <= 12, len(pages)
    for page in pages:
        with Image.open(page) as image:
            width, height = image.size
        assert abs(height / width - 297 / 210) < 0.02  # A4 portrait
        ink = _ink(page)
        assert 0.003 < ink < 0.5, f"{page.name} looks blank or solid: {ink:.4f} of its pixels are dark"


def test_first_page_shows_the_title_and_the_verdict_box(pdf_bytes: bytes, tmp_path: Path) -> None:
    first = _pages(pdf_bytes, tmp_path, dpi=60)[0]
    with Image.open(first) as image:
        rgb = image.convert("RGB")
        width, height = rgb.size
        top = np.asarray(rgb.crop((0, 0, width, height // 4))).astype(int)
    # The "failed" verdict box is pale red with a red border: some reddish pixels in the top quarter.
    reddish = int(((top[..., 0] > 180) & (top[..., 1] < 120) & (top[..., 2] < 120)).sum())
    assert reddish > 20
    assert _ink(first) > 0.01


def test_pdf_bytes_are_reproducible(pdf_bytes: bytes) -> None:
    again = render_review_document(builders.review_context(), formats=("pdf",))["pdf"].content
    assert hashlib.sha256(again).hexdigest() == hashlib.sha256(pdf_bytes).hexdigest()


def test_pdf_footer_carries_the_html_hash(pdf_bytes: bytes) -> None:
    docs = render_review_document(builders.review_context(), formats=("html", "pdf"))
    assert docs["pdf"].body_sha256 == docs["html"].body_sha256
    assert docs["pdf"].content == pdf_bytes


def test_the_pdf_renderer_fetches_nothing(tmp_path: Path) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP-SECRET-CONTENT")
    html = (
        f'<html><body><p>x</p><img src="file://{secret}"><link rel="stylesheet" href="file://{secret}">'
        '<img src="http://127.0.0.1:9/x.png"></body></html>'
    )
    pdf = html_to_pdf(html, created=builders.GENERATED_AT)
    assert pdf.startswith(b"%PDF-")
    assert b"TOP-SECRET" not in pdf
