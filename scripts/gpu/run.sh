#!/usr/bin/env bash
# run.sh: the prepared GPU run. On the GPU machine (no Go, no network; Python 3 with jax-cuda13-pjrt, torch):
#   1. env            find the PJRT CUDA plugin in the Python environment, the CUDA data dir (libdevice), ptxas and
#                     the NVIDIA libraries; set GOMLX_BACKEND=xla:<abs plugin path>, GOMLX_NO_AUTO_INSTALL=1,
#                     GOPJRT_CUDA_CHECKS=0, XLA_FLAGS
#   2. golden-strict  golden ε / x̂0 / J·v / Jᵀ·u checks of the tiny UNet against diffusers with TF32 off
#                     (NVIDIA_TF32_OVERRIDE=0, --xla_gpu_enable_triton_gemm=false)
#   3. golden-tf32    the same at the default precision (TF32 allowed)
#   4. train          loco train --config fashion-unet-32 on Fashion-MNIST for --train-time seconds
#   5. bench-ours     forward/VJP/JVP at batch 1 and 8 and whole LOCO edits on the google/ddpm-ema-celebahq-256
#                     architecture with random weights (gpucheck bench), weights saved for PyTorch
#   6. bench-torch    torch + diffusers UNet2DModel on the same weights and work (scripts/gpu/torch_bench.py)
#   7. tloco          T-LOCO: the decoded PMP, one JVP and one VJP of the SD 2.1-base architecture (random weights)
#                     at 512² with classifier-free guidance (gpucheck tloco), in what is left of the budget
# Each step runs under `timeout` inside one total budget, most important first; results go to $OUT as they come:
# report.md (tables), results.json, model/ (the trained diffusers folder), samples.png, loss.png, logs.tar.gz.
#
# Usage: scripts/gpu/run.sh [--dry-run] [--only step,step] [--budget S] [--train-time S] [--build DIR] [--work DIR] [--out DIR]
#   --dry-run      the same steps at toy size on this machine's CPU (pure-Go backend; PyTorch on CPU when
#                  build/gpu holds diffusers and python3 has torch), in about 2 minutes
#   --only         run only these steps (e.g. bench-ours,bench-torch on a second call; train resumes its
#                  checkpoint when the work folder still holds one)
# Build first with scripts/gpu/build.sh (carry build/gpu). $OUT defaults to <work>/out, the work folder to
# /tmp/loco-gpu (kept between calls on the same machine).
set -uo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
repo=$PWD
dry=0 only="" budget="" train_time="" build=build/gpu work="" out=${OUT:-}
while [[ $# -gt 0 ]]; do
	case $1 in
	--dry-run) dry=1; shift ;;
	--only) only=$2; shift 2 ;;
	--budget) budget=$2; shift 2 ;;
	--train-time) train_time=$2; shift 2 ;;
	--build) build=$2; shift 2 ;;
	--work) work=$2; shift 2 ;;
	--out) out=$2; shift 2 ;;
	*) echo "run.sh: unknown argument $1" >&2; exit 2 ;;
	esac
done
start=$(date +%s)
if ((dry)); then
	budget=${budget:-170} train_time=${train_time:-20} work=${work:-$(mktemp -d)}
else
	budget=${budget:-540} train_time=${train_time:-170} work=${work:-/tmp/loco-gpu}
fi
out=${out:-$work/out}
build=$(cd "$build" 2>/dev/null && pwd) || { echo "run.sh: no build folder $build: run scripts/gpu/build.sh first" >&2; exit 1; }
mkdir -p "$out" "$work/logs" "$work/bin"
: >"$work/steps.tsv"
say() { printf '[run %4ds] %s\n' $(($(date +%s) - start)) "$*"; }
jstr() { printf '"%s"' "$(printf '%s' "$1" | tr '\n\t' '  ' | sed -e 's/\\/\\\\/g' -e 's/"/\\"/g')"; }

# ---- unpack ----
unxz_to() { # file.xz dest
	if command -v xz >/dev/null; then xz -dc "$1" >"$2"; else python3 -c "import lzma,shutil,sys; shutil.copyfileobj(lzma.open(sys.argv[1]), open(sys.argv[2],'wb'))" "$1" "$2"; fi
}
for b in loco gpucheck; do
	[[ -f $build/$b.xz ]] || { echo "run.sh: $build/$b.xz missing: run scripts/gpu/build.sh" >&2; exit 1; }
	unxz_to "$build/$b.xz" "$work/bin/$b" && chmod +x "$work/bin/$b"
done
loco=$work/bin/loco gpucheck=$work/bin/gpucheck
diffusers_src=""
if [[ -f $build/diffusers.tar.xz ]]; then
	mkdir -p "$work/diffusers-src"
	if command -v xz >/dev/null; then xz -dc "$build/diffusers.tar.xz" | tar -x -C "$work/diffusers-src"; else
		python3 -c "import lzma,tarfile,sys; tarfile.open(fileobj=lzma.open(sys.argv[1])).extractall(sys.argv[2])" "$build/diffusers.tar.xz" "$work/diffusers-src"; fi
	diffusers_src=$work/diffusers-src
fi
data=fashion-mnist
if [[ -f $build/fashion-mnist/train-images-idx3-ubyte.xz ]]; then
	data=$work/fashion-mnist
	mkdir -p "$data"
	for f in train-images-idx3-ubyte train-labels-idx1-ubyte; do
		[[ -f $data/$f ]] || unxz_to "$build/fashion-mnist/$f.xz" "$data/$f"
	done
fi

# ---- environment ----
notes=()
strict_flags="" default_flags=""
if ((dry)); then
	export GOMLX_BACKEND=go
	py=""
	for p in /usr/bin/python3 python3; do
		if command -v "$p" >/dev/null && "$p" -c "import torch, numpy" 2>/dev/null; then py=$(command -v "$p"); break; fi
	done
	[[ -n $py ]] || notes+=("no python3 with torch and numpy: PyTorch side skipped")
	[[ -n $diffusers_src ]] || notes+=("no diffusers source in $build (scripts/gpu/build.sh --diffusers-src): PyTorch side skipped")
	[[ $data != fashion-mnist ]] || data=$repo/cmd/loco/testimages
	torch_device=cpu torch_tf32=""
	train_args=(--config tiny --steps 3 --batch 4 --log-every 1 --save-every 0 --sample-count 4 --sample-steps 3)
	bench_args=(--config tiny --batch 1,8 --repeat 1 --edit 1 --grid-steps 6 --max-iter 2)
	tloco_args=(--unet-config "$repo/models/t2i/testdata/tiny-sd/unet/config.json" --vae-config "$repo/models/t2i/testdata/tiny-sd/vae/config.json" --size 32 --tokens 20 --repeat 1)
	torch_config=""
	gpu="none (dry run)"
else
	py=python3
	site=$($py -c "import site; print(site.getsitepackages()[0])" 2>/dev/null)
	plugin=$($py -c "import importlib.util,os; s=importlib.util.find_spec('jax_plugins.xla_cuda13'); print(os.path.join(os.path.dirname(s.origin),'xla_cuda_plugin.so'))" 2>/dev/null)
	[[ -f $plugin ]] || plugin=$(find "$site" -name 'xla_cuda_plugin.so' 2>/dev/null | head -1)
	[[ -f $plugin ]] || { echo "run.sh: no xla_cuda_plugin.so in the Python environment (jax-cuda13-plugin)" >&2; exit 1; }
	[[ $plugin != *,* ]] || notes+=("the plugin path contains a comma: GOMLX_BACKEND cannot take it")
	libdevice=$(find -H ${CUDA_HOME:-} /usr/local/cuda /usr/local/cuda-* "$site/nvidia" -path '*nvvm/libdevice/libdevice.10.bc' 2>/dev/null | head -1)
	cuda_dir=${libdevice%/nvvm/libdevice/libdevice.10.bc}
	[[ -n $libdevice ]] || notes+=("libdevice.10.bc not found: XLA may fail to compile")
	ptxas=$(command -v ptxas || find -H "$cuda_dir/bin" /usr/local/cuda*/bin "$site/nvidia" -name ptxas -type f 2>/dev/null | head -1)
	[[ -n $ptxas ]] && export PATH="$(dirname "$ptxas"):$PATH" || notes+=("ptxas not found")
	libs=$(find "$site/nvidia" -maxdepth 3 -type d -name lib 2>/dev/null | tr '\n' ':')
	export LD_LIBRARY_PATH="${libs}${LD_LIBRARY_PATH:-}"
	export GOMLX_BACKEND="xla:$plugin" GOMLX_NO_AUTO_INSTALL=1 GOPJRT_CUDA_CHECKS=0 XLA_PYTHON_CLIENT_PREALLOCATE=false
	default_flags=${cuda_dir:+--xla_gpu_cuda_data_dir=$cuda_dir}
	strict_flags="${default_flags:+$default_flags }--xla_gpu_enable_triton_gemm=false"
	torch_device=cuda torch_tf32=--tf32
	train_args=(--config fashion-unet-32 --steps 1000000 --batch 128 --lr 2e-4 --warmup 200 --log-every 50 --save-every 2000 --sample-count 64 --sample-steps 50)
	torch_config=$repo/hf/diffusers/testdata/ddpm-ema-celebahq-256/config.json
	bench_args=(--config "$torch_config" --batch 1,8 --repeat 5 --edit 2)
	tloco_args=(--unet-config "$repo/hf/diffusers/testdata/sd21-base-unet/config.json" --vae-config "$repo/hf/diffusers/testdata/sd-vae/config.json" --size 512 --repeat 3)
	gpu=$(nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader 2>/dev/null | head -1)
fi
[[ -n $diffusers_src ]] && export DIFFUSERS_SRC=$diffusers_src

write_env() {
	local v
	{
		echo "{"
		echo " \"date\": $(jstr "$(date -u +%Y-%m-%dT%H:%M:%SZ)"),"
		echo " \"mode\": $(jstr "$( ((dry)) && echo "dry run (CPU, toy sizes)" || echo "GPU")"),"
		echo " \"machine\": $(jstr "$(uname -srm); $(nproc) cores; $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo)"),"
		echo " \"gpu\": $(jstr "$gpu"),"
		echo " \"plugin\": $(jstr "${plugin:-}"),"
		if [[ -n $py ]]; then
			v=$($py -c "import importlib.metadata as m
out=[]
for p in ('jax','jaxlib','jax-cuda13-pjrt','jax-cuda13-plugin','torch','numpy'):
    try: out.append(p+' '+m.version(p))
    except Exception: pass
print(', '.join(out))" 2>/dev/null)
			echo " \"python_packages\": $(jstr "$v"),"
			echo " \"python\": $(jstr "$($py --version 2>&1) ($py)"),"
		fi
		echo " \"cuda_data_dir\": $(jstr "${cuda_dir:-}"),"
		echo " \"xla_flags_strict\": $(jstr "NVIDIA_TF32_OVERRIDE=0 XLA_FLAGS=$strict_flags"),"
		echo " \"xla_flags_default\": $(jstr "XLA_FLAGS=$default_flags"),"
		echo " \"build\": $(jstr "$(cat "$build/MANIFEST" 2>/dev/null; cat "$build/diffusers.version" 2>/dev/null)"),"
		echo " \"notes\": $(jstr "$(IFS=';'; echo "${notes[*]:-}")")"
		echo "}"
	} >"$work/env.json"
}

# ---- steps ----
report() {
	"$gpucheck" report --work "$work" --out "$out/report.md" --json "$out/results.json" >/dev/null 2>"$work/logs/report.log" ||
		say "report failed: $(tail -1 "$work/logs/report.log")"
}
want() { [[ -z $only || ",$only," == *",$1,"* ]]; }
record() { printf '%s\t%s\t%s\t%s\n' "$1" "$2" "$3" "${4:-}" >>"$work/steps.tsv"; }
# step NAME MAX_SECONDS [VAR=VALUE ...] -- COMMAND...: runs COMMAND under timeout, within what is left of the budget.
step() {
	local name=$1 max=$2 envs=() t0 left rc status note="" mempid=""
	shift 2
	while [[ $1 != -- ]]; do envs+=("$1"); shift; done
	shift
	if ! want "$name"; then return 0; fi
	left=$((budget - ($(date +%s) - start) - 10))
	((max > left)) && max=$left
	if ((max < 15)); then
		record "$name" skipped 0 "no time left in the ${budget} s budget"
		say "$name: skipped (no time left)"
		report
		return 1
	fi
	say "$name (≤ ${max} s)…"
	if command -v nvidia-smi >/dev/null && ! ((dry)); then
		nvidia-smi --query-gpu=memory.used --format=csv,noheader,nounits -lms 200 >"$work/mem-$name.txt" 2>/dev/null &
		mempid=$!
	fi
	t0=$(date +%s)
	env "${envs[@]}" timeout -k 15 "$max" "$@" >"$work/logs/$name.log" 2>&1
	rc=$?
	[[ -n $mempid ]] && kill "$mempid" 2>/dev/null
	case $rc in
	0) status=ok ;;
	124 | 137) status=timeout note="stopped after ${max} s" ;;
	*) status=failed note="exit $rc: $(grep -v '^\s*$' "$work/logs/$name.log" | tail -1 | cut -c1-300)" ;;
	esac
	record "$name" "$status" $(($(date +%s) - t0)) "$note"
	say "$name: $status ($(($(date +%s) - t0)) s) $note"
	report
	[[ $status == ok ]]
}

write_env
record env ok $(($(date +%s) - start)) "$(IFS=';'; echo "${notes[*]:-}")"
say "backend $GOMLX_BACKEND; data $data; work $work; out $out"
((dry)) || say "XLA strict: $strict_flags"

golden=(golden --golden "$repo/testdata/golden")
if ! step golden-strict 120 NVIDIA_TF32_OVERRIDE=0 "XLA_FLAGS=$strict_flags" -- "$gpucheck" "${golden[@]}" --mode "TF32 off" --json "$work/golden-strict.json"; then
	if grep -qiE "unknown (command.line )?flag|unrecognized flag" "$work/logs/golden-strict.log"; then
		say "XLA rejected a flag: retrying without --xla_gpu_enable_triton_gemm=false"
		notes+=("XLA rejected --xla_gpu_enable_triton_gemm=false; strict mode uses NVIDIA_TF32_OVERRIDE=0 alone")
		strict_flags=$default_flags
		write_env
		mv "$work/logs/golden-strict.log" "$work/logs/golden-strict-flag.log"
		sed -i '/^golden-strict\t/d' "$work/steps.tsv"
		step golden-strict 90 NVIDIA_TF32_OVERRIDE=0 "XLA_FLAGS=$strict_flags" -- "$gpucheck" "${golden[@]}" --mode "TF32 off" --json "$work/golden-strict.json"
	fi
fi
step golden-tf32 90 "XLA_FLAGS=$default_flags" -- "$gpucheck" "${golden[@]}" --mode "TF32 allowed (default)" --json "$work/golden-tf32.json"

resume=()
[[ -f $work/train/checkpoint.safetensors ]] && resume=(--resume "$work/train")
if step train $((train_time + 60)) "XLA_FLAGS=$default_flags" -- "$loco" train "${train_args[@]}" --data "$data" --time-limit "${train_time}s" \
	--out "$work/train" "${resume[@]}" --force; then :; fi
if [[ -f $work/train/diffusion_pytorch_model.safetensors ]]; then
	mkdir -p "$out/model"
	cp "$work/train"/{config.json,diffusion_pytorch_model.safetensors,scheduler_config.json} "$out/model/"
	for f in samples.png loss.png; do [[ -f $work/train/$f ]] && cp "$work/train/$f" "$out/"; done
fi

bench_left=$((budget - ($(date +%s) - start) - 80))
step bench-ours 300 "XLA_FLAGS=$default_flags" -- "$gpucheck" bench "${bench_args[@]}" --save-model "$work/bench-model" \
	--eps-out "$work/eps-ours.safetensors" --time-limit "$((bench_left > 30 ? bench_left - 20 : 10))s" --json "$work/bench-ours.json"
# PyTorch on GoMLX's saved weights; on random weights of the same config if bench-ours could not save them.
weights=(--model "$work/bench-model")
[[ -f $work/bench-model/config.json || -z $torch_config ]] || weights=(--config "$torch_config")
if [[ -n $py && -n $diffusers_src && (-f $work/bench-model/config.json || -n $torch_config) ]]; then
	step bench-torch 120 PYTHONUNBUFFERED=1 -- "$py" "$repo/scripts/gpu/torch_bench.py" "${weights[@]}" --ours "$work/bench-ours.json" \
		--device "$torch_device" $torch_tf32 --repeat "$( ((dry)) && echo 1 || echo 5)" --time-limit 100 --json "$work/bench-torch.json"
elif want bench-torch; then
	record bench-torch skipped 0 "$( [[ -z $py ]] && echo "no python3 with torch" || { [[ -z $diffusers_src ]] && echo "no diffusers source (build.sh --diffusers-src)" || echo "no saved model from bench-ours"; })"
	say "bench-torch: skipped"
fi

# T-LOCO: the decoded PMP and one JVP and VJP of a Stable Diffusion 2.1-base architecture (random weights) at 512²;
# last, as it only gets the budget's rest (scripts/gpu/run.sh --only tloco runs it alone).
step tloco 240 "XLA_FLAGS=$default_flags" -- "$gpucheck" tloco "${tloco_args[@]}" --json "$work/tloco.json"

report
cp "$work/train/loss.csv" "$work/train/training.json" "$work/" 2>/dev/null
tar -C "$work" -czf "$out/logs.tar.gz" logs steps.tsv env.json $(cd "$work" && ls ./*.json mem-*.txt loss.csv 2>/dev/null) 2>/dev/null
say "done in $(($(date +%s) - start)) s; results in $out:"
ls -la "$out" "$out/model" 2>/dev/null
cat "$out/report.md"
