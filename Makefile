# The two commands a user needs: `make demo` (embedded: SQLite, no services) and `make test`.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PY := $(BIN)/python
HOST ?= 127.0.0.1
PORT ?= 8000
export DJANGO_SETTINGS_MODULE ?= bti_eval.settings.embedded
export HF_HUB_OFFLINE := 1
export TRANSFORMERS_OFFLINE := 1

.PHONY: demo test install install-test lint worker bench clean

$(BIN)/activate:
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip

# A stamp per extra so that a changed pyproject.toml reinstalls.
$(VENV)/.installed: pyproject.toml | $(BIN)/activate
	$(PY) -m pip install --quiet "torch==2.13.0"
	$(PY) -m pip install --quiet -e .
	touch $@

$(VENV)/.installed-test: pyproject.toml $(VENV)/.installed
	$(PY) -m pip install --quiet -e ".[test]"
	touch $@

install: $(VENV)/.installed

install-test: $(VENV)/.installed-test

## demo: install, migrate SQLite, load demo pairs, launch a demo round with a real worker, serve on :8000
demo: install
	$(PY) manage.py migrate --noinput
	$(PY) manage.py demo_setup --base-url http://$(HOST):$(PORT)
	@set -m; \
	$(BIN)/celery -A workers worker -Q explain,default --pool=solo --loglevel=WARNING & worker=$$!; \
	trap 'kill $$worker 2>/dev/null; wait $$worker 2>/dev/null' EXIT INT TERM; \
	echo "Worker started (pid $$worker); serving on http://$(HOST):$(PORT) - Ctrl-C stops both."; \
	$(PY) manage.py runserver --noreload $(HOST):$(PORT)

## test: install with test extras, lint, run the whole suite (PostgreSQL/Redis used when reachable)
test: install-test
	$(BIN)/ruff check .
	DJANGO_SETTINGS_MODULE=bti_eval.settings.test $(BIN)/pytest

lint: install-test
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

worker: install
	$(BIN)/celery -A workers worker -Q explain,default --loglevel=INFO

bench: install-test
	$(PY) benchmarks/explainers_bench.py

clean:
	rm -rf $(VENV) var staticfiles .pytest_cache .ruff_cache
