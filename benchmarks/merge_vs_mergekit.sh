#!/usr/bin/env bash
# Times `metamerge merge` against `mergekit-yaml` (MergeKit 0.1.5, CPU) on the TinyLlama-shaped synthetic family
# (benchmarks/make_tinyllama_family.py: base + 2 task models, bf16, ~2.2 GB each), same config, same run:
# wall time, peak RSS (/usr/bin/time -v) and the ratios, for task_arithmetic, ties, nuslerp (with the base), a
# passthrough frankenmerge (`slices:` task1 layers 0–15 then task2 layers 8–21: 30 output layers) and metagpt. MergeKit has no
# MetaGPT: its side runs task_arithmetic with the λ MetaMerge computed (so MergeKit is spared computing them).
# `metagpt` computes the statistics in-process (one extra pass over the inputs); `metagpt --stats` takes them
# from a report `metamerge analyze` wrote beforehand (not timed), as DESIGN.md's flow does.
# The floor is the time to read the three inputs (from the page cache, `cat`) and then write one output-sized file
# the way `metamerge merge` writes its shards: with O_DIRECT in 8 MiB blocks where the file system allows it
# (`dd oflag=direct` for the whole blocks, the tail appended buffered, as the merge does), else buffered.
# Neither the floor nor the merges sync: both leave the page cache / device queue as a merge leaves them. Before
# each timed run (untimed) a `sync` writes back what earlier runs left dirty — MergeKit writes through the page
# cache, and its writeback otherwise lands in the next run's time (an O_DIRECT writer waits behind it).
# The machine may be shared: REPEAT=N runs each command N times and reports the fastest run (its RSS and its CPU
# time, user + sys, which is less sensitive than wall time to other processes on the machine).
#
# Usage: benchmarks/merge_vs_mergekit.sh [FAMILY_DIR]
#   env: METAMERGE (binary; default: release build), MERGEKIT (default: mergekit-yaml beside $PYTHON),
#        PYTHON (with torch, safetensors; default python3), WORK (scratch dir; default /tmp/metamerge-merge-bench),
#        REPEAT (runs per command, default 1), METHODS (comma-separated subset of the rows, e.g. nuslerp,passthrough_franken)
set -euo pipefail
cd "$(dirname "$0")/.."
FAMILY=${1:-/tmp/tinyllama-family}
PY=${PYTHON:-python3}
WORK=${WORK:-/tmp/metamerge-merge-bench}
MERGEKIT=${MERGEKIT:-$(dirname "$(command -v "$PY")")/mergekit-yaml}
[ -d "$FAMILY/base" ] || "$PY" benchmarks/make_tinyllama_family.py --out "$FAMILY" --tasks 2
[ -x /usr/bin/time ] || { apt-get update -qq && apt-get install -y -qq time >/dev/null; }
if [ -z "${METAMERGE:-}" ]; then
  make build >/dev/null
  METAMERGE=.build/release/metamerge
fi
mkdir -p "$WORK"
rm -rf "$WORK"/out-*

inputs=("$FAMILY"/base/*.safetensors "$FAMILY"/task1/*.safetensors "$FAMILY"/task2/*.safetensors)
in_bytes=$(du -cb "${inputs[@]}" | tail -1 | cut -f1)
out_bytes=$(du -cb "$FAMILY"/base/*.safetensors | tail -1 | cut -f1)
cat "${inputs[@]}" > /dev/null   # warm the page cache: every run below reads from it

seconds() { awk -F: '{ if (NF==3) print $1*3600+$2*60+$3; else print $1*60+$2 }'; }
REPEAT=${REPEAT:-1}
measure() {  # measure LABEL OUT_DIR COMMAND... → WALL (s), RSS (MB), CPU (user+sys s) of the fastest of $REPEAT runs
  local label=$1 out=$2; shift 2
  WALL=""; RSS=""; CPU=""
  for run in $(seq "$REPEAT"); do
    rm -rf "$out"
    sync   # untimed: the previous run's dirty pages are written back before this one starts
    /usr/bin/time -v "$@" > "$WORK/$label.out" 2> "$WORK/$label.time" || { cat "$WORK/$label.time" >&2; exit 1; }
    local wall rss cpu
    wall=$(grep "Elapsed (wall" "$WORK/$label.time" | awk '{print $NF}' | seconds)
    rss=$(grep "Maximum resident" "$WORK/$label.time" | awk '{printf "%.0f", $NF/1024}')
    cpu=$(grep -E "(User|System) time" "$WORK/$label.time" | awk '{s += $NF} END {printf "%.1f", s}')
    if [ -z "$WALL" ] || awk -v a="$wall" -v b="$WALL" 'BEGIN { exit !(a < b) }'; then WALL=$wall; RSS=$rss; CPU=$cpu; fi
    rm -rf "$out"
  done
}

# The floor: read the inputs, then write one output-sized file as the merge does (see the header); no sync.
write_floor() {  # whole 8 MiB blocks with O_DIRECT, then the tail buffered (the merge's tail is too)
  local whole=$((out_bytes / (8 << 20)))
  if dd if=/dev/zero of="$WORK/floor.bin" bs=8M count="$whole" oflag=direct status=none 2>/dev/null; then
    head -c $((out_bytes - whole * (8 << 20))) /dev/zero >> "$WORK/floor.bin"
  else
    head -c "$out_bytes" /dev/zero > "$WORK/floor.bin"   # no O_DIRECT here: the merge writes buffered too
  fi
}
floor_once() {
  cat "${inputs[@]}" > /dev/null
  write_floor
  rm -f "$WORK/floor.bin"
}
export -f floor_once write_floor
export out_bytes WORK
floor=""
for run in $(seq "$REPEAT"); do
  sync
  /usr/bin/time -f "%e %U %S" -o "$WORK/floor.time" bash -c "$(declare -p inputs); floor_once"
  read -r wall user sys < "$WORK/floor.time"
  if [ -z "$floor" ] || awk -v a="$wall" -v b="$floor" 'BEGIN { exit !(a < b) }'; then
    floor=$wall; floor_cpu=$(echo "$user $sys" | awk '{printf "%.1f", $1 + $2}')
  fi
done

config() {  # config METHOD PARAMS-YAML → a MergeKit config on the family
  cat <<EOF
models:
  - model: $FAMILY/task1
    parameters: {$3}
  - model: $FAMILY/task2
    parameters: {$4}
base_model: $FAMILY/base
merge_method: $1
parameters: {$2}
EOF
}

config task_arithmetic "" "weight: 0.5" "weight: 0.5" > "$WORK/task_arithmetic.yml"
config ties "" "weight: 1.0, density: 0.5" "weight: 1.0, density: 0.5" > "$WORK/ties.yml"
config nuslerp "" "weight: 0.4" "weight: 0.6" > "$WORK/nuslerp.yml"
cat > "$WORK/passthrough_franken.yml" <<EOF
slices:
  - sources: [{model: $FAMILY/task1, layer_range: [0, 16]}]
  - sources: [{model: $FAMILY/task2, layer_range: [8, 22]}]
merge_method: passthrough
EOF
config metagpt "" "" "" > "$WORK/metagpt.yml"
"$METAMERGE" merge "$WORK/metagpt.yml" --dry-run --quiet > "$WORK/metagpt.plan"
lambdas=($(grep -E "^  .*λ = " "$WORK/metagpt.plan" | sed -E 's/.*λ = ([0-9.e-]+).*/\1/'))
config task_arithmetic "" "weight: ${lambdas[0]}" "weight: ${lambdas[1]}" > "$WORK/metagpt.mergekit.yml"
"$METAMERGE" analyze --base "$FAMILY/base" --model "task1=$FAMILY/task1" --model "task2=$FAMILY/task2" \
  -o "$WORK/stats.h5" > /dev/null 2>&1

printf "family: %s (%s GB of inputs, %s GB output)\n" "$FAMILY" \
  "$(echo "$in_bytes" | awk '{printf "%.2f", $1/1e9}')" "$(echo "$out_bytes" | awk '{printf "%.2f", $1/1e9}')"
printf "floor (read inputs from page cache, then write the output as the merge does): %s s wall, %s s CPU\n" "$floor" "$floor_cpu"
printf "MetaGPT λ: %s\n\n" "${lambdas[*]}"
printf "%-20s %12s %12s %12s %12s %12s %10s %10s %10s\n" method "metamerge s" "(CPU s)" "mergekit s" "metamerge MB" "mergekit MB" speedup "RSS ratio" "vs floor"
IFS=',' read -ra methods <<< "${METHODS:-task_arithmetic,ties,nuslerp,passthrough_franken,metagpt,metagpt --stats}"
for method in "${methods[@]}"; do
  name=${method%% *}
  extra=()
  [ "$method" = "metagpt --stats" ] && extra=(--stats "$WORK/stats.h5")
  mk_config="$WORK/$name.yml"
  [ "$name" = metagpt ] && mk_config="$WORK/metagpt.mergekit.yml"
  measure "mm-$name" "$WORK/out-mm" "$METAMERGE" merge "$WORK/$name.yml" "$WORK/out-mm" --quiet "${extra[@]}"
  mm_wall=$WALL; mm_rss=$RSS; mm_cpu=$CPU
  if [ "$method" != "metagpt --stats" ]; then   # MergeKit's side is the same for both metagpt rows
    measure "mk-$name" "$WORK/out-mk" "$MERGEKIT" "$mk_config" "$WORK/out-mk" --device cpu --quiet --out-shard-size 500M
    mk_wall=$WALL; mk_rss=$RSS
  fi
  printf "%-20s %12.1f %12s %12.1f %12s %12s %9.1fx %9.1fx %9.2fx\n" "$method" "$mm_wall" "$mm_cpu" "$mk_wall" "$mm_rss" "$mk_rss" \
    "$(echo "$mk_wall $mm_wall" | awk '{print $1/$2}')" "$(echo "$mk_rss $mm_rss" | awk '{print $1/$2}')" \
    "$(echo "$mm_wall $floor" | awk '{print $1/$2}')"
done
