# The entry points: `make dev` runs the shop locally, `make test` runs every test. Both set up from nothing.
SHELL := /bin/bash
.DEFAULT_GOAL := help

PYTHON ?= python3.13
VENV ?= .venv
BIN := $(VENV)/bin
# The deployed stack, for seed and publish-frontend: samconfig.toml's (or CONFIG_FILE's) stack, region and
# profile unless given.
STACK_ARGS = $(if $(CONFIG_FILE),--config-file $(CONFIG_FILE)) $(if $(STACK_NAME),--stack-name $(STACK_NAME)) \
	$(if $(REGION),--region $(REGION)) $(if $(PROFILE),--profile $(PROFILE))
export SAM_CLI_TELEMETRY := 0

.PHONY: help venv chromium dev test lint scan bench format build deploy seed publish-frontend invoke clean

help: ## Show the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-18s %s\n", $$1, $$2}'

$(VENV)-scan/bin/.installed: requirements-scan.txt
	$(PYTHON) -m venv $(VENV)-scan
	$(VENV)-scan/bin/pip install --quiet -r requirements-scan.txt
	touch $@

$(BIN)/.installed: requirements-dev.txt functions/*/requirements.txt
	@command -v $(PYTHON) >/dev/null || { echo "$(PYTHON) not found: install Python 3.13 (the Lambda runtime's version)"; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -r requirements-dev.txt
	touch $@

venv: $(BIN)/.installed ## Create .venv with the pinned packages

chromium: ## Install Debian's Chromium for the browser tests, if missing
	@command -v chromium >/dev/null || { \
	  echo "Installing Chromium (Debian package) for the browser tests"; \
	  SUDO=$$([ "$$(id -u)" = 0 ] || echo sudo); \
	  $$SUDO apt-get update -qq && $$SUDO apt-get install -y -qq chromium >/dev/null; }

dev: venv ## Run the whole shop locally: embedded AWS, API on :3000, frontend on :8080 (options: DEV_ARGS=...)
	$(BIN)/python -m tools.local $(DEV_ARGS)

test: venv chromium ## Run every test: unit, integration (moto), template and build, local stack, browser
	$(BIN)/pytest

lint: venv scan ## ruff, mypy, `sam validate --lint` and the checkov scan
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/sam validate --lint

scan: $(VENV)-scan/bin/.installed ## checkov on template.yml: every finding fixed or skipped with a reason
	$(VENV)-scan/bin/checkov --file template.yml --framework cloudformation --quiet --compact --skip-download

format: venv ## Apply ruff's fixes and formatting
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

build: venv ## sam build: arm64 wheels and Python 3.13 bytecode (functions/Makefile), dependencies cached
	$(BIN)/sam build

deploy: build ## sam deploy (the first time: `make deploy DEPLOY_ARGS=--guided`)
	$(BIN)/sam deploy $(DEPLOY_ARGS)

seed: venv ## Put data/gigs.json into the deployed stack's table (options: CONFIG_FILE= STACK_NAME= REGION= PROFILE=)
	$(BIN)/python -m tools.seed $(STACK_ARGS)

publish-frontend: venv ## Upload frontend/ to the deployed stack's bucket and invalidate CloudFront
	$(BIN)/python -m tools.publish_frontend $(STACK_ARGS)

bench: build ## Benchmarks: cold init and warm purchase against bare boto3 handlers, zipped sizes, a worker batch
	$(BIN)/python -m benchmarks.worker_batch
	$(BIN)/python -m benchmarks.cold_start
	$(BIN)/python -m benchmarks.warm_purchase

invoke: venv ## Run one function on one event against the embedded AWS: make invoke FUNCTION=PurchaseFunction EVENT=events/purchase-valid.json
	@$(BIN)/python -m tools.local.invoke $(FUNCTION) $(EVENT)

clean: ## Remove the venv, build output and local state
	rm -rf $(VENV) $(VENV)-scan .aws-sam .local .pytest_cache .mypy_cache .ruff_cache .hypothesis
	find functions tools tests benchmarks -name __pycache__ -type d -prune -exec rm -rf {} +
