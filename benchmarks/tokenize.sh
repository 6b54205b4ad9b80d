#!/usr/bin/env bash
# Encoding speed of `metamerge tokenize` against the Hugging Face `tokenizers` package, in the same run, on the same
# text and tokenizer.json, in MB of UTF-8 text per second.
#
# The text: ~8 MB of lines made (seeded) from the words of the reference strings in Tests/Fixtures/tokenizers
# (several scripts, emoji, code, numbers, whitespace runs), written once to $CORPUS. Each side encodes every line
# with the post-processor's special tokens, single-threaded; metamerge's time includes reading tokenizer.json
# and the file and printing one JSON line per text (to /dev/null), the Python side's includes reading too.
# Both wall and CPU time are printed: on a machine shared with other work, wall time counts their work too.
#
# Usage: benchmarks/tokenize.sh [TOKENIZER_DIR]   (default: the SmolLM2-135M tokenizer, a 49 152-token byte-level BPE)
# Environment: PYTHON (a Python with tokenizers; default .venv/bin/python from `make python-env`), CORPUS, MB (8).
set -euo pipefail
cd "$(dirname "$0")/.."
TOKENIZER=${1:-Tests/Fixtures/tokenizers/smollm2}
PYTHON=${PYTHON:-.venv/bin/python}
CORPUS=${CORPUS:-${TMPDIR:-/tmp}/metamerge-tokenize-corpus.txt}
MB=${MB:-8}
[ -x "$PYTHON" ] || make python-env >/dev/null
make build >/dev/null
BIN=.build/release/metamerge

if [ ! -s "$CORPUS" ]; then
  "$PYTHON" - "$CORPUS" "$MB" <<'PY'
import glob, json, random, sys
words = []
for path in sorted(glob.glob("Tests/Fixtures/tokenizers/*/expected.json")):
    for row in json.load(open(path)):
        words += row["text"].replace("\n", " ").replace("\r", " ").split(" ")
words = [w for w in words if w.strip()]
rng = random.Random(3)
target = int(float(sys.argv[2]) * 1e6)
with open(sys.argv[1], "w", encoding="utf-8") as f:
    size = 0
    while size < target:
        line = rng.choice(["", "  ", "\t"]) + " ".join(rng.choice(words) for _ in range(rng.randint(5, 40)))
        f.write(line + "\n")
        size += len(line.encode()) + 1
PY
fi
bytes=$(wc -c < "$CORPUS")

# Wall and CPU (user + system) seconds: on a shared machine the wall time also counts other people's work.
read -r swift_s swift_cpu < <( { /usr/bin/time -f "%e %U %S" "$BIN" tokenize "$TOKENIZER" --file "$CORPUS" > /dev/null; } 2>&1 \
    | tail -n 1 | awk '{print $1, $2 + $3}')

read -r python_s python_cpu < <(TOKENIZERS_PARALLELISM=false RAYON_NUM_THREADS=1 "$PYTHON" - "$TOKENIZER/tokenizer.json" "$CORPUS" <<'PY'
import sys, time
from tokenizers import Tokenizer
start, cpu = time.perf_counter(), time.process_time()
tok = Tokenizer.from_file(sys.argv[1])
with open(sys.argv[2], encoding="utf-8") as f:
    lines = f.read().split("\n")[:-1]
for line in lines:
    tok.encode(line)
print(time.perf_counter() - start, time.process_time() - cpu)
PY
)
echo "text: $(echo "$bytes" | awk '{printf "%.2f MB", $1/1e6}') in $(wc -l < "$CORPUS") lines; tokenizer: $TOKENIZER"
echo "load average: $(cut -d' ' -f1-3 /proc/loadavg) on $(nproc) cores"
rate() { echo "$bytes $1 $2" | awk '{printf "%.2f MB/s wall (%.2f s), %.2f MB/s of CPU time (%.2f s)", $1/1e6/$2, $2, $1/1e6/$3, $3}'; }
echo "metamerge tokenize: $(rate "$swift_s" "$swift_cpu")"
echo "tokenizers $("$PYTHON" -c 'import tokenizers; print(tokenizers.__version__)') (Python, 1 thread): $(rate "$python_s" "$python_cpu")"
