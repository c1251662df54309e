# Thin wrappers: the work is done by python modules, so readers without make can run them too.
# `make` alone (or `make help`) lists the targets; each target's `## ` comment is its line there.

PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
NODE_STAMP := node_modules/.installed
# stdlib only, run with the system's python3: it checks (and where it can, installs) what the
# run needs before anything else, so a missing program stops the run in its first seconds
SYSTEM := $(PYTHON) booktools/system.py
PROFILE ?= full
ONLY ?=
SOURCE ?=
JOBS ?=
# uv installs the pinned requirements into .venv: the same wheels as pip, in seconds rather than
# minutes (measured on this project's machine: 11 s with an empty cache and 28 s with the byte-
# code compiled, against pip's 97 s with a warm cache)
UV := uv==0.13.9
SOURCES_LOG := _build/source-tests.log
BOOK_ARGS := --profile $(PROFILE) $(if $(SOURCE),--source "$(SOURCE)",) $(if $(ONLY),--only $(ONLY),) $(if $(JOBS),--jobs $(JOBS),)

.PHONY: help book test lint budget unit nbval e2e smoke-book smoke-site site clean install sync programs
.DEFAULT_GOAL := help

help: ## list the targets and how to run one chapter
	@echo "Happy or Sad? - make TARGET [PROFILE=full|smoke] [SOURCE=path] [ONLY=\"05 06\"] [JOBS=N]"
	@echo
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | sed -E 's/^([a-z-]+):.*## (.*)$$/  make \1|\2/' \
		| awk -F'|' '{ printf "%-18s %s\n", $$1, $$2 }'
	@echo
	@echo "One chapter, quickly (the smoke profile, no site):"
	@echo "  make book PROFILE=smoke ONLY=05    or    $(PY) -m booktools.book --profile smoke --only 05 --no-build"
	@echo "Rebuild the site after a prose-only edit (seconds):  $(PY) -m booktools.book --no-execute"
	@echo "More in README.md (quick start, your own photos) and CONTRIBUTING.md (writing a chapter)."

# the Python packages and MathJax install side by side: npm mostly waits on the network and disk
install: ## create .venv, install the pinned requirements and this checkout's kernel, and MathJax
	@$(SYSTEM) provide book
	@$(MAKE) --no-print-directory -j2 $(STAMP) $(NODE_STAMP)

$(STAMP): requirements.txt requirements-nodeps.txt pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	@$(PY) -m pip install --quiet --disable-pip-version-check $(UV)
	$(VENV)/bin/uv pip install --quiet --compile-bytecode --python $(PY) -r requirements.txt
	$(VENV)/bin/uv pip install --quiet --python $(PY) --no-deps --require-hashes -r requirements-nodeps.txt
	@$(PY) -m booktools.kernel >/dev/null
	@touch $(STAMP)

# MathJax, served by the site itself so that formulas render offline
$(NODE_STAMP): package.json package-lock.json
	npm ci --no-audit --no-fund --silent --ignore-scripts
	@touch $(NODE_STAMP)

book: install ## execute the chapters (PROFILE, default full; ONLY, SOURCE) and build their site
	$(PY) -m booktools.book $(BOOK_ARGS)

# the browser the site tests drive: installed here where possible, else named in one line
programs: ## the system programs the site tests need (Chromium, ChromeDriver)
	@$(SYSTEM) provide test

lint: install budget ## ruff, the .ipynb and helpers/taught.py in sync (make sync), the budgets (strict)
	$(PY) -m ruff check helpers booktools tests notebooks
	$(PY) -m ruff format --check helpers booktools tests
	$(PY) -m booktools.sync --check

budget: install ## the book's budgets, failing when one is exceeded
	$(PY) -m booktools.budget --strict

UNIT_TESTS := $(PY) -m pytest -q -p no:cacheprovider tests --ignore=tests/site
unit: install ## the unit tests (tests/, not the site)
	$(UNIT_TESTS) -n 2

# every chapter as a reader's Jupyter runs it (no injected parameters), on the smoke profile;
# booktools.nbval_copies keeps what nbval executed as the smoke run's chapters
nbval: install ## every chapter under nbval on the smoke profile, as a reader's Jupyter runs it
	BOOK_PROFILE=smoke $(PY) -m pytest -q -p no:cacheprovider -p booktools.nbval_copies \
		--nbval-lax --current-env notebooks

# the smoke book end to end on non-synthetic sources made by the tests; worksteal: a worker that
# is done takes a test still queued on the other (three tests on two workers: the whole-book folder
# run takes longest, the FER and three-class runs share the other worker)
e2e: install ## the smoke book on sources the tests make (a folder, FER-2013, three classes)
	BOOK_E2E=1 $(PY) -m pytest -q -n 2 --dist worksteal -p no:cacheprovider --durations=0 \
		tests/test_sources_e2e.py

# the smoke book executed by the runner (papermill), then its site
smoke-book: install ## the smoke book executed by the runner (papermill), and its site
	$(PY) -m booktools.book --profile smoke

# the site of the chapters `make nbval` executed: the smoke book, executed once for the tests
smoke-site: install ## the site of the chapters make nbval executed
	$(PY) -m booktools.book --profile smoke --no-execute

site: install ## the checks of a built site, in headless Chromium
	BOOK_SITE_REQUIRED=1 $(PY) -m pytest -q tests/site

# two lanes at once: nbval's chapters, one after another, keep about one core busy, and so do the
# unit tests (one process); the end-to-end runs, which write only their own sources' folders, then
# take the second lane. The notebook lane (nbval, the smoke site, its browser checks) prints as it
# goes; the other lane's output waits in $(SOURCES_LOG) and is shown after it.
test: programs lint ## lint, unit tests, nbval, the smoke site and its checks, end-to-end runs
	@mkdir -p $(dir $(SOURCES_LOG))
	@{ $(UNIT_TESTS); units=$$?; \
	  $(MAKE) --no-print-directory e2e; e2e=$$?; exit $$((units | e2e)); } > $(SOURCES_LOG) 2>&1 & \
	lane=$$!; echo "the unit tests and end-to-end runs go beside the notebooks; output in $(SOURCES_LOG)"; \
	$(MAKE) --no-print-directory nbval smoke-site site; notebooks=$$?; \
	wait $$lane; sources=$$?; echo "--- unit tests and end-to-end runs (exit $$sources) ---"; \
	cat $(SOURCES_LOG); test $$notebooks -eq 0 -a $$sources -eq 0

# the .md twin of each chapter is the one to edit; this writes it into the paired .ipynb
sync: install ## each chapter's .md into its .ipynb, its # @save cells into helpers/taught.py
	$(PY) -m booktools.sync

clean: ## remove generated data, artifacts and builds
	rm -rf data artifacts _build .pytest_cache .ruff_cache
