"""The services under the operators: one connection lookup per business entity, one evidence store."""

from __future__ import annotations

import subprocess
import sys

import pytest

from model_governance.exceptions import ConfigurationError, RegistryError
from model_governance.services.connections import GovernanceConnections
from model_governance.services.evidence_store import EvidenceStore
from tests.unit.operators.fakes import BUCKET, CONN_ID, ENTITY, REGION, FakeS3Client, Hooks, config, inventory


def test_an_entitys_hooks_are_made_once_on_its_connection_and_region() -> None:
    hooks, inv = Hooks(), inventory()
    connections = GovernanceConnections(
        entity_settings=config().business_entity, factories=hooks.factories(), inventory=inv
    )
    by_model = connections.of_model(7)
    assert by_model is connections.entity(ENTITY) is connections.of_group(3)
    assert (by_model.name, by_model.aws_conn_id, by_model.region) == (ENTITY, CONN_ID, REGION)
    for _ in range(2):
        assert by_model.registry is hooks.registry and by_model.jobs is hooks.jobs
        assert by_model.s3_client is hooks.s3_client
    assert hooks.made == [("registry", CONN_ID, REGION), ("jobs", CONN_ID, REGION), ("s3", CONN_ID, REGION)]
    connections.of_model(7)
    assert inv.business_entity_of_model.call_count == 1, "a model's entity is looked up once"
    assert connections.connection(None).aws_conn_id is None, "boto3's own credentials"
    with pytest.raises(ConfigurationError, match="'nowhere' is not configured"):
        connections.entity("nowhere")


def test_evidence_is_put_once_by_content_and_never_overwritten() -> None:
    s3 = FakeS3Client()
    store = EvidenceStore(s3, BUCKET, conn_id=CONN_ID)
    first = store.put("reports/a.json", b"{}", what="the report")
    again = store.put("reports/a.json", b"{}", what="the report")
    assert first.created and not again.created and len(s3.puts) == 1
    assert first.uri == f"s3://{BUCKET}/reports/a.json" and s3.puts[0]["Metadata"]["sha256"] == first.sha256
    assert s3.puts[0]["ChecksumSHA256"], "S3 verifies the upload"
    with pytest.raises(RegistryError, match="changed outside model governance"):
        store.put("reports/a.json", b"{ }", what="the report")
    assert store.read("reports/a.json", what="the report") == b"{}"


@pytest.mark.parametrize(
    ("code", "named"),
    [
        ("AccessDenied", "Checking the report s3://gov-bucket/k with connection 'aws_retail' failed"),
        ("AccessDenied", "grant the connection 'aws_retail' s3:GetObject and s3:PutObject"),
    ],
)
def test_a_lookup_that_fails_names_the_uri_the_connection_and_the_grant(code: str, named: str) -> None:
    s3 = FakeS3Client()
    s3.fail = code
    with pytest.raises(RegistryError, match=named):
        EvidenceStore(s3, BUCKET, conn_id=CONN_ID).put("k", b"x", what="the report")


def test_a_missing_bucket_says_to_create_it() -> None:
    class NoBucket(FakeS3Client):
        def put_object(self, **kwargs: object) -> dict[str, object]:
            from tests.unit.operators.fakes import S3Error

            raise S3Error("NoSuchBucket")

    with pytest.raises(RegistryError, match="bucket 'gov-bucket' does not exist; create it"):
        EvidenceStore(NoBucket(), BUCKET, conn_id=CONN_ID).put("k", b"x", what="the snapshot")


def test_parsing_the_mlc_dag_imports_no_heavy_library() -> None:
    heavy = ("boto3", "botocore", "jira", "pyarrow", "numpy", "scipy", "weasyprint")
    hooks = ("airflow.providers.amazon.aws.hooks.s3", "model_governance.hooks.sagemaker_registry")
    code = (
        "import sys, model_governance.dags.sagemaker_model_implementation, "
        "model_governance.dags.use_case_registration\n"
        f"print(','.join(m for m in {heavy + hooks!r} if m in sys.modules))"
    )
    found = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert found.stdout.strip() == ""
