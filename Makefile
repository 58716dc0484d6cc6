# Two commands: `make demo` and `make test`. Everything installs into .venv on first use.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
DEMO_DIR ?= .demo
DEMO_CUSTOMERS ?= 20000

.PHONY: setup demo test lint format bench pins clean

# constraints.txt pins every installed package to one version (pyproject.toml keeps the ranges
# Segmint supports), so an install today and next month gets the same versions.
$(STAMP): pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -c constraints.txt -e '.[dev,spark]'
	touch $(STAMP)

setup: $(STAMP)

demo: setup
	$(BIN)/segmint demo --dir $(DEMO_DIR) --customers $(DEMO_CUSTOMERS)

test: setup lint
	$(BIN)/pytest

# Style, the import layers (pyproject.toml [tool.importlinter], checked on this checkout's src/) and
# types; any failure fails the target.
lint: setup
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/ruff format --check src tests benchmarks
	PYTHONPATH=src $(BIN)/lint-imports --no-cache
	$(BIN)/mypy src/segmint

format: setup
	$(BIN)/ruff check --fix src tests benchmarks
	$(BIN)/ruff format src tests benchmarks

bench: setup
	$(BIN)/python benchmarks/run.py

# Re-pin: resolve the newest versions pyproject.toml allows in a scratch venv, write them (under the
# header comment) to constraints.txt. Review the diff and run `make test` before committing it.
pins:
	@set -e; tmp=$$(mktemp -d); trap 'rm -rf "$$tmp"' EXIT; \
	$(PYTHON) -m venv "$$tmp/venv"; \
	"$$tmp/venv/bin/pip" install --quiet --upgrade pip; \
	"$$tmp/venv/bin/pip" install --quiet -e '.[dev,spark]'; \
	{ grep '^#' constraints.txt; "$$tmp/venv/bin/pip" freeze --exclude-editable; } > "$$tmp/constraints.txt"; \
	mv "$$tmp/constraints.txt" constraints.txt
	@echo "constraints.txt updated: review the diff, then make test"

clean:
	rm -rf $(VENV) $(DEMO_DIR) .pytest_cache .ruff_cache
