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
    parser.add_argument("--prompt", action="append", help="a prompt (repeatable); default: the first lines of "
                        "examples/tiny-family/prompts.txt")
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

    prompts = args.prompt
    if not prompts:
        bundled = os.path.join(os.path.dirname(__file__), "..", "..", "examples", "tiny-family", "prompts.txt")
        prompts = open(bundled).read().split("\n")[:6] if os.path.exists(bundled) else ["Hello"]
        prompts = [p for p in prompts if p]
    finite = True
    for prompt in prompts:
        encoded = tokenizer(prompt, return_tensors="pt")
        ids = encoded["input_ids"]
        # The bundled family's tokenizer does not add <bos> itself (add_bos_token: false); its models were trained
        # on <bos>PROMPT ANSWER<eos>.
        if tokenizer.bos_token_id is not None and (ids.shape[1] == 0 or ids[0, 0].item() != tokenizer.bos_token_id):
            ids = torch.cat([torch.tensor([[tokenizer.bos_token_id]]), ids], dim=1)
        with torch.no_grad():
            logits = model(input_ids=ids).logits
            finite = finite and bool(torch.isfinite(logits).all())
            output = model.generate(input_ids=ids, attention_mask=torch.ones_like(ids), max_new_tokens=args.max_new_tokens,
                                    do_sample=False, pad_token_id=tokenizer.pad_token_id)
        text = tokenizer.decode(output[0][ids.shape[1]:], skip_special_tokens=True)
        print(f"prompt {prompt!r} -> generated {text!r}   (logits {tuple(logits.shape)}, finite {finite})")

    if problems or not finite:
        print(f"FAILED: {problems or 'non-finite logits'}")
        return 1
    print("OK: loaded without missing, unexpected or mismatched weights; generation ran")
    return 0


if __name__ == "__main__":
    sys.exit(main())
