#!/usr/bin/env bash
# torch-bench-setup.sh: prepares what the benchmarks need to time PyTorch beside the Go code: diffusers' source
# (v0.29.2) in build/diffusers for the UNet benchmarks (hf/diffusers/torchbench_test.go), the LOCO-Edit authors'
# code (commit 1990977) in build/loco-edit for scripts/authors-edit-bench.py, and a check that PyTorch loads.
# Both are only read by the Python scripts, never by the Go code. Debian: apt-get install python3-torch
# python3-numpy python3-torchvision python3-yaml.
#
#   scripts/torch-bench-setup.sh [DIFFUSERS_GIT_URL_OR_CLONE [LOCO_EDIT_GIT_URL_OR_CLONE]]
#
# Afterwards: scripts/bench.sh (or go test -run XXX -bench TinyUNet -benchtime 5x -count 2 ./hf/diffusers).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
python="${LOCO_TORCH_PYTHON:-/usr/bin/python3}"
source="${1:-https://github.com/huggingface/diffusers}"
loco_source="${2:-https://github.com/ChicyChen/LOCO-Edit}"
tag=v0.29.2
loco_commit=1990977
mkdir -p build
if [[ ! -f build/diffusers/src/diffusers/models/unets/unet_2d.py ]]; then
	rm -rf build/diffusers.tmp
	git clone --quiet --depth 1 --branch "$tag" "$source" build/diffusers.tmp
	mv build/diffusers.tmp build/diffusers
fi
if [[ ! -f build/loco-edit/src/modules/edit.py ]]; then
	rm -rf build/loco-edit.tmp
	git clone --quiet "$loco_source" build/loco-edit.tmp
	git -C build/loco-edit.tmp checkout --quiet "$loco_commit"
	mv build/loco-edit.tmp build/loco-edit
fi
"$python" -c 'import torch, numpy; print("PyTorch", torch.__version__, "numpy", numpy.__version__)' || {
	echo "torch-bench-setup: $python cannot import torch and numpy (Debian: apt-get install python3-torch python3-numpy)" >&2
	exit 1
}
"$python" scripts/torch-unet-bench.py --diffusers-src build/diffusers/src --model testdata/golden/tiny-ddpm-unet \
	--batches 1 --passes forward --rounds 1 --min-seconds 0.1 >/dev/null
echo "ready: diffusers $tag in build/diffusers, LOCO-Edit $loco_commit in build/loco-edit; run scripts/bench.sh"
