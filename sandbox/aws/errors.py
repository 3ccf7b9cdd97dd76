"""AWS-shaped error answers for the three wire protocols the sandbox speaks (JSON, Query XML, S3 XML)."""

from __future__ import annotations

import json
import uuid
from xml.sax.saxutils import escape


class AwsError(Exception):
    """An error the sandbox answers the way the real service does: code, message, HTTP status."""

    def __init__(self, code: str, message: str, status: int = 400) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message
        self.status = status


def json_error_body(code: str, message: str, namespace: str | None = None) -> bytes:
    """Body of an awsJson1.1 error. SQS (JSON protocol) qualifies the type with its namespace."""
    error_type = f"{namespace}#{code}" if namespace else code
    return json.dumps({"__type": error_type, "message": message}).encode()


def query_error_body(code: str, message: str, sender_fault: bool = True) -> bytes:
    kind = "Sender" if sender_fault else "Receiver"
    return (
        "<ErrorResponse><Error>"
        f"<Type>{kind}</Type><Code>{escape(code)}</Code><Message>{escape(message)}</Message>"
        f"</Error><RequestId>{uuid.uuid4()}</RequestId></ErrorResponse>"
    ).encode()


def s3_error_body(code: str, message: str) -> bytes:
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f"<Error><Code>{escape(code)}</Code><Message>{escape(message)}</Message>"
        f"<RequestId>{uuid.uuid4().hex[:16].upper()}</RequestId></Error>"
    ).encode()
