# The two commands a user needs: `make demo` (embedded: SQLite, no services) and `make test`.
SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
PY := $(BIN)/python
HOST ?= 127.0.0.1
PORT ?= 8000
export DJANGO_SETTINGS_MODULE ?= bti_eval.settings.embedded
export HF_HUB_OFFLINE := 1
export TRANSFORMERS_OFFLINE := 1

.PHONY: demo serve manage test install install-test lint worker bench clean

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

## demo: install, migrate SQLite, load demo pairs, launch a demo round with a real worker, serve on
## http://$(HOST):$(PORT) (make demo PORT=8080 HOST=0.0.0.0)
demo: install
	$(PY) manage.py migrate --noinput
	$(PY) manage.py demo_setup --base-url http://$(HOST):$(PORT)
	@$(MAKE) --no-print-directory serve

## serve: the web server and a worker, side by side, until Ctrl-C (make demo does the set-up first).
# Both stay in make's process group, so Ctrl-C or a signal to the group reaches them; the trap then
# stops whatever is left (TERM, KILL after STOP_SECONDS: a worker's warm shutdown would finish its
# chunk first) and waits for both. When one of them exits on its own, the other is stopped too.
STOP_SECONDS ?= 10
serve:
	@$(BIN)/celery -A workers worker -Q explain,metrics,default --pool=solo --loglevel=WARNING & worker=$$!; \
	$(PY) manage.py runserver --noreload $(HOST):$(PORT) & server=$$!; \
	stop() { \
		trap '' INT TERM HUP; \
		kill -TERM $$server $$worker 2>/dev/null; \
		for _ in $$(seq $$(( $(STOP_SECONDS) * 5 ))); do \
			kill -0 $$server 2>/dev/null || kill -0 $$worker 2>/dev/null || break; sleep 0.2; \
		done; \
		kill -KILL $$server $$worker 2>/dev/null; \
		wait $$server $$worker 2>/dev/null; \
	}; \
	trap 'stop; exit 130' INT; trap 'stop; exit 143' TERM; trap 'stop; exit 129' HUP; \
	echo "Worker (pid $$worker) and server (pid $$server) on http://$(HOST):$(PORT) - Ctrl-C stops both."; \
	wait -n $$server $$worker; status=$$?; stop; exit $$status

## manage: run a management command with the project's Python and the embedded settings,
## e.g. make manage ARGS="export_results 1 --format csv"
manage: install
	$(PY) manage.py $(ARGS)

## test: install with test extras, lint, run the whole suite (PostgreSQL/Redis used when reachable)
test: install-test
	$(BIN)/ruff check .
	DJANGO_SETTINGS_MODULE=bti_eval.settings.test $(BIN)/pytest

lint: install-test
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

worker: install
	$(BIN)/celery -A workers worker -Q explain,metrics,default --loglevel=INFO

bench: install-test
	$(PY) benchmarks/explainers_bench.py

clean:
	rm -rf $(VENV) var staticfiles .pytest_cache .ruff_cache
