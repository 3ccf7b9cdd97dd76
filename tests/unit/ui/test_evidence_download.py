"""The model page offers the model's audit pack for download: a zip streamed behind the dashboard's login,
holding the review documents the dashboard serves, and verified offline by the pack verifier."""

from __future__ import annotations

import hashlib
import io
import zipfile
from pathlib import Path

import pytest

from model_governance.inventory.audit import AuditKeyring
from model_governance.services.evidence import export_pack, verify_pack
from model_governance.ui.app import URL_PREFIX
from tests.unit.ui.conftest import Dashboard


def test_the_model_page_links_the_pack(dashboard: Dashboard) -> None:
    model_id = dashboard.seeded.failed_risk_model
    html = dashboard.get(f"/models/{model_id}").text
    assert f'href="{URL_PREFIX}/models/{model_id}/evidence.zip" id="evidence-pack"' in html


def test_the_pack_downloads_as_a_verifiable_zip(dashboard: Dashboard, tmp_path: Path) -> None:
    model_id = dashboard.seeded.failed_risk_model
    document = dashboard.seeded.documents[model_id]
    response = dashboard.get(f"/models/{model_id}/evidence.zip")
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/zip"
    disposition = response.headers["content-disposition"]
    assert disposition.startswith('attachment; filename="evidence-') and disposition.endswith('.zip"')
    assert response.headers["x-content-sha256"] == hashlib.sha256(response.content).hexdigest()
    assert response.headers["cache-control"] == "private, no-store"

    with zipfile.ZipFile(io.BytesIO(response.content)) as packed:
        top = disposition.split('filename="', 1)[1].removesuffix('.zip"')
        assert all(n.startswith(f"{top}/") for n in packed.namelist()), "one folder, named like the zip"
        names = [n.split("/", 1)[1] for n in packed.namelist()]
        assert {"manifest.json", "index.html", "chain.json", "model.json"} <= set(names)
        stored = [n for n in names if n.startswith("documents/")]
        assert stored, "the review documents are in the pack"
        assert document.uri.rsplit("/", 1)[-1] in " ".join(stored)
        assert dashboard.services.stored[document.uri] in [packed.read(f"{top}/{n}") for n in stored]
    archive = tmp_path / "pack.zip"
    archive.write_bytes(response.content)
    problems = verify_pack(archive, AuditKeyring.from_env())
    # Digests and MACs hold; what the verifier finds is the seeded history's own (statuses the seed moved
    # without approvals), exactly what the command-line export of the same model shows.
    assert not [p for p in problems if "digest" in p.lower() or "mac" in p.lower().split()]
    assert all("without a verified" in p for p in problems)
    fetch = dashboard.services.stored.__getitem__
    exported = export_pack(dashboard.inventory, model_id, tmp_path / "cli", fetch=fetch)
    assert verify_pack(exported, AuditKeyring.from_env()) == problems


def test_the_pack_is_behind_the_login(dashboard: Dashboard) -> None:
    model_id = dashboard.seeded.failed_risk_model
    anonymous = dashboard.get(f"/models/{model_id}/evidence.zip", headers={})
    assert anonymous.status_code == 302 and "/auth/login" in anonymous.headers["location"]
    dashboard.services.allowed = set()
    refused = dashboard.get(f"/models/{model_id}/evidence.zip")
    assert refused.status_code == 403 and "application/zip" not in refused.headers["content-type"]


def test_an_unknown_or_bad_model_gets_an_error_page(dashboard: Dashboard) -> None:
    assert dashboard.get("/models/999999/evidence.zip").status_code == 404
    assert dashboard.get("/models/abc/evidence.zip").status_code == 400


def test_no_temporary_pack_is_left_behind(
    dashboard: Dashboard, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import tempfile

    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    response = dashboard.get(f"/models/{dashboard.seeded.failed_risk_model}/evidence.zip")
    assert response.status_code == 200
    assert not list(tmp_path.glob("mg-evidence-*")), "the pack folder is removed once streamed"
