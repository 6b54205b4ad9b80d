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


def write_tiny_gguf(path, kind):
    """The bundled tiny Llama base written as GGUF with the `gguf` package's GGUFWriter, as llama.cpp's
    convert_hf_to_gguf.py lays a Llama out (tensor names, q/k rows permuted per head, llama.* metadata, a
    SentencePiece-style vocabulary). kind: F32 (every tensor), F16 or BF16 (matrices), Q8_0 (matrices whose rows are
    whole 32-element blocks; the others F32, as llama.cpp falls back). Returns the original tensors and config."""
    import gguf
    from gguf import GGMLQuantizationType
    from safetensors.numpy import load_file
    base = os.path.join(FAMILY, "base")
    with open(os.path.join(base, "config.json")) as f:
        config = json.load(f)
    with open(os.path.join(base, "tokenizer.json")) as f:
        vocab = json.load(f)["model"]["vocab"]
    tensors = load_file(os.path.join(base, "model.safetensors"))
    n_head, n_kv = config["num_attention_heads"], config["num_key_value_heads"]

    def permute(w, heads):  # convert_hf_to_gguf.py, LlamaModel.permute
        return w.reshape(heads, 2, w.shape[0] // heads // 2, *w.shape[1:]).swapaxes(1, 2).reshape(w.shape)

    top = {"model.embed_tokens.weight": "token_embd.weight", "model.norm.weight": "output_norm.weight",
           "lm_head.weight": "output.weight"}
    block = {"input_layernorm.weight": "attn_norm.weight", "self_attn.q_proj.weight": "attn_q.weight",
             "self_attn.k_proj.weight": "attn_k.weight", "self_attn.v_proj.weight": "attn_v.weight",
             "self_attn.o_proj.weight": "attn_output.weight", "post_attention_layernorm.weight": "ffn_norm.weight",
             "mlp.gate_proj.weight": "ffn_gate.weight", "mlp.up_proj.weight": "ffn_up.weight",
             "mlp.down_proj.weight": "ffn_down.weight"}
    writer = gguf.GGUFWriter(path, "llama")
    writer.add_context_length(config["max_position_embeddings"])
    writer.add_block_count(config["num_hidden_layers"])
    writer.add_feed_forward_length(config["intermediate_size"])
    writer.add_embedding_length(config["hidden_size"])
    writer.add_rope_dimension_count(config["head_dim"])
    writer.add_rope_freq_base(config["rope_parameters"]["rope_theta"])
    writer.add_head_count(n_head)
    writer.add_head_count_kv(n_kv)
    writer.add_layer_norm_rms_eps(config["rms_norm_eps"])
    writer.add_vocab_size(config["vocab_size"])
    tokens = sorted(vocab, key=vocab.get)
    writer.add_tokenizer_model("llama")
    writer.add_token_list(tokens)
    writer.add_token_scores([-float(i) for i in range(len(tokens))])
    writer.add_token_types([3, 3, 3, 2] + [1] * (len(tokens) - 4))  # control ×3, unknown, normal
    writer.add_unk_token_id(3)
    writer.add_bos_token_id(config["bos_token_id"])
    writer.add_eos_token_id(config["eos_token_id"])
    for name, w in sorted(tensors.items()):
        if name in top:
            gguf_name = top[name]
        else:
            _, _, layer, rest = name.split(".", 3)
            gguf_name = f"blk.{layer}.{block[rest]}"
        if name.endswith("q_proj.weight"):
            w = permute(w, n_head)
        elif name.endswith("k_proj.weight"):
            w = permute(w, n_kv)
        w = np.ascontiguousarray(w, dtype=np.float32)
        if kind == "F16" and w.ndim == 2:
            writer.add_tensor(gguf_name, w.astype(np.float16))
        elif kind == "BF16" and w.ndim == 2:
            writer.add_tensor(gguf_name, gguf.quants.quantize(w, GGMLQuantizationType.BF16),
                              raw_dtype=GGMLQuantizationType.BF16)
        elif kind == "Q8_0" and w.ndim == 2 and w.shape[-1] % 32 == 0:
            writer.add_tensor(gguf_name, gguf.quants.quantize(w, GGMLQuantizationType.Q8_0),
                              raw_dtype=GGMLQuantizationType.Q8_0)
        else:
            writer.add_tensor(gguf_name, w)
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    return tensors, config


@check
def gguf_converter_round_trips_f32_f16_bf16_q8_0(tmp):
    """scripts/fixtures/convert_smollm2.py converts a tiny Llama GGUF (written by GGUFWriter in F32, F16, BF16 and
    Q8_0) back to the original weights: F32 exactly, F16 exactly the float16 rounding, BF16 exactly the bfloat16
    rounding (8 significant bits, ties to even, from np.frexp), Q8_0 within its block error (per block
    of 32, d = max|x|/127 stored as float16: |x − q·d16| ≤ d/2 + 127·|d − d16|, plus 127·d·2^-22 for the float32
    product x·(1/d) rounded before the integer); config.json as the original's; the
    file's SHA-256 in .complete; `metamerge inspect` reads the result and names the GGUF file as GGUF."""
    import hashlib
    from safetensors.numpy import load_file
    converter = os.path.join(ROOT, "scripts", "fixtures", "convert_smollm2.py")
    details = []
    for kind in ("F32", "F16", "BF16", "Q8_0"):
        path = os.path.join(tmp, f"tiny.{kind}.gguf")
        originals, config = write_tiny_gguf(path, kind)
        out = os.path.join(tmp, f"converted-{kind}")
        result = subprocess.run([sys.executable, converter, out, "--gguf", path], capture_output=True, text=True)
        assert result.returncode == 0, f"{kind}: convert_smollm2.py exited {result.returncode}:\n{result.stderr}"
        converted = load_file(os.path.join(out, "model.safetensors"))
        assert sorted(converted) == sorted(originals), f"{kind}: tensor names differ"
        worst = 0.0
        for name, original in originals.items():
            got = converted[name]
            assert got.dtype == np.float32 and got.shape == original.shape, f"{kind} {name}: {got.dtype} {got.shape}"
            if kind == "F16" and original.ndim == 2:
                assert np.array_equal(got, original.astype(np.float16).astype(np.float32)), f"F16 {name}"
            elif kind == "BF16" and original.ndim == 2:
                mantissa, exponent = np.frexp(original.astype(np.float64))
                expected = np.ldexp(np.round(mantissa * 256), exponent - 8).astype(np.float32)
                assert np.array_equal(got, expected), f"BF16 {name}"
                assert not np.array_equal(got, original), f"BF16 {name}: not rounded"
            elif kind == "Q8_0" and original.ndim == 2 and original.shape[-1] % 32 == 0:
                blocks = original.astype(np.float64).reshape(-1, 32)
                d = np.abs(blocks).max(axis=1, keepdims=True) / 127
                d16_error = np.abs(d.astype(np.float16).astype(np.float64) - d)
                # x·(1/d) is rounded to float32 (relative 2^-24, twice) before it is rounded to an integer
                bound = d / 2 + 127 * d16_error + 127 * d * 2.0**-22 + 1e-30
                error = np.abs(got.astype(np.float64).reshape(-1, 32) - blocks)
                assert (error <= bound).all(), f"Q8_0 {name}: error {error.max()} beyond the block bound"
                worst = max(worst, float((error / np.maximum(bound, 1e-30)).max()))
            else:
                assert np.array_equal(got, original), f"{kind} {name}: not exact"
        if kind == "Q8_0":
            assert worst > 0.1, "Q8_0: the weights were not quantized"
        with open(os.path.join(out, "config.json")) as f:
            got_config = json.load(f)
        for key in ("hidden_size", "intermediate_size", "num_hidden_layers", "num_attention_heads",
                    "num_key_value_heads", "head_dim", "vocab_size", "max_position_embeddings", "bos_token_id",
                    "eos_token_id", "tie_word_embeddings", "model_type"):
            assert got_config.get(key) == config[key], f"{kind}: config {key} {got_config.get(key)} != {config[key]}"
        assert abs(got_config["rms_norm_eps"] - config["rms_norm_eps"]) <= 1e-7 * config["rms_norm_eps"]
        assert got_config["rope_parameters"]["rope_theta"] == config["rope_parameters"]["rope_theta"]
        with open(path, "rb") as f:
            digest = hashlib.sha256(f.read()).hexdigest()
        with open(os.path.join(out, ".complete")) as f:
            assert digest in f.read(), f"{kind}: .complete does not record the GGUF's SHA-256"
        run("inspect", out)
        refused = run("inspect", path, expect=2)
        expected = f"{path}: is a GGUF file (llama.cpp format, version 3, {len(originals)} tensors)"
        assert expected in refused.stderr, refused.stderr
        details.append(kind if kind != "Q8_0" else f"Q8_0 (worst {worst:.4f} of the block bound)")
    return ", ".join(details) + f"; {len(originals)} tensors each"


@check
def hub_cache_layout_reads_in_huggingface_hub(tmp):
    """The fake hub cache the Swift tests build (Tests/CLITests/InputPathTests.swift, FakeHubCache) is what
    huggingface_hub itself reads: snapshot_download(local_files_only=True) and try_to_load_from_cache find the
    snapshot; `metamerge inspect org/base` with HF_HUB_CACHE there reads it, and gives what inspect gives by path."""
    from huggingface_hub import snapshot_download, try_to_load_from_cache
    commit = "0123456789abcdef0123456789abcdef01234567"
    cache = os.path.join(tmp, "hub")
    entry = os.path.join(cache, "models--org--base")
    snapshot = os.path.join(entry, "snapshots", commit)
    for folder in ("blobs", "refs", snapshot):
        os.makedirs(os.path.join(entry, folder), exist_ok=True)
    source = os.path.join(FAMILY, "base")
    for index, name in enumerate(sorted(os.listdir(source))):
        blob = f"{index + 1:064x}"
        with open(os.path.join(source, name), "rb") as a, open(os.path.join(entry, "blobs", blob), "wb") as b:
            b.write(a.read())
        os.symlink(f"../../blobs/{blob}", os.path.join(snapshot, name))
    with open(os.path.join(entry, "refs", "main"), "w") as f:
        f.write(commit)
    for revision in (None, "main", commit):
        found = snapshot_download("org/base", revision=revision, cache_dir=cache, local_files_only=True)
        assert os.path.samefile(found, snapshot), f"snapshot_download({revision}) gave {found}"
    weights = try_to_load_from_cache("org/base", "model.safetensors", cache_dir=cache)
    assert weights == os.path.join(snapshot, "model.safetensors"), weights
    environment = dict(os.environ, HF_HUB_CACHE=cache)
    by_id = subprocess.run([BIN, "inspect", "--json", "org/base"], capture_output=True, text=True, env=environment,
                           cwd=tmp)
    assert by_id.returncode == 0, by_id.stderr
    by_path = json.loads(run("inspect", "--json", source).stdout)
    by_id = json.loads(by_id.stdout)
    assert by_id.pop("directory") == snapshot and by_path.pop("directory") == source
    assert by_id == by_path, "inspect by hub id differs from inspect by path"
    missing = subprocess.run([BIN, "inspect", "org/missing"], capture_output=True, text=True, env=environment, cwd=tmp)
    assert missing.returncode == 2 and "models--org--missing" in missing.stderr, missing.stderr
    return "snapshot_download and try_to_load_from_cache find the snapshot metamerge reads"


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
