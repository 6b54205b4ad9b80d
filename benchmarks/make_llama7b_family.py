#!/usr/bin/env python3
"""Synthesise a large random model family for benchmarks, streamed to disk (never held in memory); not committed.

Default shape: Llama-2-7B (hidden 4096, intermediate 11008, 32 layers, 32 heads, 32 KV heads, vocab 32000, untied
lm_head), bf16: a random base and N "fine-tunes" (base + noise of 1/10 the base's scale), about 13.5 GB each —
base + 2 ≈ 40 GB, more than the benchmark machine's RAM. Other `--shape`s: `tinyllama` (TinyLlama-1.1B: hidden 2048,
intermediate 5632, 22 layers, 4 KV heads, ≈ 2.2 GB per model); `llama3-8b` (Llama-3-8B: vocabulary 128256, 8 KV
heads, intermediate 14336, the real config's llama3 `rope_scaling`, ≈ 16 GB per model); `mixtral-tinyllama`
(Mixtral's sparse block — 8 experts, top-2, per-expert w1/w2/w3 — at TinyLlama's width, 6 layers, ≈ 3.5 GB per
model).

Values: base weights N(0, 0.02²) (norm weights 1), read from a fixed pool of 2^26 normals (rounded to bf16 once) at
random offsets; a task model flips the lowest 3 of the 7 stored mantissa bits of each weight with random bits (a
relative change of up to 7/128 ≈ 5%, about 2.6% rms) — no arithmetic per element, so writing, not drawing, is the
bottleneck on a busy machine. Speed figures do not depend on the values; metrics on this family are not meaningful
beyond being finite. Written as Hugging Face
directories (config.json + model.safetensors) with numpy only (the safetensors layout: an 8-byte little-endian
header length, a JSON header with dtype/shape/data_offsets, then the raw little-endian data).

    python benchmarks/make_llama7b_family.py --out /tmp/llama7b-family --tasks 2
Pins: numpy==2.4.6
"""
import argparse
import json
import os

import numpy as np

SHAPES = {
    "llama2-7b": dict(H=4096, I=11008, L=32, HEADS=32, KV=32, V=32000),
    "tinyllama": dict(H=2048, I=5632, L=22, HEADS=32, KV=4, V=32000),
    # Llama-3-8B / 3.1-8B: vocabulary 128256, GQA 8, llama3 RoPE (the real config's `rope_scaling` block).
    "llama3-8b": dict(H=4096, I=14336, L=32, HEADS=32, KV=8, V=128256, ROPE="llama3"),
    # Mixtral's block (8 experts, top-2, per-expert w1/w2/w3 as transformers 5.23 saves them) at TinyLlama's width;
    # 6 layers, so base + 2 (≈ 10.6 GB) stays in this machine's page cache and the figure is the engine's, not the disk's.
    "mixtral-tinyllama": dict(H=2048, I=5632, L=6, HEADS=32, KV=4, V=32000, EXPERTS=8, TOPK=2),
}


def tensor_shapes(s):
    H, I, L, HEADS, KV, V = s["H"], s["I"], s["L"], s["HEADS"], s["KV"], s["V"]
    head_dim = H // HEADS
    out = {"model.embed_tokens.weight": (V, H)}
    for i in range(L):
        p = f"model.layers.{i}."
        out[p + "input_layernorm.weight"] = (H,)
        out[p + "self_attn.q_proj.weight"] = (H, H)
        out[p + "self_attn.k_proj.weight"] = (KV * head_dim, H)
        out[p + "self_attn.v_proj.weight"] = (KV * head_dim, H)
        out[p + "self_attn.o_proj.weight"] = (H, H)
        out[p + "post_attention_layernorm.weight"] = (H,)
        if "EXPERTS" in s:
            out[p + "block_sparse_moe.gate.weight"] = (s["EXPERTS"], H)
            for e in range(s["EXPERTS"]):
                q = p + f"block_sparse_moe.experts.{e}."
                out[q + "w1.weight"] = (I, H)
                out[q + "w2.weight"] = (H, I)
                out[q + "w3.weight"] = (I, H)
        else:
            out[p + "mlp.gate_proj.weight"] = (I, H)
            out[p + "mlp.up_proj.weight"] = (I, H)
            out[p + "mlp.down_proj.weight"] = (H, I)
    out["model.norm.weight"] = (H,)
    out["lm_head.weight"] = (V, H)
    return out


def config(s):
    c = {
        "architectures": ["LlamaForCausalLM"], "model_type": "llama", "hidden_size": s["H"],
        "intermediate_size": s["I"], "num_hidden_layers": s["L"], "num_attention_heads": s["HEADS"],
        "num_key_value_heads": s["KV"], "vocab_size": s["V"], "max_position_embeddings": 4096,
        "rms_norm_eps": 1e-5, "rope_theta": 10000.0, "hidden_act": "silu", "tie_word_embeddings": False,
        "torch_dtype": "bfloat16",
    }
    if s.get("ROPE") == "llama3":
        c.update(rope_theta=500000.0, max_position_embeddings=131072, rope_scaling={
            "factor": 8.0, "low_freq_factor": 1.0, "high_freq_factor": 4.0,
            "original_max_position_embeddings": 8192, "rope_type": "llama3"})
    if "EXPERTS" in s:
        c.update(architectures=["MixtralForCausalLM"], model_type="mixtral", num_local_experts=s["EXPERTS"],
                 num_experts_per_tok=s["TOPK"], router_jitter_noise=0.0, sliding_window=None, rope_theta=1e6)
    return c


def to_bf16(x):
    """float32 → bfloat16 bits, round to nearest even (as torch's .to(torch.bfloat16) for finite values)."""
    bits = x.view(np.uint32)
    return ((bits + 0x7FFF + ((bits >> 16) & 1)) >> 16).astype(np.uint16)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--out", default="/tmp/llama7b-family")
    parser.add_argument("--tasks", type=int, default=2)
    parser.add_argument("--shape", choices=sorted(SHAPES), default="llama2-7b")
    args = parser.parse_args()
    s = SHAPES[args.shape]
    rng = np.random.default_rng(0)
    pool = rng.standard_normal(1 << 26, dtype=np.float32)
    shapes = tensor_shapes(s)
    header, offset = {"__metadata__": {"format": "pt"}}, 0
    for name, shape in shapes.items():
        n = int(np.prod(shape))
        header[name] = {"dtype": "BF16", "shape": list(shape), "data_offsets": [offset, offset + 2 * n]}
        offset += 2 * n
    encoded = json.dumps(header, separators=(",", ":")).encode()
    encoded += b" " * ((8 - len(encoded) % 8) % 8)
    names = ["base"] + [f"task{t + 1}" for t in range(args.tasks)]
    files = []
    for n in names:
        d = os.path.join(args.out, n)
        os.makedirs(d, exist_ok=True)
        with open(os.path.join(d, "config.json"), "w") as f:
            json.dump(config(s), f, indent=2)
        f = open(os.path.join(d, "model.safetensors"), "wb")
        f.write(len(encoded).to_bytes(8, "little"))
        f.write(encoded)
        files.append(f)
    chunk = 1 << 24
    pool16 = to_bf16(pool * np.float32(0.02))
    noise = (rng.integers(0, 1 << 16, pool.size, dtype=np.uint32).astype(np.uint16)) & np.uint16(0x0007)
    ones = np.full(chunk, to_bf16(np.ones(1, dtype=np.float32))[0], dtype=np.uint16)
    for name, shape in shapes.items():
        n = int(np.prod(shape))
        for start in range(0, n, chunk):
            m = min(chunk, n - start)
            if len(shape) == 1:
                base = ones[:m]
            else:
                o = int(rng.integers(0, pool16.size - m))
                base = pool16[o:o + m]
            files[0].write(base.tobytes())
            for f in files[1:]:
                o = int(rng.integers(0, noise.size - m))
                f.write((base ^ noise[o:o + m]).tobytes())
    for f, n in zip(files, names):
        f.close()
        print("wrote", os.path.join(args.out, n))


if __name__ == "__main__":
    main()
