# Everything a fresh machine needs goes through these targets: `make run`, `make test`.
VENV      := .venv
BIN       := $(VENV)/bin
PY        := $(BIN)/python
PORT      ?= 8000
STAGE     ?= dev
SOURCES   := app.py manage.py chalicelib ops tests

.PHONY: install run test lint format create-tables clean

install: $(VENV)/.installed

$(VENV)/.installed: requirements.txt requirements-dev.txt scripts/find-python.sh
	@python=$$(sh scripts/find-python.sh) || exit 1; \
	  [ -x $(PY) ] || "$$python" -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	@touch $@

run: install
	$(PY) manage.py serve --port $(PORT)

create-tables: install
	$(PY) manage.py create-tables

lint: install
	$(BIN)/ruff check $(SOURCES)
	$(BIN)/ruff format --check $(SOURCES)
	$(BIN)/mypy

format: install
	$(BIN)/ruff format $(SOURCES)
	$(BIN)/ruff check --fix $(SOURCES)

test: lint
	$(BIN)/pytest

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache
