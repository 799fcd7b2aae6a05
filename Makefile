# The two commands a newcomer needs: `make serve` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell cksum pyproject.toml | cut -d' ' -f1)

.PHONY: serve demo test test-deps lint typecheck unit soak simulate bench wheel clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]' -e clients/python
	rm -f $(VENV)/.installed-*
	touch $@

serve: $(STAMP)
	$(BIN)/pushgate serve --init

# Simulators, a server and one notification to a device of every kind; DEMO_ARGS=--keep
# leaves it all running.
demo: $(STAMP)
	$(BIN)/pushgate demo $(DEMO_ARGS)

test: $(STAMP) lint typecheck unit

# Programs some suites drive besides Python (a headless browser, independent HTTP/2 peers,
# systemd's unit checker for deploy/):
# installed from Debian's packages when missing. Without them those suites skip locally and
# fail under CI=true.
TEST_PROGRAMS := chromium:chromium nghttpd:nghttp2-server node:nodejs curl:curl \
	systemd-analyze:systemd
test-deps:
	@missing=""; for entry in $(TEST_PROGRAMS); do \
	  command -v $${entry%%:*} >/dev/null 2>&1 || missing="$$missing $${entry#*:}"; done; \
	if [ -n "$$missing" ]; then \
	  echo "installing:$$missing"; \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq --no-install-recommends $$missing; \
	fi

lint: $(STAMP)
	$(BIN)/ruff format --check src tests bench clients
	$(BIN)/ruff check src tests bench clients

typecheck: $(STAMP)
	$(BIN)/mypy

# The suite runs in worker processes (pytest-xdist). Three workers on two cores measured
# best (bench/README.md "Test suite"): the tests wait on sockets and subprocesses part of
# the time, but the processes they start are busy too, so four lost to contention. Each worker has its own PostgreSQL database and Redis
# key prefixes (tests/services.py). Long runs are marked `soak`: deselected by default
# (pyproject's addopts), run by `make soak`.
# Compiled modules are kept (PYTHONDONTWRITEBYTECODE emptied): every worker and every
# `pushgate` process a test starts would otherwise compile pushgate and the tests again,
# which took half of collecting the suite.
# Tests go to the workers one at a time (--maxschedchunk 1), the slow ones first
# (tests/conftest.py SLOW_FIRST): a worker that finishes early takes the next test
# instead of waiting while another works through a chunk it was given at the start.
UNIT_WORKERS ?= 3
unit: $(STAMP)
	PYTHONDONTWRITEBYTECODE= $(BIN)/pytest -q -n $(UNIT_WORKERS) --maxschedchunk 1

# The full-size crash-safety runs (20,000 devices, every kill -9 case), minutes each, and the
# reliability soak (tests/soak: kill -9, PostgreSQL and Redis of its own restarted and flushed,
# a provider outage; its figures are printed, docs/reliability.md "Soak"). Loopback only.
soak: $(STAMP)
	PYTHONDONTWRITEBYTECODE= $(BIN)/pytest -q -m soak

simulate: $(STAMP)
	$(BIN)/pushgate simulate

bench: $(STAMP)
	$(BIN)/python bench/registration.py

# The installable package: dist/pushgate-<version>-py3-none-any.whl, for `pip install` or
# `pipx install` (README "Install"). The build backend comes from the dev environment, so
# this needs no network.
wheel: $(STAMP)
	$(BIN)/python -m pip wheel --no-deps --no-build-isolation --wheel-dir dist .

clean:
	rm -rf $(VENV) var dist .mypy_cache .ruff_cache .pytest_cache
