# The two commands of the README. Both set up first (idempotent, quick when done).
.PHONY: setup setup-model sandbox serve test lint format bench

VENV ?= .venv
PY := $(VENV)/bin/python

setup:
	@scripts/setup.sh

# Adds torch (CPU wheel) and transformers: the reward-model scorer, train-rm and the trainer.
setup-model:
	@scripts/setup.sh --model

# Docker Engine running and the sandbox image built (debootstrap, a few minutes once).
sandbox: setup
	@scripts/docker.sh
	@$(PY) -m sandbox.image >/dev/null

WORKERS ?= $(shell nproc)
# The main job: the gRPC reward server on 127.0.0.1:50051 (Docker, image and pools set up first).
serve: sandbox
	$(PY) server.py --workers $(WORKERS)

lint: setup
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

test: setup-model lint sandbox
	$(PY) -m pytest -q

format: setup
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

# The math checker's accuracy, then the standard `verirl bench` runs (servers on loopback; Docker
# and the model extra needed), whose tables replace the "verirl bench" section of docs/benchmarks.md.
bench: setup-model sandbox
	$(PY) -m bench.math_accuracy
	$(PY) -m bench.standard --doc docs/benchmarks.md --out runs/bench
