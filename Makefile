# One entry point for people and CI. Every target sets up what it needs itself.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed

.PHONY: help venv test test-unit test-integration hub clean

help:
	@echo "make test    create .venv if missing or stale, then run the whole test suite"
	@echo "make hub     run the Hub stand-in in the foreground (see deploy/local/hub_standin.py --help)"
	@echo "make clean   remove .venv and .local"

venv: $(STAMP)

# The virtualenv is rebuilt whenever a requirements file is newer than the last install.
$(STAMP): requirements.txt requirements-dev.txt
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 10) else "Python 3.10 or newer is needed; found " + sys.version.split()[0])'
	@test -x $(PY) || $(PYTHON) -m venv $(VENV) || { echo "Cannot create a virtualenv: install python3-venv (apt-get install python3-venv)"; exit 1; }
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements-dev.txt
	@touch $(STAMP)

test: $(STAMP)
	$(PY) -m pytest

test-unit: $(STAMP)
	$(PY) -m pytest tests/unit

test-integration: $(STAMP)
	$(PY) -m pytest tests/integration

hub: $(STAMP)
	$(PY) deploy/local/hub_standin.py --port 0 --api-key local-dev-key --project demo-project --storage demo-storage --batch demo-project:incoming

clean:
	rm -rf $(VENV) .local .pytest_cache .hypothesis
