#!/usr/bin/env python3
# PyTorch side of benchmarks/forward_vs_torch.sh: builds a ~100M-parameter Llama with random weights (saved as
# float32 safetensors, once) and times transformers' CPU forward pass on one 64-token prompt.
#
# Pins: torch==2.13.0+cpu  transformers==5.23.0  safetensors==0.8.0
#
# Usage: forward_vs_torch.py MODEL_DIR [--tokens 64] [--runs 10] [--threads 2]
import argparse
import json
import statistics
import time
from pathlib import Path

import torch
from transformers import LlamaConfig, LlamaForCausalLM

CONFIG = dict(
    vocab_size=32000, hidden_size=768, intermediate_size=2048, num_hidden_layers=12, num_attention_heads=12,
    num_key_value_heads=4, head_dim=64, max_position_embeddings=2048, rms_norm_eps=1e-5,
    rope_parameters={"rope_type": "default", "rope_theta": 500000.0}, tie_word_embeddings=True, hidden_act="silu",
)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("model_dir", type=Path)
    parser.add_argument("--tokens", type=int, default=64)
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--batch", type=int, default=8, help="also time this many prompts in one batch (0: skip)")
    parser.add_argument("--batch-tokens", type=int, default=16)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)

    if not (args.model_dir / "model.safetensors").exists():
        torch.manual_seed(0)
        model = LlamaForCausalLM(LlamaConfig(**CONFIG))
        model.save_pretrained(args.model_dir)
    model = LlamaForCausalLM.from_pretrained(args.model_dir, dtype=torch.float32).eval()
    parameters = sum(p.numel() for p in model.parameters())

    shapes = [(1, args.tokens)] + ([(args.batch, args.batch_tokens)] if args.batch > 0 else [])
    for prompts, length in shapes:
        ids = torch.randint(0, CONFIG["vocab_size"], (prompts, length), generator=torch.Generator().manual_seed(1))
        times = []
        with torch.inference_mode():
            for run in range(args.runs + 2):
                start = time.perf_counter()
                logits = model(input_ids=ids).logits
                elapsed = time.perf_counter() - start
                if run >= 2:
                    times.append(elapsed)
        assert logits.shape == (prompts, length, CONFIG["vocab_size"])
        median = statistics.median(times)
        print(json.dumps({
            "implementation": f"PyTorch {torch.__version__} / transformers (attn {model.config._attn_implementation})",
            "parameters": parameters, "tokens": prompts * length, "prompts": prompts, "threads": torch.get_num_threads(),
            "median_seconds": median, "tokens_per_second": prompts * length / median,
        }))


if __name__ == "__main__":
    main()
