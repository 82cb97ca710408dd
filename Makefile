# The two commands of README.md.  Each creates .venv and installs what it needs.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: demo test bench catalogs clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/slabill demo

test: $(STAMP)
	$(BIN)/lint-imports
	$(BIN)/python -m pytest -q

bench: $(STAMP)
	$(BIN)/python bench/evaluate_bench.py

clean:
	rm -rf $(VENV) out slabill.db

# Translations: extract the labels from the code and templates, merge them into the
# fr/de/es catalogs, and compile (to check; slabill reads the .po files directly).
catalogs: $(STAMP)
	$(BIN)/pybabel extract -F babel.cfg --no-location --omit-header --sort-output -o invoices/locale/messages.pot .
	$(BIN)/pybabel update -i invoices/locale/messages.pot -d invoices/locale -N --ignore-obsolete
	$(BIN)/pybabel compile -d invoices/locale --statistics
