# Quick start: `make run` serves the app, `make test` runs the tests.
# Each target creates .venv and installs the pinned requirements on first use.
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
ADDR ?= 127.0.0.1:8000
VAR_DIR ?= var

.PHONY: run test lint bench install

$(BIN)/.installed: requirements.txt requirements-dev.txt
	@command -v $(PYTHON) >/dev/null 2>&1 || { echo "$(PYTHON) not found: install Python 3.11 or set PYTHON=…"; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -r requirements-dev.txt
	touch $@

install: $(BIN)/.installed

$(VAR_DIR)/secret_key:
	mkdir -p $(VAR_DIR)
	$(PYTHON) -c "import secrets; print(secrets.token_urlsafe(50))" > $@

run: install $(VAR_DIR)/secret_key
	VAR_DIR=$(VAR_DIR) $(BIN)/python manage.py oncall_run $(ADDR) $(if $(filter reset,$(DEMO)),--demo-reset,$(if $(DEMO),--demo,))

test: install
	$(BIN)/pytest

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports
	DEBUG=1 $(BIN)/mypy

bench: install
	$(BIN)/python -m bench
