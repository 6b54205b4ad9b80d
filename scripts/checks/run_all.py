#!/usr/bin/env python3
"""End-to-end checks of the release `metamerge` binary against real reference readers (h5py, safetensors, NumPy).

Run by `make test` after the Swift tests:  METAMERGE=.build/release/metamerge python scripts/checks/run_all.py
Each check runs the binary on the bundled family (examples/tiny-family) in a temporary directory and reads what
it wrote with the reference Python packages. Prints one line per check and a closing 'N passed, N failed'.
"""
import glob
import json
import os
import subprocess
import sys
import tempfile
import traceback

import h5py
import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
FAMILY = os.path.join(ROOT, "examples", "tiny-family")
FIXTURES = os.path.join(ROOT, "Tests", "Fixtures")
BIN = os.path.abspath(os.environ.get("METAMERGE", os.path.join(ROOT, ".build", "release", "metamerge")))
TASKS = ["add", "rev", "sort"]
CHECKS = []


def check(function):
    CHECKS.append(function)
    return function


def run(*args, expect=0):
    result = subprocess.run([BIN, *args], capture_output=True, text=True)
    if result.returncode != expect:
        raise AssertionError(f"metamerge {' '.join(args)} exited {result.returncode} (expected {expect}):\n"
                             f"{result.stdout}\n{result.stderr}")
    return result


def family_args():
    args = ["--base", os.path.join(FAMILY, "base")]
    for task in TASKS:
        args += ["--model", f"{task}={os.path.join(FAMILY, task)}"]
    return args


def close(a, b, rtol=1e-9, what=""):
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    if a.shape != b.shape:
        raise AssertionError(f"{what}: shape {a.shape} vs {b.shape}")
    both_nan = np.isnan(a) & np.isnan(b)
    err = np.abs(a - b)[~both_nan]
    scale = np.maximum(np.abs(b), 1e-300)[~both_nan]
    worst = float((err / scale).max()) if err.size else 0.0
    if worst > rtol:
        raise AssertionError(f"{what}: relative error {worst:.3g} > {rtol}")
    return worst


@check
def analysis_report_reads_in_h5py_and_matches_numpy(tmp):
    """The report of `metamerge analyze` opens in h5py and its figures equal the NumPy float64 reference."""
    report = os.path.join(tmp, "report.h5")
    run("analyze", *family_args(), "-o", report)
    with open(os.path.join(FIXTURES, "analysis", "tiny-family-stats.json")) as f:
        ref = json.load(f)
    worst = 0.0
    with h5py.File(report, "r") as h5:
        assert h5.attrs["schema_version"] == 1
        assert list(h5["tasks"].asstr()[()]) == ref["tasks"]
        names = list(h5["tensors/name"].asstr()[()])
        assert sorted(names) == sorted(ref["tensors"].keys()), "tensor names differ from the reference"
        for i, name in enumerate(names):
            r = ref["tensors"][name]
            worst = max(worst, close(h5["tensors/gram"][i], r["gram"], what=f"{name} gram"))
            worst = max(worst, close(h5["tensors/metagpt_lambda"][i], r["metagpt_lambda"], what=f"{name} lambda"))
        g = ref["global"]
        for key in ("gram", "norm", "relative_norm", "metagpt_lambda", "mean_abs", "std", "max_abs"):
            worst = max(worst, close(h5["global/" + key][()], g[key], what=f"global {key}"))
        cos = np.array([[np.nan if x is None else x for x in row] for row in g["cosine"]])
        worst = max(worst, close(h5["global/cosine"][()], cos, what="global cosine"))
        labels = list(h5["layers/label"].asstr()[()])
        assert labels == list(ref["groups"].keys()), f"groups {labels} vs {list(ref['groups'])}"
        for i, label in enumerate(labels):
            worst = max(worst, close(h5["layers/gram"][i], ref["groups"][label]["gram"], what=f"{label} gram"))
        fingerprints = list(h5["provenance/fingerprint"].asstr()[()])
        assert len(fingerprints) == 4 and all(len(x) == 16 for x in fingerprints)
    return f"{len(names)} tensors; worst relative error vs NumPy {worst:.2e}"


@check
def gate_exit_codes(tmp):
    """`metamerge check` exits 0 under a loose threshold, 1 under a tight one, 2 on a file that is not a report."""
    report = os.path.join(tmp, "report.h5")
    run("analyze", *family_args(), "-o", report)
    run("check", report, "--max-cosine", "0.999")
    run("check", report, "--max-cosine", "0.000001", expect=1)
    bogus = os.path.join(tmp, "bogus.h5")
    with open(bogus, "w") as f:
        f.write("no")
    run("check", bogus, "--max-cosine", "0.1", expect=2)
    return "0 / 1 / 2 as documented"


@check
def inspect_json_matches_safetensors(tmp):
    """`metamerge inspect --json` lists exactly the tensors, dtypes and shapes the safetensors package reads."""
    from safetensors import safe_open
    directory = os.path.join(FAMILY, "base")
    summary = json.loads(run("inspect", "--json", "--tensors", directory).stdout)
    expected = {}
    with safe_open(os.path.join(directory, "model.safetensors"), "np") as f:
        for key in f.keys():
            t = f.get_slice(key)
            expected[key] = (t.get_dtype(), list(t.get_shape()))
    got = {t["name"]: (t["dtype"], t["shape"]) for t in summary["tensors"]}
    assert got == expected, f"inspect differs from safetensors: {set(got) ^ set(expected)}"
    return f"{len(got)} tensors"


@check
def merged_model_loads_in_safetensors_and_matches_numpy(tmp):
    """A model written by `metamerge merge` (sharded) loads with the safetensors package, its index is right, and
    its values equal task arithmetic computed in NumPy float64 to float32 rounding."""
    from safetensors.numpy import load_file
    config = os.path.join(tmp, "ta.yml")
    with open(config, "w") as f:
        f.write("merge_method: task_arithmetic\n")
        f.write(f"base_model: {os.path.join(FAMILY, 'base')}\nmodels:\n")
        for task in TASKS:
            f.write(f"  - model: {os.path.join(FAMILY, task)}\n    parameters: {{weight: 0.3}}\n")
        f.write("dtype: float32\n")
    out = os.path.join(tmp, "merged")
    run("merge", config, out, "--out-shard-size", "300KB", "--quiet")
    with open(os.path.join(out, "model.safetensors.index.json")) as f:
        index = json.load(f)
    shards = sorted(set(index["weight_map"].values()))
    assert len(shards) > 1, "expected a sharded output"
    merged = {}
    for shard in shards:
        merged.update(load_file(os.path.join(out, shard)))
    assert set(merged) == set(index["weight_map"]), "index and shards disagree"
    assert index["metadata"]["total_size"] == sum(v.nbytes for v in merged.values())
    base = load_file(os.path.join(FAMILY, "base", "model.safetensors"))
    tasks = [load_file(os.path.join(FAMILY, t, "model.safetensors")) for t in TASKS]
    worst = 0.0
    for name, value in merged.items():
        b = base[name].astype(np.float64)
        expected = b + 0.3 * sum(t[name].astype(np.float64) - b for t in tasks)
        scale = max(np.abs(b).max(), max(np.abs(t[name]).max() for t in tasks))
        ulp = np.spacing(np.float32(scale))
        err = np.abs(value.astype(np.float64) - expected).max() / ulp
        assert err <= 4, f"{name}: {err:.2f} ulps from the float64 task arithmetic"
        worst = max(worst, err)
    return f"{len(merged)} tensors in {len(shards)} shards; worst {worst:.2f} float32 ulps (at operand scale)"


@check
def demo_end_to_end(tmp):
    """`metamerge demo` runs the whole story and leaves the report (with /probe), both merged models and the
    notebooks' figures (rendered with this Python, which has notebooks-export/requirements.txt installed)."""
    out = os.path.join(tmp, "demo-out")
    result = run("demo", out, "--notebooks-python", sys.executable)
    for phrase in ("== 1.", "== 2.", "== 3.", "== 4.", "== 5.", "== 6.", "MetaGPT", "gate"):
        assert phrase in result.stdout, f"demo output lacks {phrase!r}"
    with h5py.File(os.path.join(out, "report.h5"), "r") as h5:
        assert "global" in h5 and "probe" in h5, "the demo's report lacks /global or /probe"
    for name in ("merged-metagpt", "merged-task_arithmetic"):
        for file in ("model.safetensors", "config.json", "README.md", "tokenizer.json"):
            path = os.path.join(out, name, file)
            assert os.path.getsize(path) > 0, f"missing {path}"
    figures = glob.glob(os.path.join(out, "notebooks", "figures", "*.png"))
    assert len(figures) >= 9 and all(os.path.getsize(f) > 1000 for f in figures), f"figures: {figures}"
    return f"report, 2 merged models, {len(figures)} figures"


def documented_command_lines():
    """Every `metamerge …` line of the `sh` code blocks in README.md and docs/*.md, with the exit code a trailing
    `# exit N` names (0 otherwise)."""
    import re
    import shlex
    files = [os.path.join(ROOT, "README.md")] + sorted(glob.glob(os.path.join(ROOT, "docs", "*.md")))
    commands = []
    for path in files:
        in_block = False
        with open(path, encoding="utf-8") as handle:
            for number, line in enumerate(handle, 1):
                stripped = line.strip()
                if stripped.startswith("```"):
                    in_block = not in_block and stripped in ("```sh", "```bash", "```shell")
                    continue
                if in_block and stripped.startswith("metamerge "):
                    code, _, comment = stripped.partition("#")
                    match = re.search(r"exit (\d+)", comment)
                    commands.append((os.path.relpath(path, ROOT), number, shlex.split(code)[1:],
                                     int(match.group(1)) if match else 0))
    return commands


@check
def documented_commands(tmp):
    """Every command line README.md and docs/ show in `sh` blocks runs, from a directory laid out as the repository
    (examples/ linked in), with the exit code the docs state."""
    os.symlink(os.path.join(ROOT, "examples"), os.path.join(tmp, "examples"))
    os.makedirs(os.path.join(tmp, "out"))
    commands = documented_command_lines()
    assert len(commands) >= 8, f"only {len(commands)} documented command lines found"
    for path, number, args, expected in commands:
        result = subprocess.run([BIN, *args], capture_output=True, text=True, cwd=tmp)
        if result.returncode != expected:
            raise AssertionError(f"{path}:{number}: metamerge {' '.join(args)} exited {result.returncode} "
                                 f"(the docs say {expected}):\n{result.stdout}\n{result.stderr}")
    return f"{len(commands)} command lines from README.md and docs/"


def main():
    if not os.path.exists(BIN):
        print(f"run_all: {BIN} not found; build with `make build`", file=sys.stderr)
        return 2
    passed = failed = 0
    for function in CHECKS:
        with tempfile.TemporaryDirectory() as tmp:
            try:
                detail = function(tmp)
                passed += 1
                print(f"PASS {function.__name__}: {detail}")
            except Exception:
                failed += 1
                print(f"FAIL {function.__name__}:\n{traceback.format_exc()}")
    print(f"python-checks: {passed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
