# Tether's everyday commands. `make help` lists them.
.DEFAULT_GOAL := help
PG_URL ?= postgres://postgres@127.0.0.1:5432/test?sslmode=disable

.PHONY: help demo test test-postgres test-race lint build ci

help: ## List the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-14s %s\n", $$1, $$2}'

demo: ## Start Tether with embedded SQLite, the sandbox provider and demo connections
	go run ./cmd/tether demo

test: ## Run the tests (SQLite; PostgreSQL too when TETHER_TEST_POSTGRES_URL is set)
	go test ./...

test-postgres: ## Run the tests with the PostgreSQL suites against PG_URL
	TETHER_TEST_POSTGRES_URL='$(PG_URL)' go test ./...

test-race: ## Run the tests with the race detector
	go test -race ./...

lint: ## go vet, gofmt and golangci-lint (when installed)
	go vet ./...
	@test -z "$$(gofmt -l .)" || (gofmt -l . && false)
	@if command -v golangci-lint >/dev/null; then golangci-lint run; else echo "golangci-lint not installed: skipped"; fi

build: ## Build bin/tether
	go build -o bin/tether ./cmd/tether

ci: ## Run what CI runs
	bash .ci/run
