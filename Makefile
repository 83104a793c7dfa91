# The two commands a new user needs: `make run` (sandbox service) and `make test` (whole suite).
# Everything else is installed by these targets into .venv; nothing is installed by hand.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: run test lint bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check --upgrade pip
	$(PY) -m pip install --quiet --disable-pip-version-check -e '.[test,sandbox]'
	touch $(STAMP)

run: $(STAMP)
	$(VENV)/bin/mwaa-sp serve --sandbox

test: $(STAMP)
	$(VENV)/bin/ruff check service tests bench
	$(VENV)/bin/ruff format --check service tests bench
	$(VENV)/bin/mypy
	$(PY) -m pytest

lint: $(STAMP)
	$(VENV)/bin/ruff check service tests bench
	$(VENV)/bin/ruff format --check service tests bench
	$(VENV)/bin/mypy

bench: $(STAMP)
	$(PY) bench/provision_bench.py

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
