# mecm: every target bootstraps .venv from nothing.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test bench install clean

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

test: $(STAMP)
	$(BIN)/pytest -q

bench: $(STAMP)
	@command -v wrk >/dev/null || (apt-get update -qq && apt-get install -y -qq wrk >/dev/null) || \
		(echo "make bench needs wrk (Debian package 'wrk'); install it with: sudo apt-get install wrk" && exit 1)
	$(BIN)/python -m bench.core

clean:
	rm -rf $(VENV) var
