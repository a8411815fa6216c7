#!/usr/bin/env bash
# publish-notebooks.sh: regenerate docs/notebooks/, the executed copies of the notebooks for readers (GitHub and
# nbviewer show them with their figures and numbers), and docs/figures/ from the same run.
#
# Usage: scripts/publish-notebooks.sh [--full] [notebook.ipynb...]
#
# Runs the given notebooks, or every notebooks/*.ipynb except 00-smoke (the tool-chain check), through
# scripts/run-notebooks.sh in quick mode, as CI does (--full: the full-size runs, several times longer), with the
# executed notebooks and logs in build/notebooks/, and publishes each one that passes to docs/notebooks/<name>.ipynb
# (scripts/publish-notebook.py). A notebook that fails keeps its previous copy, and the script exits 1. With no
# notebooks given, copies whose source notebook no longer exists are removed. Prints the folder's size at the end.
# Needs what run-notebooks.sh needs (scripts/setup.sh installs it).
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
published="$root/docs/notebooks"
mode=(--quick)
notebooks=()
while [[ $# -gt 0 ]]; do
	case "$1" in
	--full) mode=() ;;
	-h | --help) sed -n '2,/^set -euo/{/^set -euo/d;s/^# \{0,1\}//;p}' "${BASH_SOURCE[0]}"; exit 0 ;;
	-*) echo "publish-notebooks: unknown option $1 (see --help)" >&2; exit 2 ;;
	*) notebooks+=("$1") ;;
	esac
	shift
done
all=0
if [[ ${#notebooks[@]} -eq 0 ]]; then
	all=1
	for nb in "$root"/notebooks/*.ipynb; do
		[[ "$(basename "$nb")" == 00-smoke.ipynb ]] || notebooks+=("$nb")
	done
fi

rc=0
"$root/scripts/run-notebooks.sh" "${mode[@]}" --publish "$published" -- "${notebooks[@]}" || rc=$?
if [[ $all -eq 1 ]]; then
	for copy in "$published"/*.ipynb; do
		[[ -e "$copy" ]] || continue
		if [[ ! -f "$root/notebooks/$(basename "$copy")" ]]; then
			rm -f "$copy"
			echo "publish-notebooks: removed $copy (its notebook is gone)"
		fi
	done
fi
echo "publish-notebooks: docs/notebooks/ holds $(find "$published" -name '*.ipynb' | wc -l) notebooks, $(du -sh "$published" | cut -f1) in all"
exit "$rc"
