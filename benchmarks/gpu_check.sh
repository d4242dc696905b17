#!/usr/bin/env bash
# Everything the GPU part of the project claims, in one run on a machine with an NVIDIA GPU:
#
#   bash benchmarks/gpu_check.sh            # OUT=folder for the results (default: gpu-check)
#
# 1. installs CuPy and PyTorch's CUDA build (WHEELS=folder: from local wheels, offline);
# 2. the twin tests on the GPU: every layer and model twin test with our side on CuPy and
#    PyTorch on CUDA (NT_TEST_DEVICE=cuda), the GPU kernels against the reference, and a
#    training step of every model family on the GPU against the CPU (tests/device);
# 3. trains gpt-shakespeare for 200 steps on the GPU and on the CPU and compares the losses;
# 4. times the GPT, BERT and ViT training steps against PyTorch CUDA eager (goal: <= 1.5x);
# and prints a summary. About 10 minutes on an H100, most of it installing.
set -uo pipefail
cd "$(dirname "$0")/.."
OUT=${OUT:-gpu-check}
DATA=${NT_SHARED_DATA:-$(cd .. && pwd)/shared/data}
mkdir -p "$OUT"
summary=()
step() { echo; echo "=== $1"; }
record() { summary+=("$1: $2"); }

step "install"
python -m venv .venv-gpu && . .venv-gpu/bin/activate
pip install -q --upgrade pip
if [ -n "${WHEELS:-}" ]; then
    pip install -q --no-index --find-links "$WHEELS" -e ".[test,gpu]"
else
    pip install -q torch==2.13.0 --index-url https://download.pytorch.org/whl/cu126 &&
    pip install -q -e ".[test,gpu]"
fi
python - <<'PY' | tee "$OUT/card.txt"
import cupy, torch
print(cupy.cuda.runtime.getDeviceProperties(0)["name"].decode(), "| CuPy", cupy.__version__,
      "| torch", torch.__version__, "| torch sees CUDA:", torch.cuda.is_available())
PY
record "card" "$(cat "$OUT/card.txt")"

step "twin tests on the GPU (ours on CuPy, PyTorch on CUDA)"
NT_TEST_DEVICE=cuda python -m pytest tests/nn tests/models tests/device -q -p no:cacheprovider \
    2>&1 | tee "$OUT/twins.txt" | tail -5
record "twin tests" "$(tail -1 "$OUT/twins.txt")"

step "gpt-shakespeare, 200 steps, GPU and CPU"
for device in cuda cpu; do
    numpy-transformer train gpt-shakespeare --steps 200 --eval-every 50 --device "$device" \
        --data-dir "$DATA" --out "$OUT/gpt-$device" --force --no-progress | tail -2
done
python - "$OUT" <<'PY' | tee "$OUT/curves.txt"
import json, sys
logs = {d: [json.loads(l) for l in open(f"{sys.argv[1]}/gpt-{d}/log.jsonl")] for d in ("cuda", "cpu")}
evals = {d: {r["step"]: r["loss"] for r in log if r["split"] == "eval"} for d, log in logs.items()}
worst = max(abs(evals["cuda"][s] - evals["cpu"][s]) for s in evals["cpu"])
seconds = {d: json.load(open(f"{sys.argv[1]}/gpt-{d}/result.json"))["train_seconds"] for d in logs}
print(f"eval losses (cuda | cpu): {[(s, round(evals['cuda'][s], 4), round(evals['cpu'][s], 4)) for s in sorted(evals['cpu'])]}")
print(f"largest difference {worst:.4f} ({'same curve' if worst < 0.02 else 'DIFFERENT'}); "
      f"training steps: {seconds['cuda']:.1f} s on the GPU, {seconds['cpu']:.1f} s on the CPU")
PY
record "GPT 200 steps" "$(tail -1 "$OUT/curves.txt")"

step "training steps against PyTorch CUDA eager"
python -m benchmarks.gpu_steps --json "$OUT/gpu_steps.json" | tee "$OUT/steps.txt"
record "steps" "$(tail -n +2 "$OUT/steps.txt" | tr '\n' ' ')"

step "summary"
printf '%s\n' "${summary[@]}" | tee "$OUT/summary.txt"
