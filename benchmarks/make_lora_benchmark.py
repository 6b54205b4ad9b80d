#!/usr/bin/env python3
"""The LoRA benchmark family (issue 20, item 6; not committed, written outside the repository).

Given a TinyLlama-shaped base (benchmarks/make_tinyllama_family.py writes one: bf16, untied lm_head), writes under
OUT:
  adapter1..N/   PEFT LoRA adapters, rank R, lora_alpha 2R, target_modules "all-linear" (every linear layer but
                 lm_head), A and B drawn at random (PEFT initialises B to 0: that would be τ = 0) so that
                 ‖s·B·A‖ per module is about 0.002·‖W0‖-sized noise, saved by PEFT's save_pretrained;
  merged1..N/    each adapter's PEFT `merge_and_unload()` on the base, saved by transformers' save_pretrained
                 (bf16 as the base, safetensors, one file), config.json as the base's.
The base is read, never written.

    /work/venv-lora/bin/python benchmarks/make_lora_benchmark.py --base BASE_DIR --out OUT_DIR [--adapters 3] [--rank 16]
Pins: torch==2.13.0+cpu transformers==5.23 peft==0.21.2 safetensors
"""
import argparse
import os

import torch
from peft import LoraConfig, get_peft_model
from transformers import AutoModelForCausalLM


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--base", required=True)
    parser.add_argument("--out", required=True)
    parser.add_argument("--adapters", type=int, default=3)
    parser.add_argument("--rank", type=int, default=16)
    args = parser.parse_args()
    os.makedirs(args.out, exist_ok=True)
    for index in range(1, args.adapters + 1):
        adapter_dir = os.path.join(args.out, f"adapter{index}")
        merged_dir = os.path.join(args.out, f"merged{index}")
        if os.path.exists(os.path.join(merged_dir, "model.safetensors")):
            continue
        torch.manual_seed(1000 + index)
        model = AutoModelForCausalLM.from_pretrained(args.base, dtype=torch.bfloat16)
        config = LoraConfig(r=args.rank, lora_alpha=2 * args.rank, target_modules="all-linear", lora_dropout=0.0)
        model = get_peft_model(model, config)
        with torch.no_grad():
            for name, parameter in model.named_parameters():
                if "lora_A" in name:
                    parameter.normal_(0.0, 1.0 / parameter.shape[1] ** 0.5)
                elif "lora_B" in name:
                    parameter.normal_(0.0, 0.002)
        model.save_pretrained(adapter_dir)
        merged = model.merge_and_unload()
        merged.save_pretrained(merged_dir, max_shard_size="100GB")
        print(f"wrote {adapter_dir} and {merged_dir}", flush=True)


if __name__ == "__main__":
    main()
