#!/usr/bin/env bash
# Compares two `metamerge` binaries on the TinyLlama-shaped family (benchmarks/make_tinyllama_family.py --tasks 2),
# interleaved A B A B … so that a shared machine's load falls on both alike: `analyze`, and `merge` with
# task_arithmetic, metagpt (λ computed in-process) and ties (weight 1, density 0.5), page cache warm, `sync`
# (untimed) before each run. Prints every run (wall, user + sys CPU) and per binary and workload the min and median
# (the lower middle for an even REPS) of wall, CPU and user time; checks that both binaries' merge outputs are
# byte-identical (md5) and that their analysis reports hold the same numbers (every dataset and attribute, read with
# h5py from PYTHON, except the command line and creation time). Issue 18 item 4: a plain `swift build -c release`
# against the binary `make build` used to produce with `-Xswiftc -target-cpu -Xswiftc haswell`.
#
# Usage: benchmarks/build_paths.sh BIN_A BIN_B [FAMILY_DIR] [REPS]
#   FAMILY_DIR default /tmp/tinyllama-family; REPS default 3; WORK (scratch, default /tmp/metamerge-build-paths);
#   WORKLOADS (default "analyze task_arithmetic metagpt ties") picks some of them.
set -euo pipefail
cd "$(dirname "$0")/.."
A=$1 B=$2
FAMILY=${3:-/tmp/tinyllama-family}
REPS=${4:-3}
WORK=${WORK:-/tmp/metamerge-build-paths}
WORKLOADS=${WORKLOADS:-analyze task_arithmetic metagpt ties}
methods=$(for w in $WORKLOADS; do [ "$w" = analyze ] || echo "$w"; done)
[ -d "$FAMILY/base" ] || python3 benchmarks/make_tinyllama_family.py --out "$FAMILY" --tasks 2
mkdir -p "$WORK"
trap 'rm -rf "$WORK"/out-* "$WORK"/report-*.h5' EXIT
for method in $methods; do
    weights=""
    [ "$method" = task_arithmetic ] && weights="weight: 0.5"
    [ "$method" = ties ] && weights="weight: 1.0, density: 0.5"
    cat > "$WORK/$method.yml" <<YAML
models:
  - model: $FAMILY/task1
    parameters: {$weights}
  - model: $FAMILY/task2
    parameters: {$weights}
base_model: $FAMILY/base
merge_method: $method
YAML
done
cat "$FAMILY"/*/model.safetensors > /dev/null
echo "$(nproc) cores; load at start $(cut -d' ' -f1-3 /proc/loadavg); A=$A B=$B"
results="$WORK/results"
: > "$results"
run() {  # run LABEL WORKLOAD COMMAND...
    local label=$1 workload=$2; shift 2
    sync
    /usr/bin/time -f "%e %U %S" -o "$WORK/time" "$@" > "$WORK/log" 2>&1 || { cat "$WORK/log"; exit 1; }
    read -r wall user sys < "$WORK/time"
    local cpu
    cpu=$(awk -v u="$user" -v s="$sys" 'BEGIN { printf "%.2f", u + s }')
    echo "$label $workload $wall $cpu $user" >> "$results"
    printf "%s %-16s wall %6.2f s  cpu %6.2f s (user %5.2f)  load %s\n" "$label" "$workload" "$wall" "$cpu" "$user" \
        "$(cut -d' ' -f1 /proc/loadavg)"
}
for rep in $(seq "$REPS"); do
    for label in A B; do
        bin=$A
        [ "$label" = B ] && bin=$B
        case " $WORKLOADS " in
        *" analyze "*)
            run "$label" analyze "$bin" analyze --base "$FAMILY/base" --model "task1=$FAMILY/task1" \
                --model "task2=$FAMILY/task2" -o "$WORK/report-$label.h5" ;;
        esac
        for method in $methods; do
            rm -rf "$WORK/out-$label-$method"
            run "$label" "$method" "$bin" merge "$WORK/$method.yml" "$WORK/out-$label-$method" --quiet
            md5sum "$WORK/out-$label-$method"/*.safetensors | cut -d' ' -f1 > "$WORK/md5-$label-$method"
            [ "$rep" = "$REPS" ] || rm -rf "$WORK/out-$label-$method"
        done
    done
done
echo "binary workload        wall min / median     cpu min / median      user min / median"
for label in A B; do
    for workload in $WORKLOADS; do
        awk -v l="$label" -v w="$workload" '$1 == l && $2 == w { print $3, $4, $5 }' "$results" > "$WORK/runs"
        stats() {  # column → "min / median"
            cut -d' ' -f"$1" "$WORK/runs" | sort -n |
                awk '{ v[NR] = $1 } END { printf "%.2f / %.2f", v[1], v[int((NR + 1) / 2)] }'
        }
        printf "%s      %-16s %-21s %-21s %s\n" "$label" "$workload" "$(stats 1)" "$(stats 2)" "$(stats 3)"
    done
done
for method in $methods; do
    if cmp -s "$WORK/md5-A-$method" "$WORK/md5-B-$method"; then
        echo "$method: outputs identical ($(cat "$WORK/md5-A-$method"))"
    else
        echo "$method: OUTPUTS DIFFER"
    fi
done
# Every dataset and attribute of the two reports; only the command line and the creation time may differ.
[ -f "$WORK/report-A.h5" ] || exit 0
"${PYTHON:-python3}" - "$WORK/report-A.h5" "$WORK/report-B.h5" <<'PY' || echo "reports not compared (needs h5py)"
import sys, h5py, numpy as np
def collect(path):
    out = {}
    with h5py.File(path, "r") as f:
        def visit(name, obj):
            if isinstance(obj, h5py.Dataset):
                out[name] = obj[()]
            for key, value in obj.attrs.items():
                out[name + "@" + key] = value
        f.visititems(visit)
        for key, value in f.attrs.items():
            out["@" + key] = value
    return out
a, b = collect(sys.argv[1]), collect(sys.argv[2])
def same(x, y):
    try:
        return np.array_equal(np.asarray(x), np.asarray(y), equal_nan=True)
    except TypeError:
        return np.array_equal(np.asarray(x), np.asarray(y))
keys = [k for k in sorted(set(a) | set(b)) if not k.endswith(("@command_line", "@created_utc"))]
differ = [k for k in keys if k not in a or k not in b or not same(a[k], b[k])]
print("analysis reports: %d items compared, differing: %s" % (len(keys), differ if differ else "none"))
PY
