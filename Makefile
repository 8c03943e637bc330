# Two entry points that work on a fresh clone: `make demo` and `make test`.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: install demo test services bench provider-info lint clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

demo: install
	bash scripts/demo.sh

services:
	bash scripts/services.sh

test: install services
	$(BIN)/python -m pytest

bench: install services
	$(BIN)/python benchmarks/run.py

provider-info: install
	$(BIN)/python -m airflow_etl_provider.ui_fields

lint: install
	$(BIN)/ruff check airflow_etl_provider tests dags plugins benchmarks
	$(BIN)/ruff format --check airflow_etl_provider tests dags plugins benchmarks
	$(BIN)/mypy airflow_etl_provider

clean:
	rm -rf airflow_home output
