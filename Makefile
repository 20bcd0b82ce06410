# The two commands of the README. Both set up first (idempotent, quick when done).
.PHONY: setup serve test lint format bench

VENV ?= .venv
PY := $(VENV)/bin/python

setup:
	@scripts/setup.sh

# The main job. Until the gRPC server lands, this scores the bundled example file.
serve: setup
	$(VENV)/bin/verirl score --input examples/samples.jsonl --output -

lint: setup
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

test: lint
	$(PY) -m pytest -q

format: setup
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

bench: setup
	$(PY) -m bench.math_accuracy
