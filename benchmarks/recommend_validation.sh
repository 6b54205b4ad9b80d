#!/usr/bin/env bash
# The validation of `metamerge recommend` on one model family, as a new user would run it: analyze, probe on the
# family's prompts.txt, sweep with all labelled items, the data-free recommendation, the label-free one (when the
# binary has `recommend --prompts`), `eval` of each pick that is not on the sweep grid, and few_labels.py.
#
# Usage: benchmarks/recommend_validation.sh FAMILY_DIR OUT_DIR [METAMERGE]
#   FAMILY_DIR: base/ and one directory per task model (each with config.json), tasks/NAME.jsonl (labelled items,
#               one file per task model, same names), prompts.txt (the probe's prompts), optionally
#               unlabeled/NAME.jsonl (the label-free side's prompts).
#   OUT_DIR:    where the reports and JSON go (created; existing files in it are replaced).
#   METAMERGE:  the binary (default: this worktree's release build, .build/release/metamerge).
# Environment: PYTHON (h5py + NumPy; default /work/main/.venv/bin/python, else python3).
#
# Grids: probe --alphas 0:1:0.25 --scales 0.25,0.5,1,2,3 (the README's); sweep --scales 0.25:3:0.25 × {uniform,
# metagpt, the linear target c*/Σc* (c* = G⁻¹·diag(G) from the report's /global/gram; left out when c* has a negative
# entry)}, all items. Prints one markdown row (the README's validation table) and writes OUT_DIR/validation.json.
# Everything runs under nice -n 19.
set -euo pipefail
if [ $# -lt 2 ]; then echo "usage: $0 FAMILY_DIR OUT_DIR [METAMERGE]" >&2; exit 2; fi
here=$(cd "$(dirname "$0")" && pwd)
FAMILY=$(cd "$1" && pwd)
mkdir -p "$2"
OUT=$(cd "$2" && pwd)
BIN=${3:-$here/../.build/release/metamerge}
default_python=python3
if [ -x /work/main/.venv/bin/python ]; then default_python=/work/main/.venv/bin/python; fi
PYTHON=${PYTHON:-$default_python}
[ -x "$BIN" ] || { echo "$0: no metamerge binary at $BIN (swift build -c release --product metamerge)" >&2; exit 2; }
[ -d "$FAMILY/base" ] && [ -d "$FAMILY/tasks" ] && [ -f "$FAMILY/prompts.txt" ] ||
    { echo "$0: $FAMILY: expected base/, tasks/ and prompts.txt" >&2; exit 2; }
run() { nice -n 19 "$@"; }

models=()
tasks=()
names=()
for dir in "$FAMILY"/*/; do
    name=$(basename "$dir")
    [ "$name" != base ] && [ -f "$dir/config.json" ] || continue
    [ -f "$FAMILY/tasks/$name.jsonl" ] || { echo "$0: no tasks/$name.jsonl for task model $name" >&2; exit 2; }
    names+=("$name")
    models+=(--model "$name=$dir")
    tasks+=(--task "$name=$FAMILY/tasks/$name.jsonl")
done
[ ${#names[@]} -ge 2 ] || { echo "$0: $FAMILY: fewer than two task models" >&2; exit 2; }
family=(--base "$FAMILY/base" "${models[@]}")
rm -f "$OUT"/{report,sweep}.h5 "$OUT"/*.json "$OUT"/eval-*.yml

echo "== $(basename "$FAMILY"): tasks ${names[*]}" >&2
start=$(date +%s)
run "$BIN" analyze "${family[@]}" -o "$OUT/report.h5" --json >"$OUT/analyze.json"
run "$BIN" probe "${family[@]}" --prompts "$FAMILY/prompts.txt" --alphas 0:1:0.25 --scales 0.25,0.5,1,2,3 \
    -o "$OUT/report.h5" --json >"$OUT/probe.json"
target=$(run "$PYTHON" - "$OUT/report.h5" <<'PY'
import sys
import h5py
import numpy as np
with h5py.File(sys.argv[1], "r") as f:
    G = f["global/gram"][()]
try:
    c = np.linalg.solve(G, np.diag(G))
except np.linalg.LinAlgError:
    c = None
if c is not None and np.all(c >= 0) and c.sum() > 0:
    print(":".join(f"{x:.6f}" for x in c / c.sum()))
PY
)
weights=uniform,metagpt
if [ -n "$target" ]; then weights="$weights,$target"; else echo "c* has a negative entry: no linear-target row" >&2; fi
run "$BIN" sweep "${family[@]}" "${tasks[@]}" --scales 0.25:3:0.25 --weights "$weights" -o "$OUT/sweep.h5" \
    --json --quiet >"$OUT/sweep.json"
run "$BIN" recommend "$OUT/report.h5" --json >"$OUT/datafree.json"
run "$BIN" recommend "$OUT/report.h5" >"$OUT/datafree.txt"
if run "$BIN" recommend --help 2>&1 | grep -q -- '--prompts'; then
    prompts=()
    for name in "${names[@]}"; do
        [ -f "$FAMILY/unlabeled/$name.jsonl" ] || { echo "$0: no unlabeled/$name.jsonl" >&2; exit 2; }
        prompts+=(--prompts "$name=$FAMILY/unlabeled/$name.jsonl")
    done
    run "$BIN" recommend "$OUT/report.h5" "${prompts[@]}" --json >"$OUT/labelfree.json"
else
    echo "this metamerge has no recommend --prompts: label-free columns skipped" >&2
fi

# eval each pick that is not a sweep point: a task_arithmetic config whose weights are the pick's coefficients.
run "$PYTHON" "$here/recommend_validation.py" picks "$OUT" >"$OUT/picks.txt"
while read -r label coefficients; do
    [ -n "$label" ] || continue
    config="$OUT/eval-$label.yml"
    {
        echo "merge_method: task_arithmetic"
        echo "base_model: $FAMILY/base"
        echo "models:"
        i=0
        for c in ${coefficients//,/ }; do
            echo "  - model: $FAMILY/${names[$i]}"
            echo "    parameters: {weight: $c}"
            i=$((i + 1))
        done
        echo "dtype: float32"
    } >"$config"
    run "$BIN" eval "$config" "${tasks[@]}" --json --quiet >"$OUT/eval-$label.json"
done <"$OUT/picks.txt"
run "$PYTHON" "$here/few_labels.py" "$OUT/sweep.h5" --json "$OUT/few_labels.json" >&2
echo "pipeline: $(( $(date +%s) - start )) s" >&2
run "$PYTHON" "$here/recommend_validation.py" summary "$OUT" "$(basename "$FAMILY")"
