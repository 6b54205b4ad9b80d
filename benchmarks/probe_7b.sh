#!/usr/bin/env bash
# The linearity probe on a family larger than RAM: Llama-2-7B-shaped (hidden 4096, 32 layers, intermediate 11008,
# 32 heads, vocab 32000, bf16), base + 2 tasks ≈ 40 GB, streamed to disk by benchmarks/make_llama7b_family.py and
# deleted afterwards. Probe: --alphas 0,0.5,1 --scales 1, 8 random prompts of 16 tokens (11 points × 128 tokens).
# Reports wall time, the matrix-product floor (FLOPs / sgemm rate measured in the same run), peak anonymous RSS,
# bytes read from storage per input byte, and the engine's time per phase.
#
# Measured 2026-11-30 05:42 UTC on the quiet 2-core machine (load < 2), family not cached: 194.5 s for 11 points ×
# 128 tokens; floor 135 s (18.6 TFLOP at 138 GFLOP/s sgemm) → 1.44× the floor; peak anonymous RSS 0.29 GB
# (estimate 0.30 GB); 39.7 GB read from storage for 40.4 GB of inputs = each input byte read once. Engine phases:
# products 134 s, forming 26 s, reading 23 s. Reads of uncached bytes go to storage with O_DIRECT in 1 MB+ requests
# (SafeTensors/Reading/StorageReads.swift): ~0.8 GB/s here, where the page cache delivered ~0.2 GB/s (and ~26 MB/s
# through the mapping with madvise, the earlier 1558 s run on a loaded machine).
#
# Usage: benchmarks/probe_7b.sh [FAMILY_DIR]     (needs ~41 GB free on FAMILY_DIR's disk)
# Environment: THREADS (2), SCRATCH (a SwiftPM --scratch-path), KEEP=1 keeps the family.
set -euo pipefail
cd "$(dirname "$0")/.."
FAMILY=${1:-${TMPDIR:-/tmp}/metamerge-bench-llama7b-family}
THREADS=${THREADS:-2}
source benchmarks/release_tests.sh
if [ ! -f "$FAMILY/task2/model.safetensors" ]; then
    python3 benchmarks/make_llama7b_family.py --out "$FAMILY" >&2
fi
swift build --build-tests "${release_flags[@]}" >&2
json=$(OPENBLAS_NUM_THREADS=$THREADS METAMERGE_ENGINE_PROFILE=1 METAMERGE_PROBE_FAMILY="$FAMILY" \
    swift test --skip-build "${release_flags[@]}" --filter ProbeBenchmark 2> >(grep -E '^(engine|probe) ' >&2) \
    | grep '^{"implementation"')
[ -n "${KEEP:-}" ] || rm -rf "$FAMILY"
python3 - "$json" <<'PY'
import json, sys
r = json.loads(sys.argv[1])
print(f"MetaMerge probe, Llama-2-7B-shaped family ({r['input_bytes'] / 1e9:.1f} GB): {r['seconds']:.0f} s for "
      f"{r['points']} points x {r['tokens']} tokens; floor {r['floor_seconds']:.0f} s ({r['product_flops'] / 1e12:.1f} TFLOP "
      f"at {r['sgemm_flops_per_second'] / 1e9:.0f} GFLOP/s) -> {r['seconds'] / r['floor_seconds']:.2f}x the floor; "
      f"peak anonymous RSS {r['peak_anon_rss_bytes'] / 1e9:.2f} GB (estimate {r['estimated_peak_bytes'] / 1e9:.2f} GB); "
      f"read from storage {r['storage_read_bytes'] / 1e9:.1f} GB = {r['storage_read_bytes'] / r['input_bytes']:.2f} x each input byte")
PY
