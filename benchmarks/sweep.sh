#!/usr/bin/env bash
# `metamerge sweep` at scale against the obvious alternative: write each merged model and evaluate it with
# transformers.
#
# Family: SmolLM2-135M (the real checkpoint, converted by `make smollm2` into .cache/smollm2-135m) as the base and
# three fabricated task models θ0 + small random τ_t (benchmarks/sweep_family.py; 3 × 538 MB under $TMPDIR).
# Sweep: 12 points (weights uniform and metagpt × scales 0.5:3:0.5) × 3 tasks × 100 items.
# MetaMerge: release build, one lockstep run (OPENBLAS_NUM_THREADS=2). Reference: for each point, NumPy writes the
# merged safetensors, transformers loads it and evaluates every item (one item per forward pass, float32, eager;
# torch.set_num_threads(2), OMP_WAIT_POLICY=PASSIVE). Both wall times include reading the inputs.
#
# Measured 2026-11-30 on the shared 2-core machine (load average 8-10 during the sweep, 3-8 during the reference),
# SmolLM2-135M, 3506 tokens (1378 completion tokens) per point:
#   metamerge sweep (release): 273 s for 12 points — one lockstep run, ~9.9 TFLOP of matrix products (~36 GFLOP/s)
#   write each merge + transformers eval: 756 s for 12 points -> metamerge sweep is 2.8x faster
#   exact-match counts per point and task agree on 12 of 12 points.
#
# Usage: benchmarks/sweep.sh [BASE_DIR]
# Environment: PYTHON (torch + transformers + safetensors + tokenizers; default /work/venv-ref/bin/python if present,
#              else python3), THREADS (2), FAMILY (where the fabricated family goes), SKIP_TORCH=1.
set -euo pipefail
cd "$(dirname "$0")/.."

BASE=${1:-.cache/smollm2-135m}
if [ -x /work/venv-ref/bin/python ]; then PYTHON=${PYTHON:-/work/venv-ref/bin/python}; else PYTHON=${PYTHON:-python3}; fi
THREADS=${THREADS:-2}
FAMILY=${FAMILY:-${TMPDIR:-/tmp}/metamerge-bench-smollm2-family}

if [ ! -f "$BASE/model.safetensors" ]; then make smollm2 >&2; fi
"$PYTHON" benchmarks/sweep_family.py "$BASE" "$FAMILY" >&2
swift build -c release --product metamerge >&2
BIN=$(swift build -c release --show-bin-path)/metamerge

out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
start=$(date +%s.%N)
OPENBLAS_NUM_THREADS=$THREADS "$BIN" sweep "$FAMILY/merge.yml" --task add="$FAMILY/tasks/add.jsonl" \
    --task rev="$FAMILY/tasks/rev.jsonl" --task sort="$FAMILY/tasks/sort.jsonl" --weights uniform,metagpt \
    --scales 0.5:3:0.5 -o "$out/sweep.h5" --json --quiet >"$out/sweep.json"
end=$(date +%s.%N)
swift_seconds=$(echo "$end - $start" | bc)
echo "metamerge sweep: 12 points x 3 tasks x 100 items in $swift_seconds s (one lockstep run, $THREADS threads)"

if [ -z "${SKIP_TORCH:-}" ]; then
    OMP_WAIT_POLICY=PASSIVE "$PYTHON" benchmarks/sweep_vs_transformers.py "$FAMILY" "$out/sweep.json" --threads "$THREADS" \
        >"$out/torch.json"
    "$PYTHON" - "$out/torch.json" "$swift_seconds" <<'PY'
import json, sys
r = json.loads(open(sys.argv[1]).read())
s = float(sys.argv[2])
print(f"write each merge + transformers eval: {r['seconds']:.1f} s for {r['points']} points "
      f"({r['threads']} threads) -> metamerge sweep is {r['seconds'] / s:.1f}x faster; "
      f"exact-match counts agree on {r['points_agreeing_with_metamerge']} of {r['points']} points")
PY
fi
