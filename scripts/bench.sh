#!/usr/bin/env bash
# bench.sh: the speed measurements of docs/benchmarks.md, in one run, with the machine's load before and after.
# PyTorch's figures need scripts/torch-bench-setup.sh first (without it the Go figures are still measured).
#
#   scripts/bench.sh [ROUNDS]     # ROUNDS alternations of ours and PyTorch's (default 2)
#
# What it runs:
#   1. the tiny UNet's forward, VJP and JVP at batch 1 and 8, PyTorch timed right after each of ours;
#   2. the per-op-kind profile at batch 8, with this project's pure-Go kernels off (simplego's own) and on;
#   3. one LOCO edit (inversion, DDIM to the edit time, direction, decode): ours, then the authors' code.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
rounds="${1:-2}"
python="${LOCO_TORCH_PYTHON:-/usr/bin/python3}"
say() { printf '\n== %s (%s; load: %s)\n' "$1" "$(date -u '+%F %T UTC')" "$(cut -d' ' -f1-3 /proc/loadavg 2>/dev/null)"; }

say "machine"
nproc
grep -m1 'model name' /proc/cpuinfo || true
go version

say "tiny UNet, ours and PyTorch"
go test -run XXX -bench 'TinyUNet' -benchtime 5x -count "$rounds" ./hf/diffusers

for k in 0 1; do
	say "per-op profile, batch 8, LOCO_GO_KERNELS=$k"
	LOCO_GO_KERNELS=$k LOCO_TORCH=0 LOCO_OP_PROFILE=1 \
		go test -run XXX -bench 'TinyUNet/.*/batch=8' -benchtime 3x -v ./hf/diffusers | grep -v '^=== RUN'
done

say "one LOCO edit, ours"
go test -run XXX -bench AuthorsEdit -benchtime 1x -count "$rounds" ./loco

if [[ -f build/loco-edit/src/modules/edit.py && -f build/diffusers/src/diffusers/models/unets/unet_2d.py ]]; then
	for threads in 2 1; do
		say "one LOCO edit, the authors' code, $threads threads"
		"$python" scripts/authors-edit-bench.py --loco-src build/loco-edit/src --diffusers-src build/diffusers/src \
			--model testdata/golden/tiny-ddpm-unet --golden testdata/golden/golden.safetensors --threads "$threads"
	done
else
	echo "(no build/loco-edit or build/diffusers: run scripts/torch-bench-setup.sh for the authors' code)"
fi
say "done"
