#!/usr/bin/env bash
# run-notebooks.sh: execute GoNB notebooks headless and fail on any error in them.
#
# Usage: scripts/run-notebooks.sh [options] [notebook.ipynb...]
#
# With no notebooks, runs every notebooks/*.ipynb (not notebooks/testdata/). For each notebook:
#   1. `jupyter nbconvert --execute` with the repo's kernel (kernels/gonb-cpu by default) writes the
#      executed copy to the output folder (build/notebooks/ by default); the source is never changed.
#      Its log goes next to it as <name>.log.
#   2. scripts/check-notebook.py fails the notebook on any error output, "exit status N" / "signal: ..."
#      line or "panic:" on stderr (GoNB v0.11.1 does not report run-time failures to Jupyter).
#   3. If it passed, scripts/extract-figures.py writes its image/png outputs to
#      docs/figures/<name>-<n>.png, and with --publish, scripts/publish-notebook.py writes the copy for
#      readers (outputs kept, run-only details removed, a first cell saying how, where and when it ran).
# Prints PASS/FAIL with the wall time of each notebook and a summary; exits 1 if any notebook failed.
#
# Options:
#   --quick          quick mode: exports LOCO_QUICK=1, which notebooks read (nbutil.Quick()).
#   --out DIR        folder for executed notebooks and logs (default: build/notebooks).
#   --figures DIR    folder for extracted PNG figures (default: docs/figures).
#   --no-figures     do not extract figures.
#   --publish DIR    also write the executed copies for readers to DIR (scripts/publish-notebooks.sh uses
#                    docs/notebooks).
#   --kernel NAME    kernel to run with (default: gonb-cpu; gonb-cuda for GPU machines).
#   -h, --help       show this help.
# Environment: LOCO_NB_TIMEOUT sets the per-cell timeout in seconds (default 900).
#
# Needs jupyter (nbconvert) and gonb: install them with scripts/setup.sh.
set -uo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
out="$root/build/notebooks"
figures="$root/docs/figures"
publish=""
kernel="gonb-cpu"
timeout="${LOCO_NB_TIMEOUT:-900}"
notebooks=()

usage() { sed -n '2,/^set -uo/{/^set -uo/d;s/^# \{0,1\}//;p}' "${BASH_SOURCE[0]}"; }
die() { printf 'run-notebooks: ERROR: %s\n' "$*" >&2; exit 2; }
now() { date +%s.%N; }
abspath() { case "$1" in /*) printf '%s\n' "$1" ;; *) printf '%s\n' "$PWD/$1" ;; esac; }

while [[ $# -gt 0 ]]; do
	case "$1" in
	--quick) export LOCO_QUICK=1 ;;
	--out) [[ $# -ge 2 ]] || die "--out needs a folder"; out="$(abspath "$2")"; shift ;;
	--figures) [[ $# -ge 2 ]] || die "--figures needs a folder"; figures="$(abspath "$2")"; shift ;;
	--no-figures) figures="" ;;
	--publish) [[ $# -ge 2 ]] || die "--publish needs a folder"; publish="$(abspath "$2")"; shift ;;
	--kernel) [[ $# -ge 2 ]] || die "--kernel needs a name"; kernel="$2"; shift ;;
	-h | --help) usage; exit 0 ;;
	--) shift; while [[ $# -gt 0 ]]; do notebooks+=("$(abspath "$1")"); shift; done; break ;;
	-*) die "unknown option $1 (see --help)" ;;
	*) notebooks+=("$(abspath "$1")") ;;
	esac
	shift
done

if [[ ${#notebooks[@]} -eq 0 ]]; then
	shopt -s nullglob
	notebooks=("$root"/notebooks/*.ipynb)
	shopt -u nullglob
	[[ ${#notebooks[@]} -gt 0 ]] || die "no notebooks found in $root/notebooks"
fi

# Tools: GoNB and goimports live in $(go env GOPATH)/bin (scripts/setup.sh puts them there), and
# Jupyter finds the project's kernels/ through JUPYTER_PATH.
command -v go >/dev/null 2>&1 || die "go not found on PATH: install Go 1.26 first"
gobin="$(go env GOBIN)"
[[ -n "$gobin" ]] || gobin="$(go env GOPATH)/bin"
export PATH="$PATH:$gobin"
export JUPYTER_PATH="$root${JUPYTER_PATH:+:$JUPYTER_PATH}"
command -v jupyter >/dev/null 2>&1 && jupyter nbconvert --version >/dev/null 2>&1 ||
	die "jupyter nbconvert not found: run scripts/setup.sh"
command -v gonb >/dev/null 2>&1 || die "gonb not found on PATH or in $gobin: run scripts/setup.sh"
[[ -f "$root/kernels/$kernel/kernel.json" ]] || die "unknown kernel $kernel: no $root/kernels/$kernel/kernel.json"
if [[ -x /usr/bin/python3 ]]; then python=/usr/bin/python3; else python=python3; fi

# Executed copies are named after the source notebook, so names must be unique in one run.
declare -A seen=()
for nb in "${notebooks[@]}"; do
	[[ -f "$nb" ]] || die "notebook $nb not found"
	name="$(basename "$nb" .ipynb)"
	[[ -z "${seen[$name]:-}" ]] || die "two notebooks named $name.ipynb in one run: ${seen[$name]} and $nb"
	seen[$name]="$nb"
done
mkdir -p "$out" || die "cannot create $out"
if [[ -n "$publish" ]]; then
	mkdir -p "$publish" || die "cannot create $publish"
	cpu="$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo 2>/dev/null | head -n 1)"
	note="run headless by scripts/run-notebooks.sh on $(date -u +%F), kernel $kernel, $( [[ -n "${LOCO_QUICK:-}" ]] && echo "quick mode (LOCO_QUICK=1)" || echo "full mode"), ${cpu:-unknown CPU} with $(nproc) cores"
fi

echo "run-notebooks: kernel $kernel, quick=${LOCO_QUICK:-0}, output in $out"
passed=0
failed=0
summary=()
total0="$(now)"
for nb in "${notebooks[@]}"; do
	name="$(basename "$nb" .ipynb)"
	executed="$out/$name.ipynb"
	log="$out/$name.log"
	rm -f "$executed"
	echo "--- $name: running $nb"
	t0="$(now)"
	jupyter nbconvert --to notebook --execute \
		--ExecutePreprocessor.kernel_name="$kernel" \
		--ExecutePreprocessor.timeout="$timeout" \
		--output-dir="$out" --output="$name" "$nb" >"$log" 2>&1
	rc=$?
	secs="$(awk -v a="$t0" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }')"
	status=PASS
	if [[ $rc -ne 0 || ! -f "$executed" ]]; then
		status=FAIL
		if grep -q 'CellExecutionError: ' "$log"; then
			# A cell failed to build or reported an error: show that, not the Python traceback.
			echo "$name: jupyter nbconvert exited with status $rc; the failing cell, from $log:"
			sed -n '/CellExecutionError: /,$p' "$log" | head -n 60 | sed 's/^/    /'
		else
			echo "$name: jupyter nbconvert exited with status $rc; last lines of $log:"
			tail -n 40 "$log" | sed 's/^/    /'
		fi
	elif ! "$python" "$root/scripts/check-notebook.py" "$executed"; then
		status=FAIL
	elif [[ -n "$figures" ]]; then
		if ! "$python" "$root/scripts/extract-figures.py" "$executed" "$figures" | sed "s|^|$name: figure |"; then
			status=FAIL
		fi
	fi
	if [[ $status == PASS && -n "$publish" ]]; then
		if ! "$python" "$root/scripts/publish-notebook.py" --note "$note" "$executed" "$publish" | sed "s|^|$name: published |"; then
			status=FAIL
		fi
	fi
	if [[ $status == PASS ]]; then passed=$((passed + 1)); else failed=$((failed + 1)); fi
	line="$(printf '%-4s %-40s %8s s' "$status" "$name" "$secs")"
	echo "$line"
	summary+=("$line")
done
total="$(awk -v a="$total0" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }')"

echo "=== notebook summary ==="
printf '%s\n' "${summary[@]}"
echo "total: ${#notebooks[@]} notebook(s), $passed PASS, $failed FAIL, $total s"
[[ $failed -eq 0 ]]
