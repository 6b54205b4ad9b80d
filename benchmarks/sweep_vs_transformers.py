#!/usr/bin/env python3
"""The transformers side of benchmarks/sweep.sh: for each point c of a sweep, write the merged model
θ0 + Σ_t c_t τ_t (NumPy float32 arithmetic, safetensors + config + tokenizer) and evaluate the task files with
transformers (LlamaForCausalLM, float32, eager attention, one item per forward pass — the rules of
scripts/fixtures/make_eval_references.py). Prints one JSON line: seconds (write + load + evaluate, all points),
and the exact-match counts per point for comparison with MetaMerge's.

    python benchmarks/sweep_vs_transformers.py FAMILY_DIR SWEEP_JSON --threads 2
"""
import argparse
import json
import shutil
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
from safetensors.numpy import load_file, save_file
from tokenizers import Tokenizer
from transformers import LlamaForCausalLM


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("family", type=Path)
    ap.add_argument("sweep_json", type=Path)
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    sweep = json.loads(args.sweep_json.read_text())
    tasks = sweep["tasks"]
    model_tasks = sweep["modelTasks"]
    fam = args.family
    tok = Tokenizer.from_file(str(fam / "base" / "tokenizer.json"))
    encoded = {}
    for t in tasks:
        rows = [json.loads(l) for l in (fam / "tasks" / f"{t}.jsonl").read_text().splitlines() if l.strip()]
        encoded[t] = [(tok.encode(r["prompt"], add_special_tokens=False).ids,
                       tok.encode(r["completion"], add_special_tokens=False).ids) for r in rows]
    start = time.perf_counter()
    base = load_file(str(fam / "base" / "model.safetensors"))
    taus = {m: {k: v - base[k] for k, v in load_file(str(fam / m / "model.safetensors")).items()} for m in model_tasks}
    results = []
    scratch = Path(tempfile.mkdtemp(prefix="sweep-ref-"))
    try:
        for point in sweep["points"]:
            c = point["coefficients"]
            out = scratch / "merged"
            out.mkdir(exist_ok=True)
            merged = {}
            for k, v in base.items():
                acc = v.copy()
                for m, ct in zip(model_tasks, c):
                    if ct != 0:
                        acc += np.float32(ct) * taus[m][k]
                merged[k] = acc
            save_file(merged, str(out / "model.safetensors"), metadata={"format": "pt"})
            for f in ("config.json", "tokenizer.json", "tokenizer_config.json"):
                shutil.copy(fam / "base" / f, out / f)
            model = LlamaForCausalLM.from_pretrained(out, dtype=torch.float32, attn_implementation="eager").eval()
            em = []
            with torch.no_grad():
                for t in tasks:
                    exact = 0
                    for p, comp in encoded[t]:
                        logits = model(input_ids=torch.tensor([p + comp])).logits[0]
                        pred = logits[len(p) - 1: len(p) + len(comp) - 1].argmax(-1)
                        exact += int(bool((pred == torch.tensor(comp)).all()))
                    em.append(exact)
            results.append(em)
            del model
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    seconds = time.perf_counter() - start
    agree = sum(int(a == b["exactMatch"]) for a, b in zip(results, sweep["points"]))
    print(json.dumps({"implementation": "write + transformers", "seconds": seconds, "points": len(results),
                      "exact_match": results, "points_agreeing_with_metamerge": agree, "threads": args.threads}))


if __name__ == "__main__":
    main()
