# yolo-workbook. On a fresh machine `make demo` and `make test` are all the set-up:
# both create .venv and install the project into it when needed.
.DEFAULT_GOAL := help
SHELL := /bin/bash

PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
INSTALLED := $(VENV)/.installed
BROWSER_INSTALLED := $(VENV)/.browser-installed
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
PROFILE ?= demo

.PHONY: help install browser-deps demo demo-data pipeline test test-browser test-fast test-count docs lint format lab bench

help: ## list the targets
	@grep -hE '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-13s %s\n", $$1, $$2}'

$(INSTALLED): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	@touch $@

install: $(INSTALLED) ## create .venv and install the project (editable) with dev tools

$(BROWSER_INSTALLED): $(INSTALLED) pyproject.toml
	$(BIN)/python -m pip install --quiet -e ".[dev,browser]"
	@touch $@

# Playwright drives the system Chromium: never `playwright install` (no browser download).
# libgomp1: the doctor test loads this second OpenMP runtime for real (tests/unit/envcheck/test_doctor.py).
browser-deps: $(BROWSER_INSTALLED) ## what the system-level tests need: playwright (pip); chromium, libgomp1 (apt, if missing)
	@missing=""; \
	command -v chromium >/dev/null 2>&1 || missing="chromium"; \
	if command -v dpkg-query >/dev/null 2>&1 && ! dpkg-query -W -f='$${Status}' libgomp1 2>/dev/null | grep -q 'ok installed'; then \
		missing="$$missing libgomp1"; \
	fi; \
	if [ -z "$$missing" ]; then \
		echo "chromium: $$(command -v chromium)"; \
	elif command -v apt-get >/dev/null 2>&1; then \
		$(SUDO) apt-get update && $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y $$missing; \
	else \
		echo "warning: no apt-get to install:$$missing (the browser and OpenMP tests skip; in CI they fail)" >&2; \
	fi

demo-data: $(INSTALLED) ## write the synthetic demo datasets and video
	$(BIN)/yolo-workbook demo-data --size demo

demo: demo-data ## run the whole workbook on the demo data (outputs/demo/)
	$(BIN)/yolo-workbook pipeline --profile demo
	$(BIN)/yolo-workbook export r08_rare_class --profile demo --format onnx openvino
	$(BIN)/yolo-workbook compare --profile demo

pipeline: $(INSTALLED) ## run every round on PROFILE (default demo)
	$(BIN)/yolo-workbook pipeline --profile $(PROFILE)

test: browser-deps ## lint, the import layers, the docs (strict build), then every test (unit, integration: papermill, nbval; browser: JupyterLab in Chromium)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports
	NO_MKDOCS_2_WARNING=1 DISABLE_MKDOCS_2_WARNING=true $(BIN)/mkdocs build --strict
	$(BIN)/python -m pytest -n 2 --dist loadfile

test-browser: browser-deps ## the notebooks in JupyterLab, headless Chromium (screenshots: test-artifacts/)
	$(BIN)/python -m pytest -m browser

test-fast: $(INSTALLED) ## unit tests only (no training, no kernels)
	$(BIN)/python -m pytest -m "not slow and not notebook"

test-count: $(INSTALLED) ## how many tests each tier holds, counted now (pytest --collect-only)
	@$(BIN)/python tests/count_tiers.py

# The two variables only silence the banners that mkdocs plugins print about MkDocs 2.0 and Material's end of life.
docs: $(INSTALLED) ## the documentation site, into site/ (mkdocs build --strict: a broken link fails it)
	NO_MKDOCS_2_WARNING=1 DISABLE_MKDOCS_2_WARNING=true $(BIN)/mkdocs build --strict

lint: $(INSTALLED) ## ruff check and format check (notebooks included), and the import layers (import-linter)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports

format: $(INSTALLED) ## ruff fix and format
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

lab: $(INSTALLED) ## start JupyterLab in this environment
	$(BIN)/jupyter lab notebooks

bench: $(INSTALLED) ## runner overhead vs raw `yolo train` (bench/round_overhead.py)
	$(BIN)/python bench/round_overhead.py
