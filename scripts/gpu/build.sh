#!/usr/bin/env bash
# build.sh: builds what the GPU run (scripts/gpu/run.sh) carries to the GPU machine, into build/gpu (ignored by
# git): the loco and gpucheck binaries (cgo, so the XLA/PJRT backend is in; stripped and xz-compressed), the
# Fashion-MNIST training split, and the PyTorch reference (diffusers' src/diffusers without pipelines/, xz tar).
#
# Usage: scripts/gpu/build.sh [--diffusers-src DIR] [--out DIR] [--limit-mib N]
#   --diffusers-src  a diffusers source folder (its src/, e.g. from git clone -b v0.29.2
#                    https://github.com/huggingface/diffusers); default $DIFFUSERS_SRC; without it the run skips
#                    the PyTorch side
#   --out            default build/gpu
#   --limit-mib      refuse a build larger than this (default 40: the device tool carries 64 MiB in all,
#                    the repository's tracked files included)
#   --skip-go        keep the binaries already built (only data and diffusers)
#   --no-data        carry no Fashion-MNIST (the dry run then trains on cmd/loco/testimages)
# XZ_LEVEL (default 9) sets the compression of the binaries.
# Then, on the GPU machine (device tool): scripts/gpu/run.sh with carry ["build/gpu"].
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
out=build/gpu
src=${DIFFUSERS_SRC:-}
limit=40
skip_go=0
no_data=0
while [[ $# -gt 0 ]]; do
	case $1 in
	--diffusers-src) src=$2; shift 2 ;;
	--out) out=$2; shift 2 ;;
	--limit-mib) limit=$2; shift 2 ;;
	--skip-go) skip_go=1; shift ;;
	--no-data) no_data=1; shift ;;
	*) echo "build.sh: unknown argument $1" >&2; exit 2 ;;
	esac
done
die() { echo "build.sh: $*" >&2; exit 1; }
command -v go >/dev/null || die "go not found"
command -v xz >/dev/null || die "xz not found (apt-get install xz-utils)"
[[ $(go env CGO_ENABLED) == 1 ]] && command -v "$(go env CC)" >/dev/null ||
	die "cgo is off or no C compiler: the XLA backend needs cgo (install gcc, CGO_ENABLED=1)"
mkdir -p "$out"
if ((!skip_go)); then
	rm -f "$out"/loco "$out"/gpucheck "$out"/*.xz
	t0=$(date +%s)
	for cmd in loco:./cmd/loco gpucheck:./scripts/gpu/gpucheck; do
		name=${cmd%%:*}
		# No -trimpath: it would rebuild every package instead of reusing the build cache of the tests.
		CGO_ENABLED=1 go build -ldflags="-s -w" -o "$out/$name" "${cmd#*:}"
		xz -T0 "-${XZ_LEVEL:-9}" -f "$out/$name"
	done
	echo "build.sh: binaries built in $(($(date +%s) - t0)) s"
fi

if [[ -n $src ]]; then
	[[ -f $src/__init__.py && $(basename "$src") == diffusers ]] && src=$(dirname "$src")
	[[ -f $src/diffusers/__init__.py ]] || die "--diffusers-src $src holds no diffusers/__init__.py"
	tar -C "$src" --exclude='diffusers/pipelines' --exclude='__pycache__' --exclude='*.pyc' -cf - diffusers | xz -T0 -9 >"$out/diffusers.tar.xz"
	version=$(sed -n 's/^__version__ = "\(.*\)"/\1/p' "$src/diffusers/__init__.py")
	echo "diffusers $version" >"$out/diffusers.version"
else
	rm -f "$out/diffusers.tar.xz" "$out/diffusers.version"
	echo "build.sh: no --diffusers-src: the run will skip the PyTorch side"
fi

fm=${FASHION_MNIST_DIR:-/usr/share/datasets/fashion-mnist}
rm -rf "$out/fashion-mnist"
((no_data)) || mkdir -p "$out/fashion-mnist"
((no_data)) || for f in train-images-idx3-ubyte train-labels-idx1-ubyte; do # xz: 4 MB smaller than the gzip files
	if [[ -f $fm/$f.gz ]]; then
		gzip -dc "$fm/$f.gz" | xz -T0 -9 >"$out/fashion-mnist/$f.xz"
	elif [[ -f $fm/$f ]]; then
		xz -T0 -9 -c "$fm/$f" >"$out/fashion-mnist/$f.xz"
	else
		die "Fashion-MNIST not found in $fm (apt-get install dataset-fashion-mnist, or set FASHION_MNIST_DIR)"
	fi
done

{
	echo "commit $(git rev-parse --short HEAD 2>/dev/null || echo unknown)$(git diff --quiet 2>/dev/null || echo +changes)"
	echo "built $(date -u +%Y-%m-%dT%H:%MZ) with $(go version | cut -d' ' -f3)"
} >"$out/MANIFEST"
kib=$(du -sk "$out" | cut -f1)
du -ah "$out" | sort -k2
echo "build.sh: $out is $((kib / 1024)) MiB ($kib KiB); tracked files $(($(git ls-files -z | xargs -0 du -cb 2>/dev/null | tail -1 | cut -f1) / 1048576)) MiB"
((kib <= limit * 1024)) || die "$out is larger than --limit-mib $limit"
