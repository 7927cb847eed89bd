# Everything a fresh machine needs, from Python 3.11+ and make alone.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: install serve shell test lint check clean

$(STAMP): pyproject.toml
	$(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[test,dev]'
	touch $(STAMP)

install: $(STAMP)

# the server on the embedded default data directory (./vecgres-data)
serve: $(STAMP)
	$(BIN)/vecgres serve --data vecgres-data

# an interactive SQL shell on the embedded database
shell: $(STAMP)
	$(BIN)/vecgres shell --data vecgres-data

test: $(STAMP)
	$(BIN)/pytest -q -p no:cacheprovider -n 2

lint: $(STAMP)
	$(BIN)/ruff check vecgres tests sqllogictest benchmarks
	$(BIN)/ruff format --check vecgres tests sqllogictest benchmarks
	$(BIN)/mypy vecgres
	$(BIN)/lint-imports

check: lint test

clean:
	rm -rf $(VENV) build *.egg-info
