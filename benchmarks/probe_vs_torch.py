#!/usr/bin/env python3
# PyTorch side of benchmarks/probe_vs_torch.sh: the linearity probe's points computed with transformers.
#
# For a family DIR/{base,task1,…} (bf16 safetensors, benchmarks/make_llama7b_family.py), keeps θ0 and every θt in
# their stored bf16 (so the script fits in memory), and for each point the probe evaluates — the base, θ0 + α τt for
# the α grid and ±h, θ0 + τi + τj, θ0 + s Σ λt τt — forms every parameter in float32 as the Swift engine does
# (θ0 + c (θt − θ0), task order; in place into the parameters: copy θ0, add c·(θt − θ0) per task) into one float32
# LlamaForCausalLM and runs the batch of prompts in one
# forward call (equal lengths, no padding), keeping the float32 logits; then the probe's metrics in float64. Float32,
# `torch.set_num_threads(THREADS)`. Prints one JSON line: wall time (forming + forward + metrics) and peak RSS.
#
# Pins: torch==2.13.0+cpu  transformers==5.23.0  safetensors==0.8.0
# Usage: probe_vs_torch.py DIR [--alphas 0,0.5,1] [--scales 1] [--prompts 8] [--length 16] [--threads 2]
import argparse
import json
import resource
import time
from pathlib import Path

import torch
from safetensors.torch import load_file
from transformers import AutoConfig, LlamaForCausalLM


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("family", type=Path)
    parser.add_argument("--alphas", default="0,0.5,1")
    parser.add_argument("--scales", default="1")
    parser.add_argument("--prompts", type=int, default=8)
    parser.add_argument("--length", type=int, default=16)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--step", type=float, default=1e-2)
    parser.add_argument("--prompt-file", type=Path, help="JSON list of equal-length prompts (token ids) to use")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    alphas = sorted(set([float(a) for a in args.alphas.split(",")] + [0.0, 1.0]))
    scales = [float(s) for s in args.scales.split(",")]
    tasks = sorted(p.name for p in args.family.iterdir() if p.is_dir() and p.name != "base")
    T = len(tasks)
    lambdas = [1.0 / T] * T

    start = time.perf_counter()
    config = AutoConfig.from_pretrained(args.family / "base")
    # Built on the CPU (not on "meta" + to_empty, which would leave the rotary-embedding buffers uninitialised);
    # every parameter is overwritten for each point below.
    model = LlamaForCausalLM(config).to(torch.float32).eval()
    base = load_file(args.family / "base" / "model.safetensors")
    thetas = [load_file(args.family / t / "model.safetensors") for t in tasks]
    params = dict(model.named_parameters())
    load_seconds = time.perf_counter() - start

    def unit(t, value):
        c = [0.0] * T
        c[t] = value
        return c
    points = [[0.0] * T]
    for t in range(T):
        points += [unit(t, a) for a in alphas if a != 0] + [unit(t, args.step), unit(t, -args.step)]
    for i in range(T):
        for j in range(i + 1, T):
            c = [0.0] * T
            c[i] = c[j] = 1.0
            points.append(c)
    points += [[s * lam for lam in lambdas] for s in scales]

    if args.prompt_file:
        ids = torch.tensor(json.loads(args.prompt_file.read_text()))
        args.prompts, args.length = ids.shape
    else:
        ids = torch.randint(0, config.vocab_size, (args.prompts, args.length), generator=torch.Generator().manual_seed(1))
    start = time.perf_counter()
    outputs = []
    with torch.inference_mode():
        for c in points:
            for name, p in params.items():
                p.copy_(base[name])  # bf16 → float32 θ0, in place
                for ct, theta in zip(c, thetas):
                    if ct != 0:  # p += c (θt − θ0), the difference in float32
                        p.add_(theta[name].to(torch.float32).sub_(base[name].to(torch.float32)), alpha=ct)
            outputs.append(model(input_ids=ids).logits.to(torch.float32))
        # The metrics (float64, per prompt), as benchmarks/../Sources/Evaluation/Probe/LinearityProbe.swift defines them.
        f = [o.double().reshape(args.prompts, -1) for o in outputs]
        k = 1
        chord, additivity = [], []
        deltas = []
        for t in range(T):
            grid = [f[0]] + f[k:k + len(alphas) - 1]
            f1 = grid[alphas.index(1.0)]
            delta = f1 - f[0]
            deltas.append(delta)
            worst = torch.stack([(g - ((1 - a) * f[0] + a * f1)).norm(dim=1) for g, a in zip(grid, alphas)]).max(0).values
            chord.append((worst / delta.norm(dim=1)).tolist())
            k += len(alphas) - 1 + 2
        for i in range(T):
            for j in range(i + 1, T):
                gap = f[k] - f[0] - (deltas[i] + deltas[j])
                additivity.append((gap.norm(dim=1) / (deltas[i].norm(dim=1) + deltas[j].norm(dim=1))).tolist())
                k += 1
    seconds = time.perf_counter() - start
    print(json.dumps({
        "implementation": f"PyTorch {torch.__version__} / transformers", "points": len(points),
        "tokens": args.prompts * args.length, "threads": torch.get_num_threads(), "seconds": seconds,
        "load_seconds": load_seconds, "peak_rss_bytes": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024,
        "chord_residual": chord, "additivity_gap": additivity,
    }))


if __name__ == "__main__":
    main()
