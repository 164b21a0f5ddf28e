# strangler — `make help` lists the targets. `make report` and `make test` do all set-up themselves.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
DEMO   := data/demo
APPS   := --app strangler.demo.flask_app:app --app strangler.demo.fastapi_app:app

.DEFAULT_GOAL := help
.PHONY: help venv chromium demo report test test-fast lint lab bench clean

help: ## list the targets
	@awk 'BEGIN {FS = ":.*## "} /^[a-zA-Z_-]+:.*## / {printf "  %-12s %s\n", $$1, $$2}' $(MAKEFILE_LIST)

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[dev,spark]'
	touch $@

venv: $(STAMP) ## create .venv and install strangler with its test tools (and PySpark)

chromium: ## install Debian's chromium for the browser tests (needs root or sudo)
	@command -v chromium >/dev/null 2>&1 || { \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq chromium; }

$(DEMO)/truth.json: $(STAMP)
	$(BIN)/strangler demo --out $(DEMO)

demo: $(DEMO)/truth.json ## generate the demo logs, migration.toml and truth.json (2 M requests)

report: demo ## build the demo database and write reports/index.html plus one HTML per notebook
	rm -f $(DEMO)/demo.duckdb
	$(BIN)/strangler report --db $(DEMO)/demo.duckdb --manifest $(DEMO)/migration.toml \
	  --logs $(DEMO)/logs $(APPS) --source lib/strangler/demo --out reports

java: ## install Debian's Java 17 runtime for the Spark tests when java is missing (needs root or sudo)
	@command -v java >/dev/null 2>&1 || { \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq openjdk-17-jre-headless; }

test: $(STAMP) chromium java ## run the test suite
	$(BIN)/python -m pytest -n 3 --dist loadfile   # three workers on two cores: most tests wait on kernels, browsers and servers

test-fast: $(STAMP) ## the tests not marked slow (no notebooks, browsers, servers or Spark): the inner loop
	$(BIN)/python -m pytest -m "not slow" -q

lint: $(STAMP) ## ruff (lint and format) and mypy on lib/, as CI runs them
	$(BIN)/ruff check lib tests bench notebooks
	$(BIN)/ruff format --check lib tests bench notebooks/*.py
	$(BIN)/mypy

lab: $(STAMP) ## open the notebooks in JupyterLab (they read data/demo/demo.duckdb: run `make report` first)
	@test -f $(DEMO)/demo.duckdb || echo "lab: $(DEMO)/demo.duckdb does not exist yet: run 'make report' to make it"
	$(BIN)/jupyter lab --ServerApp.root_dir=notebooks --config=notebooks/jupyter_server_config.json

bench: $(STAMP) ## run the benchmarks (minutes; results go in bench/README.md by hand)
	for b in bench/*.py; do $(BIN)/python $$b || exit 1; done

# --- live demo: the strangler router in front of the demo apps (LIVE_SECONDS=120 LIVE_PORT=8001 to change) ---
LIVE         ?= data/live
LIVE_SECONDS ?= 60
LIVE_PORT    ?= 8000
LIVE_MANIFEST = $(BIN)/python -c 'from strangler import loadgen; loadgen.live_manifest("$(LIVE)/migration.toml", $(LIVE_SECONDS))'
# demo-live: trips-read and feed ramp 25 % → 50 % → 100 % in PILOT_STEP-second steps; PILOT_FAULT breaks one port
PILOT_STEP  ?= 5
PILOT_FAULT ?= feed:errors=0.1
PILOT_MANIFEST = $(BIN)/python -c 'from strangler import loadgen; loadgen.pilot_manifest("$(LIVE)/migration.toml", $(PILOT_STEP))'
.PHONY: serve demo-live

serve: $(STAMP) ## serve the demo apps behind the router on 127.0.0.1:8000, batches cut over in the first minute
	mkdir -p $(LIVE) && $(LIVE_MANIFEST)
	$(BIN)/strangler serve --manifest $(LIVE)/migration.toml --port $(LIVE_PORT) --access-log $(LIVE)/router.log

demo-live: $(STAMP) ## the pilot ramps two batches (one with a fault) behind 2 router workers under load; reports/live/
	rm -rf $(LIVE) reports/live && mkdir -p $(LIVE) && $(PILOT_MANIFEST)
	$(BIN)/strangler serve --manifest $(LIVE)/migration.toml --port $(LIVE_PORT) --workers 2 \
	  --demo-fault $(PILOT_FAULT) --access-log $(LIVE)/router.log 2> $(LIVE)/serve.err & echo $$! > $(LIVE)/serve.pid
	$(BIN)/strangler load --url http://127.0.0.1:$(LIVE_PORT) --duration 900 --requests 10000000 --wait 60 \
	  > $(LIVE)/load.out 2>&1 & echo $$! > $(LIVE)/load.pid
	timeout 900 $(BIN)/strangler pilot --manifest $(LIVE)/migration.toml --access-log $(LIVE)/router.log \
	  --until-settled 2> $(LIVE)/pilot.err; status=$$?; kill -INT $$(cat $(LIVE)/load.pid); sleep 1; \
	  kill -INT $$(cat $(LIVE)/serve.pid); while kill -0 $$(cat $(LIVE)/serve.pid) 2>/dev/null; do sleep 0.2; done; \
	  cat $(LIVE)/load.out; exit $$status
	$(BIN)/strangler ingest $(LIVE)/router.log --db $(LIVE)/live.duckdb
	$(BIN)/strangler report --db $(LIVE)/live.duckdb --manifest $(LIVE)/migration.toml $(APPS) \
	  --source lib/strangler/demo --out reports/live

clean: ## remove generated data, reports and the venv
	rm -rf $(VENV) $(DEMO) $(LIVE) reports data/*.duckdb
