# Threshold: `make run` to try the portal, `make test` for the whole suite.
SHELL := /bin/bash
PORT ?= 8000
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

export THRESHOLD_VAR_DIR ?= $(CURDIR)/var

.PHONY: run test lint typecheck bench venv clean messages screenshots

$(STAMP): pyproject.toml requirements.lock
	@PY=$$(scripts/find-python) || exit 1; \
	if [ ! -x $(BIN)/python ] || ! $(BIN)/python -c 'import sys; sys.exit(0 if sys.version_info >= (3, 12) else 1)'; then \
	  rm -rf $(VENV); echo "Creating $(VENV) with $$PY"; "$$PY" -m venv $(VENV) || exit 1; \
	fi
	@$(BIN)/python -m pip install --quiet --disable-pip-version-check --upgrade pip 2>/dev/null || true
	@$(BIN)/python -m pip install --quiet --disable-pip-version-check -c requirements.lock -e '.[dev]' 2>&1 | grep -v "^WARNING: Location" || true
	@$(BIN)/python -c 'import threshold, django; assert django.VERSION[:2] == (6, 1), django.VERSION' || { echo "Installing the dependencies failed."; exit 1; }
	@touch $(STAMP)

venv: $(STAMP)

run: $(STAMP)
	@THRESHOLD_DEMO=$${THRESHOLD_DEMO:-true} $(BIN)/threshold migrate --verbosity 0
	@THRESHOLD_DEMO=$${THRESHOLD_DEMO:-true} $(BIN)/threshold demo
	@echo "Mail and text messages: http://127.0.0.1:$(PORT)/outbox/ (sent by threshold worker, started beside the server)"
	@export THRESHOLD_DEMO=$${THRESHOLD_DEMO:-true} THRESHOLD_BASE_URL=$${THRESHOLD_BASE_URL:-http://127.0.0.1:$(PORT)}; \
	  $(BIN)/threshold worker & worker=$$!; \
	  trap 'kill $$worker 2>/dev/null; wait $$worker 2>/dev/null' EXIT; \
	  $(BIN)/threshold serve --port $(PORT)

lint: $(STAMP)
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench

typecheck: $(STAMP)
	$(BIN)/mypy src

test: $(STAMP)
	@scripts/test

bench: $(STAMP)
	$(BIN)/python bench/run.py
	$(BIN)/python bench/activity.py
	$(BIN)/python bench/timing.py

messages: $(STAMP)
	cd src/threshold && ../../$(BIN)/threshold makemessages --all --no-obsolete --ignore 'static/*' && ../../$(BIN)/threshold compilemessages

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache

screenshots: $(STAMP)
	THRESHOLD_SCREENSHOT_DIR=$(CURDIR)/docs/screenshots $(BIN)/pytest tests/browser -q -p no:cacheprovider
