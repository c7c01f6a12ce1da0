# The project's commands. Each sets up the virtual environment first when needed.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
export DAGSTER_HOME ?= $(CURDIR)/.dagster

.PHONY: run test ui sample evaluate lint format clean

$(BIN)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $@

install: $(BIN)/.installed

$(DAGSTER_HOME)/dagster.yaml: dagster.yaml
	mkdir -p $(DAGSTER_HOME)
	cp dagster.yaml $@

## make run: materialise every asset on data/raw/ and print a summary
run: install $(DAGSTER_HOME)/dagster.yaml
	$(BIN)/python -m pipelines.run

## make test: lint, check the Dagster definitions, run the tests
test: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	VIRTUAL_ENV=$(CURDIR)/$(VENV) $(BIN)/dg check defs
	$(BIN)/pytest

## make ui: the Dagster UI on http://127.0.0.1:3000
ui: install $(DAGSTER_HOME)/dagster.yaml
	VIRTUAL_ENV=$(CURDIR)/$(VENV) $(BIN)/dg dev --host 127.0.0.1 --port 3000

## make evaluate: supplier-resolution precision/recall and payment linking on ../shared/data/real
evaluate: install
	$(BIN)/python -m oversight.evaluate

## make sample: regenerate the embedded sample in data/raw/
sample: install
	$(BIN)/python -m oversight.sample.generator

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: install
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

clean:
	rm -rf $(VENV) .dagster data/warehouse.duckdb data/warehouse.duckdb.wal
