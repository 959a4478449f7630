# memoryd developer commands. `make serve` and `make test` work on a fresh machine.
VENV ?= .venv
PY := $(VENV)/bin/python
BIN := $(VENV)/bin
SRC := src/memoryd tests benchmarks scripts

.PHONY: setup setup-node serve test check typescript openapi lint typecheck security unit fmt bench eval clean

setup: $(VENV)/.installed

# torch==2.13.0 first: it resolves to the local CPU wheel; any other spec pulls
# gigabytes of CUDA packages. It is only used once, to export the model to ONNX.
$(VENV)/.installed: pyproject.toml
	python3 -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q torch==2.13.0
	$(PY) -m pip install -q -e ".[model,dev]"
	touch $@

# Third-party clients the tests drive (the MCP Inspector CLI), pinned in package-lock.json.
NODE_TOOLS := tests/tools/node_modules/.installed
setup-node: $(NODE_TOOLS)

$(NODE_TOOLS): tests/tools/package.json tests/tools/package-lock.json
	npm ci --prefix tests/tools --no-audit --no-fund --loglevel=error
	touch $@

# systemd-analyze checks the generated user unit in the tests (root machine, Debian).
SYSTEMD_ANALYZE := /usr/bin/systemd-analyze
$(SYSTEMD_ANALYZE):
	apt-get update -qq && apt-get install -y -qq systemd

# gcc + sqlite3.h build the fault/power-loss SQLite VFS of tests/reliability/vfs (R2, R4, R6).
SQLITE_HEADER := /usr/include/sqlite3.h
$(SQLITE_HEADER):
	apt-get update -qq && apt-get install -y -qq gcc libsqlite3-dev

serve: setup
	HF_HUB_OFFLINE=1 $(BIN)/memoryd serve

fmt: setup
	$(BIN)/ruff format $(SRC)
	$(BIN)/ruff check --fix $(SRC)

lint: setup
	$(BIN)/ruff format --check $(SRC)
	$(BIN)/ruff check $(SRC)

typecheck: setup
	$(BIN)/mypy src/memoryd

# RELIABILITY.md S12: bandit fails on any medium or high finding (each medium that is
# not a defect carries an inline "# nosec" saying why); the dependency audit fails on any
# known vulnerability (pip-audit) and prints how many packages it could audit. Where
# pip-audit's vulnerability service cannot be reached, no package is audited: the line
# says so; AUDIT_FLAGS=--strict makes that a failure.
AUDIT_FLAGS ?=
security: setup
	$(BIN)/bandit -q -r src/memoryd -c pyproject.toml -ll
	$(PY) scripts/audit_dependencies.py $(AUDIT_FLAGS)

# MEMORYD_REQUIRE_SMALL_DISK=1: the full-disk tests (R5) mount a small tmpfs (or a
# loop ext4 image) and must fail, not skip, where they cannot (run as root / CAP_SYS_ADMIN).
unit: setup setup-node $(SYSTEMD_ANALYZE) $(SQLITE_HEADER)
	HF_HUB_OFFLINE=1 MEMORYD_REQUIRE_SMALL_DISK=1 $(BIN)/pytest

test: lint typecheck security unit typescript

# The TypeScript client (clients/typescript): its copy of the OpenAPI document and the
# types generated from it must match the code; then its tests run against a real daemon.
TS_DIR := clients/typescript
typescript: setup
	$(PY) scripts/export_openapi.py --check
	npm ci --prefix $(TS_DIR) --no-audit --no-fund --loglevel=error
	MEMORYD_BIN=$(abspath $(BIN))/memoryd npm test --prefix $(TS_DIR)

# After a change to the registry or an operation: regenerate the Python client, the
# OpenAPI copy, the TypeScript types and the MCP tools/list snapshot (the tests fail
# while any of them is stale).
openapi: setup
	$(PY) scripts/generate_client.py
	$(PY) scripts/export_openapi.py
	$(PY) scripts/export_mcp_tools.py
	npm ci --prefix $(TS_DIR) --no-audit --no-fund --loglevel=error
	npm run generate --prefix $(TS_DIR)

# Fast loop for development: lint, types and every test not marked slow (the slow
# reliability and evaluation suites run in `make test`). Stops at the first failure.
check: lint typecheck setup-node $(SQLITE_HEADER)
	HF_HUB_OFFLINE=1 $(BIN)/pytest -x -q -m "not slow"

bench: setup
	HF_HUB_OFFLINE=1 $(PY) benchmarks/run_all.py

eval: setup
	HF_HUB_OFFLINE=1 $(BIN)/memoryd eval locomo ../shared/data/locomo10.json

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache tests/tools/node_modules \
		$(TS_DIR)/node_modules $(TS_DIR)/dist
