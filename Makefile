# nelm — the two commands a newcomer needs: `make demo` and `make test`.
# Each creates .venv if it is missing and installs nelm into it first.

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
CORE   := $(VENV)/.installed-core
DEV    := $(VENV)/.installed-dev
BENCH  := $(VENV)/.installed-bench
DEMO_OUT ?= demo-output
PYTEST_WORKERS ?= 2

.PHONY: demo test lint bench clean help

help:
	@echo "make demo   - generate the synthetic patient and run nelm on it (creates .venv)"
	@echo "make test   - lint (ruff, mypy --strict) and the test suite (creates .venv)"
	@echo "make lint   - ruff and mypy only"
	@echo "make bench  - side-by-side benchmarks against named peers"

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(CORE): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e .
	touch $@

$(DEV): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $@ $(CORE)

demo: $(CORE)
	$(BIN)/nelm demo --out $(DEMO_OUT)

lint: $(DEV)
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/ruff format --check src tests benchmarks
	$(BIN)/mypy

test: lint
	$(BIN)/pytest -n $(PYTEST_WORKERS) --durations=10

$(BENCH): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[dev,bench]'
	touch $@ $(DEV) $(CORE)

bench: $(BENCH)
	$(BIN)/python benchmarks/run_all.py

clean:
	rm -rf $(VENV) $(DEMO_OUT) .mypy_cache .ruff_cache .pytest_cache
