"""The audit chain's key: never in the database, read from an Airflow connection or the environment."""

from __future__ import annotations

import hashlib
import hmac
import os
from collections.abc import Mapping

from model_governance.exceptions import ConfigurationError

#: ``key_id:secret[,key_id:secret...]``; the first key signs new links, the others only verify old ones.
AUDIT_KEYS_ENV = "MODEL_GOVERNANCE_AUDIT_KEYS"
#: The Airflow connection holding the key: login = key id, password = secret; extra ``{"previous":
#: {"key_id": "secret"}}`` for keys rotated out (still needed to verify the links they signed).
AUDIT_CONN_ID = "model_governance_audit"
MIN_SECRET_BYTES = 16


class AuditKeyring:
    """The audit MAC keys by id: ``current_id`` signs new links, every key verifies the links it signed."""

    def __init__(self, current_id: str, keys: Mapping[str, bytes | str]) -> None:
        parsed = {
            str(k).strip(): v.encode("utf-8") if isinstance(v, str) else bytes(v) for k, v in keys.items()
        }
        if current_id not in parsed:
            raise ConfigurationError(f"Audit key id {current_id!r} has no secret in the keyring.")
        for key_id, secret in parsed.items():
            if not key_id or ":" in key_id or "," in key_id:
                raise ConfigurationError(f"Audit key id {key_id!r} must be non-empty, without ':' or ','.")
            if len(secret) < MIN_SECRET_BYTES:
                raise ConfigurationError(
                    f"Audit key {key_id!r} is shorter than {MIN_SECRET_BYTES} bytes; use a random secret "
                    "(e.g. `python -c 'import secrets; print(secrets.token_hex(32))'`)."
                )
        self.current_id = current_id
        self._keys = parsed

    def __repr__(self) -> str:  # never the secrets
        return f"AuditKeyring(current_id={self.current_id!r}, key_ids={sorted(self._keys)!r})"

    @property
    def key_ids(self) -> list[str]:
        return sorted(self._keys)

    def has(self, key_id: str) -> bool:
        return key_id in self._keys

    def mac(self, key_id: str, message: bytes) -> str:
        return hmac.new(self._keys[key_id], message, hashlib.sha256).hexdigest()

    @classmethod
    def parse(cls, text: str, *, source: str) -> AuditKeyring:
        """Read ``key_id:secret[,key_id:secret...]`` (first = current)."""
        pairs = [item.strip() for item in (text or "").split(",") if item.strip()]
        keys: dict[str, str] = {}
        for item in pairs:
            key_id, sep, secret = item.partition(":")
            if not sep:
                raise ConfigurationError(f"{source}: {item[:8]!r}... is not key_id:secret.")
            keys[key_id.strip()] = secret.strip()
        if not keys:
            raise ConfigurationError(f"{source} is empty; set it to key_id:secret.")
        return cls(next(iter(keys)), keys)

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> AuditKeyring:
        """The keyring from ``MODEL_GOVERNANCE_AUDIT_KEYS``, or a ConfigurationError saying what to set."""
        value = (os.environ if environ is None else environ).get(AUDIT_KEYS_ENV, "")
        if not value.strip():
            raise ConfigurationError(missing_key_message())
        return cls.parse(value, source=f"environment variable {AUDIT_KEYS_ENV}")


def missing_key_message() -> str:
    return (
        "No audit key is configured: the audit chain is signed with a key the database does not hold. "
        f"Create the Airflow connection {AUDIT_CONN_ID!r} (login = key id, password = a random secret of at "
        f"least {MIN_SECRET_BYTES} bytes), or set the environment variable {AUDIT_KEYS_ENV}=key_id:secret "
        "(outside Airflow: the CLI, tests, the demo)."
    )
