"""The lifecycle sync DAG with an event queue, through Airflow's own asset collection (what the DAG
processor writes to the metadata database): the queue's asset keeps its watcher although the sync task
also names it as an inlet. Airflow keeps one definition per asset, the last it meets; a watcherless copy
among the inlets silently removed the watcher, and no event ever started the sync."""

from __future__ import annotations

import importlib
import json
import sys
from pathlib import Path

import pytest

from model_governance.operators.sync import events_asset_name

REPO_ROOT = Path(__file__).resolve().parents[2]
QUEUE = "https://sqs.eu-west-1.amazonaws.com/123456789012/governance-events.fifo"


def test_the_event_queues_asset_keeps_its_watcher_and_is_the_sync_tasks_inlet(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from airflow.dag_processing.collection import AssetModelOperation
    from airflow.serialization.serialized_objects import LazyDeserializedDAG

    settings = {
        "business_entities": [
            {
                "name": "retail-bank",
                "account_id": "123456789012",
                "region": "eu-west-1",
                "aws_conn_id": "aws_retail_bank",
                "sqs_queue_url": QUEUE,
            }
        ]
    }
    monkeypatch.setenv("MODEL_GOVERNANCE_CONFIG", json.dumps(settings))
    monkeypatch.syspath_prepend(str(REPO_ROOT / "dags"))
    sys.modules.pop("sagemaker_lifecycle_sync", None)
    module = importlib.import_module("sagemaker_lifecycle_sync")
    try:
        collected = AssetModelOperation.collect({module.dag.dag_id: LazyDeserializedDAG.from_dag(module.dag)})
    finally:
        sys.modules.pop("sagemaker_lifecycle_sync", None)

    name = events_asset_name("retail-bank")
    asset = collected.assets[(name, name)]
    assert [watcher.name for watcher in asset.watchers] == [f"{name}.sqs"]
    assert [(task, a.name) for task, a in collected.inlet_references[module.dag.dag_id]] == [
        ("sync_registry", name)
    ]
