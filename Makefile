# The two commands a newcomer needs: `make serve` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell cksum pyproject.toml | cut -d' ' -f1)

.PHONY: serve demo test lint typecheck unit simulate bench clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	rm -f $(VENV)/.installed-*
	touch $@

serve: $(STAMP)
	$(BIN)/pushgate serve

# Simulators, a server and one notification to a device of every kind; DEMO_ARGS=--keep
# leaves it all running.
demo: $(STAMP)
	$(BIN)/pushgate demo $(DEMO_ARGS)

test: $(STAMP) lint typecheck unit

lint: $(STAMP)
	$(BIN)/ruff format --check src tests bench
	$(BIN)/ruff check src tests bench

typecheck: $(STAMP)
	$(BIN)/mypy

unit: $(STAMP)
	$(BIN)/pytest -q

simulate: $(STAMP)
	$(BIN)/pushgate simulate

bench: $(STAMP)
	$(BIN)/python bench/registration.py

clean:
	rm -rf $(VENV) var .mypy_cache .ruff_cache .pytest_cache
