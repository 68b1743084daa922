# Face attendance: the commands a newcomer needs. `make help` lists them.
SHELL := /bin/bash
PYTHON_BOOT ?= python3
VENV := .venv
PY := $(VENV)/bin/python
HOST ?= 127.0.0.1
WEB_PORT ?= 8000

# The tests run against real PostgreSQL and Redis on this machine (scripts/ensure-services.sh).
TEST_DATABASE_URL ?= postgres://postgres:postgres@127.0.0.1:5432/attendance
TEST_BROKER_URL ?= redis://127.0.0.1:6379/0
# Benchmarks that need PostgreSQL create (and drop) their own database on this server.
BENCH_POSTGRES_URL ?= postgres://postgres:postgres@127.0.0.1:5432/postgres

.DEFAULT_GOAL := help
.PHONY: help run status test test-quick lint format bench bench-all weights services browser venv

help: ## List the commands
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-10s %s\n", $$1, $$2}'

$(VENV)/.installed: requirements.txt
	@test -x $(PY) || $(PYTHON_BOOT) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements.txt
	@touch $@

$(VENV)/.installed-dev: $(VENV)/.installed requirements-dev.txt
	$(PY) -m pip install --quiet -r requirements-dev.txt
	@touch $@

venv: $(VENV)/.installed

weights: $(VENV)/.installed ## Fetch and convert the FaceNet weights (cached; no download when present)
	@$(PY) manage.py fetch_facenet_weights

run: $(VENV)/.installed weights ## Start web, workers, scheduler and broker on the embedded default (Ctrl-C stops all)
	@$(PY) manage.py run --host $(HOST) --port $(WEB_PORT)

# supervisorctl finds the running supervisord through RUN_DIR (var/run unless VAR_DIR or RUN_DIR say).
RUN_DIR ?= $(if $(VAR_DIR),$(VAR_DIR),$(CURDIR)/var)/run
status: ## Show make run's processes (or: make status CMD="restart recognition")
	@RUN_DIR=$(RUN_DIR) $(VENV)/bin/supervisorctl -c supervisord.conf $(or $(CMD),status)

services: ## Make sure PostgreSQL and Redis run locally (installs them as root when missing)
	scripts/ensure-services.sh

browser: ## Make sure Debian's Chromium is installed for the browser tests
	scripts/ensure-chromium.sh

lint: $(VENV)/.installed-dev ## Ruff lint and format check, and the import rules (pyproject.toml)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/lint-imports --no-cache

format: $(VENV)/.installed-dev ## Apply ruff's fixes and formatting
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

test: $(VENV)/.installed-dev services browser weights lint ## Run lint and the whole test suite on PostgreSQL and Redis
	DATABASE_URL=$(TEST_DATABASE_URL) CELERY_BROKER_URL=$(TEST_BROKER_URL) $(VENV)/bin/pytest $(PYTEST_ARGS)

test-quick: $(VENV)/.installed-dev services weights ## The inner loop: every test but the slow and browser ones (no lint)
	DATABASE_URL=$(TEST_DATABASE_URL) CELERY_BROKER_URL=$(TEST_BROKER_URL) $(VENV)/bin/pytest -m "not slow and not e2e" $(PYTEST_ARGS)

bench: $(VENV)/.installed-dev weights ## Print the recognition benchmark table
	$(PY) -m benchmarks.engine

bench-all: bench services ## Also enrolment/training, check-in latency, enrolment latency at 10k, reports and liveness figures
	$(PY) -m benchmarks.training
	BENCH_POSTGRES_URL=$(BENCH_POSTGRES_URL) CELERY_BROKER_URL=$(TEST_BROKER_URL) $(PY) -m benchmarks.checkin
	BENCH_POSTGRES_URL=$(BENCH_POSTGRES_URL) CELERY_BROKER_URL=$(TEST_BROKER_URL) $(PY) -m benchmarks.checkin \
		--rate 2 --seconds 10 --concurrency 1,4,8,16 --repeat 3 --ceiling-rates 1,1.5,2,2.5,3
	BENCH_POSTGRES_URL=$(BENCH_POSTGRES_URL) CELERY_BROKER_URL=$(TEST_BROKER_URL) $(PY) -m benchmarks.enrolment_latency
	BENCH_POSTGRES_URL=$(BENCH_POSTGRES_URL) $(PY) -m benchmarks.reports
	$(PY) -m benchmarks.liveness
	$(PY) -m benchmarks.antispoof
	$(PY) -m benchmarks.soak --minutes 5 --kills 1
