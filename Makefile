# mecm: every target bootstraps .venv from nothing.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test bench profile install clean assets screenshots ops-trial

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

$(STAMP): $(BIN)/python pyproject.toml
	$(BIN)/pip install --quiet -e '.[test]'
	touch $(STAMP)

install: $(STAMP)

run: $(STAMP)
	$(BIN)/mecm demo
	$(BIN)/mecm serve

# The suite on SQLite and, side by side (most of the time both wait on servers they started), every
# test that touches the database again on PostgreSQL (MECM_TEST_POSTGRES_URL, default the local
# server; its tests are skipped if it cannot be reached, and fail under CI=true). Modules that use no
# database (tests.support.databases.no_database) run in the SQLite run only. The PostgreSQL run's
# output is printed when both are done. Each run prints its 25 slowest steps (--durations).
# The SQLite run has TEST_WORKERS pytest-xdist workers, a test module to a worker (its module-scoped
# server is started once): most of a test's time is spent waiting for servers, carriers and
# receipts, and one process a run left a core idle (the suite used 0.9 of this machine's 2 cores).
# The PostgreSQL run has PG_TEST_WORKERS, 2 since its test databases are reused
# (tests/support/databases.py) and its 45-s failure was found to be a receipt race in mecm, not
# load. Measured at c303fe9 on a quiet machine, `make test` with 1 PostgreSQL worker: SQLite 6:34,
# PostgreSQL 13:28, 1.2 cores busy on average (a sampler of /proc); with 2: 8:47 and 10:19, 1.6
# cores busy. Beside two busy loops, with 2: 11:05 and 14:49, all passed.
PG_TESTS := tests/unit/store tests/unit/delivery tests/unit/services tests/api tests/integration
PG_LOG := var/pytest-postgresql.log
TEST_WORKERS ?= 2
PG_TEST_WORKERS ?= 2
XDIST := -n $(TEST_WORKERS) --dist loadfile
PG_XDIST := -n $(PG_TEST_WORKERS) --dist loadfile

# Browser tests (tests/browser) drive Debian's chromium: installed here when missing.
CHROMIUM := command -v chromium >/dev/null || (apt-get update -qq && apt-get install -y -qq chromium >/dev/null) || \
	(echo "the browser tests need Debian's chromium; install it with: sudo apt-get install chromium" && exit 1)

# The operations trial (tools/operations_trial.py, run by the PostgreSQL run's tests) puts Debian's
# nginx in front of two API nodes: installed here when missing.
NGINX := (command -v nginx || test -x /usr/sbin/nginx) >/dev/null || \
	(apt-get update -qq && apt-get install -y -qq nginx openssl >/dev/null) || \
	(echo "the operations trial needs Debian's nginx; install it with: sudo apt-get install nginx" && exit 1)

test: $(STAMP)
	@$(CHROMIUM)
	@$(NGINX)
	@mkdir -p var; \
	MECM_TEST_DATABASE=postgresql $(BIN)/pytest -q -p no:cacheprovider --durations=25 $(PG_XDIST) \
		--basetemp=var/pytest-postgresql $(PG_TESTS) > $(PG_LOG) 2>&1 & postgresql=$$!; \
	echo "== tests on SQLite (PostgreSQL's run goes on beside it) =="; \
	$(BIN)/pytest -q --durations=25 $(XDIST); sqlite=$$?; \
	wait $$postgresql; pg=$$?; \
	echo "== database tests on PostgreSQL =="; cat $(PG_LOG); \
	test $$sqlite -eq 0 && test $$pg -eq 0

bench: $(STAMP)
	@command -v wrk >/dev/null || (apt-get update -qq && apt-get install -y -qq wrk >/dev/null) || \
		(echo "make bench needs wrk (Debian package 'wrk'); install it with: sudo apt-get install wrk" && exit 1)
	$(BIN)/python -m bench.core

profile: $(STAMP)
	@command -v wrk >/dev/null || (apt-get update -qq && apt-get install -y -qq wrk >/dev/null) || \
		(echo "make profile needs wrk (Debian package 'wrk')" && exit 1)
	$(BIN)/pip install --quiet -e '.[profile]'
	$(BIN)/python -m bench.profile

# docs/operations.md followed on this machine: PostgreSQL, nginx, two API nodes, a worker, smsc-sim.
ops-trial: $(STAMP)
	@$(NGINX)
	$(BIN)/python tools/operations_trial.py

# The console's front-end files (htmx) from the npm registry at the versions pinned in
# src/mecm/console/static/vendor/assets.json; they are committed, so only a version change needs this.
assets:
	@command -v npm >/dev/null || (apt-get update -qq && apt-get install -y -qq npm >/dev/null) || \
		(echo "make assets needs npm (Debian package 'npm')" && exit 1)
	$(PYTHON) tools/vendor_assets.py

# docs/console/*.png, the screenshots docs/console.md shows, taken by the browser tests.
screenshots: $(STAMP)
	@$(CHROMIUM)
	MECM_SCREENSHOTS=docs/console $(BIN)/pytest -q -p no:cacheprovider tests/browser

clean:
	rm -rf $(VENV) var
