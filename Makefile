# The README names these targets. Everything runs from the project's own virtualenv (.venv).
SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
PIP := $(VENV)/bin/pip
# Extra pytest arguments (e.g. PYTEST_ARGS="-x -k sync").
PYTEST_ARGS ?=
# pytest-xdist workers. Most of the time is waiting (sandbox servers, Airflow's scheduler and triggerer),
# so more workers than the 2 cores pay: the e2e modules on the shared Airflow stack are MG_E2E_STACKS
# xdist groups (default 2; clusters start one at a time: tests/conftest.py cluster_start_slot), the
# clusters of their own (production shape, dashboard, restarts) one group each, and the unit and
# integration files (a group per file) fill the other workers. Groups
# are queued in collection order (--no-loadscope-reorder): e2e first, as the longest. PYTEST_WORKERS=0
# runs in one process (one stack).
PYTEST_WORKERS ?= 6
# Python writes and reads bytecode caches (__pycache__, git-ignored) even where the machine sets
# PYTHONDONTWRITEBYTECODE: otherwise every process of a run (each pytest worker, each Airflow task and DAG
# parse, each sandbox) compiles the project's sources again, a third of the test command's CPU on 2 cores.
unexport PYTHONDONTWRITEBYTECODE
XDIST := $(if $(filter 0,$(PYTEST_WORKERS)),-p no:xdist,-n $(PYTEST_WORKERS) --dist loadgroup --no-loadscope-reorder)

.PHONY: setup test lint typecheck unit integration e2e bench sample-doc demo up clean

$(VENV)/.installed: pyproject.toml scripts/install-system-deps.sh
	bash scripts/install-system-deps.sh
	$(PYTHON) -m venv $(VENV)
	$(PIP) install --quiet --upgrade "pip==25.3" "setuptools==84.2.1"
	$(PIP) install --quiet -e ".[dev]"
	touch $@

setup: $(VENV)/.installed

lint: setup
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	NO_MKDOCS_2_WARNING=1 $(VENV)/bin/mkdocs build --strict --quiet  # the docs site: links and anchors

typecheck: setup
	$(VENV)/bin/mypy

unit: setup
	$(PY) -m pytest tests/unit $(XDIST) $(PYTEST_ARGS)

integration: setup
	$(PY) -m pytest tests/integration $(XDIST) $(PYTEST_ARGS)

e2e: setup
	$(PY) -m pytest tests/e2e $(XDIST) --durations=25 $(PYTEST_ARGS)

# The README's test command: lint, types, then every test tier in one pytest run (fails if any test fails),
# with the 25 slowest tests listed.
test: lint typecheck
	$(PY) -m pytest tests $(XDIST) --durations=25 $(PYTEST_ARGS)

# Every row of issue 18's table, each with its baseline measured in the same run (machines are shared and
# noisy; no test asserts a time): risk tests vs Evidently at 500k x 20 and the CLI's fixed cost; the sync's
# events (reading apart) at 3,000 and 10,000 packages and the first full reconcile at 10,000; DAG parse cost.
bench: setup
	$(PY) benchmarks/approvals.py
	$(PY) benchmarks/risk_tests.py
	$(PY) benchmarks/sync.py --packages 3000 --groups 30 --events 300 --skip-reconcile-baselines
	$(PY) benchmarks/sync.py --packages 10000 --groups 100 --events 1000
	$(PY) benchmarks/parse.py

# The main job end to end: sandboxes, Airflow, a use case and a model version approved to Deployed.
# FAULTS=0.1 is chaos mode (Jira 429/5xx/dropped responses and AWS throttling at that rate each; it must
# still end as a clean run); SEED=N seeds the faults; WORKDIR=dir instead of build/demo.
FAULTS ?=
SEED ?=
WORKDIR ?=
demo: setup
	$(PY) -m sandbox.demo $(if $(FAULTS),--faults $(FAULTS)) $(if $(SEED),--seed $(SEED)) \
		$(if $(WORKDIR),--workdir $(WORKDIR))

# The same stack, left running for a person: the Airflow UI and the Jira reviewer page.
up: setup
	$(PY) -m sandbox.demo --keep-running

# A model review document from realistic generated data (HTML, Markdown, PDF) in build/sample-doc.
sample-doc: setup
	$(PY) -m model_governance.documents.sample --out build/sample-doc

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache
