#!/usr/bin/env bash
# clear-notebooks.sh: strip outputs, execution counts and run metadata from notebooks, in place,
# before committing them.
#
# Usage: scripts/clear-notebooks.sh [notebook.ipynb...]
# With no arguments, clears notebooks/*.ipynb and notebooks/testdata/*.ipynb.
#
# Runs `jupyter nbconvert --clear-output --inplace` and also removes what an execution adds besides
# outputs: the per-cell "execution" timestamps, and the kernel's language_info details (Go version)
# down to language_info.name. Notebook-level metadata other than kernelspec and language_info.name
# is dropped; cell metadata (tags, ...) is kept. A cleared notebook is left byte-for-byte unchanged.
# Needs jupyter nbconvert (scripts/setup.sh installs it).
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
if [[ $# -eq 0 ]]; then
	shopt -s nullglob
	set -- "$root"/notebooks/*.ipynb "$root"/notebooks/testdata/*.ipynb
	shopt -u nullglob
fi
[[ $# -gt 0 ]] || { echo "clear-notebooks: no notebooks found" >&2; exit 2; }
jupyter nbconvert --version >/dev/null 2>&1 || {
	echo "clear-notebooks: jupyter nbconvert not found: run scripts/setup.sh" >&2
	exit 2
}

config="$(mktemp -d)"
trap 'rm -rf "$config"' EXIT
cat >"$config/clear_config.py" <<'PY'
c.ClearOutputPreprocessor.remove_metadata_fields = {"collapsed", "scrolled", "execution"}
c.ClearMetadataPreprocessor.enabled = True
c.ClearMetadataPreprocessor.clear_cell_metadata = False
c.ClearMetadataPreprocessor.preserve_nb_metadata_mask = {"kernelspec", ("language_info", "name")}
PY
jupyter nbconvert --config="$config/clear_config.py" --clear-output --inplace --log-level=WARN "$@"
echo "clear-notebooks: cleared $# notebook(s)"
