#!/usr/bin/env bash
# test.sh: the project's test command (README, .ci/run). Sets up what the notebook tests need (Jupyter,
# GoNB, Fashion-MNIST; idempotent), then vets and runs every Go test, including the end-to-end checks against
# the golden references and the headless notebook run.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
scripts/setup.sh
export PATH="$PATH:$(go env GOPATH)/bin"
go vet ./...
go test -timeout 80m ./...
