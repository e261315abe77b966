# Two commands do everything on a fresh machine:  make run   /   make test
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
SUITE ?= suites/quick.yaml

.PHONY: install run test clean

$(VENV)/.installed: pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -c constraints.txt -e ".[test]"
	touch $@

install: $(VENV)/.installed

run: install
	$(PY) bench.py run $(SUITE)

# Fails when anything fails, and when no test is collected (pytest's exit 5): a moved or renamed
# tests/ must not go green. The import-layer contracts (pyproject.toml) run as tests/test_layers.py.
test: install
	$(PY) -m pytest -q tests

clean:
	rm -rf $(VENV) .pytest_cache
