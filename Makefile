# Thin wrappers: the work is done by python modules, so readers without make can run them too.
# make book  - install into .venv, execute every chapter, build the site into _build/html
#              (SOURCE=path/to/folder-or-fer2013.csv runs it on your own images; PROFILE=smoke;
#              ONLY="05 06" runs some chapters; JOBS=1 runs one chapter at a time)
# make test  - the system programs the tests need, lint, unit tests, nbval on every notebook,
#              the smoke book on sources made by the tests (make e2e), the smoke site and its checks
# make lint  - ruff on helpers, booktools, tests and notebooks
# make sync  - write each chapter's .md into its paired .ipynb (after editing the .md)
# make clean - remove generated data, artifacts and builds

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

.PHONY: book test lint unit nbval e2e smoke-book smoke-site site clean install sync programs

install: $(STAMP) $(NODE_STAMP)

$(STAMP): requirements.txt requirements-nodeps.txt pyproject.toml
	@$(SYSTEM) provide book
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	@$(PY) -m pip install --quiet --disable-pip-version-check $(UV)
	$(VENV)/bin/uv pip install --quiet --compile-bytecode --python $(PY) -r requirements.txt
	$(VENV)/bin/uv pip install --quiet --python $(PY) --no-deps --require-hashes -r requirements-nodeps.txt
	@$(PY) -m booktools.kernel >/dev/null
	@touch $(STAMP)

# MathJax, served by the site itself so that formulas render offline
$(NODE_STAMP): package.json package-lock.json
	@$(SYSTEM) provide book
	npm ci --no-audit --no-fund --silent --ignore-scripts
	@touch $(NODE_STAMP)

book: install
	$(PY) -m booktools.book $(BOOK_ARGS)

# the browser the site tests drive: installed here where possible, else named in one line
programs:
	@$(SYSTEM) provide test

lint: install
	$(PY) -m ruff check helpers booktools tests notebooks
	$(PY) -m ruff format --check helpers booktools tests

UNIT_TESTS := $(PY) -m pytest -q -p no:cacheprovider tests --ignore=tests/site
unit: install
	$(UNIT_TESTS) -n 2

# every chapter as a reader's Jupyter runs it (no injected parameters), on the smoke profile;
# booktools.nbval_copies keeps what nbval executed as the smoke run's chapters
nbval: install
	BOOK_PROFILE=smoke $(PY) -m pytest -q -p no:cacheprovider -p booktools.nbval_copies \
		--nbval-lax --current-env notebooks

# the smoke book end to end on non-synthetic sources made by the tests; worksteal: a worker that
# is done takes a test still queued on the other (three tests on two workers: the whole-book folder
# run takes longest, the FER and three-class runs share the other worker)
e2e: install
	BOOK_E2E=1 $(PY) -m pytest -q -n 2 --dist worksteal -p no:cacheprovider --durations=0 \
		tests/test_sources_e2e.py

# the smoke book executed by the runner (papermill), then its site
smoke-book: install
	$(PY) -m booktools.book --profile smoke

# the site of the chapters `make nbval` executed: the smoke book, executed once for the tests
smoke-site: install
	$(PY) -m booktools.book --profile smoke --no-execute

site: install
	BOOK_SITE_REQUIRED=1 $(PY) -m pytest -q tests/site

# two lanes at once: nbval's chapters, one after another, keep about one core busy, and so do the
# unit tests (one process); the end-to-end runs, which write only their own sources' folders, then
# take the second lane. The notebook lane (nbval, the smoke site, its browser checks) prints as it
# goes; the other lane's output waits in $(SOURCES_LOG) and is shown after it.
test: programs lint
	@mkdir -p $(dir $(SOURCES_LOG))
	@{ $(UNIT_TESTS); units=$$?; \
	  $(MAKE) --no-print-directory e2e; e2e=$$?; exit $$((units | e2e)); } > $(SOURCES_LOG) 2>&1 & \
	lane=$$!; echo "the unit tests and end-to-end runs go beside the notebooks; output in $(SOURCES_LOG)"; \
	$(MAKE) --no-print-directory nbval smoke-site site; notebooks=$$?; \
	wait $$lane; sources=$$?; echo "--- unit tests and end-to-end runs (exit $$sources) ---"; \
	cat $(SOURCES_LOG); test $$notebooks -eq 0 -a $$sources -eq 0

# the .md twin of each chapter is the one to edit; this writes it into the paired .ipynb
sync: install
	$(PY) -m booktools.sync

clean:
	rm -rf data artifacts _build .pytest_cache .ruff_cache
