# Every target CI and people use. `make setup` is idempotent: it reinstalls only when pyproject.toml or this
# file changed. Everything the tests need is installed here: a fresh machine has nothing else.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
EXTRAS := dev,bench,local,anthropic,gemini,postgres,milvus
# llama-cpp-python ships no wheel here and builds from source. Its default -march=native build dies with
# SIGILL on these VMs, so it is built portable, once, into a cache of our own: pip's wheel cache could hand
# back a wheel some earlier native build left there.
LLAMA_CPP_VERSION := 0.3.36
WHEELS := $(HOME)/.cache/plait/wheels
LLAMA_WHEEL_STAMP := $(WHEELS)/.llama-cpp-python-$(LLAMA_CPP_VERSION)-portable

.PHONY: setup run test bench lint format clean

setup: $(STAMP)

$(STAMP): pyproject.toml Makefile $(LLAMA_WHEEL_STAMP)
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip wheel
	# The CPU build of torch that lies on this machine's disk; an unpinned torch would pull a CUDA build.
	$(BIN)/python -m pip install --quiet "torch==2.13.0"
	# Pinned to the version built above, so a newer source release is never picked and built natively.
	$(BIN)/python -m pip install --quiet --find-links $(WHEELS) -e ".[$(EXTRAS)]" \
		"llama-cpp-python==$(LLAMA_CPP_VERSION)"
	touch $(STAMP)

$(LLAMA_WHEEL_STAMP):
	mkdir -p $(WHEELS)
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	CMAKE_ARGS="-DGGML_NATIVE=OFF" $(BIN)/python -m pip wheel --quiet --no-deps --no-cache-dir \
		--no-binary llama-cpp-python "llama-cpp-python==$(LLAMA_CPP_VERSION)" -w $(WHEELS)
	touch $(LLAMA_WHEEL_STAMP)

# The platform server with the embedded defaults: SQLite and the local model in ~/.plait, on 127.0.0.1:8000.
run: setup
	$(BIN)/plait serve

test: setup
	$(BIN)/python -m pytest; status=$$?; [ $$status -ne 5 ] || echo "pytest collected no tests"; exit $$status

bench: setup
	$(BIN)/python benchmarks/compose_overhead.py
	$(BIN)/python benchmarks/models.py
	$(BIN)/python benchmarks/retrieval.py
	$(BIN)/python benchmarks/server.py
	$(BIN)/python benchmarks/vector_search.py

lint: setup
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/ruff format --check src tests benchmarks
	$(BIN)/mypy

format: setup
	$(BIN)/ruff format src tests benchmarks
	$(BIN)/ruff check --fix src tests benchmarks

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
