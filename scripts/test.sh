#!/usr/bin/env bash
# test.sh: the project's test command (README, .ci/run). Sets up what the notebook tests need (Jupyter,
# GoNB, Fashion-MNIST; idempotent), then vets and runs every Go test, including the end-to-end checks against
# the golden references, the headless notebook run and the browser test.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
scripts/setup.sh
export PATH="$PATH:$(go env GOPATH)/bin"
go vet ./...
# The browser test (notebooks: TestNotebooksInBrowser, about 2 minutes) opens the notebooks in Jupyter Notebook in
# headless Chromium. It needs Debian's chromium, chromium-driver and python3-selenium, which setup.sh installs; where
# they could not be installed it is skipped (under CI it fails instead).
if [[ -x /usr/bin/chromium && -x /usr/bin/chromedriver ]] && /usr/bin/python3 -c 'import selenium' 2>/dev/null; then
	echo "test.sh: the browser test runs (chromium, chromedriver and selenium found)"
else
	echo "test.sh: SKIPPING the browser test: chromium, chromium-driver or python3-selenium is missing" \
		"(scripts/setup.sh installs them with apt-get)"
fi
go test -timeout 80m ./...
