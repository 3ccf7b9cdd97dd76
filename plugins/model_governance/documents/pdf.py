"""HTML to PDF through WeasyPrint, reproducibly and without fetching anything.

WeasyPrint needs Pango (Debian: libpango-1.0-0, libpangoft2-1.0-0) and fonts (fonts-dejavu-core); it is
imported only when a PDF is asked for, so the HTML and Markdown work without it.

Reproducible bytes: the PDF's creation and modification dates come from the document's own time (as
``dcterms`` meta in the HTML), and fontTools, which subsets the embedded fonts, stamps each subset with
``SOURCE_DATE_EPOCH`` when that is set (else with the clock). It is set to the document's time for the
duration of the call, under a lock because the environment is process-wide.

No fetching: the URL fetcher allows only ``data:`` URIs, so a template (or a value that slipped through)
cannot make the renderer read local files or call out to the network.
"""

from __future__ import annotations

import os
import threading
from datetime import datetime
from typing import Any

from model_governance.exceptions import ConfigurationError, InvalidInputError

_ENV_LOCK = threading.Lock()


def _weasyprint() -> Any:
    try:
        import weasyprint
    except (ImportError, OSError) as exc:  # OSError: the Pango shared libraries are missing
        raise ConfigurationError(
            f"PDF rendering needs WeasyPrint and its system libraries ({exc}); install weasyprint==70.0 and "
            "the Debian packages libpango-1.0-0 libpangoft2-1.0-0 fonts-dejavu-core, or ask only for the "
            "html and markdown formats."
        ) from None
    return weasyprint


def html_to_pdf(html: str, *, created: datetime) -> bytes:
    """The PDF of ``html`` (a self-contained document); ``created`` (aware) stamps it reproducibly."""
    if created.tzinfo is None:
        raise InvalidInputError("html_to_pdf created must be a timezone-aware datetime.")
    weasyprint = _weasyprint()
    fetcher = weasyprint.URLFetcher(allowed_protocols=["data"])
    epoch = str(int(created.timestamp()))
    with _ENV_LOCK:
        previous = os.environ.get("SOURCE_DATE_EPOCH")
        os.environ["SOURCE_DATE_EPOCH"] = epoch
        try:
            document = weasyprint.HTML(string=html, url_fetcher=fetcher, base_url="about:blank")
            data: bytes = document.write_pdf()
        finally:
            if previous is None:
                os.environ.pop("SOURCE_DATE_EPOCH", None)
            else:
                os.environ["SOURCE_DATE_EPOCH"] = previous
    return data
