# Regard — the two commands are `make run` and `make test`; the rest are parts of them.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
PG_URL ?= postgres://postgres@127.0.0.1:5432/regard
PYTEST_ARGS ?=

.PHONY: run test install lint typecheck test-sqlite test-postgres services e2e bench bench-match clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev,spark]'  # spark: the Spark matching backend's test runs in CI
	touch $(STAMP)

install: $(STAMP)

run: install
	$(BIN)/regard serve

services:
	@bash scripts/ensure-services.sh

lint: install
	$(BIN)/ruff check src tests
	$(BIN)/ruff format --check src tests
	$(BIN)/python scripts/check_configuration_docs.py
	# The import graph: no cycle inside an app, and apps import only in the allowed directions.
	cd src && ../$(BIN)/lint-imports ../pyproject.toml
	# Security lint: medium and high findings fail; each accepted one carries a `# nosec` with its reason.
	$(BIN)/bandit -q -r src -x '*/migrations/*' -ll
	# Known vulnerabilities in the installed dependencies; one line says so when the service is out of reach.
	$(BIN)/python scripts/audit_dependencies.py

typecheck: install
	$(BIN)/mypy

test-sqlite: install services
	env -u DATABASE_URL $(BIN)/pytest $(PYTEST_ARGS)

test-postgres: install services
	DATABASE_URL=$(PG_URL) $(BIN)/pytest $(PYTEST_ARGS)

test: lint typecheck test-sqlite test-postgres

e2e: install services
	$(BIN)/pytest tests/e2e $(PYTEST_ARGS)

bench: install services
	@bash scripts/ensure-services.sh --bench
	$(BIN)/pip install --quiet -e ".[dev,bench]"
	$(BIN)/python -m tests.bench.run $(BENCH_ARGS)

bench-match: install services
	$(BIN)/pip install --quiet -e ".[dev,bench]"
	$(BIN)/python -m tests.bench.run --only match $(BENCH_ARGS)

clean:
	rm -rf var .mypy_cache .ruff_cache
