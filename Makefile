# yolo-workbook. On a fresh machine `make demo` and `make test` are all the set-up:
# both create .venv and install the project into it when needed.
.DEFAULT_GOAL := help
SHELL := /bin/bash

PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
INSTALLED := $(VENV)/.installed
PROFILE ?= demo

.PHONY: help install demo demo-data pipeline test test-fast lint format lab bench

help: ## list the targets
	@grep -hE '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-11s %s\n", $$1, $$2}'

$(INSTALLED): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	@touch $@

install: $(INSTALLED) ## create .venv and install the project (editable) with dev tools

demo-data: $(INSTALLED) ## write the synthetic demo datasets and video
	$(BIN)/yolo-workbook demo-data --size demo

demo: demo-data ## run the whole workbook on the demo data (outputs/demo/)
	$(BIN)/yolo-workbook pipeline --profile demo
	$(BIN)/yolo-workbook compare --profile demo

pipeline: $(INSTALLED) ## run every round on PROFILE (default demo)
	$(BIN)/yolo-workbook pipeline --profile $(PROFILE)

test: $(INSTALLED) ## lint, then every test (unit, notebooks via papermill and nbval, demo learnability)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/python -m pytest

test-fast: $(INSTALLED) ## unit tests only (no training, no kernels)
	$(BIN)/python -m pytest -m "not slow and not notebook"

lint: $(INSTALLED) ## ruff check and format check (notebooks included)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: $(INSTALLED) ## ruff fix and format
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

lab: $(INSTALLED) ## start JupyterLab in this environment
	$(BIN)/jupyter lab notebooks

bench: $(INSTALLED) ## runner overhead vs raw `yolo train` (bench/round_overhead.py)
	$(BIN)/python bench/round_overhead.py
