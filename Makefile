# Thin wrappers: the work is done by python modules, so readers without make can run them too.
# make book  - install into .venv, execute every chapter, build the site into _build/html
#              (SOURCE=path/to/folder-or-fer2013.csv runs it on your own images; PROFILE=smoke)
# make test  - lint, unit tests, nbval on every notebook (smoke profile), the smoke book on a folder
#              and a FER-format CSV made by the tests (make e2e), a smoke build of the site
# make lint  - ruff on helpers, tests and notebooks
# make clean - remove generated data, artifacts and builds

PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
NODE_STAMP := node_modules/.installed
PROFILE ?= full
ONLY ?=
SOURCE ?=
BOOK_ARGS := --profile $(PROFILE) $(if $(SOURCE),--source "$(SOURCE)",) $(if $(ONLY),--only $(ONLY),)

.PHONY: book test lint unit nbval e2e smoke-book site clean install sync

install: $(STAMP) $(NODE_STAMP)

$(STAMP): requirements.txt pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet -r requirements.txt
	$(PY) -m ipykernel install --user --name happy-or-sad --display-name "Python (happy-or-sad)" >/dev/null
	@touch $(STAMP)

# MathJax, served by the site itself so that formulas render offline
$(NODE_STAMP): package.json package-lock.json
	npm ci --no-audit --no-fund --silent
	@touch $(NODE_STAMP)

book: install
	$(PY) -m booktools.book $(BOOK_ARGS)

lint: install
	$(PY) -m ruff check helpers booktools tests notebooks
	$(PY) -m ruff format --check helpers booktools tests

unit: install
	$(PY) -m pytest -q tests --ignore=tests/site

nbval: install
	BOOK_PROFILE=smoke $(PY) -m pytest -q -p no:cacheprovider --nbval-lax notebooks

# the smoke book end to end on non-synthetic sources made by the tests (about 2-3 min each);
# it overwrites book/chapters/, so it runs before smoke-book in `make test`
e2e: install
	BOOK_E2E=1 $(PY) -m pytest -q -p no:cacheprovider --durations=0 tests/test_sources_e2e.py

smoke-book: install
	$(PY) -m booktools.book --profile smoke

site: install
	BOOK_SITE_REQUIRED=1 $(PY) -m pytest -q tests/site

test: lint unit nbval e2e smoke-book site

# the .md twin of each chapter is the one to edit; this writes it into the paired .ipynb
sync: install
	$(PY) -m jupytext --update --to ipynb notebooks/[0-9][0-9]_*.md

clean:
	rm -rf data artifacts book/chapters book/generated _build .pytest_cache .ruff_cache
