"""One engine per inventory URL per process: tasks, sensor resumes and the dashboard share its pool."""

from __future__ import annotations

import json
import os
import threading
from pathlib import Path

import pytest
from sqlalchemy import Engine, event

from model_governance.inventory import Inventory, db


@pytest.fixture
def url(tmp_path: Path) -> str:
    url = f"sqlite:///{tmp_path / 'inventory.db'}"
    db.upgrade(url)
    return url


def _statements(engine: Engine) -> list[str]:
    seen: list[str] = []
    event.listen(engine, "before_cursor_execute", lambda *args: seen.append(args[2]))
    return seen


def test_one_engine_per_url(url: str, tmp_path: Path) -> None:
    first = Inventory.from_url(url)
    assert Inventory.from_url(url).engine is first.engine is db.shared_engine(url)
    assert db.shared_engine(f"sqlite:///{tmp_path / 'other.db'}") is not first.engine


def test_threads_opening_at_once_get_one_engine(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'raced.db'}"
    start = threading.Barrier(8)
    engines: list[Engine] = []

    def open_it() -> None:
        start.wait()
        engines.append(db.shared_engine(url))

    threads = [threading.Thread(target=open_it) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(engines) == 8 and len({id(engine) for engine in engines}) == 1


def test_a_resumed_sensor_reuses_the_engine_and_the_schema_check(url: str) -> None:
    """Every resume builds a new hook; none opens an engine or reads the schema revision again."""
    from model_governance.config import load_config
    from model_governance.hooks.inventory import GovernanceInventoryHook

    config = load_config(json.dumps({"inventory": {"url": url}}), environ={})
    engine = GovernanceInventoryHook(config).get_conn().engine
    seen = _statements(engine)
    for _ in range(3):
        assert GovernanceInventoryHook(config).get_conn().engine is engine
    assert seen == [], "the schema was found current once; resumes only run their own queries"


def test_the_least_recently_used_engine_is_let_go(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setattr(db, "MAX_SHARED_ENGINES", 2)
    urls = [f"sqlite:///{tmp_path / f'{name}.db'}" for name in "abc"]
    a, b = db.shared_engine(urls[0]), db.shared_engine(urls[1])
    assert db.shared_engine(urls[0]) is a  # used again: b is now the oldest
    db.shared_engine(urls[2])
    assert db.shared_engine(urls[0]) is a
    assert db.shared_engine(urls[1]) is not b


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork")
def test_a_forked_child_gets_a_pool_of_its_own(url: str) -> None:
    """A Celery or LocalExecutor child must not use connections its parent opened."""
    engine = db.shared_engine(url)
    Inventory.from_url(url).list_models()  # a pooled connection in the parent
    parent_pool = engine.pool
    pid = os.fork()
    if pid == 0:  # the child: same engine object, a new pool, and it works
        try:
            ok = db.shared_engine(url) is engine and engine.pool is not parent_pool
            Inventory.from_url(url).list_models()
        except BaseException:
            ok = False
        os._exit(0 if ok else 1)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    assert engine.pool is parent_pool
    Inventory.from_url(url).list_models()
