#!/usr/bin/env python3
"""Synthesise a TinyLlama-shaped model family for benchmarks (not committed; written under /tmp by default).

hidden 2048, intermediate 5632, 22 layers, 32 heads, 4 KV heads, vocab 32000, bf16, untied lm_head:
a random base and N "fine-tunes" (base + N(0, 0.002²) noise), about 2.2 GB each, as Hugging Face directories
(config.json + model.safetensors) written with the `safetensors` package.

    python benchmarks/make_tinyllama_family.py --out /tmp/tinyllama-family --tasks 2
Pins: torch==2.13.0+cpu safetensors==0.8.0
"""
import argparse
import json
import os

import torch
from safetensors.torch import save_file

H, I, L, HEADS, KV, V = 2048, 5632, 22, 32, 4, 32000


def shapes():
    head_dim = H // HEADS
    out = {"model.embed_tokens.weight": (V, H)}
    for i in range(L):
        p = f"model.layers.{i}."
        out[p + "input_layernorm.weight"] = (H,)
        out[p + "post_attention_layernorm.weight"] = (H,)
        out[p + "self_attn.q_proj.weight"] = (H, H)
        out[p + "self_attn.k_proj.weight"] = (KV * head_dim, H)
        out[p + "self_attn.v_proj.weight"] = (KV * head_dim, H)
        out[p + "self_attn.o_proj.weight"] = (H, H)
        out[p + "mlp.gate_proj.weight"] = (I, H)
        out[p + "mlp.up_proj.weight"] = (I, H)
        out[p + "mlp.down_proj.weight"] = (H, I)
    out["model.norm.weight"] = (H,)
    out["lm_head.weight"] = (V, H)
    return out


def config():
    return {
        "architectures": ["LlamaForCausalLM"], "model_type": "llama", "hidden_size": H, "intermediate_size": I,
        "num_hidden_layers": L, "num_attention_heads": HEADS, "num_key_value_heads": KV, "vocab_size": V,
        "max_position_embeddings": 2048, "rms_norm_eps": 1e-5, "rope_theta": 10000.0, "hidden_act": "silu",
        "tie_word_embeddings": False, "torch_dtype": "bfloat16",
    }


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--out", default="/tmp/tinyllama-family")
    parser.add_argument("--tasks", type=int, default=2)
    args = parser.parse_args()
    torch.manual_seed(0)
    names = ["base"] + [f"task{t + 1}" for t in range(args.tasks)]
    tensors = {n: {} for n in names}
    for name, shape in shapes().items():
        base = torch.randn(shape) * 0.02 if len(shape) > 1 else torch.ones(shape)
        tensors["base"][name] = base.to(torch.bfloat16)
        for t in names[1:]:
            tensors[t][name] = (base + torch.randn(shape) * 0.002).to(torch.bfloat16)
    for n in names:
        d = os.path.join(args.out, n)
        os.makedirs(d, exist_ok=True)
        with open(os.path.join(d, "config.json"), "w") as f:
            json.dump(config(), f, indent=2)
        save_file(tensors[n], os.path.join(d, "model.safetensors"), metadata={"format": "pt"})
        print("wrote", d)


if __name__ == "__main__":
    main()
