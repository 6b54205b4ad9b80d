#!/usr/bin/env python3
"""Loads a merged model directory with transformers and generates from it: the check that `metamerge merge` writes
a model Hugging Face tools accept.

    python scripts/checks/load_merged.py OUT_DIR [--prompt TEXT] [--max-new-tokens N]

Prints the architecture, dtype, parameter count, what `from_pretrained` reports as missing / unexpected /
mismatched weights, the files of the directory, the first lines of the model card, and a greedy generation.
Exits 1 when a weight is missing, unexpected or mismatched, or the logits are not finite.

Pins (from `pip freeze` of the environment that produced the reported output):
  torch==2.13.0+cpu  transformers==5.23.0  safetensors==0.8.0
"""

from __future__ import annotations

import argparse
import os
import sys

import torch
from transformers import AutoModelForCausalLM, AutoTokenizer


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("directory")
    parser.add_argument("--prompt", default="12+34=")
    parser.add_argument("--max-new-tokens", type=int, default=8)
    args = parser.parse_args()

    print(f"directory: {args.directory}")
    print("files: " + ", ".join(sorted(os.listdir(args.directory))))
    card = os.path.join(args.directory, "README.md")
    if os.path.exists(card):
        with open(card, encoding="utf-8") as handle:
            head = handle.read().split("\n")[:8]
        print("model card: " + " | ".join(head))

    tokenizer = AutoTokenizer.from_pretrained(args.directory)
    model, info = AutoModelForCausalLM.from_pretrained(args.directory, output_loading_info=True)
    model.eval()
    parameters = sum(p.numel() for p in model.parameters())
    print(f"model: {type(model).__name__}, dtype {model.dtype}, {parameters} parameters")
    problems = {key: value for key, value in info.items() if value and key != "error_msgs"}
    problems.update({"error_msgs": info.get("error_msgs")} if info.get("error_msgs") else {})
    print(f"loading info: {dict((k, list(v)) for k, v in info.items())}")

    encoded = tokenizer(args.prompt, return_tensors="pt")
    with torch.no_grad():
        logits = model(**encoded).logits
        finite = bool(torch.isfinite(logits).all())
        output = model.generate(**encoded, max_new_tokens=args.max_new_tokens, do_sample=False,
                                pad_token_id=tokenizer.pad_token_id)
    text = tokenizer.decode(output[0][encoded["input_ids"].shape[1]:], skip_special_tokens=True)
    print(f"logits: shape {tuple(logits.shape)}, finite {finite}, mean {logits.float().mean().item():.6f}")
    print(f"prompt {args.prompt!r} -> generated {text!r}")

    if problems or not finite:
        print(f"FAILED: {problems or 'non-finite logits'}")
        return 1
    print("OK: loaded without missing, unexpected or mismatched weights; generation ran")
    return 0


if __name__ == "__main__":
    sys.exit(main())
