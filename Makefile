# The README names these targets. Everything runs from the project's own virtualenv (.venv).
SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
PIP := $(VENV)/bin/pip
# Pytest workers: the suite is I/O bound on sandbox servers; keep it to the machine.
PYTEST_ARGS ?=

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
	$(PY) -m pytest tests/unit $(PYTEST_ARGS)

integration: setup
	$(PY) -m pytest tests/integration $(PYTEST_ARGS)

e2e: setup
	$(PY) -m pytest tests/e2e $(PYTEST_ARGS)

# The README's test command: lint, types, then every test tier.
test: lint typecheck
	$(PY) -m pytest tests $(PYTEST_ARGS)

bench: setup
	$(PY) benchmarks/approvals.py
	$(PY) benchmarks/risk_tests.py
	$(PY) benchmarks/sync.py

# The main job end to end: sandboxes, Airflow, a use case and a model version approved to Deployed.
demo: setup
	$(PY) -m sandbox.demo

# The same stack, left running for a person: the Airflow UI and the Jira reviewer page.
up: setup
	$(PY) -m sandbox.demo --keep-running

# A model review document from realistic generated data (HTML, Markdown, PDF) in build/sample-doc.
sample-doc: setup
	$(PY) -m model_governance.documents.sample --out build/sample-doc

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache
