"""The CLI's pinned-input arguments, without a network: a version id needs its digest, and a pin must
name a well-formed SHA-256 of an s3:// object (refused as bad input, exit 2, before any S3 call)."""

from __future__ import annotations

from pathlib import Path

import pytest

from model_governance.risk_tests.__main__ import EXIT_BAD_INPUT, main


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--baseline-version-id", "v1"], "--baseline-version-id needs --baseline-sha256"),
        (["--comparator-sha256", "abc"], "COMPARATOR_DATA b.parquet is pinned without a SHA-256"),
        (["--schema-sha256", "0" * 64], "RISK_TEST_SCHEMA is pinned at 's.json', not an s3://bucket/key URI"),
    ],
)
def test_bad_pins_are_bad_input(
    extra: list[str], message: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["--baseline", "a.parquet", "--comparator", "b.parquet", "--schema", "s.json"]
    code = main([*argv, "--out", str(tmp_path / "r.json"), *extra])
    assert code == EXIT_BAD_INPUT
    assert message in capsys.readouterr().err
    assert not (tmp_path / "r.json").exists()
