# The two commands a newcomer needs: `make run` and `make test`.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
PY := $(VENV)/bin/python
PORT ?= 8000

# Tests run against real PostgreSQL and Redis (see README for the defaults).
TEST_DATABASE_URL ?= postgres://postgres@127.0.0.1:5432/abusedesk
TEST_REDIS_URL ?= redis://127.0.0.1:6379/13

.PHONY: run test lint format install install-dev clean-var bench-parse

$(VENV)/bin/python:
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --upgrade pip

$(VENV)/.installed: requirements.txt | $(VENV)/bin/python
	$(VENV)/bin/pip install --quiet -r requirements.txt
	touch $@

$(VENV)/.installed-dev: requirements.txt requirements-dev.txt | $(VENV)/bin/python
	$(VENV)/bin/pip install --quiet -r requirements-dev.txt
	touch $(VENV)/.installed $@

install: $(VENV)/.installed
install-dev: $(VENV)/.installed-dev

## run: set up and start the desk on embedded defaults (SQLite, embedded Redis).
run: export DJANGO_DEBUG ?= 1
run: $(VENV)/.installed
	mkdir -p var
	$(PY) manage.py migrate --no-input
	$(PY) manage.py seed_demo
	PORT=$(PORT) $(PY) -m abusedesk.launcher

## test: lint, then the whole suite against PostgreSQL and Redis.
test: export DATABASE_URL ?= $(TEST_DATABASE_URL)
test: export REDIS_URL ?= $(TEST_REDIS_URL)
test: $(VENV)/.installed-dev
	$(PY) -m abusedesk.checkservices
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .
	$(PY) -m pytest $(PYTEST_ARGS)

lint: $(VENV)/.installed-dev
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .

format: $(VENV)/.installed-dev
	$(PY) -m ruff check --fix .
	$(PY) -m ruff format .

bench-parse: $(VENV)/.installed-dev
	DJANGO_DEBUG=1 $(PY) manage.py bench_parse
