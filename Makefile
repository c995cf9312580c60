# One entry point for people and CI. Every target sets up what it needs itself.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed

.PHONY: help venv lock tools schema artifact demo bench soak test test-unit test-integration up down status hub clean

help:
	@echo "make demo    the whole product on this machine: files in a bucket, assets in the Hub stand-in"
	@echo "make test    set up .venv and the emulators if missing, then run the whole test suite"
	@echo "make schema  fetch the Google provider schema the Terraform tests check against (once, into ~/.cache/gcs-to-hub)"
	@echo "make soak    the long runs: 1,000 files through the stack under every Hub switch, a five-minute outage (.local/soak.log)"
	@echo "make bench   speed, Hub calls, memory and cost against floors measured in the same run (.local/bench.json)"
	@echo "make artifact build the functions' zip as Terraform does, install it as Google's buildpack does, check its imports"
	@echo "make lock    regenerate requirements.txt (every package pinned, with hashes) from requirements.in"
	@echo "make up      start the local stack (emulators, Eventarc bridge, ingest function, Hub stand-in);"
	@echo "             settings from your environment reach both functions: MAX_OBJECT_BYTES=1000000 make up"
	@echo "make down    stop it;  make status: what runs, and .local/stack.env"
	@echo "make hub     run the Hub stand-in alone in the foreground"
	@echo "make clean   stop the stack, remove .venv and .local"

venv: $(STAMP)

# The virtualenv is rebuilt whenever a requirements file is newer than the last install. The
# functions' lock first, hash-checked as the buildpack installs it (pip will not mix hashed and
# unhashed requirements in one call), then the tests' and the CLI's packages on top. The lock is
# resolved for the functions' Python (3.12) and holds from 3.11 on; 3.10 would need other versions.
$(STAMP): requirements.txt requirements-dev.txt requirements-cli.txt
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Python 3.11 or newer is needed (requirements.txt is locked for 3.11 to 3.13); found " + sys.version.split()[0])'
	@test -x $(PY) || $(PYTHON) -m venv $(VENV) || { echo "Cannot create a virtualenv: install python3-venv (apt-get install python3-venv)"; exit 1; }
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet --require-hashes -r requirements.txt
	$(PY) -m pip install --quiet -r requirements-dev.txt
	@touch $(STAMP)

# requirements.txt, generated from requirements.in (edit that one): every package the functions
# install pinned, with the hashes of its files, resolved on the functions' Python (artifact.json's
# runtime, when this machine has it). pip-compile keeps the pins it can; to move them:
# make lock LOCK_ARGS="--upgrade-package requests" (or LOCK_ARGS=--upgrade for all).
LOCK_TOOLS := .venv-lock/.installed
$(LOCK_TOOLS):
	@test -x .venv-lock/bin/python || "$$($(PYTHON) -c 'from deploy.artifact import interpreter; print(interpreter()[0])')" -m venv .venv-lock
	.venv-lock/bin/python -m pip install --quiet pip-tools==7.6.2
	@touch $(LOCK_TOOLS)

lock: $(LOCK_TOOLS)
	CUSTOM_COMPILE_COMMAND="make lock" .venv-lock/bin/pip-compile --quiet --generate-hashes --allow-unsafe \
		--strip-extras --no-emit-index-url --no-emit-find-links --output-file=requirements.txt $(LOCK_ARGS) requirements.in

# checkov, for the Terraform tests, in a virtualenv of its own (its pins clash with the runtime's).
CHECKOV := .venv-checkov/.installed
$(CHECKOV):
	@test -x .venv-checkov/bin/python || $(PYTHON) -m venv .venv-checkov
	.venv-checkov/bin/python -m pip install --quiet checkov==3.3.30
	@touch $(CHECKOV)

# The Google provider's schema for tests/terraform: a pinned PyPI wheel, downloaded once into
# ~/.cache/gcs-to-hub (or $$HUB_IMPORT_CACHE); says what is missing when it cannot be had.
schema: $(STAMP)
	@$(PY) -m tests.terraform.provider_schema

# The official ango SDK, to show the Hub stand-in works with it unchanged (its pins clash with ours too).
SDK := .venv-sdk/.installed
$(SDK):
	@test -x .venv-sdk/bin/python || $(PYTHON) -m venv .venv-sdk
	.venv-sdk/bin/python -m pip install --quiet ango==1.4.10
	@touch $(SDK)

# Java and the Pub/Sub emulator (Debian packages), installed when missing and possible.
tools:
	@bash deploy/local/ensure-tools.sh

# Three workers, each with a local stack of its own: the integration tests mostly wait (on settle
# times, leases, the Hub's pace), so three share two cores well. TEST_WORKERS=0 runs them in one process.
TEST_WORKERS ?= 3
test: $(STAMP) $(CHECKOV) $(SDK) schema tools
	$(PY) -m pytest -n $(TEST_WORKERS) --dist worksteal

test-unit: $(STAMP)
	$(PY) -m pytest tests/unit

test-integration: $(STAMP) $(SDK) tools
	$(PY) -m pytest tests/integration

# The functions' artifact (.local/artifact): what Terraform zips, unpacked, installed and checked.
artifact: $(STAMP)
	$(PY) -m deploy.artifact

demo: $(STAMP) tools
	$(PY) -m deploy.local.demo

# The long runs, beside `make test`'s shorter ones: figures in .local/soak.log and docs/performance.md.
soak: $(STAMP) $(SDK) tools
	@mkdir -p .local
	bash -o pipefail -c 'SOAK=1 OUTAGE_TEST_SECONDS=300 HUB_SWITCH_FILES=1000 $(PY) -m pytest -s -p no:cacheprovider \
		tests/integration/hub/test_hub_behaviours.py tests/integration/hub/test_hub_client.py \
		tests/integration/flush/test_redteam_clock.py tests/integration/flush/test_redteam_heal.py \
		tests/integration/hub/test_redteam_learned.py tests/integration/flush/test_redteam_reconcile.py \
		tests/integration/flush/test_redteam_sending.py \
		tests/integration/flush/test_flush_stack.py::test_an_outage_of_minutes_while_files_keep_landing_loses_nothing_and_doubles_nothing \
		tests/integration/flush/test_deletions.py::test_a_delete_whose_answer_is_lost_is_listed_again_and_finished_once \
		2>&1 | tee .local/soak.log'
	bash -o pipefail -c 'SIM_HISTORIES=20000 $(PY) -m pytest -s -p no:cacheprovider -n 2 -rxX \
		tests/simulation/test_simulation.py 2>&1 | tee .local/soak-simulation.log'

bench: $(STAMP) tools
	$(PY) tests/bench/bench.py

# Every product setting (hub_import/core/settings.py ENV) set in the caller's environment reaches both functions.
up: $(STAMP) tools
	$(PY) -m deploy.local.stack up

down:
	@test -x $(PY) && $(PY) -m deploy.local.stack down || true

status: $(STAMP)
	@$(PY) -m deploy.local.stack status

hub: $(STAMP)
	$(PY) deploy/local/hub_standin.py --port 0 --api-key local-dev-key --project demo-project --storage demo-storage --batch demo-project:incoming

clean: down
	rm -rf $(VENV) .venv-checkov .venv-sdk .venv-lock .local .pytest_cache .hypothesis
