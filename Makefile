# Two entry points for a fresh Debian/Ubuntu machine: `make demo` and `make test`.
# Each installs what is missing (system packages, a virtualenv in .venv) first.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: demo test test-fast lint typecheck pytest bench deps clean

deps: $(STAMP)

$(STAMP): pyproject.toml scripts/system-deps.sh
	PYTHON=$(PYTHON) ./scripts/system-deps.sh
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[dev,postgres,emulator]'
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/python -m webex_provisioner.sandbox.demo

lint: $(STAMP)
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench
	$(BIN)/lint-imports

typecheck: $(STAMP)
	$(BIN)/mypy

pytest: $(STAMP)
	$(BIN)/pytest

test: lint typecheck pytest

# Every test that needs no server (no slapd, Samba, 389 DS, PostgreSQL or emulator): seconds.
test-fast: $(STAMP)
	$(BIN)/pytest -m "not server"

bench: $(STAMP)
	$(BIN)/python -m bench $(if $(N),--users $(N),)

clean:
	rm -rf $(VENV) .mypy_cache .pytest_cache .ruff_cache build src/*.egg-info
