#!/usr/bin/env bash
# LoRA adapters against their merged copies (issue 20, item 6): `analyze` and `probe` of a TinyLlama-shaped base
# with 3 random rank-16 all-linear PEFT adapters, against the same commands on the adapters' `merge_and_unload()`
# copies. Reports wall time, CPU time (user + sys) and peak RSS (/usr/bin/time -v) of each, best of REPS runs, and
# the ratios. Inputs come from the page cache (read once before timing). Measured figures: docs/performance.md.
#
# Usage: benchmarks/lora.sh OUT_DIR [BASE_DIR] [REPS]
#   OUT_DIR   where the adapters and merged copies are (made when missing, ≈ 6.8 GB; outside the repository)
#   BASE_DIR  the TinyLlama-shaped base (default /tmp/metamerge-bench-tinyllama-family/base, as
#             benchmarks/make_tinyllama_family.py writes it); read only
#   REPS      runs of each command (default 3)
# Environment: BIN (default: make build's .build/release/metamerge), LORA_PYTHON (a Python with torch, transformers,
#   peft: default /work/venv-lora/bin/python), PROMPTS (prompts of the probe, default 8), TOKENS (per prompt, 16).
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=${1:?usage: benchmarks/lora.sh OUT_DIR [BASE_DIR] [REPS]}
BASE=${2:-/tmp/metamerge-bench-tinyllama-family/base}
REPS=${3:-3}
PY=${LORA_PYTHON:-/work/venv-lora/bin/python}
case "$(realpath -m "$OUT")/" in "$(pwd)"/*) echo "OUT_DIR must be outside the repository" >&2; exit 2 ;; esac
[ -f "$BASE/model.safetensors" ] || { echo "$BASE: no model.safetensors (benchmarks/make_tinyllama_family.py)" >&2; exit 2; }
if [ ! -f "$OUT/merged3/model.safetensors" ]; then
    OMP_WAIT_POLICY=PASSIVE OMP_NUM_THREADS=${OMP_NUM_THREADS:-1} \
        "$PY" benchmarks/make_lora_benchmark.py --base "$BASE" --out "$OUT" --adapters 3 --rank 16 >&2
fi
command -v /usr/bin/time >/dev/null || { echo "needs /usr/bin/time (apt-get install time)" >&2; exit 2; }
if [ -z "${BIN:-}" ]; then make build >/dev/null; BIN=.build/release/metamerge; fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
# Probe prompts: PROMPTS lines of TOKENS random token ids below the vocabulary size (32000).
"$PY" -c "import random; random.seed(7); print('\n'.join(' '.join(str(random.randrange(1, 32000)) for _ in range(${TOKENS:-16})) for _ in range(${PROMPTS:-8})))" > "$work/prompts.txt"
adapters=(); merged=()
for i in 1 2 3; do adapters+=(--model "t$i=$OUT/adapter$i"); merged+=(--model "t$i=$OUT/merged$i"); done
cat "$BASE/model.safetensors" "$OUT"/merged*/model.safetensors "$OUT"/adapter*/adapter_model.safetensors > /dev/null
echo "$(nproc) cores; load $(cut -d' ' -f1-3 /proc/loadavg); binary $BIN"
best() {  # label, command…: best wall of REPS runs, with that run's CPU seconds and peak RSS; sets $wall
    local label=$1; shift
    local result=""
    for _ in $(seq "$REPS"); do
        /usr/bin/time -v -o "$work/time" "$@" > "$work/log" 2>&1 || { cat "$work/log" >&2; exit 1; }
        local line
        line=$(awk -F': ' '/Elapsed \(wall clock\)/{n=split($2,t,":"); w=t[n]+(n>1?60*t[n-1]:0)+(n>2?3600*t[n-2]:0)}
            /User time/{u=$2} /System time/{s=$2} /Maximum resident/{m=$2}
            END {printf "%.2f %.2f %.0f", w, u+s, m/1024}' "$work/time")
        if [ -z "$result" ] || awk -v a="${line%% *}" -v b="${result%% *}" 'BEGIN{exit !(a<b)}'; then result=$line; fi
    done
    read -r wall cpu rss <<< "$result"
    printf "%-34s wall %7.2f s   cpu %7.2f s   peak RSS %6.0f MB\n" "$label" "$wall" "$cpu" "$rss"
}
best "analyze, 3 adapters" "$BIN" analyze --base "$BASE" "${adapters[@]}" -o "$work/a.h5"; a=$wall
best "analyze, 3 merged copies" "$BIN" analyze --base "$BASE" "${merged[@]}" -o "$work/m.h5"; m=$wall
probe=(--token-ids "$work/prompts.txt" --alphas 0,0.5,1 --scales 1)
best "probe, 3 adapters" "$BIN" probe --base "$BASE" "${adapters[@]}" "${probe[@]}" -o "$work/pa.h5"; pa=$wall
best "probe, 3 merged copies" "$BIN" probe --base "$BASE" "${merged[@]}" "${probe[@]}" -o "$work/pm.h5"; pm=$wall
awk -v a="$a" -v m="$m" -v pa="$pa" -v pm="$pm" \
    'BEGIN {printf "analyze: merged / adapters = %.2fx (target >= 10x); probe: adapters / merged = %.2fx (target <= 1.1x)\n", m/a, pa/pm}'
