# nba-mlops: `make help` lists the targets.
SHELL := /bin/bash
.DEFAULT_GOAL := help
UV := $(shell command -v uv 2>/dev/null || echo "$(HOME)/.local/bin/uv")
export NBA_MLOPS_HOME ?= $(CURDIR)/var

.PHONY: help
help: ## List the targets
	@grep -hE '^[a-zA-Z_-]+:.*?## ' $(MAKEFILE_LIST) | awk 'BEGIN {FS = ":.*?## "} {printf "  \033[36m%-14s\033[0m %s\n", $$1, $$2}'

.PHONY: deps
deps: ## Install the locked Python and web dependencies
	@command -v uv >/dev/null 2>&1 || test -x "$(UV)" || python3 -m pip install --quiet --user uv
	$(UV) sync --frozen
	@if [ ! -d web/node_modules ] || [ web/package-lock.json -nt web/node_modules/.package-lock.json ]; then \
		npm ci --prefix web --no-audit --no-fund; fi

.PHONY: web
web: deps ## Build the court page when the build is missing or older than its sources
	@if [ ! -f web/dist/index.html ] || [ -n "$$(find web/src web/index.html web/package.json -newer web/dist/index.html 2>/dev/null | head -1)" ]; then \
		npm run --prefix web build; else echo "web page is up to date"; fi

.PHONY: up
up: web ## Ingest the bundled sample, train and promote a champion, batch-predict, then serve the API and court page
	$(UV) run nba-mlops pipeline --sample
	$(UV) run nba-mlops serve

.PHONY: serve
serve: web ## Serve the API and court page on the current state
	$(UV) run nba-mlops serve

.PHONY: lint
lint: deps ## Ruff (lint + format check) and mypy
	$(UV) run ruff check src tests bench scripts
	$(UV) run ruff format --check src tests bench scripts
	$(UV) run mypy

.PHONY: test
test: lint ## Lint, type-check, then every test: unit, data, model, integration, PostgreSQL, browser, monitoring
	npm test --prefix web
	$(UV) run pytest -n 2 --dist loadgroup

.PHONY: bench
bench: deps ## Run the benchmarks that print the figures in docs/benchmarks.md
	@command -v wrk >/dev/null 2>&1 || (apt-get update -qq && apt-get install -y -qq --no-install-recommends wrk)
	$(UV) run python bench/bench_model.py
	$(UV) run python bench/bench_ingest.py
	$(UV) run python bench/bench_api.py

.PHONY: clean
clean: ## Remove the local state under var/ (keeps sources)
	rm -rf var
