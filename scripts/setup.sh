#!/usr/bin/env bash
# setup.sh: idempotent set-up of the notebook tool chain on a Debian/Ubuntu machine.
#
# Installs (only what is missing):
#   - Jupyter from apt: jupyter-notebook jupyter-nbconvert jupyter-client python3-nbclient
#     python3-jupyter-client (skipped when `jupyter nbconvert --version` already works);
#   - the Fashion-MNIST data set from apt: dataset-fashion-mnist (skipped when installed);
#   - the browser test's tools from apt: chromium chromium-driver python3-selenium (skipped when installed;
#     where apt cannot install them, e.g. Ubuntu, whose Chromium is a snap, a warning says that the browser
#     test will be skipped, and setup goes on; under CI (CI set) that is an error);
#   - the Go tools pinned in tools/go.mod (gonb v0.11.1, goimports v0.52.0) and tools/gopls/go.mod (gopls
#     v0.23.0, for completion and hover in Jupyter) into $(go env GOPATH)/bin, with `go install tool`
#     (always run: it is quick when nothing changed);
#   - a warm-up build of the packages the notebooks import, so a notebook's first cell does not spend a minute
#     compiling them.
#
# Runs as root, or through sudo for the apt steps. Safe to run again: it prints what it did and how long
# each step took, and exits non-zero with a message when a step fails.
#
# Usage: scripts/setup.sh
set -euo pipefail

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
jupyter_pkgs=(jupyter-notebook jupyter-nbconvert jupyter-client python3-nbclient python3-jupyter-client)
data_pkgs=(dataset-fashion-mnist)
browser_pkgs=(chromium chromium-driver python3-selenium)

log() { printf 'setup: %s\n' "$*"; }
die() { printf 'setup: ERROR: %s\n' "$*" >&2; exit 1; }
now() { date +%s.%N; }
elapsed() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1f s", b - a }'; }

# sudo is only used when we are not root already.
if [[ "$(id -u)" -eq 0 ]]; then
	as_root=()
elif command -v sudo >/dev/null 2>&1; then
	as_root=(sudo)
else
	as_root=(false) # only fails if an apt step is actually needed
fi

apt_updated=0
# apt_install installs packages or dies; try_apt_install returns non-zero instead.
apt_install() { try_apt_install "$@" || die "apt-get install $* failed"; }
try_apt_install() {
	command -v apt-get >/dev/null 2>&1 ||
		die "apt-get not found: this script supports Debian/Ubuntu; install $* by hand"
	[[ "${as_root[*]}" != false ]] ||
		die "installing $* needs root: run this script as root or install sudo"
	export DEBIAN_FRONTEND=noninteractive
	if [[ $apt_updated -eq 0 ]]; then
		local t0
		t0="$(now)"
		"${as_root[@]}" apt-get update -q >/dev/null || die "apt-get update failed"
		log "apt-get update: $(elapsed "$t0")"
		apt_updated=1
	fi
	"${as_root[@]}" apt-get install -y -q --no-install-recommends "$@" >/dev/null
}

pkg_installed() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q 'install ok installed'; }

total0="$(now)"

# 1. Jupyter (nbconvert executes the notebooks headless).
t0="$(now)"
if jupyter nbconvert --version >/dev/null 2>&1; then
	log "jupyter nbconvert $(jupyter nbconvert --version 2>/dev/null) already installed: skipped"
else
	log "installing ${jupyter_pkgs[*]} ..."
	apt_install "${jupyter_pkgs[@]}"
	jupyter nbconvert --version >/dev/null 2>&1 || die "jupyter nbconvert still missing after apt-get install"
	log "installed jupyter nbconvert $(jupyter nbconvert --version 2>/dev/null): $(elapsed "$t0")"
fi

# 2. Data sets, then the browser test's tools (optional outside CI).
t0="$(now)"
missing=()
for p in "${data_pkgs[@]}"; do pkg_installed "$p" || missing+=("$p"); done
if [[ ${#missing[@]} -eq 0 ]]; then
	log "${data_pkgs[*]} already installed: skipped"
else
	log "installing ${missing[*]} ..."
	apt_install "${missing[@]}"
	log "installed ${missing[*]}: $(elapsed "$t0")"
fi
t0="$(now)"
missing=()
for p in "${browser_pkgs[@]}"; do pkg_installed "$p" || missing+=("$p"); done
if [[ ${#missing[@]} -eq 0 ]]; then
	log "${browser_pkgs[*]} already installed: skipped"
else
	log "installing ${missing[*]} ..."
	if (try_apt_install "${missing[@]}"); then
		log "installed ${missing[*]}: $(elapsed "$t0")"
	elif [[ -n "${CI:-}" ]]; then
		die "apt-get install ${missing[*]} failed: CI needs them for the browser test"
	else
		log "WARNING: apt-get install ${missing[*]} failed: the browser test (TestNotebooksInBrowser) will be skipped"
	fi
fi

# 3. Go tools at the versions pinned in tools/go.mod (gonb, goimports) and tools/gopls/go.mod (gopls needs
#    its own module: it pins an x/tools older than goimports').
command -v go >/dev/null 2>&1 || die "go not found on PATH: install Go 1.26 (https://go.dev/dl) first"
t0="$(now)"
(cd "$repo_root/tools" && go install tool) || die "go install tool (in tools/) failed"
(cd "$repo_root/tools/gopls" && go install tool) || die "go install tool (in tools/gopls/) failed"
gobin="$(go env GOBIN)"
[[ -n "$gobin" ]] || gobin="$(go env GOPATH)/bin"
for tool in gonb goimports gopls; do
	[[ -x "$gobin/$tool" ]] || die "$tool was not installed into $gobin"
done
log "go install tool (gonb, goimports, gopls -> $gobin): $(elapsed "$t0")"

# 4. Warm-up: compile the packages the notebooks import into the Go build cache, so that the first cell a
#    user runs in Jupyter starts in seconds instead of after a minute of compilation.
t0="$(now)"
(cd "$repo_root" && go build ./loco/... ./nbutil/... ./models/... ./data/...) ||
	die "warm-up build of the notebook packages failed"
log "warm-up build of the notebook packages: $(elapsed "$t0")"
case ":$PATH:" in
*":$gobin:"*) ;;
*) log "note: $gobin is not on PATH; scripts/run-notebooks.sh adds it, or: export PATH=\"\$PATH:$gobin\"" ;;
esac

log "done in $(elapsed "$total0")"
