# The project's commands. Each sets up the virtual environment first when needed.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
export DAGSTER_HOME ?= $(CURDIR)/.dagster
UI_PORT ?= 3000

.PHONY: run test ui lab sample evaluate bench lint format clean install browser

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

## make test: lint, check the Dagster definitions, run the tests (installs Debian's chromium
## for the browser test when it is missing and this user may install packages)
test: install browser
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	VIRTUAL_ENV=$(CURDIR)/$(VENV) $(BIN)/dg check defs
	$(BIN)/pytest

## make ui: the Dagster UI on http://127.0.0.1:3000 (UI_PORT=... for another port)
ui: install $(DAGSTER_HOME)/dagster.yaml
	VIRTUAL_ENV=$(CURDIR)/$(VENV) $(BIN)/dg dev --host 127.0.0.1 --port $(UI_PORT)

## make lab: JupyterLab on the notebooks (installs it the first time)
lab: install
	$(BIN)/pip install --quiet -e '.[dev,notebooks]'
	$(BIN)/jupyter lab --ip 127.0.0.1 --notebook-dir notebooks

## make evaluate: supplier-resolution precision/recall and payment linking on ../shared/data/real
evaluate: install
	$(BIN)/python -m oversight.evaluate

## make bench: the performance benchmark at scales 0.1, 1 and 10 (about 35 minutes the first
## time; scale 10 needs ~10 GB free disk and ~14 GB RAM for the pandas baseline).
## BENCH_SCALES="0.1 1" for a 9-minute run. Results: benchmarks/results/; docs/performance.md
BENCH_SCALES ?= 0.1 1 10
bench: install
	$(BIN)/python -m benchmarks.bench --scales $(BENCH_SCALES)

browser:
	@command -v chromium >/dev/null || { \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -qq && \
	    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; \
	  else echo "chromium is missing: sudo apt-get install chromium (the browser test needs it)"; fi; }

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
