#!/usr/bin/env python3
"""Every merge output of every architecture loads in transformers and equals its NumPy reference.

    METAMERGE=.build/release/metamerge python scripts/checks/check_architectures.py [ARCH...] [--keep DIR]

Run by `make python-checks` (so by `make test`). For each architecture below, a tiny model is built from
transformers' own config class (seeded random weights, hidden 64, 3 layers, vocabulary 96, float config fields as
floats) and saved with `save_pretrained(safe_serialization=True)` as a base and two task models (the base plus
small seeded noise; task2 stored in shards). The release binary then merges them with six configs:

- `task_arithmetic` (dtype float32): b + 0.6·(θ1 − b) + 0.3·(θ2 − b), MergeKit 0.1.5's float32 operations;
- `linear` (dtype float32, written in shards and read through MetaMerge's index): (1·b + 2·θ1 + 1·θ2) / 4;
- `ties` (dtype float32, densities 0.5 / 0.7, weights 1 / 0.5): MergeKit 0.1.5's top-k magnitude mask, sign
  election on the weighted deltas and normalisation by the elected weights, in NumPy;
- `task_arithmetic` with `dtype: bfloat16` (config.json rewritten): the inputs rounded to bfloat16, the same
  formula in float32, rounded once to bfloat16 (MetaMerge's documented rounding);
- `metagpt` (dtype float32): b + λ1·(θ1 − b) + λ2·(θ2 − b) in float64 with λₜ = ‖τₜ‖² / Σₖ ‖τₖ‖² over every
  stored tensor, rounded once to float32;
- a `slices` passthrough that changes the layer count: layers [0, 2) of θ1 then [1, 3) of θ2, 4 layers.

Each output must load with `AutoModelForCausalLM.from_pretrained(dir, output_loading_info=True)` with no missing,
unexpected or mismatched keys and no error messages, give finite logits, and hold exactly the reference's tensor
names, shapes and dtypes with values within 4 float32 ulps at operand scale (1 bfloat16 ulp for the bfloat16
case; exact for slices). The reference of `slices` is MergeKit's layer map: layers renumbered from 0, the tensors
before the layers (embed_tokens, wte, wpe, embed_in, word_embeddings) from the first slice's model, those after
them (final norm, lm_head, embed_out) from the last slice's; its config.json must have 4 layers and, where the
architecture has `layer_types`, each output layer's type from its source layer. For `slices` the logits of the
output are also compared with those of a model built in Python from the reference config and state dict (the
sliding window is 4 tokens and the prompt 12, so a wrong attention type changes them). config.json must keep
every key of the base's config.json with its value and JSON type (a float written as an integer is a difference),
apart from the keys the merge changes (the dtype; the layer count and layer_types for slices).

Prints one line per (architecture, config): PASS, or FAIL with the reason, and a closing
'architectures: N passed, M failed in T s' (about 40 s on the project's 2-core machine); exits 1 when a check
failed.
"""
from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import time
import traceback

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")

import numpy as np  # noqa: E402
import torch  # noqa: E402
import transformers  # noqa: E402
from safetensors.torch import load_file, save_file  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BIN = os.path.abspath(os.environ.get("METAMERGE", os.path.join(ROOT, ".build", "release", "metamerge")))

VOCAB = 96
HIDDEN = 64
LAYERS = 3
WINDOW = 4
PROMPT = 12
# Larger than transformers' default initializer_range (0.02), so that attention is far from uniform and a wrong
# attention window or layer type changes the logits visibly.
INIT = 0.1
COMMON = dict(vocab_size=VOCAB, hidden_size=HIDDEN, intermediate_size=128, num_hidden_layers=LAYERS,
              num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=128, initializer_range=INIT,
              bos_token_id=1, eos_token_id=2, pad_token_id=0)

# (name, config class, keyword arguments). Floats that transformers types strictly are given as floats.
ARCHITECTURES = [
    ("llama", "LlamaConfig", dict(COMMON)),
    ("llama_tied", "LlamaConfig", dict(COMMON, tie_word_embeddings=True)),
    ("llama3_rope", "LlamaConfig", dict(COMMON, rope_parameters=dict(
        rope_type="llama3", rope_theta=500000.0, factor=8.0, low_freq_factor=1.0, high_freq_factor=4.0,
        original_max_position_embeddings=32))),
    ("mistral", "MistralConfig", dict(COMMON, sliding_window=WINDOW)),
    ("qwen2", "Qwen2Config", dict(COMMON, use_sliding_window=True, sliding_window=WINDOW, max_window_layers=2)),
    ("qwen3", "Qwen3Config", dict(COMMON, head_dim=16, use_sliding_window=True, sliding_window=WINDOW,
                                  max_window_layers=2)),
    ("qwen3_moe", "Qwen3MoeConfig", dict(COMMON, head_dim=16, num_experts=4, num_experts_per_tok=2,
                                         moe_intermediate_size=32, router_aux_loss_coef=0.001)),
    ("gemma", "GemmaConfig", dict(COMMON, head_dim=16)),
    ("gemma2", "Gemma2Config", dict(COMMON, head_dim=16, sliding_window=WINDOW, query_pre_attn_scalar=16,
                                    final_logit_softcapping=30.0, attn_logit_softcapping=50.0)),
    ("gemma3_text", "Gemma3TextConfig", dict(COMMON, head_dim=16, sliding_window=WINDOW, query_pre_attn_scalar=16,
                                             layer_types=["sliding_attention", "full_attention",
                                                          "sliding_attention"])),
    ("phi3", "Phi3Config", dict(COMMON)),
    ("mixtral", "MixtralConfig", dict(COMMON, num_local_experts=4, num_experts_per_tok=2,
                                      router_jitter_noise=0.0, router_aux_loss_coef=0.02)),
    ("olmo2", "Olmo2Config", dict(COMMON)),
    ("gpt_neox", "GPTNeoXConfig", dict(vocab_size=VOCAB, hidden_size=HIDDEN, intermediate_size=128,
                                       num_hidden_layers=LAYERS, num_attention_heads=4,
                                       max_position_embeddings=128, initializer_range=INIT)),
    ("gpt2", "GPT2Config", dict(vocab_size=VOCAB, n_embd=HIDDEN, n_layer=LAYERS, n_head=4, n_positions=128,
                                initializer_range=INIT, bos_token_id=1, eos_token_id=2)),
    ("stablelm", "StableLmConfig", dict(COMMON)),
    ("cohere", "CohereConfig", dict(COMMON, logit_scale=0.5)),
    ("granite", "GraniteConfig", dict(COMMON, embedding_multiplier=2.0, logits_scaling=4.0,
                                      residual_multiplier=0.5, attention_multiplier=0.25)),
    ("phi", "PhiConfig", dict(COMMON)),
    ("starcoder2", "Starcoder2Config", dict(COMMON, sliding_window=WINDOW)),
    ("falcon", "FalconConfig", dict(vocab_size=VOCAB, hidden_size=HIDDEN, num_hidden_layers=LAYERS,
                                    num_attention_heads=4, max_position_embeddings=128, initializer_range=INIT,
                                    bos_token_id=1, eos_token_id=2)),
]

TA_WEIGHTS = (0.6, 0.3)
LINEAR_WEIGHTS = (1.0, 2.0, 1.0)
TIES = ((1.0, 0.5), (0.5, 0.7))  # (weight, density) of task 1 and task 2
SLICES = (("task1", 0, 2), ("task2", 1, 3))
LAYER_PATTERN = re.compile(r"\.(layers|h|blocks|layer)\.(\d+)\.")
PRE_LAYER = ("embed_tokens", "wte", "wpe", "embed_in", "word_embeddings")
LAYER_COUNT_KEYS = ("num_hidden_layers", "n_layer", "num_layers")
DTYPE_KEYS = ("dtype", "torch_dtype")


class CheckFailure(Exception):
    """A difference between an output and its reference, stated in one line."""


# ---------------------------------------------------------------------------------------------------------------
# The models


def build_family(name, class_name, kwargs, directory, seed):
    """Writes base, task1 and task2 of one architecture under `directory`: the base with seeded random weights,
    each task model the base plus seeded noise (0.02 × the tensor's standard deviation, 0.02 for constant
    tensors). Returns the base's config.json as saved."""
    config = getattr(transformers, class_name)(**kwargs)
    torch.manual_seed(seed)
    base = transformers.AutoModelForCausalLM.from_config(config).eval()
    base.save_pretrained(os.path.join(directory, "base"), safe_serialization=True)
    state = {key: value.detach().clone() for key, value in base.state_dict().items()}
    for index in (1, 2):
        generator = torch.Generator().manual_seed(seed * 10 + index)
        noisy = {}
        for key, value in state.items():
            if not value.is_floating_point():
                noisy[key] = value
                continue
            std = float(value.float().std()) if value.numel() > 1 else 0.0
            scale = 0.02 * std if std > 0 else 0.02
            noisy[key] = value + torch.randn(value.shape, generator=generator, dtype=value.dtype) * scale
        base.load_state_dict(noisy)
        # task2 is sharded (with model.safetensors.index.json), as large checkpoints are
        shard = {"max_shard_size": "100KB"} if index == 2 else {}
        base.save_pretrained(os.path.join(directory, f"task{index}"), safe_serialization=True, **shard)
        base.load_state_dict(state)
    with open(os.path.join(directory, "base", "config.json")) as handle:
        return json.load(handle)


def read_weights(directory):
    """The tensors a model directory stores, by name, as torch tensors: model.safetensors, or the shards its
    model.safetensors.index.json names (whose weight map must name exactly the tensors each shard holds)."""
    index_path = os.path.join(directory, "model.safetensors.index.json")
    if os.path.exists(index_path):
        with open(index_path) as handle:
            weight_map = json.load(handle)["weight_map"]
        files = sorted(set(weight_map.values()))
    else:
        weight_map, files = None, ["model.safetensors"]
    stray = sorted(set(name for name in os.listdir(directory) if name.endswith(".safetensors")) - set(files))
    if stray:
        raise CheckFailure(f"{directory}: weight files that no index names: {stray}")
    tensors = {}
    for file in files:
        for key, value in load_file(os.path.join(directory, file)).items():
            if key in tensors:
                raise CheckFailure(f"{key} stored twice in {directory}")
            if weight_map is not None and weight_map.get(key) != file:
                raise CheckFailure(f"{key} is in {file}, but the index says {weight_map.get(key)}")
            tensors[key] = value
    if weight_map is not None and set(weight_map) != set(tensors):
        raise CheckFailure(f"the index names tensors no shard holds: {sorted(set(weight_map) - set(tensors))[:4]}")
    return tensors


def as32(tensor):
    return tensor.float().numpy()


def to_bf16(array):
    """float32 → bfloat16 (round to nearest even, as torch), returned as the float32 values it represents."""
    return torch.from_numpy(np.ascontiguousarray(array, dtype=np.float32)).to(torch.bfloat16).float().numpy()


# ---------------------------------------------------------------------------------------------------------------
# References (NumPy, from the inputs' safetensors)


def task_arithmetic(b, t1, t2, weights):
    """MergeKit 0.1.5, task_arithmetic in float32: deltas, weighted, summed, added to the base."""
    w1, w2 = (np.float32(w) for w in weights)
    mixed = (t1 - b) * w1 + (t2 - b) * w2
    return b + mixed


def linear(inputs, weights):
    """MergeKit 0.1.5, linear with normalize: Σ wᵢθᵢ / Σ wᵢ in float32."""
    total = np.zeros_like(inputs[0])
    for value, weight in zip(inputs, weights):
        total = total + np.float32(weight) * value
    return total / np.float32(sum(weights))


def ties(b, tasks):
    """MergeKit 0.1.5, ties in float32: the k = ⌊density·n⌋ largest |δ| kept per task model, deltas weighted, the
    majority sign sign(Σ Wₜ) (≥ 0 counts as +), the elected weighted deltas summed and divided by the elected
    weights (0 → 1), added to the base. Returns the reference and a mask of the elements to compare: those whose
    |δ| equals the cut value of some model (the kept one among equals is unspecified) are left out."""
    weighted, weights, comparable = [], [], np.ones(b.shape, dtype=bool)
    for value, (weight, density) in tasks:
        delta = value - b
        magnitude = np.abs(delta).ravel()
        k = int(density * magnitude.size)
        order = np.argsort(-magnitude, kind="stable")
        mask = np.zeros(magnitude.size, dtype=np.float32)
        mask[order[:k]] = 1
        if 0 < k < magnitude.size:
            cut = magnitude[order[k - 1]]
            if magnitude[order[k]] == cut:
                comparable &= (np.abs(delta) != cut)
        weighted.append(delta * mask.reshape(b.shape) * np.float32(weight))
        weights.append(np.float32(weight))
    stacked = np.stack(weighted)
    majority = np.where(stacked.sum(axis=0) >= 0, np.float32(1), np.float32(-1))
    elected = np.sign(stacked) == majority
    mixed = (stacked * elected).sum(axis=0)
    divisor = (np.array(weights, dtype=np.float32).reshape((-1,) + (1,) * b.ndim) * elected).sum(axis=0)
    divisor[divisor == 0] = 1
    return b + mixed / divisor, comparable


def metagpt(models):
    """MetaGPT's global coefficients λₜ = ‖τₜ‖² / Σₖ ‖τₖ‖² in float64, the norms over every tensor the models
    store (τₜ = θₜ − θ₀; the result is θ₀ + Σ λₜ τₜ in float64, rounded once to float32)."""
    squares = [0.0, 0.0]
    for name, value in models["base"].items():
        b = value.double().numpy()
        for index, model in enumerate(("task1", "task2")):
            squares[index] += float(np.sum((models[model][name].double().numpy() - b) ** 2))
    total = sum(squares)
    return [square / total for square in squares]


def layer_of(name):
    match = LAYER_PATTERN.search(name)
    return (int(match.group(2)), match) if match else (None, None)


def slice_reference(models):
    """The output state dict of SLICES (MergeKit's layer map), by name: value and source name."""
    first, last = models[SLICES[0][0]], models[SLICES[-1][0]]
    reference = {}
    for name, value in first.items():
        if layer_of(name)[0] is None and any(part in name for part in PRE_LAYER):
            reference[name] = (value, f"{SLICES[0][0]}:{name}")
    output = 0
    for model, start, stop in SLICES:
        for layer in range(start, stop):
            for name, value in models[model].items():
                index, match = layer_of(name)
                if index == layer:
                    renamed = name[:match.start(2)] + str(output) + name[match.end(2):]
                    reference[renamed] = (value, f"{model}:{name}")
            output += 1
    for name, value in last.items():
        if layer_of(name)[0] is None and not any(part in name for part in PRE_LAYER):
            reference[name] = (value, f"{SLICES[-1][0]}:{name}")
    return reference


def expected_config(base_config, case, source_configs):
    """The config.json the merge must write: the base's, with the dtype of a bfloat16 merge, and for slices the
    layer count and each output layer's `layer_types` entry taken from its source layer. Returns (config, the keys
    not compared)."""
    expected = json.loads(json.dumps(base_config))
    loose = {"transformers_version"}
    if case == "bf16":
        for key in DTYPE_KEYS:
            if key in expected:
                expected[key] = "bfloat16"
    if case == "slices":
        layers = sum(stop - start for _, start, stop in SLICES)
        for key in LAYER_COUNT_KEYS:
            if key in expected:
                expected[key] = layers
        if isinstance(expected.get("layer_types"), list):
            expected["layer_types"] = [source_configs[model]["layer_types"][layer]
                                       for model, start, stop in SLICES for layer in range(start, stop)]
    return expected, loose


def json_differences(expected, got, path="config.json"):
    """Differences of value or JSON type (an integer is not a float) between two decoded JSON values."""
    if isinstance(expected, dict) and isinstance(got, dict):
        found = []
        for key in expected:
            if key not in got:
                found.append(f"{path}: key '{key}' missing (expected {json.dumps(expected[key])})")
            else:
                found += json_differences(expected[key], got[key], f"{path}.{key}")
        return found
    if isinstance(expected, list) and isinstance(got, list) and len(expected) == len(got):
        found = []
        for index, (a, b) in enumerate(zip(expected, got)):
            found += json_differences(a, b, f"{path}[{index}]")
        return found
    if type(expected) is not type(got) or expected != got:
        return [f"{path} is {json.dumps(got)}, expected {json.dumps(expected)}"]
    return []


# ---------------------------------------------------------------------------------------------------------------
# One merge, checked


def run_merge(config_text, directory, out):
    path = out + ".yml"
    with open(path, "w") as handle:
        handle.write(config_text)
    # the linear merge's output is sharded too, so that transformers reads MetaMerge's index
    shard = ["--out-shard-size", "200KB"] if out.endswith("out-linear") else []
    result = subprocess.run([BIN, "merge", path, out, "--quiet", *shard], capture_output=True, text=True,
                            cwd=directory)
    if result.returncode != 0:
        message = (result.stderr.strip() or result.stdout.strip()).splitlines()
        raise CheckFailure(f"metamerge merge exited {result.returncode}: {' | '.join(message[:3])}")


def merge_configs(directory):
    """The merge configs, by case name."""
    base, t1, t2 = (os.path.join(directory, name) for name in ("base", "task1", "task2"))
    ta = (f"merge_method: task_arithmetic\nbase_model: {base}\nmodels:\n"
          f"  - model: {t1}\n    parameters: {{weight: {TA_WEIGHTS[0]}}}\n"
          f"  - model: {t2}\n    parameters: {{weight: {TA_WEIGHTS[1]}}}\n")
    slices = "slices:\n" + "".join(
        f"  - sources:\n      - model: {os.path.join(directory, model)}\n        layer_range: [{start}, {stop}]\n"
        for model, start, stop in SLICES) + "merge_method: passthrough\ndtype: float32\n"
    return {
        "task_arithmetic": ta + "dtype: float32\n",
        "linear": "merge_method: linear\nmodels:\n" + "".join(
            f"  - model: {model}\n    parameters: {{weight: {weight}}}\n"
            for model, weight in zip((base, t1, t2), LINEAR_WEIGHTS)) + "dtype: float32\n",
        "ties": (f"merge_method: ties\nbase_model: {base}\nmodels:\n" + "".join(
            f"  - model: {model}\n    parameters: {{weight: {weight}, density: {density}}}\n"
            for model, (weight, density) in zip((t1, t2), TIES)) + "dtype: float32\n"),
        "bf16": ta + "dtype: bfloat16\n",
        "metagpt": (f"merge_method: metagpt\nbase_model: {base}\nmodels:\n  - model: {t1}\n  - model: {t2}\n"
                    "dtype: float32\n"),
        "slices": slices,
    }


def compare_weights(case, out_weights, models):
    """Checks the output's tensors against the case's reference; returns a summary of the worst error."""
    base = models["base"]
    if case == "slices":
        reference = slice_reference(models)
        names = set(reference)
    else:
        names = set(base)
    got = set(out_weights)
    if got != names:
        missing, extra = sorted(names - got), sorted(got - names)
        raise CheckFailure(f"tensor names differ from the reference: missing {missing[:4]}, unexpected {extra[:4]}")
    worst = 0.0
    want_dtype = torch.bfloat16 if case == "bf16" else torch.float32
    if case == "metagpt":
        metagpt_lambdas = metagpt(models)
    for name in sorted(names):
        value = out_weights[name]
        if value.dtype != want_dtype:
            raise CheckFailure(f"{name}: dtype {value.dtype}, expected {want_dtype}")
        if case == "slices":
            ref, source = reference[name]
            if tuple(value.shape) != tuple(ref.shape) or not torch.equal(value, ref):
                raise CheckFailure(f"{name}: differs from {source} (the slice map)")
            continue
        b, t1, t2 = as32(base[name]), as32(models["task1"][name]), as32(models["task2"][name])
        out = as32(value)
        if out.shape != b.shape:
            raise CheckFailure(f"{name}: shape {out.shape}, expected {b.shape}")
        mask = np.ones(b.shape, dtype=bool)
        if case == "task_arithmetic":
            expected = task_arithmetic(b, t1, t2, TA_WEIGHTS)
        elif case == "linear":
            expected = linear((b, t1, t2), LINEAR_WEIGHTS)
        elif case == "ties":
            expected, mask = ties(b, [(t1, TIES[0]), (t2, TIES[1])])
        elif case == "metagpt":
            expected = metagpt_lambdas[0] * (t1.astype(np.float64) - b) + b.astype(np.float64)
            expected = (expected + metagpt_lambdas[1] * (t2.astype(np.float64) - b)).astype(np.float32)
        else:
            rb, r1, r2 = to_bf16(b), to_bf16(t1), to_bf16(t2)
            expected = to_bf16(task_arithmetic(rb, r1, r2, TA_WEIGHTS))
        if not np.isfinite(out).all():
            raise CheckFailure(f"{name}: non-finite values")
        if case == "bf16":
            # one bfloat16 ulp at each reference element: 2^(e − 8) for |x| = m·2^e, m in [0.5, 1)
            _, exponent = np.frexp(np.maximum(np.abs(expected), np.float32(2.0 ** -126)))
            ulp = np.ldexp(np.float32(1), exponent - 8)
            error = float((np.abs(out - expected) / ulp)[mask].max(initial=0.0))
            if error > 1:
                raise CheckFailure(f"{name}: {error:.2f} bfloat16 ulps from the reference")
        else:
            scale = max(float(np.abs(x).max(initial=0.0)) for x in (b, t1, t2))
            ulp = float(np.spacing(np.float32(scale))) if scale > 0 else float(np.finfo(np.float32).tiny)
            error = float((np.abs(out.astype(np.float64) - expected.astype(np.float64)) / ulp)[mask]
                          .max(initial=0.0))
            if error > 4:
                raise CheckFailure(f"{name}: {error:.2f} float32 ulps (at operand scale) from the reference")
        worst = max(worst, error)
    unit = "exact" if case == "slices" else f"worst {worst:.2f} {'bf16' if case == 'bf16' else 'fp32'} ulp"
    return f"{len(names)} tensors, {unit}"


def load_and_run(directory, prompt):
    """Loads `directory` with AutoModelForCausalLM and returns its logits for `prompt`; fails on any missing,
    unexpected or mismatched key or loading error message, and on non-finite logits."""
    try:
        model, info = transformers.AutoModelForCausalLM.from_pretrained(directory, output_loading_info=True)
    except Exception as error:  # transformers' own refusal is the finding
        message = " ".join(line.strip() for line in str(error).splitlines() if line.strip())
        raise CheckFailure(f"from_pretrained raised {type(error).__name__}: {message[:400]}") from error
    problems = {key: list(value) for key, value in info.items() if value}
    if problems:
        raise CheckFailure(f"from_pretrained loading info: {problems}")
    model.eval()
    with torch.no_grad():
        logits = model(input_ids=prompt).logits.float()
    if not torch.isfinite(logits).all():
        raise CheckFailure("non-finite logits")
    return logits


def check_case(case, directory, models, configs, prompt):
    out = os.path.join(directory, f"out-{case}")
    run_merge(merge_configs(directory)[case], directory, out)
    problems = []
    with open(os.path.join(out, "config.json")) as handle:
        written = json.load(handle)
    expected, loose = expected_config(configs["base"], case, configs)
    for key in loose:
        expected.pop(key, None)
    problems += json_differences(expected, written)
    try:
        logits = load_and_run(out, prompt)
    except CheckFailure as failure:
        problems.insert(0, str(failure))
        logits = None
    try:
        detail = compare_weights(case, read_weights(out), models)
    except CheckFailure as failure:
        problems.append(str(failure))
        detail = ""
    if case == "slices" and logits is not None:
        # The reference model: the slice map's tensors and the expected config.json, written with the safetensors
        # package and loaded by transformers the same way (so its own renaming, e.g. of MoE experts, applies).
        reference = os.path.join(directory, "reference-slices")
        os.makedirs(reference)
        save_file({name: value.contiguous() for name, (value, _) in slice_reference(models).items()},
                  os.path.join(reference, "model.safetensors"), metadata={"format": "pt"})
        with open(os.path.join(reference, "config.json"), "w") as handle:
            json.dump(expected, handle, indent=2)
        try:
            want = load_and_run(reference, prompt)
        except CheckFailure as failure:
            problems.append(f"the reference model: {failure}")
        else:
            gap = float((logits - want).abs().max()) / max(1.0, float(want.abs().max()))
            if gap > 1e-6:
                problems.append(f"logits differ from the reference model's by {gap:.3g} (relative to max |logit|)")
            else:
                detail += f"; logits equal the reference model's ({gap:.1g})"
    if problems:
        raise CheckFailure("; ".join(problems))
    return detail


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("architectures", nargs="*", help="only these (default: all)")
    parser.add_argument("--keep", help="write the models and outputs under this directory and keep them")
    args = parser.parse_args()
    if not os.path.exists(BIN):
        print(f"check_architectures: {BIN} not found; build with `make build`", file=sys.stderr)
        print("architectures: 0 passed, 1 failed")
        return 2
    torch.set_num_threads(1)
    transformers.logging.set_verbosity_error()
    transformers.utils.logging.disable_progress_bar()
    selected = [entry for entry in ARCHITECTURES if not args.architectures or entry[0] in args.architectures]
    unknown = set(args.architectures) - {entry[0] for entry in ARCHITECTURES}
    if unknown:
        print(f"check_architectures: unknown architectures {sorted(unknown)}", file=sys.stderr)
        return 2
    if args.keep and os.path.exists(args.keep) and os.listdir(args.keep):
        print(f"check_architectures: --keep {args.keep} is not empty", file=sys.stderr)
        return 2
    start = time.monotonic()
    passed = failed = 0
    cases = ["task_arithmetic", "linear", "ties", "bf16", "metagpt", "slices"]
    generator = torch.Generator().manual_seed(7)
    prompt = torch.randint(3, VOCAB, (1, PROMPT), generator=generator)
    with tempfile.TemporaryDirectory() as scratch:
        root = args.keep or scratch
        for seed, (name, class_name, kwargs) in enumerate(selected, start=1):
            directory = os.path.join(root, name)
            os.makedirs(directory, exist_ok=True)
            began = time.monotonic()
            try:
                base_config = build_family(name, class_name, kwargs, directory, seed)
                configs = {"base": base_config}
                for model in ("task1", "task2"):
                    with open(os.path.join(directory, model, "config.json")) as handle:
                        configs[model] = json.load(handle)
                models = {model: read_weights(os.path.join(directory, model)) for model in ("base", "task1", "task2")}
            except Exception:
                failed += len(cases)
                print(f"FAIL {name}: could not build the tiny models:\n{traceback.format_exc()}", flush=True)
                continue
            for case in cases:
                try:
                    detail = check_case(case, directory, models, configs, prompt)
                    passed += 1
                    print(f"PASS {name}/{case}: {detail}", flush=True)
                except CheckFailure as failure:
                    failed += 1
                    print(f"FAIL {name}/{case}: {failure}", flush=True)
                except Exception:
                    failed += 1
                    print(f"FAIL {name}/{case}:\n{traceback.format_exc()}", flush=True)
            print(f"     {name}: {time.monotonic() - began:.1f} s", flush=True)
    print(f"architectures: {passed} passed, {failed} failed in {time.monotonic() - start:.1f} s")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
