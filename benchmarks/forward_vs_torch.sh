#!/usr/bin/env bash
# Forward-pass throughput: MetaMerge's Swift Transformer module against PyTorch/transformers on the CPU.
#
# Builds (once) a ~100M-parameter Llama with random float32 weights (hidden 768, 12 layers, 12 heads of 64,
# 4 KV heads, intermediate 2048, vocab 32000, tied embeddings), then times one 64-token prompt (logits for every
# position) in both, with the same thread count, and prints tokens/s and the ratio.
# PyTorch runs twice: with its default OpenMP settings, and with OMP_WAIT_POLICY=PASSIVE — on a machine shared
# with other work, OpenMP's default busy-waiting can make 2-thread PyTorch several times slower, so the ratio is
# taken against the faster of the two.
#
# Usage: benchmarks/forward_vs_torch.sh [MODEL_DIR]
# Environment: PYTHON (a Python with torch + transformers; default python3), THREADS (2), TOKENS (64), RUNS (10),
#              SCRATCH (a SwiftPM --scratch-path), BENCH_TASK (a task model dir: also time θ0 + 0.5·τ).
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON=${PYTHON:-python3}
MODEL=${1:-${TMPDIR:-/tmp}/metamerge-bench-llama100m}
THREADS=${THREADS:-2}
TOKENS=${TOKENS:-64}
RUNS=${RUNS:-10}

echo "model: $MODEL (created on first run); $TOKENS tokens, $THREADS threads, median of $RUNS runs" >&2
torch_json=$("$PYTHON" benchmarks/forward_vs_torch.py "$MODEL" --tokens "$TOKENS" --runs "$RUNS" --threads "$THREADS" \
    2>/dev/null | tail -n 1)
torch_passive_json=$(OMP_WAIT_POLICY=PASSIVE "$PYTHON" benchmarks/forward_vs_torch.py "$MODEL" --tokens "$TOKENS" \
    --runs "$RUNS" --threads "$THREADS" 2>/dev/null | tail -n 1)

scratch=()
if [ -n "${SCRATCH:-}" ]; then scratch=(--scratch-path "$SCRATCH"); fi
swift build -c release --build-tests "${scratch[@]}" >&2
swift_json=$(OPENBLAS_NUM_THREADS=$THREADS METAMERGE_BENCH_MODEL="$MODEL" METAMERGE_BENCH_TOKENS="$TOKENS" \
    METAMERGE_BENCH_RUNS="$RUNS" METAMERGE_BENCH_TASK="${BENCH_TASK:-}" \
    swift test -c release --skip-build "${scratch[@]}" --filter ForwardBenchmark 2>/dev/null \
    | grep '^{"implementation"')
[ -n "${BENCH_TASK:-}" ] || swift_json=$(printf '%s\n' "$swift_json" | head -n 1)

"$PYTHON" - "$torch_json" "$torch_passive_json" "$swift_json" <<'PY'
import json, sys
runs = [json.loads(sys.argv[1]), json.loads(sys.argv[2])]
for run, label in zip(runs, ["default OpenMP", "OMP_WAIT_POLICY=PASSIVE"]):
    print(f"{run['implementation']}, {label}: {run['tokens_per_second']:.1f} tokens/s "
          f"({run['median_seconds'] * 1000:.0f} ms per {run['tokens']}-token prompt, "
          f"{run['parameters'] / 1e6:.1f}M parameters, {run['threads']} threads)")
torch = max(runs, key=lambda run: run["tokens_per_second"])
swift = [json.loads(line) for line in sys.argv[3].splitlines() if line.strip()]
for result in swift:
    ratio = result["tokens_per_second"] / torch["tokens_per_second"]
    print(f"{result['implementation']}: {result['tokens_per_second']:.1f} tokens/s "
          f"({result['median_seconds'] * 1000:.0f} ms), {ratio:.2f}x the faster PyTorch run")
PY
