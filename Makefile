# The README's verbs. `make run` and `make test` set everything up on a fresh machine.
SHELL := /bin/bash
.DEFAULT_GOAL := help
export UV_PYTHON_DOWNLOADS := never
UV := $(shell command -v uv >/dev/null 2>&1 && echo uv || echo "python3 -m uv")
VENV := .venv
BIN := $(VENV)/bin
MERMAID := tools/mermaid
PYTEST_ARGS ?=
# pytest-xdist workers: one per core (tests/conftest.py keeps container and bench tests together).
PYTEST_WORKERS ?= $(shell nproc 2>/dev/null || echo 2)


.PHONY: help install lock system-deps guide-env base-image run serve lab test test-fast lint format bench bench-quick emulator rehearse clean

help: ## List the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-12s %s\n", $$1, $$2}'

$(BIN)/.installed: pyproject.toml requirements/dev.txt
	@command -v uv >/dev/null 2>&1 || python3 -m uv --version >/dev/null 2>&1 || python3 -m pip install --quiet uv
	@[ -x $(BIN)/python ] || $(UV) venv --quiet $(VENV)
	$(UV) pip sync --quiet --compile-bytecode --python $(BIN)/python --require-hashes requirements/dev.txt
	$(UV) pip install --quiet --python $(BIN)/python --no-deps -e .
	@touch $@

# mermaid's own parser (tests/test_mermaid.py), pinned by tools/mermaid/package-lock.json;
# installed by `make system-deps` (make test's background set-up), after node itself.
$(MERMAID)/node_modules/.package-lock.json: $(MERMAID)/package.json $(MERMAID)/package-lock.json
	@if command -v npm >/dev/null; then cd $(MERMAID) && npm ci --silent; \
	else echo "install: npm missing, so mermaid's parser is not installed (make system-deps)"; fi

install: $(BIN)/.installed ## Create .venv with every extra from the pinned requirements

lock: ## Re-resolve pyproject.toml into requirements/*.txt (pinned, hashed)
	bash scripts/lock.sh

system-deps: ## Install chromium, tmux, podman, node & co. (Debian, root) for the e2e/container/diagram tests
	@bash scripts/system-deps.sh
	@$(MAKE) --no-print-directory $(MERMAID)/node_modules/.package-lock.json

run: install ## The main job: emulated AWS stack + RAG service answering with citations
	$(BIN)/workbook run

serve: install ## Run the RAG service alone on $$PORT (default 8080)
	$(BIN)/workbook serve

lab: install ## Open JupyterLab on notebooks/
	$(BIN)/jupyter lab notebooks/

emulator: install ## Run a moto server on 127.0.0.1:5000 for the CLI and notebooks to share
	$(BIN)/workbook stack emulator --port 5000

# The project's own modules, compiled once: every process the tests start (kernels, tasks, CLIs)
# then reads bytecode instead of compiling them again (PYTHONDONTWRITEBYTECODE may be set, and
# it only stops writing); a module edited later is compiled afresh, as without this.
PY_SOURCES := service deploy emulator workbook quizzes bench tests
# The base image (podman) and the guide's PyTorch env (bench comparison) build in the background meanwhile.
# --no-loadscope-reorder keeps tests/xdist_groups.py's order: xdist would put the largest
# groups first, so the container group would start by waiting for that set-up.
test: ## Set up, then run every test (unit, API, deploy on moto, e2e, container); timed
	@started=$$(date +%s.%N); \
	$(MAKE) --no-print-directory install || exit $$?; \
	mkdir -p build; rm -f build/setup.done; \
	( $(MAKE) --no-print-directory base-image > build/setup.log 2>&1; echo $$? > build/setup.done ) & \
	( $(BIN)/python -m bench._guide_env > build/guide-env.log 2>&1 || true ) & \
	$(BIN)/python -m compileall -q -j 0 $(PY_SOURCES) > /dev/null; \
	tests_started=$$(date +%s.%N); \
	WORKBOOK_SETUP_PENDING=$(CURDIR)/build/setup.done \
	$(BIN)/pytest -n $(PYTEST_WORKERS) --dist loadgroup --no-loadscope-reorder --durations=30 $(PYTEST_ARGS); rc=$$?; \
	wait; \
	if [ $$rc -eq 5 ]; then echo "pytest: no tests collected"; rc=0; fi; \
	$(BIN)/python -m bench.suite record $$started $$tests_started $$rc $(PYTEST_WORKERS); \
	exit $$rc

guide-env: install ## Build build/guide-venv: the guide's PyTorch embedder, for the comparison
	@$(BIN)/python -m bench._guide_env >/dev/null

base-image: system-deps ## Make the local Python base image the container tests build on (podman)
	@if command -v podman >/dev/null && command -v debootstrap >/dev/null; then \
		bash scripts/podman-base-image.sh; \
	else echo "base-image: podman or debootstrap missing (the container tests say why)"; fi

test-fast: install ## Tests without the browser and container layers
	@$(BIN)/pytest -m "not e2e and not container" $(PYTEST_ARGS); rc=$$?; [ $$rc -eq 5 ] && rc=0; exit $$rc

lint: install ## ruff, hadolint, actionlint
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/hadolint Dockerfile compose/moto.Dockerfile compose/lab.Dockerfile
	$(BIN)/actionlint

rehearse: install system-deps ## Rehearse the deploy workflow (aws.yml) locally: podman + local registry + moto
	$(BIN)/workbook stack rehearse --base-image "$${PYTHON_IMAGE:-$$(bash scripts/podman-base-image.sh)}"

format: install ## Format the code
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

bench: install ## Run the benchmarks and rewrite BENCHMARKS.md
	$(BIN)/python -m bench.run

bench-quick: install ## Every benchmark once, quickly (catches a benchmark that no longer runs)
	$(BIN)/python -m bench.run --quick

clean: ## Remove build output and caches
	rm -rf build .pytest_cache .ruff_cache htmlcov .coverage
