#!/usr/bin/env bash
# The linearity probe on large families, made by benchmarks/make_llama7b_family.py (random bf16 weights: a base and
# 2 task models, streamed to disk) and deleted afterwards. SHAPE:
#   llama2-7b          Llama-2-7B (hidden 4096, 32 layers, intermediate 11008, 32 heads, vocab 32000), ≈ 40 GB;
#   llama3-8b          Llama-3-8B (vocab 128256, GQA 8, intermediate 14336, llama3 RoPE), ≈ 48 GB — more than RAM;
#   mixtral-tinyllama  Mixtral's block (8 experts, top-2) at TinyLlama's width, 6 layers, ≈ 10.6 GB (fits the page
#                      cache: the script reads it once before timing, so the figure is the engine's, not the disk's).
# Probe: --alphas 0,0.5,1 --scales 1, 8 random prompts of 16 tokens (11 points × 128 tokens).
# Reports wall time, the matrix-product floor (FLOPs / sgemm rate measured in the same run; for experts, the FLOPs
# of the k experts each token is routed to), peak anonymous RSS, bytes read from storage per input byte, and the
# engine's time per phase. Measured figures: docs/performance.md and README's "Performance".
#
# Measured 2026-11-30 05:42 UTC, llama2-7b, quiet 2-core machine, family not cached: 194.5 s for 11 points ×
# 128 tokens; floor 135 s (18.6 TFLOP at 138 GFLOP/s sgemm) → 1.44× the floor; peak anonymous RSS 0.29 GB
# (estimate 0.30 GB); 39.7 GB read from storage for 40.4 GB of inputs = each input byte read once. Engine phases:
# products 134 s, forming 26 s, reading 23 s. Reads of uncached bytes go to storage with O_DIRECT in 1 MB+ requests
# (SafeTensors/Reading/StorageReads.swift): ~0.8 GB/s here, where the page cache delivered ~0.2 GB/s.
#
# Usage: benchmarks/probe_large.sh [SHAPE] [FAMILY_DIR]     (SHAPE defaults to llama2-7b; needs the family's size
#        free on FAMILY_DIR's disk)
# Environment: THREADS (2), SCRATCH (a SwiftPM --scratch-path), KEEP=1 keeps the family.
set -euo pipefail
cd "$(dirname "$0")/.."
SHAPE=${1:-llama2-7b}
FAMILY=${2:-${TMPDIR:-/tmp}/metamerge-bench-$SHAPE-family}
THREADS=${THREADS:-2}
source benchmarks/release_tests.sh
if [ ! -f "$FAMILY/task2/model.safetensors" ]; then
    python3 benchmarks/make_llama7b_family.py --shape "$SHAPE" --out "$FAMILY" >&2
fi
swift build --build-tests "${release_flags[@]}" >&2
if [ "$SHAPE" = mixtral-tinyllama ]; then cat "$FAMILY"/*/model.safetensors > /dev/null; fi
json=$(OPENBLAS_NUM_THREADS=$THREADS METAMERGE_ENGINE_PROFILE=1 METAMERGE_PROBE_FAMILY="$FAMILY" \
    swift test --skip-build "${release_flags[@]}" --filter ProbeBenchmark 2> >(grep -E '^(engine|probe) ' >&2) \
    | grep '^{"implementation"')
[ -n "${KEEP:-}" ] || rm -rf "$FAMILY"
python3 - "$json" "$SHAPE" <<'PY'
import json, sys
r = json.loads(sys.argv[1])
shape = sys.argv[2]
print(f"MetaMerge probe, {shape} family ({r['input_bytes'] / 1e9:.1f} GB): {r['seconds']:.0f} s for "
      f"{r['points']} points x {r['tokens']} tokens; floor {r['floor_seconds']:.0f} s ({r['product_flops'] / 1e12:.1f} TFLOP "
      f"at {r['sgemm_flops_per_second'] / 1e9:.0f} GFLOP/s"
      + (f"; routed experts {r['routed_expert_flops'] / 1e12:.1f} TFLOP at {r['routed_sgemm_flops_per_second'] / 1e9:.0f} "
         f"GFLOP/s on their {r['tokens']}*k/E-row shape" if r['routed_expert_flops'] else "")
      + f") -> {r['seconds'] / r['floor_seconds']:.2f}x the floor; "
      f"peak anonymous RSS {r['peak_anon_rss_bytes'] / 1e9:.2f} GB (estimate {r['estimated_peak_bytes'] / 1e9:.2f} GB); "
      f"read from storage {r['storage_read_bytes'] / 1e9:.1f} GB = {r['storage_read_bytes'] / r['input_bytes']:.2f} x each input byte")
PY
