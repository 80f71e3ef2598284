# Set-up and everyday entry points. Each target creates the venv it needs on a fresh machine.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test test-fast test-dates test-dbt test-spark test-floors check lint typecheck bench bench-quick bench-simulator bench-startup bench-sources bench-events soak serve screenshot clean

# gql silently prefers httpx2 when it is importable: every venv made here checks it never is.
NO_HTTPX2 := -c "import importlib.util, sys; sys.exit('httpx2 is installed' if importlib.util.find_spec('httpx2') else 0)"

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[dev,delta]'
	@$(BIN)/python $(NO_HTTPX2)
	touch $(STAMP)

demo: $(STAMP)  ## the main job on the built-in Zoom simulator
	$(BIN)/zoom-etl demo

# Two workers: the suite waits on loopback syncs about a third of the time, and the machine has 2 cores.
PYTEST := -m pytest -q -n 2

test: $(STAMP)  ## the test suite (what CI runs)
	$(BIN)/python $(PYTEST)

test-fast: $(STAMP)  ## the inner loop: every test not marked slow
	$(BIN)/python $(PYTEST) -m "not slow"

# The suite with the machine's wall clock moved (DAYS ahead, then behind); monotonic clocks are left alone.
DAYS ?= 400
test-dates: $(STAMP)  ## the suite a year and more in the future and in the past
	cc -shared -fPIC -O2 -o $(VENV)/shiftclock.so tests/tools/shiftclock.c -ldl
	for days in $(DAYS) -$(DAYS); do \
	  echo "== wall clock moved $$days days: $$(LD_PRELOAD=$(VENV)/shiftclock.so SHIFTCLOCK_SECONDS=$$((days * 86400)) date -u)"; \
	  LD_PRELOAD=$(CURDIR)/$(VENV)/shiftclock.so SHIFTCLOCK_SECONDS=$$((days * 86400)) $(BIN)/python $(PYTEST) -p no:cacheprovider || exit 1; \
	done

# dbt-core 1.12 needs a parser wheel fetched from GitHub at build time: 1.11 installs from PyPI alone.
DBT_VENV ?= .venv-dbt
test-dbt: $(STAMP)  ## dbt-duckdb builds and tests a project over the demo's read copy (own venv)
	test -x $(DBT_VENV)/bin/dbt || ($(PYTHON) -m venv $(DBT_VENV) && \
	  $(DBT_VENV)/bin/pip install -q 'dbt-core==1.11.16' 'dbt-duckdb==1.11.1' 'duckdb==2.0.1')
	$(BIN)/python -m pytest -q tests/dbt --dbt $(DBT_VENV)/bin/dbt

# Spark reads a Parquet export of three simulator accounts (tests/export/test_spark.py). pyspark lives in a
# venv of its own; Java comes from the system (installed here when missing and we are root, as in CI).
SPARK_VENV ?= .venv-spark
test-spark: $(STAMP)  ## a local Spark session reads an export of several accounts (own venv, system Java)
	command -v java >/dev/null || { test "$$(id -u)" = 0 && apt-get update -q && \
	  DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends default-jre-headless; }
	$(SPARK_VENV)/bin/python -c 'import pyspark' 2>/dev/null || \
	  ($(PYTHON) -m venv $(SPARK_VENV) && $(SPARK_VENV)/bin/pip install -q 'pyspark==3.5.5')
	$(BIN)/python -m pytest -q -p no:cacheprovider tests/export/test_spark.py --spark-python $(SPARK_VENV)/bin/python

# Every dependency at the lowest version pyproject.toml allows (uv's lowest-direct resolution), own venv.
FLOORS_VENV ?= .venv-floors
test-floors:  ## the suite against the declared dependency floors
	rm -rf $(FLOORS_VENV) && $(PYTHON) -m venv $(FLOORS_VENV)
	$(FLOORS_VENV)/bin/pip install -q uv
	$(FLOORS_VENV)/bin/uv pip install -q --python $(FLOORS_VENV)/bin/python --resolution lowest-direct -e '.[dev,delta]'
	@$(FLOORS_VENV)/bin/python $(NO_HTTPX2)
	$(FLOORS_VENV)/bin/pip list 2>/dev/null | grep -iE '^(gql|graphql-core|httpx|duckdb|polars|pyarrow|click|orjson|rich|uvicorn|deltalake|pytest|pytest-xdist|hypothesis|jsonschema|playwright) '
	$(FLOORS_VENV)/bin/python $(PYTEST)

screenshot: $(STAMP)  ## docs/report.png and docs/erd.png: the demo's pages in headless Chromium
	$(BIN)/python tests/tools/screenshot.py

# lint-imports: the layers of pyproject.toml's [tool.importlinter] (README "Architecture"); the circle test
# also catches a package's __init__ and a child importing each other, which lint-imports does not see.
lint: $(STAMP)  ## ruff, and the direction of imports
	$(BIN)/ruff check etl bench tests
	$(BIN)/ruff format --check etl bench tests
	$(BIN)/lint-imports
	$(BIN)/python -m pytest -q -p no:cacheprovider tests/test_import_circles.py

typecheck: $(STAMP)
	$(BIN)/mypy

check: lint typecheck test  ## everything CI checks

bench: $(STAMP)  ## every benchmark figure of the quality bars (several minutes; writes bench-results/)
	$(BIN)/python -m bench

bench-quick: $(STAMP)  ## the same, smaller (no large profile)
	$(BIN)/python -m bench --quick

soak: $(STAMP)  ## long fault-injection soak against the simulator, then the convergence campaign (not in CI)
	$(BIN)/python -m bench.soak
	$(BIN)/python -m bench.soak --convergence

bench-simulator: $(STAMP)  ## simulator throughput (requests/s) on this machine
	$(BIN)/python -m etl.simulator.bench

bench-sources: $(STAMP)  ## the bench account through GraphQL and through REST, every table compared
	$(BIN)/python -m bench.sources --profile bench

bench-events: $(STAMP)  ## a day synced by Zoom's webhooks against the same day polled (requests, freshness, tables)
	$(BIN)/python -m bench.events --profile bench

bench-startup: $(STAMP)  ## how long sql, status and report take to answer, against DuckDB alone
	$(BIN)/python -m bench.startup

serve: $(STAMP)
	$(BIN)/zoom-etl simulator serve --profile demo

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
