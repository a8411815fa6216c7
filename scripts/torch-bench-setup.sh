#!/usr/bin/env bash
# torch-bench-setup.sh: prepares what the UNet benchmarks need to time PyTorch beside the Go code
# (hf/diffusers/torchbench_test.go): diffusers' source (v0.29.2, only read, never imported by the Go code) in
# build/diffusers, and a check that PyTorch loads. Debian: apt-get install python3-torch python3-numpy.
#
#   scripts/torch-bench-setup.sh [DIFFUSERS_GIT_URL_OR_LOCAL_CLONE]
#
# Afterwards: go test -run XXX -bench TinyUNet -benchtime 5x -count 2 ./hf/diffusers
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
python="${LOCO_TORCH_PYTHON:-/usr/bin/python3}"
source="${1:-https://github.com/huggingface/diffusers}"
tag=v0.29.2
if [[ ! -f build/diffusers/src/diffusers/models/unets/unet_2d.py ]]; then
	mkdir -p build
	rm -rf build/diffusers.tmp
	git clone --quiet --depth 1 --branch "$tag" "$source" build/diffusers.tmp
	mv build/diffusers.tmp build/diffusers
fi
"$python" -c 'import torch, numpy; print("PyTorch", torch.__version__, "numpy", numpy.__version__)' || {
	echo "torch-bench-setup: $python cannot import torch and numpy (Debian: apt-get install python3-torch python3-numpy)" >&2
	exit 1
}
"$python" scripts/torch-unet-bench.py --diffusers-src build/diffusers/src --model testdata/golden/tiny-ddpm-unet \
	--batches 1 --passes forward --rounds 1 --min-seconds 0.1 >/dev/null
echo "ready: diffusers $tag in build/diffusers; go test -run XXX -bench TinyUNet ./hf/diffusers times PyTorch beside the Go UNet"
