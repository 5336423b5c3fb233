# Närvaro: `make run` starts the bot on embedded defaults, `make test` runs every check.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
# `make run` installs what the bot needs; `make test` (and the other targets) the test and
# development tools as well.
RUN_STAMP := $(VENV)/.installed-run
STAMP := $(VENV)/.installed

.PHONY: run test coverage lint i18n-extract i18n-update i18n-compile bench migration clean

$(VENV)/bin/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

$(RUN_STAMP): pyproject.toml | $(VENV)/bin/python
	$(BIN)/pip install --quiet -e .
	touch $(RUN_STAMP)

$(STAMP): pyproject.toml | $(VENV)/bin/python
	$(BIN)/pip install --quiet -e ".[dev]"
	touch $(STAMP) $(RUN_STAMP)

run: $(RUN_STAMP)
	$(BIN)/narvaro run

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/mypy

# The web overview's browser test drives Debian's Chromium (never a downloaded browser).
CHROMIUM := /usr/bin/chromium

$(CHROMIUM):
	apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium

# Tests in parallel processes (pytest-xdist). Dialogs run in process (tests/transcript.py),
# but the HTTP transcripts, the `narvaro run` processes and the browser still wait, so more
# workers than cores helps: on two cores 4 workers took 3:18, 2 took 4:48 and 6 took 3:21
# (2026-12-07, a lightly shared machine).
TEST_WORKERS ?= 4
PYTEST_PARALLEL := -n $(TEST_WORKERS) --dist worksteal

test: lint $(CHROMIUM)
	$(BIN)/pytest -q $(PYTEST_PARALLEL)

# Line coverage of the whole suite, `narvaro` processes the tests start included.
coverage: $(STAMP) $(CHROMIUM)
	$(BIN)/pytest -q $(PYTEST_PARALLEL) --cov --cov-report=term

# Translations: extract the catalog template, merge it into every language, compile.
i18n-extract: $(STAMP)
	$(BIN)/pybabel extract -F babel.cfg -k N_ -k t -k gettext_for:2 -k ngettext_for:2,3 --add-comments=Translators: \
	  --no-location --sort-output -o locales/messages.pot bot handlers services scheduler locales

i18n-update: i18n-extract
	for lang in sv nb da en ar so ti fa uk pl; do \
	  if [ -f locales/$$lang/LC_MESSAGES/messages.po ]; then \
	    $(BIN)/pybabel update -i locales/messages.pot -d locales -l $$lang --no-fuzzy-matching; \
	  else \
	    $(BIN)/pybabel init -i locales/messages.pot -d locales -l $$lang; \
	  fi; \
	done

i18n-compile: $(STAMP)
	$(BIN)/pybabel compile -d locales --statistics

bench: $(STAMP)
	$(BIN)/python benchmarks/roster_import.py
	$(BIN)/python benchmarks/telegram_dialogs.py
	$(BIN)/python benchmarks/message_transaction.py
	$(BIN)/python benchmarks/cli_speed.py
	$(BIN)/python benchmarks/sms_webhooks.py
	$(BIN)/python benchmarks/notices.py
	$(BIN)/python benchmarks/ladder.py
	$(BIN)/python benchmarks/dispatch.py
	$(BIN)/python benchmarks/morning.py --send telegram
	$(BIN)/python benchmarks/review.py
	$(BIN)/python benchmarks/pacing.py
	$(BIN)/python benchmarks/import_under_load.py
	$(BIN)/python benchmarks/bad_csv.py
	$(BIN)/python benchmarks/ss12000_sync.py
	$(BIN)/python benchmarks/year.py

migration: $(STAMP)
	rm -f /tmp/narvaro-migration.db
	$(BIN)/python -c "import sys; from alembic import command; \
	from storage.db import make_engine, upgrade, alembic_config; \
	e = make_engine('sqlite:////tmp/narvaro-migration.db'); upgrade(e); \
	command.revision(alembic_config(e), message=sys.argv[1], autogenerate=True)" "$(m)"

clean:
	rm -rf $(VENV) *.egg-info .pytest_cache .mypy_cache .ruff_cache
