# Two entry points for a fresh Debian/Ubuntu machine: `make demo` and `make test`.
# Each installs what is missing (system packages, a virtualenv in .venv) first.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: demo test test-fast lint typecheck pytest bench bench-drift deps clean lock audit

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

# The installed dependency set, pinned: what 'make audit' checks. Run after changing pyproject.toml.
lock: $(STAMP)
	{ echo "# The installed dependency set (make lock: pip freeze --exclude-editable); make audit checks it."; \
	  $(BIN)/python -m pip freeze --exclude-editable; } > requirements.lock

# Known advisories in requirements.lock (pip-audit): fails on one found; prints NOT AUDITED and
# passes when the advisory service cannot be reached or answers without advisory data.
audit: $(STAMP)
	$(BIN)/python scripts/audit.py requirements.lock

bench: $(STAMP)
	$(BIN)/python -m bench $(if $(N),--users $(N),)

# A no-op full cycle with drift: {check: full} against the same with check: never (docs/drift.md).
bench-drift: $(STAMP)
	$(BIN)/python -m bench.drift $(if $(N),--users $(N),)

clean:
	rm -rf $(VENV) .mypy_cache .pytest_cache .ruff_cache build src/*.egg-info
