# keel — the two commands: `make run` and `make test`.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp

.PHONY: run test install services prometheus-tools lint typecheck unit clean

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[dev]'
	@touch $(STAMP)

install: $(STAMP)

run: install
	$(BIN)/keel up

services:
	@bash scripts/services.sh

# Debian's prometheus and prometheus-alertmanager for tests/deploy and the stack's e2e test:
# installed when missing; without apt the tests skip and say so.
prometheus-tools:
	@bash scripts/prometheus_tools.sh

lint: install
	$(BIN)/ruff check keel tests
	$(BIN)/ruff format --check keel tests

typecheck: install
	$(BIN)/mypy keel

unit: install services prometheus-tools
	rm -f .coverage .coverage.*
	$(BIN)/pytest -q -n 2 --dist loadfile --cov=keel --cov-report=term:skip-covered

test: lint typecheck unit

clean:
	rm -rf $(VENV) .keel .pytest_cache .mypy_cache .ruff_cache .coverage

.PHONY: bench bench-quick
bench: install services
	$(BIN)/python bench/run.py --label full

bench-quick: install services
	$(BIN)/python bench/run.py --quick
