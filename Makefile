# hoso — the index of habits. `make help` lists the targets.
#
# Everything runs from .venv/bin, so nothing needs activating. `make install` is idempotent:
# it creates the venv when missing, installs the locked packages when requirements.lock or
# pyproject.toml changed, and the Debian packages (PostgreSQL server, Chromium) only when
# they are missing.

SHELL := /bin/bash
.DEFAULT_GOAL := help

PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.hoso-installed
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
# Where the Debian packages put the binaries that `make install` looks for.
INITDB_GLOB ?= /usr/lib/postgresql/*/bin/initdb
CHROMIUM ?= /usr/bin/chromium
# Extra arguments for pytest, e.g. `make test PYTEST_ARGS="-x -k people"`.
PYTEST_ARGS ?=
# Parallel workers for pytest-xdist (the harness gives each worker its own databases and
# cluster); `make test XDIST=0` runs serially. Files stay whole on one worker.
XDIST ?= 2
ifeq ($(XDIST),0)
PYTEST_PARALLEL :=
else
PYTEST_PARALLEL := -n $(XDIST) --dist loadfile
endif

.PHONY: help install demo-federation system-packages test test-sqlite test-postgresql lint format typecheck \
        demo bench soak migration licenses

help: ## Show this list
	@grep -hE '^[a-zA-Z_-]+:.*?## ' $(MAKEFILE_LIST) \
	  | awk 'BEGIN {FS = ":.*?## "}; {printf "  make %-16s %s\n", $$1, $$2}'

install: $(STAMP) system-packages ## Create .venv, install the locked packages and the Debian ones

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(STAMP): requirements.lock pyproject.toml | $(BIN)/python
	@[ -x $(BIN)/uv ] || $(BIN)/python -m pip install --quiet --disable-pip-version-check uv
	@# --compile-bytecode: these machines set PYTHONDONTWRITEBYTECODE, so without it every
	@# process compiles each imported package from source (~1.5 s per CLI call or worker).
	$(BIN)/uv pip install --python $(BIN)/python --compile-bytecode -r requirements.lock
	$(BIN)/uv pip install --python $(BIN)/python -e . --no-deps
	@touch $@

system-packages: ## Install postgresql, chromium, softhsm2 and a Java runtime (Spark) with apt-get, only when missing
	@missing=""; \
	if ! ls $(INITDB_GLOB) >/dev/null 2>&1 && ! command -v initdb >/dev/null; then \
	  missing="$$missing postgresql"; fi; \
	[ -x $(CHROMIUM) ] || missing="$$missing chromium"; \
	command -v softhsm2-util >/dev/null || missing="$$missing softhsm2"; \
	command -v openssl >/dev/null || missing="$$missing openssl"; \
	command -v java >/dev/null || missing="$$missing openjdk-17-jre-headless"; \
	if [ -n "$$missing" ]; then \
	  echo "apt-get install:$$missing"; \
	  $(SUDO) apt-get update -q && \
	  $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -q $$missing; \
	fi

test: install ## Run the whole suite on SQLite, then on PostgreSQL (a throwaway cluster)
	@rc=0; \
	echo "== pytest on SQLite =="; \
	HOSO_TEST_DB=sqlite $(BIN)/pytest $(PYTEST_PARALLEL) $(PYTEST_ARGS) || rc=1; \
	echo "== pytest on PostgreSQL =="; \
	HOSO_TEST_DB=postgresql $(BIN)/pytest $(PYTEST_PARALLEL) $(PYTEST_ARGS) || rc=1; \
	if [ $$rc -ne 0 ]; then echo "make test: FAILED (see above)"; fi; \
	exit $$rc

test-sqlite: install ## Run the suite on SQLite only
	HOSO_TEST_DB=sqlite $(BIN)/pytest $(PYTEST_PARALLEL) $(PYTEST_ARGS)

test-postgresql: install ## Run the suite on PostgreSQL only
	HOSO_TEST_DB=postgresql $(BIN)/pytest $(PYTEST_PARALLEL) $(PYTEST_ARGS)

lint: ## ruff check and ruff format --check
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: ## Apply ruff's fixes and formatting
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

typecheck: ## mypy --strict on src/
	$(BIN)/mypy

demo: install ## Migrate var/hoso.db, load demo data and serve http://127.0.0.1:8000
	$(BIN)/hoso demo run

demo-federation: install ## Two agency nodes and the national node on ports 8101-8103, records flowing
	$(BIN)/hoso demo federation

bench: install ## Run every bench/*.py (soak_*.py excepted: make soak)
	@set -e; found=0; \
	for script in bench/*.py; do \
	  name=$$(basename $$script); \
	  case $$name in _*|soak_*) continue;; esac; \
	  [ -f "$$script" ] || continue; found=1; \
	  echo "== $$script =="; $(BIN)/python $$script; \
	done; \
	[ $$found = 1 ] || echo "no bench/*.py scripts yet"

soak: install ## Run bench/soak_*.py (long runs), if any
	@set -e; found=0; \
	for script in bench/soak_*.py; do \
	  [ -f "$$script" ] || continue; found=1; \
	  echo "== $$script =="; $(BIN)/python $$script; \
	done; \
	[ $$found = 1 ] || echo "no soak test yet (bench/soak_*.py)"

migration: install ## New numbered revision from the models: make migration NAME=add_thing
	@[ -n "$(NAME)" ] || { echo "usage: make migration NAME=slug"; exit 2; }
	@scratch=$$(mktemp -d) && trap 'rm -rf "$$scratch"' EXIT && \
	$(BIN)/python -c "import sys; from hoso.db import migrate; \
	url = f'sqlite:///{sys.argv[1]}/scratch.db'; migrate.upgrade(url); \
	print(migrate.new_revision(sys.argv[2], url))" "$$scratch" "$(NAME)" \
	| tail -1 | xargs -I{} sh -c '$(BIN)/ruff format --quiet {} && $(BIN)/ruff check --fix --quiet {} && echo "wrote {} — review it"'

licenses: install ## Print the licence of every installed package (docs/dependencies.md)
	$(BIN)/python scripts/licenses.py
