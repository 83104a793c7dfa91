# The two commands a new user needs: `make run` (sandbox service) and `make test` (whole suite).
# Everything else is installed by these targets into .venv; nothing is installed by hand.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
# A real Apache Airflow for the post-deploy check's tests, in a virtual environment of its own (its
# dependencies would clash with the service's); installed once, kept while the version stays.
AIRFLOW_VENV ?= .venv-airflow
AIRFLOW_VERSION ?= 3.1.8
AIRFLOW_STAMP := $(AIRFLOW_VENV)/.installed-$(AIRFLOW_VERSION)

.PHONY: run test lint bench mutate clean

$(STAMP): pyproject.toml standin/pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check --upgrade pip
	$(PY) -m pip install --quiet --disable-pip-version-check -e ./standin -e '.[test,sandbox]'
	touch $(STAMP)

$(AIRFLOW_STAMP):
	rm -rf $(AIRFLOW_VENV)
	$(PYTHON) -m venv $(AIRFLOW_VENV)
	$(AIRFLOW_VENV)/bin/pip install --quiet --disable-pip-version-check 'apache-airflow==$(AIRFLOW_VERSION)'
	touch $@

run: $(STAMP)
	$(VENV)/bin/mwaa-sp serve --sandbox

test: $(STAMP) $(AIRFLOW_STAMP)
	$(VENV)/bin/ruff check service tests bench standin
	$(VENV)/bin/ruff format --check service tests bench standin
	$(VENV)/bin/mypy
	$(PY) -m pytest

lint: $(STAMP)
	$(VENV)/bin/ruff check service tests bench standin
	$(VENV)/bin/ruff format --check service tests bench standin
	$(VENV)/bin/mypy

bench: $(STAMP)
	$(PY) bench/provision_bench.py

# Mutation testing of the pure rules (statelock, args, naming, safe_yaml, descriptor, iam_quota, buckets)
# against their unit tests only ([tool.mutmut] in pyproject.toml); fails below MUTATION_MIN % killed.
MUTATION_MIN ?= 85
mutate: $(STAMP)
	rm -rf mutants && mkdir mutants
	$(VENV)/bin/mutmut run > mutants/run.log 2>&1 || { tail -c 3000 mutants/run.log; exit 1; }
	$(VENV)/bin/mutmut results --all true | awk -F': ' -v min=$(MUTATION_MIN) ' \
		{ name = $$1; sub(/^ +/, "", name); module = name; sub(/\.[^.]*$$/, "", module); \
		  total[module]++; all++; if ($$2 == "killed") { killed[module]++; k++ } else left[++n] = name ": " $$2 } \
		END { for (m in total) printf "%-32s %4d/%-4d %5.1f %%\n", m, killed[m], total[m], 100 * killed[m] / total[m] | "sort"; \
		      close("sort"); for (i = 1; i <= n; i++) print "  not killed: " left[i]; \
		      printf "overall %d/%d killed: %.1f %% (minimum %d %%)\n", k, all, 100 * k / all, min; \
		      exit (all == 0 || 100 * k / all < min) }'

clean:
	rm -rf $(VENV) $(AIRFLOW_VENV) .pytest_cache .mypy_cache .ruff_cache
