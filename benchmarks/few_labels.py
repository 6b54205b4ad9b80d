#!/usr/bin/env python3
"""How many labelled items per task `metamerge sweep` needs for its best point to land near the all-items best.

Usage: benchmarks/few_labels.py SWEEP_REPORT [--json OUT.json] [--sizes 5,10,20,50] [--draws 20] [--seed 0]

SWEEP_REPORT is a report with a /sweep group written with per-item results (`item_offsets`, `item_exact`,
`item_nll`; docs/hdf5-schema.md). For each n in --sizes and each of --draws seeded random draws, n items are drawn
without replacement from every task file (all of a file's items when it has n or fewer); on that subsample every
sweep point gets its mean over tasks of the exact-match rate, and the subsample's best point is chosen as `sweep`
chooses its best (highest mean exact match; ties: lower mean NLL over tasks, then grid order). Its gap is the
all-items mean exact match of the all-items best minus that of the subsample's pick (0 when they coincide or tie).

Printed per n: the fraction of draws within 0.02, the mean and the maximum gap. K is the smallest n whose draws are
ALL within 0.02 (K90: the smallest n with at least 90 % of draws within 0.02); "none" when no n qualifies.
Needs h5py and NumPy only (deterministic for a given report, sizes, draws and seed).
"""

import argparse
import json
import sys

import h5py
import numpy as np

WITHIN = 0.02


def best_point(mean_em, mean_nll):
    """Index (flattened over [W, S]) of the highest mean exact match; ties: lower NLL, then grid order."""
    em, nll = mean_em.ravel(), mean_nll.ravel()
    order = np.lexsort((np.arange(em.size), nll, -em))
    return int(order[0])


def point_scores(exact, nll, columns_per_task):
    """Mean over tasks of exact-match rate and of mean NLL, over the given item columns, per point [W, S]."""
    ems = [exact[:, :, cols].mean(axis=2) for cols in columns_per_task]
    nlls = [nll[:, :, cols].mean(axis=2) for cols in columns_per_task]
    return np.mean(ems, axis=0), np.mean(nlls, axis=0)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("report")
    parser.add_argument("--json", help="also write the numbers as JSON to this file")
    parser.add_argument("--sizes", default="5,10,20,50")
    parser.add_argument("--draws", type=int, default=20)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    try:
        sizes = [int(x) for x in args.sizes.split(",")]
        assert all(n > 0 for n in sizes) and args.draws > 0
    except (ValueError, AssertionError):
        sys.exit(f"few_labels.py: --sizes {args.sizes!r} / --draws {args.draws}: expected positive integers")
    try:
        with h5py.File(args.report, "r") as f:
            s = f["sweep"]
            missing = [n for n in ("item_offsets", "item_exact", "item_nll") if n not in s]
            if missing:
                sys.exit(f"few_labels.py: {args.report}: /sweep has no {', '.join(missing)} (re-run metamerge sweep "
                         "with a version that writes per-item results)")
            offsets = s["item_offsets"][()]
            exact = s["item_exact"][()].astype(np.float64)
            nll = s["item_nll"][()]
            tasks = [t.decode() if isinstance(t, bytes) else t for t in s["tasks"][()]]
            weightings = [w.decode() if isinstance(w, bytes) else w for w in s["weightings"][()]]
            scales = s["scales"][()]
            recorded = s["mean_exact_match_rate"][()]
    except (OSError, KeyError) as error:
        sys.exit(f"few_labels.py: {args.report}: cannot read /sweep: {error}")
    if len(offsets) != len(tasks) + 1 or exact.shape != nll.shape or exact.shape[2] != offsets[-1]:
        sys.exit(f"few_labels.py: {args.report}: /sweep/item_offsets {offsets.tolist()} does not match "
                 f"{len(tasks)} tasks and item datasets of shape {list(exact.shape)}")

    all_columns = [np.arange(offsets[e], offsets[e + 1]) for e in range(len(tasks))]
    full_em, full_nll = point_scores(exact, nll, all_columns)
    if not np.allclose(full_em, recorded, atol=1e-12):
        sys.exit(f"few_labels.py: {args.report}: the items' exact flags do not give /sweep/mean_exact_match_rate")
    best = best_point(full_em, full_nll)
    best_em = full_em.ravel()[best]
    S = len(scales)
    rng = np.random.default_rng(args.seed)
    rows = []
    for n in sizes:
        gaps = []
        for _ in range(args.draws):
            columns = [cols if len(cols) <= n else np.sort(rng.choice(cols, size=n, replace=False))
                       for cols in all_columns]
            em, sub_nll = point_scores(exact, nll, columns)
            pick = best_point(em, sub_nll)
            gaps.append(float(best_em - full_em.ravel()[pick]))
        gaps = np.array(gaps)
        rows.append({"n": n, "within": float(np.mean(gaps <= WITHIN + 1e-12)), "meanGap": float(gaps.mean()),
                     "maxGap": float(gaps.max()), "capped": [t for t, c in zip(tasks, all_columns) if len(c) <= n]})
    k_all = next((r["n"] for r in rows if r["within"] == 1.0), None)
    k_90 = next((r["n"] for r in rows if r["within"] >= 0.9), None)
    print(f"{args.report}: all-items best {weightings[best // S]} s = {scales[best % S]:g}: "
          f"{100 * best_em:.1f} % mean exact match ({', '.join(f'{t} {len(c)}' for t, c in zip(tasks, all_columns))}"
          f" items); {args.draws} draws per n, seed {args.seed}")
    print("| n per task | draws within 0.02 | mean gap | max gap |")
    print("|---|---|---|---|")
    for r in rows:
        note = f" (all items of {', '.join(r['capped'])})" if r["capped"] else ""
        print(f"| {r['n']}{note} | {100 * r['within']:.0f} % | {r['meanGap']:.3f} | {r['maxGap']:.3f} |")
    print(f"K (all draws within 0.02) = {k_all if k_all is not None else 'none'}; "
          f"K90 (≥ 90 % of draws) = {k_90 if k_90 is not None else 'none'}")
    if args.json:
        with open(args.json, "w") as out:
            json.dump({"report": args.report, "draws": args.draws, "seed": args.seed, "within": WITHIN,
                       "best": {"weighting": weightings[best // S], "scale": float(scales[best % S]),
                                "meanExactMatch": float(best_em)},
                       "sizes": rows, "K": k_all, "K90": k_90}, out, indent=2)


if __name__ == "__main__":
    main()
