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
# Also times 8 prompts of 16 tokens in one batched call on both sides (BATCH, BATCH_TOKENS).
#
# Measured 2026-11-30 05:49 UTC (RUNS=5) on the quiet machine (load < 2): PyTorch 2.15.0 (PASSIVE) 430 tok/s single,
# 548 tok/s batched (default OpenMP 446 / 541); MetaMerge 446 tok/s single (1.00×), 568 tok/s batched (1.04×).
# Earlier runs on the shared machine (load 7–14) varied by a factor 2 between runs.
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
BATCH=${BATCH:-8}
BATCH_TOKENS=${BATCH_TOKENS:-16}

echo "model: $MODEL (created on first run); $TOKENS tokens, $THREADS threads, median of $RUNS runs" >&2
torch_json=$("$PYTHON" benchmarks/forward_vs_torch.py "$MODEL" --tokens "$TOKENS" --runs "$RUNS" --threads "$THREADS" \
    --batch "$BATCH" --batch-tokens "$BATCH_TOKENS" 2>/dev/null | grep '^{')
torch_passive_json=$(OMP_WAIT_POLICY=PASSIVE "$PYTHON" benchmarks/forward_vs_torch.py "$MODEL" --tokens "$TOKENS" \
    --runs "$RUNS" --threads "$THREADS" --batch "$BATCH" --batch-tokens "$BATCH_TOKENS" 2>/dev/null | grep '^{')

source benchmarks/release_tests.sh
swift build --build-tests "${release_flags[@]}" >&2
swift_json=$(OPENBLAS_NUM_THREADS=$THREADS METAMERGE_BENCH_MODEL="$MODEL" METAMERGE_BENCH_TOKENS="$TOKENS" \
    METAMERGE_BENCH_RUNS="$RUNS" METAMERGE_BENCH_TASK="${BENCH_TASK:-}" METAMERGE_BENCH_BATCH="$BATCH" \
    METAMERGE_BENCH_BATCH_TOKENS="$BATCH_TOKENS" \
    swift test --skip-build "${release_flags[@]}" --filter ForwardBenchmark 2>/dev/null \
    | grep '^{"implementation"')

"$PYTHON" - "$torch_json" "$torch_passive_json" "$swift_json" <<'PY'
import json, sys
def lines(text):
    return [json.loads(line) for line in text.splitlines() if line.strip()]
runs = [lines(sys.argv[1]), lines(sys.argv[2])]
for run, label in zip(runs, ["default OpenMP", "OMP_WAIT_POLICY=PASSIVE"]):
    for r in run:
        print(f"{r['implementation']}, {label}, {r.get('prompts', 1)} prompt(s): {r['tokens_per_second']:.1f} tokens/s "
              f"({r['median_seconds'] * 1000:.0f} ms per {r['tokens']} tokens, "
              f"{r['parameters'] / 1e6:.1f}M parameters, {r['threads']} threads)")
def best(prompts):
    candidates = [r for run in runs for r in run if r.get("prompts", 1) == prompts]
    return max(candidates, key=lambda r: r["tokens_per_second"]) if candidates else None
for result in lines(sys.argv[3]):
    torch = best(result.get("prompts", 1))
    if torch is None:
        continue
    ratio = result["tokens_per_second"] / torch["tokens_per_second"]
    print(f"{result['implementation']}: {result['tokens_per_second']:.1f} tokens/s "
          f"({result['median_seconds'] * 1000:.0f} ms), {ratio:.2f}x the faster PyTorch run with {result.get('prompts', 1)} prompt(s)")
PY
