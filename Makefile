# nba-mlops: `make help` lists the targets.
SHELL := /bin/bash
.DEFAULT_GOAL := help
UV := $(shell command -v uv 2>/dev/null || echo "$(HOME)/.local/bin/uv")
export NBA_MLOPS_HOME ?= $(CURDIR)/var

.PHONY: help
help: ## List the targets
	@grep -hE '^[a-zA-Z_-]+:.*?## ' $(MAKEFILE_LIST) | awk 'BEGIN {FS = ":.*?## "} {printf "  \033[36m%-14s\033[0m %s\n", $$1, $$2}'

# The port `make up` and `make serve` listen on: `make up PORT=8010`.
export NBA_MLOPS_PORT ?= $(or $(PORT),8000)
# Written once the environment is installed and byte-compiled (see deps).
DEPS_STAMP := .venv/.nba-mlops-deps

.PHONY: deps
deps: ## Install the locked Python and web dependencies
	@command -v uv >/dev/null 2>&1 || test -x "$(UV)" || python3 -m pip install --quiet --user uv
	@# Byte-compiled at install time (as pip does), not by the first run of every module:
	@# that first run would otherwise pay seconds of compiling, more where bytecode is
	@# never written (PYTHONDONTWRITEBYTECODE).
	@if [ ! -f $(DEPS_STAMP) ] || [ uv.lock -nt $(DEPS_STAMP) ]; then \
		$(UV) sync --frozen --compile-bytecode && \
		$(UV) run --no-sync python -m compileall -q src >/dev/null && touch $(DEPS_STAMP); \
	else $(UV) sync --frozen --quiet; fi
	@if [ ! -d web/node_modules ] || [ web/package-lock.json -nt web/node_modules/.package-lock.json ]; then \
		npm ci --prefix web --no-audit --no-fund; fi

.PHONY: web
web: deps ## Build the court page when the build is missing or older than its sources
	@# Type-checking the page is part of `make lint`; the build itself only bundles.
	@if [ ! -f web/dist/index.html ] || [ -n "$$(find web/src web/public web/index.html web/package.json web/vite.config.ts -newer web/dist/index.html 2>/dev/null | head -1)" ]; then \
		npm run --prefix web --silent bundle; fi

.PHONY: up
up: web ## Ingest the bundled sample, train and promote a champion, batch-predict, then serve the API and court page
	@$(UV) run --no-sync nba-mlops up

.PHONY: serve
serve: web ## Serve the API and court page on the current state
	@$(UV) run --no-sync nba-mlops serve --port $(NBA_MLOPS_PORT)

.PHONY: lint
lint: deps ## Ruff (lint + format check), mypy, the layers' imports and the court page's type check
	$(UV) run ruff check src tests bench scripts
	$(UV) run ruff format --check src tests bench scripts
	$(UV) run mypy
	$(UV) run lint-imports
	npm run --prefix web --silent typecheck

.PHONY: test-deps
test-deps: ## Install and start what the tests need beyond `make deps` (Debian; root or sudo)
	bash scripts/install_test_deps.sh

.PHONY: test
test: lint ## Lint, type-check, then every test (tests/<capability>), PostgreSQL, browser and monitoring tools included
	npm test --prefix web
	$(UV) run pytest -n 2 --dist loadgroup $(PYTEST_ARGS)

.PHONY: bench
bench: deps ## Run the benchmarks that print the figures in docs/benchmarks.md
	@command -v wrk >/dev/null 2>&1 || (apt-get update -qq && apt-get install -y -qq --no-install-recommends wrk)
	$(UV) run python bench/bench_model.py
	$(UV) run python bench/bench_ingest.py
	$(UV) run python bench/bench_api.py
	@command -v haproxy >/dev/null 2>&1 || (apt-get update -qq && apt-get install -y -qq --no-install-recommends haproxy)
	$(UV) run python bench/bench_balancer.py

.PHONY: clean
clean: ## Remove the local state under var/ (keeps sources)
	rm -rf var
