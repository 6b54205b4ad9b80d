#!/usr/bin/env bash
# Times `metamerge analyze` on the TinyLlama-shaped synthetic family against `cat` of the same files, in the same
# run: wall time, CPU time (user + sys), peak RSS, GB/s of input. Input comes from the page cache (warmed first).
#
# Usage: benchmarks/analyze.sh [FAMILY_DIR] [REPS]
#   FAMILY_DIR  default /tmp/tinyllama-family (created with benchmarks/make_tinyllama_family.py when missing)
#   REPS        runs of each (default 3); report the best wall time, and CPU time, which a busy machine inflates less
# Environment: BIN=path to time another binary (default: make build's).
set -euo pipefail
cd "$(dirname "$0")/.."
FAMILY=${1:-/tmp/tinyllama-family}
REPS=${2:-3}
PY=${PYTHON:-python3}
[ -d "$FAMILY/base" ] || "$PY" benchmarks/make_tinyllama_family.py --out "$FAMILY" --tasks 2
command -v /usr/bin/time >/dev/null || apt-get install -y -qq time >/dev/null
if [ -z "${BIN:-}" ]; then make build >/dev/null; BIN=.build/release/metamerge; fi
bytes=$(du -cb "$FAMILY"/*/model.safetensors | tail -1 | cut -f1)
cat "$FAMILY"/*/model.safetensors > /dev/null   # warm the page cache: the target is from page cache
models=()
for d in "$FAMILY"/*/; do n=$(basename "$d"); [ "$n" = base ] || models+=(--model "$n=$d"); done
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
echo "input: $(echo "$bytes" | awk '{printf "%.2f GB", $1/1e9}') in $(ls -d "$FAMILY"/*/ | wc -l) models; $(nproc) cores; load $(cut -d' ' -f1-3 /proc/loadavg)"
report() {  # label, /usr/bin/time output file
    awk -v label="$1" -v bytes="$bytes" '/^T /{w=$2; u=$3; s=$4; m=$5}
        END {printf "%-18s wall %6.2f s  %5.2f GB/s   cpu %5.2f s (user %5.2f, sys %5.2f)   peak RSS %4.0f MB\n",
             label, w, bytes/1e9/w, u+s, u, s, m/1024}' "$2"
}
for r in $(seq "$REPS"); do
    /usr/bin/time -f "T %e %U %S %M" -o "$out/time" cat "$FAMILY"/*/model.safetensors > /dev/null
    report "cat" "$out/time"
    /usr/bin/time -f "T %e %U %S %M" -o "$out/time" \
        "$BIN" analyze --base "$FAMILY/base" "${models[@]}" -o "$out/report.h5" > "$out/log" 2>&1 \
        || { cat "$out/log"; exit 1; }
    report "analyze" "$out/time"
done
