# The project's commands. Each sets up the virtual environment first when needed.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
export DAGSTER_HOME ?= $(CURDIR)/.dagster
UI_PORT ?= 3000

.PHONY: run test ui lab sample evaluate bench faults onboard lint format clean install browser lock lock-check

# Dependencies are locked in uv.lock (the whole tree, with hashes, for Python 3.11-3.13).
# uv itself comes from the package registry into .tools/, pinned here; nothing by hand.
UV_VERSION ?= 0.13.9
TOOLS ?= .tools
UV := $(TOOLS)/bin/uv
export UV_PROJECT_ENVIRONMENT := $(VENV)

$(UV):
	$(PYTHON) -m venv $(TOOLS)
	$(TOOLS)/bin/pip install --quiet uv==$(UV_VERSION)

## exactly the locked versions (uv sync --frozen never re-resolves), compiled to bytecode
## once here: with PYTHONDONTWRITEBYTECODE set (as on CI machines) every start would otherwise
## compile Dagster, pandas and the rest again (about 3 s of each command's start-up)
## (then the Data Docs' assets that no PyPI package ships: npm tarballs pinned by checksum)
$(BIN)/.installed: pyproject.toml uv.lock oversight/validation/data_docs_offline.py | $(UV)
	$(UV) sync --frozen --extra dev --compile-bytecode --python $(PYTHON)
	$(BIN)/python -m oversight.validation.data_docs_offline fetch
	touch $@

install: $(BIN)/.installed

## make lock: re-resolve uv.lock from pyproject.toml (after changing a dependency)
lock: | $(UV)
	$(UV) lock

## make lock-check: fail if uv.lock is stale against pyproject.toml (CI runs it)
lock-check: | $(UV)
	$(UV) lock --check

$(DAGSTER_HOME)/dagster.yaml: catalogue/dagster.yaml
	mkdir -p $(DAGSTER_HOME)
	cp catalogue/dagster.yaml $@

## make run: materialise every asset on data/raw/ and print a summary (what did not change
## is skipped; REBUILD=1 reads every file again and rebuilds everything)
run: install $(DAGSTER_HOME)/dagster.yaml
	$(BIN)/python -m pipelines.run $(if $(REBUILD),--rebuild)

## make test: lint, check the Dagster definitions, run the tests (installs Debian's chromium
## for the browser test when it is missing and this user may install packages)
test: install browser
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	VIRTUAL_ENV=$(CURDIR)/$(VENV) $(BIN)/dg check defs
	$(BIN)/pytest

## make ui: the Dagster UI on http://127.0.0.1:3000 (UI_PORT=... for another port);
## Ctrl-C stops it and every process it started
ui: install $(DAGSTER_HOME)/dagster.yaml
	$(BIN)/python -m pipelines.ui --host 127.0.0.1 --port $(UI_PORT)

## make lab: JupyterLab on the notebooks (installs it the first time)
lab: install
	$(UV) sync --frozen --extra dev --extra notebooks --python $(PYTHON)
	$(BIN)/jupyter lab --ip 127.0.0.1 --notebook-dir notebooks

## make evaluate: supplier-resolution precision/recall and payment linking on ../shared/data/real
evaluate: install
	$(BIN)/python -m oversight.evaluation.evaluate

## make bench: the performance benchmark at scales 0.1, 1 and 10 (each with the floor, read
## sniffed and with the dialect given, and two baselines: pandas and a plain DuckDB script),
## then one large CSV and one 1M-row, 12-sheet workbook (ingest only, memory-guarded), and
## make run twice on the embedded sample (nothing changed). Scale 10 needs ~10 GB free disk
## and ~14 GB RAM for the pandas baseline. BENCH_SCALES="0.1 1" for a shorter run;
## BENCH_ARGS="--large-csv-mb 1024 --memory-limit-mb 16000" for the 1 GB CSV (the default,
## 300 MB, is what fits safely here). Results: benchmarks/results/; docs/performance.md
BENCH_SCALES ?= 0.1 1 10
BENCH_ARGS ?=
bench: install
	$(BIN)/python -m benchmarks.bench --scales $(BENCH_SCALES) $(BENCH_ARGS)

## make onboard FOLDER=path/to/files [ID=leeds-spend PUBLISHER="Leeds City Council" WRITE=1]:
## propose a catalogue entry for a new publisher's files, then a dry run of it
## (WRITE=1 appends it to catalogue/sources.yaml). See docs/onboarding.md.
onboard: install
	$(BIN)/python -m oversight.onboard.onboard "$(FOLDER)" $(if $(ID),--id $(ID)) \
	  $(if $(PUBLISHER),--publisher "$(PUBLISHER)") $(if $(WRITE),--write)

## make faults: the fault suite with 12 random kill -9s of `make run` (each re-run compared
## with a clean build), two writers at once, a reader during a run, bad input and fetch faults
## (about 25 minutes). Trials: benchmarks/results/faults.jsonl. `make test` runs 2 kills.
FAULT_KILLS ?= 12
faults: install
	rm -f benchmarks/results/faults.jsonl
	OVERSIGHT_FAULT_KILLS=$(FAULT_KILLS) OVERSIGHT_FAULT_REPORT=benchmarks/results/faults.jsonl \
	  $(BIN)/pytest -p no:cacheprovider tests/test_fault_suite.py tests/test_faults.py \
	  tests/test_reader_warnings.py tests/test_bad_files.py tests/test_fetch.py tests/test_fetch_apis.py \
	  tests/test_incremental_and_safety.py tests/test_recovery.py
	$(BIN)/python -m tests.test_fault_suite benchmarks/results/faults.jsonl

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
	rm -rf $(VENV) $(TOOLS) .dagster data/warehouse.duckdb data/warehouse.duckdb.wal
