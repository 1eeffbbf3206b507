# leadloop: every command a developer or CI needs. Needs only python3 (3.11+) on the machine:
# the first run installs uv into .tools/ and the locked dependencies into .venv/.

SHELL := bash
.SHELLFLAGS := -euo pipefail -c
.DEFAULT_GOAL := help

PYTHON ?= python3
UV_VERSION := 0.13.9
UV := .tools/bin/uv
export UV_PYTHON_DOWNLOADS ?= never
export UV_PROJECT_ENVIRONMENT ?= .venv
VENV := $(UV_PROJECT_ENVIRONMENT)
PY := $(VENV)/bin/python
PYTEST := $(PY) -m pytest
SYNCED := $(VENV)/.leadloop-synced
MEMBERS := $(wildcard libs/*/pyproject.toml services/*/pyproject.toml tools/*/pyproject.toml)

.PHONY: help bootstrap dev demo test test-unit test-integration test-e2e test-faults lint schemas bench system-deps kafka screenshot clean distclean

help: ## list the targets
	@grep -E '^[a-z0-9-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-18s %s\n", $$1, $$2}'

$(UV):
	$(PYTHON) -m venv .tools
	.tools/bin/pip install --quiet --disable-pip-version-check uv==$(UV_VERSION)

$(SYNCED): $(UV) pyproject.toml uv.lock $(MEMBERS)
	$(UV) sync --frozen
	touch $@

bootstrap: $(SYNCED) ## install uv and the locked dependencies

dev: $(SYNCED) ## run broker, Postgres and every service locally (Ctrl-C stops it)
	$(VENV)/bin/leadloop dev

demo: $(SYNCED) ## the dev stack plus simulated form fills and activity
	$(VENV)/bin/leadloop dev --demo

test: lint ## everything CI runs: lint, then unit, integration, end-to-end and fault tests in one run
	$(PYTEST) tests/unit tests/integration tests/e2e tests/faults

test-unit: $(SYNCED) ## unit tests (no broker, no database)
	$(PYTEST) tests/unit

test-integration: $(SYNCED) ## integration tests on a real broker and PostgreSQL
	$(PYTEST) tests/integration

test-e2e: $(SYNCED) ## the services as real processes, driven over HTTP and Kafka
	$(PYTEST) tests/e2e

test-faults: $(SYNCED) ## kill -9 each service, pause the broker, restart Postgres under load; count every lead
	$(PYTEST) tests/faults

lint: $(SYNCED) ## ruff and mypy
	$(PY) -m ruff check libs services tools tests
	$(PY) -m mypy libs services tools

schemas: $(SYNCED) ## regenerate the JSON Schemas, the AsyncAPI document (who sends, who receives) and the README's topology table
	$(PY) -m leadloop_events.generate
	$(VENV)/bin/leadloop topology

BENCH_HISTORY ?= 1000000
BENCH_ROWS ?= 100000

bench: $(SYNCED) ## intake alone; the whole loop on Tansu and Apache Kafka side by side with the machine's baselines (BENCH_ARGS="--duration 8" quick, "--broker tansu|kafka|both"); the loop again over 1,000,000 past assignments; a 100,000-row CSV import; re-scoring 100,000 leads
	$(PY) -m tests.bench.intake
	$(PY) -m tests.bench.loop $(BENCH_ARGS)
	$(PY) -m tests.bench.loop --broker tansu --history $(BENCH_HISTORY) --profile-seconds 0 --out bench-loop-history.json $(BENCH_ARGS)
	$(PY) -m tests.bench.csv_import --rows $(BENCH_ROWS)
	$(PY) -m tests.bench.rescore --leads $(BENCH_ROWS)

system-deps: ## Debian packages some tests drive: chromium, chromium-driver, prometheus, docker-compose
	@missing=""; \
	for pair in chromium:chromium chromedriver:chromium-driver promtool:prometheus docker-compose:docker-compose; do \
		command -v "$${pair%%:*}" >/dev/null || missing="$$missing $${pair##*:}"; \
	done; \
	if [ -z "$$missing" ]; then echo "system packages present"; \
	elif command -v apt-get >/dev/null && [ "$$(id -u)" = 0 ]; then \
		apt-get install -y --no-install-recommends $$missing >/dev/null; \
	else echo "install with your package manager:$$missing (the tests that need them skip)"; fi

kafka: $(SYNCED) ## fetch Apache Kafka (KRaft, for `leadloop dev --broker kafka`) from Maven Central into .tools/kafka (needs java and mvn)
	$(PY) -m leadloop_cli.kafka_install fetch

screenshot: $(SYNCED) ## refresh docs/images/dashboard*.png from the Chromium dashboard test
	LEADLOOP_SCREENSHOTS=docs/images $(PYTEST) tests/e2e/test_dashboard_browser.py

clean: ## remove caches and the dev stack's data (.leadloop)
	rm -rf .leadloop .pytest_cache .mypy_cache .ruff_cache
	find . -path ./.venv -prune -o -path ./.tools -prune -o -name __pycache__ -type d -print0 \
		| xargs -0 rm -rf

distclean: clean ## also remove .venv and .tools
	rm -rf $(VENV) .tools
