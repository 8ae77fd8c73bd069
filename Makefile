# The two set-up commands are `make test` (main job) and `make check` (own tests).
# Both run `make setup` first, which is idempotent.
PY := .venv/bin/python
PYTEST_ARGS ?=

.PHONY: setup check unit integration test bench

setup:
	@bash scripts/setup.sh

# The project's own tests: unit tests and the integration tests (real kernel, real VM).
check: setup
	$(PY) -m pytest -ra $(PYTEST_ARGS) tests

unit: setup
	$(PY) -m pytest -ra -m "not integration" $(PYTEST_ARGS) tests

integration: setup
	$(PY) -m pytest -ra -m integration $(PYTEST_ARGS) tests

# The main job: the default matrix (three series and the baseline on Debian's 6.12).
test: setup
	$(PY) harness.py matrix pipeline/matrices/default.yaml

# The benchmark (issue 10): ratios of what the harness costs and saves, in one run
# (about an hour on 2 cores). Writes bench/results.json and bench/results.md.
bench: setup
	$(PY) -m bench $(BENCH_ARGS)
