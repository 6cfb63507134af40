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

bench: install
	$(BIN)/python -m pip install -q -e '.[bench]'
	$(BIN)/python bench/authz.py

clean:
	rm -rf $(VENV) var .mypy_cache .ruff_cache
