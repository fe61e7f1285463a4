# Shortcuts for the commands in README.md and CONTRIBUTING.md; each target runs exactly
# what the docs say, so the scripts stay the source of truth. `make` alone lists them.

.DEFAULT_GOAL := help
.PHONY: help stack test lint types check bench ci

help: ## list the targets
	@grep -E '^[a-z]+:.*## ' $(MAKEFILE_LIST) | awk -F ':.*## ' '{printf "  %-7s %s\n", $$1, $$2}'

stack: ## run the whole stack locally (scripts/run-stack; Ctrl-C stops it)
	./scripts/run-stack

test: ## run the test suite (scripts/test)
	./scripts/test

lint: ## ruff lint and format check, as CI runs them
	uv run ruff check . && uv run ruff format --check .

types: ## mypy (strict), as CI runs it
	uv run mypy

check: lint types test ## lint, types, then the tests

bench: ## the end-to-end benchmark (about 20 minutes; results in bench/results/)
	uv run --group bench python bench/bench_e2e.py

ci: ## what CI runs (.ci/run: installs, starts S3, lint, types, tests)
	.ci/run
