#!/usr/bin/env python3
"""A 135M "family" for benchmarks/sweep.sh: SmolLM2-135M as the base and three fabricated task models
θ_t = θ0 + τ_t, each τ_t a small random perturbation (per tensor: ε_t · std(θ0 tensor) · N(0, 1), float32, seed t),
plus three task files of 100 items (add, rev, sort) and the merge config.

    python benchmarks/sweep_family.py BASE_DIR OUT_DIR
"""
import json
import random
import shutil
import sys
from pathlib import Path

import numpy as np
from safetensors.numpy import load_file, save_file

TASKS = {"add": 0.010, "rev": 0.006, "sort": 0.014}  # ε_t: three different ‖τ‖, as three trainings would give


def items(task, rng):
    out = []
    for _ in range(100):
        if task == "add":
            a, b = rng.randrange(10, 100), rng.randrange(10, 100)
            out.append({"prompt": f"{a}+{b}=", "completion": f"{a + b}"})
        elif task == "rev":
            w = "".join(rng.choice("abcdefgh") for _ in range(rng.randrange(3, 7)))
            out.append({"prompt": f"reverse {w}:", "completion": f" {w[::-1]}"})
        else:
            d = [rng.randrange(10) for _ in range(rng.randrange(3, 7))]
            out.append({"prompt": "sort " + " ".join(map(str, d)) + ":", "completion": " " + " ".join(map(str, sorted(d)))})
    return out


def main():
    base, out = Path(sys.argv[1]), Path(sys.argv[2])
    if (out / "done").exists():
        return
    out.mkdir(parents=True, exist_ok=True)
    if not (out / "base").exists():
        (out / "base").symlink_to(base.resolve())
    theta = load_file(str(base / "model.safetensors"))
    for k, (task, eps) in enumerate(TASKS.items()):
        d = out / task
        d.mkdir(exist_ok=True)
        rng = np.random.default_rng(k + 1)
        tensors = {}
        for name, value in theta.items():
            v = value.astype(np.float32)
            std = float(v.std()) or 1.0
            tensors[name] = (v + (eps * std) * rng.standard_normal(v.shape, dtype=np.float32)).astype(np.float32)
        save_file(tensors, str(d / "model.safetensors"), metadata={"format": "pt"})
        for f in ("config.json", "tokenizer.json", "tokenizer_config.json"):
            shutil.copy(base / f, d / f)
    (out / "tasks").mkdir(exist_ok=True)
    rng = random.Random(7)
    for task in TASKS:
        (out / "tasks" / f"{task}.jsonl").write_text("".join(json.dumps(i) + "\n" for i in items(task, rng)))
    (out / "merge.yml").write_text(
        "merge_method: task_arithmetic\nbase_model: base\ndtype: float32\nmodels:\n"
        + "".join(f"  - model: {t}\n    parameters: {{weight: 1.0}}\n" for t in TASKS))
    (out / "done").write_text("ok\n")


if __name__ == "__main__":
    main()
