"""Evidence that holds up outside the database: audit chain anchors in S3, and keyring sources.

The inventory chains every governance fact (inventory/audit.py) and, with each decision, anchors the chain
head here: one object per chain head, ``<prefix>/<chain>/<seq>.json`` in the governance bucket, written
once and never overwritten (the bucket should have versioning and S3 Object Lock in compliance mode: see
docs/evidence.md). A database rolled back or restored from an older backup then ends before the newest
anchor, and ``Inventory.verify_audit_trail`` says so.

No Airflow import: the hook (hooks/inventory.py) passes in the S3 client and the key it fetched.
"""

from __future__ import annotations

import hashlib
import hmac
import html
import json
import re
import shutil
import tempfile
import zipfile
from collections.abc import Callable, Iterator, Mapping, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

from model_governance.exceptions import ConfigurationError, RegistryError
from model_governance.inventory.audit import (
    AUDIT_CONN_ID,
    Anchor,
    AuditKeyring,
    ChainLink,
    CurrentRecord,
    canonical,
    check_anchor,
    model_chain,
    record_fields,
    row_fields,
    verify_links,
)
from model_governance.inventory.models import utcnow
from model_governance.inventory.repository import Inventory

ANCHOR_PREFIX = "audit-anchors"
_MISSING = {"404", "NoSuchKey", "NotFound"}


def _code(exc: Exception) -> str:
    return str(getattr(exc, "response", {}).get("Error", {}).get("Code", ""))


def anchor_key(chain: str, seq: int, prefix: str = ANCHOR_PREFIX) -> str:
    # Zero-padded so the keys list in seq order: the newest anchor is the last key.
    return f"{prefix}/{chain}/{seq:012d}.json"


class S3AnchorStore:
    """Chain heads in S3. ``client`` is a boto3 S3 client, or a callable returning one (opened lazily)."""

    def __init__(self, client: Any | Callable[[], Any], bucket: str, *, prefix: str = ANCHOR_PREFIX) -> None:
        self._client_source = client
        self._client: Any = None
        self.bucket = bucket
        self.prefix = prefix.strip("/")

    @property
    def client(self) -> Any:
        if self._client is None:
            source = self._client_source
            self._client = source() if callable(source) and not hasattr(source, "put_object") else source
        return self._client

    def put(self, anchor: Anchor) -> None:
        """Write the anchor once: an anchor already there for this seq is left as it is (a retry)."""
        key = anchor_key(anchor.chain, anchor.seq, self.prefix)
        try:
            self.client.head_object(Bucket=self.bucket, Key=key)
            return
        except Exception as exc:
            if _code(exc) not in _MISSING:
                raise RegistryError(
                    f"Could not read audit anchor s3://{self.bucket}/{key}: {exc}. Check the governance "
                    "bucket and the connection's s3:GetObject permission."
                ) from exc
        try:
            self.client.put_object(
                Bucket=self.bucket,
                Key=key,
                Body=anchor.to_json().encode("utf-8"),
                ContentType="application/json",
            )
        except Exception as exc:
            raise RegistryError(
                f"Could not write audit anchor s3://{self.bucket}/{key}: {exc}. The decision is recorded in "
                "the inventory; the next decision (or a retry of this task) anchors the chain again."
            ) from exc

    def anchors(self, chain: str) -> list[Anchor]:
        """Every anchor of ``chain``, oldest first."""
        found = [
            Anchor.from_json(self.client.get_object(Bucket=self.bucket, Key=item["Key"])["Body"].read())
            for page in self._pages(chain)
            for item in page.get("Contents", [])
        ]
        return sorted(found, key=lambda anchor: anchor.seq)

    def newest(self, chain: str) -> Anchor | None:
        """The anchor with the highest seq (keys list in seq order, so only the last page's last key)."""
        last_key: str | None = None
        for page in self._pages(chain):
            contents = page.get("Contents", [])
            if contents:
                last_key = contents[-1]["Key"]
        if last_key is None:
            return None
        return Anchor.from_json(self.client.get_object(Bucket=self.bucket, Key=last_key)["Body"].read())

    def _pages(self, chain: str) -> Iterator[dict[str, Any]]:
        """The ``ListObjectsV2`` pages of ``chain``'s anchors, following continuation tokens."""
        kwargs: dict[str, Any] = {"Bucket": self.bucket, "Prefix": f"{self.prefix}/{chain}/"}
        while True:
            page = self.client.list_objects_v2(**kwargs)
            yield page
            token = page.get("NextContinuationToken")
            if not page.get("IsTruncated") or not token:
                return
            kwargs["ContinuationToken"] = token


def keyring_from_connection(
    login: str | None, password: str | None, extra: Mapping[str, Any]
) -> AuditKeyring:
    """The keyring in the Airflow connection ``model_governance_audit``: login = current key id, password =
    its secret, extra ``{"previous": {"old_id": "old secret"}}`` = keys rotated out (verify only)."""
    if not login or not password:
        raise ConfigurationError(
            f"Airflow connection {AUDIT_CONN_ID!r} needs login = the audit key id and password = its secret."
        )
    previous = extra.get("previous") or {}
    if not isinstance(previous, Mapping):
        raise ConfigurationError(
            f"Airflow connection {AUDIT_CONN_ID!r}: extra 'previous' must map key ids to secrets."
        )
    return AuditKeyring(login, {**{str(k): str(v) for k, v in previous.items()}, login: password})


# -- the audit pack -----------------------------------------------------------------------------------------

PACK_FORMAT = "model-governance-evidence/1"
MANIFEST = "manifest.json"
#: Pack files holding chained rows, by the record kind of their rows.
ROW_FILES: Mapping[str, str] = {
    "status_event": "status_history.json",
    "approval": "approvals.json",
    "snapshot": "snapshots.json",
    "risk_test_run": "risk_test_runs.json",
    "document": "documents.json",
    "governance_action": "governance_actions.json",
}


def _digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _json_bytes(value: Any) -> bytes:
    return (json.dumps(value, indent=2, sort_keys=True, ensure_ascii=False) + "\n").encode("utf-8")


def _safe_name(name: str) -> str:
    cleaned = re.sub(r"[^A-Za-z0-9._-]+", "_", name).strip("._")
    return cleaned[:120] or "file"


def export_pack(
    inventory: Inventory,
    model: int | str,
    out_dir: Path,
    *,
    fetch: Callable[[str], bytes] | None = None,
    anchors: S3AnchorStore | None = None,
    make_zip: bool = True,
) -> Path:
    """Write the model's audit pack to ``out_dir`` (replaced if there): every chained record, the chain,
    its anchors, the review documents (``fetch`` reads a document's s3:// URI), a manifest of digests
    MACed with the audit key, and index.html. Returns the folder; ``<out_dir>.zip`` beside it too."""
    keyring = inventory.audit_keyring
    current = inventory.get_model(model)
    chain = model_chain(current.id)
    out_dir = Path(out_dir)
    if out_dir.exists():
        shutil.rmtree(out_dir)
    out_dir.mkdir(parents=True)
    files: dict[str, bytes] = {}
    group = inventory.find_model_group(current.model_group.arn)
    use_case = inventory.get_use_case(group.use_case_id) if group is not None else None
    files["model.json"] = _json_bytes(
        {
            "model": row_fields(current),
            "use_case": row_fields(use_case) if use_case is not None else None,
            "model_group": row_fields(group) if group is not None else None,
        }
    )
    rows = inventory.chained_records(current.id)
    for kind, name in ROW_FILES.items():
        files[name] = _json_bytes(rows.get(kind, []))
    files["chain.json"] = _json_bytes(
        [
            {
                "chain": link.chain,
                "seq": link.seq,
                "kind": link.kind,
                "record_id": link.record_id,
                "action": link.action,
                "record": link.record,
                "prev_mac": link.prev_mac,
                "mac": link.mac,
                "key_id": link.key_id,
                "created_at": link.created_at.isoformat(timespec="microseconds"),
            }
            for link in inventory.audit_links(chain)
        ]
    )
    store = anchors if anchors is not None else inventory.anchors
    anchor_list: list[Anchor] = []
    if isinstance(store, S3AnchorStore):
        anchor_list = store.anchors(chain)
    elif store is not None:
        newest = store.newest(chain)
        anchor_list = [newest] if newest is not None else []
    files["anchors.json"] = _json_bytes([json.loads(anchor.to_json()) for anchor in anchor_list])
    document_files: list[tuple[dict[str, Any], str | None, str | None]] = []
    for document in rows.get("document", []):
        path: str | None = None
        error: str | None = None
        if fetch is None:
            error = "not fetched (no S3 access given)"
        else:
            try:
                data = fetch(str(document["uri"]))
                path = f"documents/{document['id']}-{_safe_name(str(document['uri']).rsplit('/', 1)[-1])}"
                files[path] = data
            except Exception as exc:  # the pack still shows the record; verify says the file is absent
                error = f"could not be read: {exc}"
        document_files.append((document, path, error))
    files["index.html"] = _index_html(current, use_case, rows, anchor_list, document_files).encode("utf-8")
    for name, data in files.items():
        target = out_dir / name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
    manifest = {
        "format": PACK_FORMAT,
        "model": current.package_arn,
        "model_id": current.id,
        "chain": chain,
        "created_at": utcnow().isoformat(timespec="microseconds"),
        "key_id": keyring.current_id,
        "files": {name: _digest(data) for name, data in sorted(files.items())},
        "documents": {
            str(document["id"]): path for document, path, _error in document_files if path is not None
        },
    }
    manifest["manifest_mac"] = keyring.mac(keyring.current_id, canonical(manifest).encode("utf-8"))
    (out_dir / MANIFEST).write_bytes(_json_bytes(manifest))
    if make_zip:
        archive = out_dir.with_name(out_dir.name + ".zip")
        with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as packed:
            for member in sorted(out_dir.rglob("*")):
                if member.is_file():
                    packed.write(member, f"{out_dir.name}/{member.relative_to(out_dir).as_posix()}")
    return out_dir


def verify_pack(pack: Path, keyring: AuditKeyring) -> list[str]:
    """Every problem found in an audit pack (a folder or its zip), offline; each names the file at fault."""
    pack = Path(pack)
    if pack.is_file() and zipfile.is_zipfile(pack):
        with tempfile.TemporaryDirectory() as tmp:
            with zipfile.ZipFile(pack) as packed:
                packed.extractall(tmp)
            roots = [p for p in Path(tmp).iterdir() if p.is_dir()]
            return verify_pack(roots[0] if len(roots) == 1 else Path(tmp), keyring)
    try:
        manifest = json.loads((pack / MANIFEST).read_bytes())
        files: dict[str, str] = dict(manifest["files"])
    except (OSError, ValueError, KeyError, TypeError) as exc:
        return [f"{MANIFEST}: unreadable or damaged ({exc}); the pack cannot be checked"]
    problems: list[str] = []
    body = {key: value for key, value in manifest.items() if key != "manifest_mac"}
    key_id = str(manifest.get("key_id", ""))
    if not keyring.has(key_id):
        problems.append(f"{MANIFEST}: signed with key id {key_id!r}, which the keyring lacks")
    elif not hmac.compare_digest(
        keyring.mac(key_id, canonical(body).encode("utf-8")), str(manifest.get("manifest_mac", ""))
    ):
        problems.append(f"{MANIFEST}: fails its MAC (edited after export)")
    present = {p.relative_to(pack).as_posix() for p in pack.rglob("*") if p.is_file()} - {MANIFEST}
    for name, digest in sorted(files.items()):
        path = pack / name
        if not path.is_file():
            problems.append(f"{name}: listed in {MANIFEST} but missing")
        elif _digest(path.read_bytes()) != digest:
            problems.append(f"{name}: does not match its digest in {MANIFEST} (altered)")
    for name in sorted(present - set(files)):
        problems.append(f"{name}: not listed in {MANIFEST} (added after export)")
    if problems:
        return problems  # the records below would be read from files already known to be wrong
    return _verify_pack_records(pack, manifest, keyring)


def _verify_pack_records(pack: Path, manifest: Mapping[str, Any], keyring: AuditKeyring) -> list[str]:
    problems: list[str] = []
    chain = str(manifest["chain"])
    links = [
        ChainLink(**{**item, "created_at": datetime.fromisoformat(item["created_at"])})
        for item in json.loads((pack / "chain.json").read_bytes())
    ]
    current: list[CurrentRecord] = []
    for kind, name in ROW_FILES.items():
        for row in json.loads((pack / name).read_bytes()):
            label = f"{name}: {kind} id {row.get('id')}"
            current.append(CurrentRecord(kind, int(row["id"]), record_fields(row), label))
    model = json.loads((pack / "model.json").read_bytes())["model"]
    anchors = [
        Anchor.from_json(json.dumps(item)) for item in json.loads((pack / "anchors.json").read_bytes())
    ]
    newest = max(anchors, key=lambda anchor: anchor.seq) if anchors else None
    found = verify_links(
        chain=chain,
        links=links,
        keyring=keyring,
        current=current,
        model_status=model.get("status"),
        status_version=model.get("status_version"),
        anchor=newest,
    )
    problems.extend(
        f"chain.json: {problem}" if problem.startswith("chain ") else problem for problem in found
    )
    for anchor in anchors:
        if anchor is newest:
            continue
        for problem in check_anchor(chain, links, keyring, anchor):
            problems.append(f"anchors.json: {problem}")
    documents = manifest.get("documents") or {}
    for row in json.loads((pack / "documents.json").read_bytes()):
        path = documents.get(str(row["id"]))
        if path is None:
            problems.append(f"documents.json: document id {row['id']} ({row.get('uri')}) is not in the pack")
        elif _digest((pack / path).read_bytes()) != row.get("sha256"):
            problems.append(f"{path}: is not the document the chain records (sha256 {row.get('sha256')})")
    return problems


def _index_html(
    model: Any,
    use_case: Any,
    rows: Mapping[str, list[dict[str, Any]]],
    anchors: Sequence[Anchor],
    documents: Sequence[tuple[dict[str, Any], str | None, str | None]],
) -> str:
    e = html.escape

    def table(headers: Sequence[str], body: Sequence[Sequence[Any]]) -> str:
        head = "".join(f"<th>{e(h)}</th>" for h in headers)
        lines = "".join(
            "<tr>" + "".join(f"<td>{e('' if c is None else str(c))}</td>" for c in line) + "</tr>"
            for line in body
        )
        return f"<table><thead><tr>{head}</tr></thead><tbody>{lines}</tbody></table>"

    events = rows.get("status_event", [])
    approvals = rows.get("approval", [])
    runs = rows.get("risk_test_run", [])
    snapshots = rows.get("snapshot", [])
    parts = [
        "<!doctype html><html lang='en'><head><meta charset='utf-8'>",
        f"<title>Audit pack: {e(model.package_arn)}</title>",
        "<style>body{font-family:sans-serif;margin:2em}table{border-collapse:collapse;margin-bottom:1.5em}"
        "td,th{border:1px solid #bbb;padding:4px 8px;text-align:left;vertical-align:top}</style>",
        "</head><body>",
        f"<h1>Audit pack</h1><p>Model package <code>{e(model.package_arn)}</code>: status "
        f"<strong>{e(model.status)}</strong>.</p>",
    ]
    if use_case is not None:
        parts.append(
            f"<p>Use case <strong>{e(use_case.name)}</strong>, risk level {e(use_case.risk_level)}, owner "
            f"{e(use_case.owner)}.</p>"
        )
    parts.append(
        "<p>Check this pack with <code>python -m model_governance.evidence verify DIR</code> (needs the "
        "audit key: MODEL_GOVERNANCE_AUDIT_KEYS). manifest.json lists every file's SHA-256.</p>"
    )
    parts.append("<h2>Status history</h2>")
    parts.append(
        table(
            ["seq", "at", "from", "to", "source", "actor", "reason"],
            [
                [
                    r.get("seq"),
                    r.get("created_at"),
                    r.get("from_status"),
                    r.get("to_status"),
                    r.get("source"),
                    r.get("actor"),
                    r.get("reason"),
                ]
                for r in events
            ],
        )
    )
    parts.append("<h2>Approvals</h2>")
    parts.append(
        table(
            ["kind", "Jira ticket", "state", "decided by", "Jira account", "decided at", "justification"],
            [
                [
                    r.get("kind"),
                    r.get("jira_key"),
                    r.get("state"),
                    r.get("decided_by"),
                    r.get("decided_by_account"),
                    r.get("decided_at"),
                    r.get("justification"),
                ]
                for r in approvals
            ],
        )
    )
    parts.append("<h2>Snapshots</h2>")
    parts.append(
        table(
            ["id", "content hash", "uri", "approved for production at"],
            [[r.get("id"), r.get("content_hash"), r.get("uri"), r.get("deployed_at")] for r in snapshots],
        )
    )
    parts.append("<h2>Risk test runs</h2>")
    parts.append(
        table(
            ["id", "state", "passed", "report", "finished"],
            [
                [r.get("id"), r.get("state"), r.get("passed"), r.get("report_uri"), r.get("finished_at")]
                for r in runs
            ],
        )
    )
    parts.append("<h2>Review documents</h2>")
    parts.append(
        table(
            ["kind", "media type", "sha256", "approved", "in this pack"],
            [
                [d.get("kind"), d.get("media_type"), d.get("sha256"), d.get("approved"), path or error]
                for d, path, error in documents
            ],
        )
    )
    parts.append("<h2>Chain anchors (outside the database)</h2>")
    parts.append(
        table(
            ["seq", "MAC", "key id", "anchored at"],
            [[a.seq, a.mac, a.key_id, a.anchored_at.isoformat()] for a in anchors],
        )
    )
    parts.append("</body></html>\n")
    return "".join(parts)
