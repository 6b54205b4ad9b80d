#!/usr/bin/env bash
# Times `metamerge analyze` on the TinyLlama-shaped synthetic family: wall time, peak RSS, GB/s of input.
# Usage: benchmarks/analyze.sh [FAMILY_DIR]   (created with benchmarks/make_tinyllama_family.py when missing)
set -euo pipefail
cd "$(dirname "$0")/.."
FAMILY=${1:-/tmp/tinyllama-family}
PY=${PYTHON:-python3}
[ -d "$FAMILY/base" ] || "$PY" benchmarks/make_tinyllama_family.py --out "$FAMILY" --tasks 2
command -v /usr/bin/time >/dev/null || apt-get install -y -qq time >/dev/null
make build >/dev/null
BIN=.build/release/metamerge
bytes=$(du -cb "$FAMILY"/*/model.safetensors | tail -1 | cut -f1)
cat "$FAMILY"/*/model.safetensors > /dev/null   # warm the page cache: the target is from page cache
models=()
for d in "$FAMILY"/*/; do n=$(basename "$d"); [ "$n" = base ] || models+=(--model "$n=$d"); done
/usr/bin/time -v "$BIN" analyze --base "$FAMILY/base" "${models[@]}" -o /tmp/tinyllama-analyze.h5 > /tmp/analyze.out 2> /tmp/analyze.time
wall=$(grep "Elapsed (wall" /tmp/analyze.time | awk '{print $NF}')
rss=$(grep "Maximum resident" /tmp/analyze.time | awk '{print $NF}')
secs=$(echo "$wall" | awk -F: '{ if (NF==3) print $1*3600+$2*60+$3; else print $1*60+$2 }')
echo "input: $(echo "$bytes" | awk '{printf "%.2f GB", $1/1e9}')"
echo "metamerge analyze: wall ${secs}s, peak RSS $(echo "$rss" | awk '{printf "%.0f MB", $1/1024}'), $(echo "$bytes $secs" | awk '{printf "%.2f GB/s", $1/1e9/$2}')"
