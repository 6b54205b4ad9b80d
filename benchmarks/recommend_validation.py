#!/usr/bin/env python3
"""The bookkeeping of benchmarks/recommend_validation.sh (standard library only).

  recommend_validation.py picks OUT_DIR
      prints `LABEL c1,c2,…` for each pick (data-free, each label-free criterion, the label-free recommendation)
      whose coefficients are not a sweep point (OUT_DIR/sweep.json), for the script to `eval`.
  recommend_validation.py summary OUT_DIR FAMILY
      prints the family's markdown row and writes OUT_DIR/validation.json: the best sweep point (all items), MetaGPT
      at s = 1, the linear target's best scale, the data-free pick, each label-free criterion's pick and the
      label-free recommendation, each with its mean exact match and its gap to the best (percentage points), and K
      from few_labels.py.

A pick on the grid (every coefficient within 1e-6 of a sweep point's Float32 coefficients) takes the sweep's number;
any other pick the number `metamerge eval` measured at its coefficients (OUT_DIR/eval-LABEL.json).
"""

import json
import os
import sys


def load(path):
    with open(path) as f:
        return json.load(f)


def coefficient_vector(entry):
    """A pick's coefficients from a recommend --json object (or one criterion's entry): `coefficients`, else
    `weights` × `scale`; None when it has neither (an abstention keeps weights and scale)."""
    if not isinstance(entry, dict):
        return None
    if isinstance(entry.get("coefficients"), list):
        return [float(c) for c in entry["coefficients"]]
    for key in ("pick", "point"):
        if isinstance(entry.get(key), dict):
            found = coefficient_vector(entry[key])
            if found is not None:
                return found
    if isinstance(entry.get("weights"), list) and isinstance(entry.get("scale"), (int, float)):
        return [float(w) * float(entry["scale"]) for w in entry["weights"]]
    return None


def describe(entry):
    if not isinstance(entry, dict):
        return ""
    weighting = entry.get("weighting")
    scale = entry.get("scale")
    if weighting is not None and isinstance(scale, (int, float)):
        return f"{weighting} s = {scale:.2f}"
    return ""


def picks(out):
    """(label, coefficients, description, abstains) for every pick."""
    found = []
    datafree = load(os.path.join(out, "datafree.json"))
    abstains = datafree.get("coefficients") is None
    c = [float(w) * float(datafree["scale"]) for w in datafree["weights"]]
    found.append(("datafree", c, describe(datafree), abstains))
    path = os.path.join(out, "labelfree.json")
    if os.path.exists(path):
        labelfree = load(path)
        criteria = labelfree.get("criteria") or {}
        items = criteria.items() if isinstance(criteria, dict) else \
            [(e.get("name", f"criterion{i}"), e) for i, e in enumerate(criteria)]
        for name, entry in items:
            if name == "data-free":  # the data-free point, already a column
                continue
            vector = coefficient_vector(entry)
            if vector is not None:
                found.append((f"labelfree-{name}", vector, describe(entry), False))
        vector = coefficient_vector(labelfree)
        found.append(("labelfree", vector, describe(labelfree), vector is None))
    return found


def grid_match(points, vector):
    for p in points:
        if len(p["coefficients"]) == len(vector) and all(
                abs(a - b) <= 1e-6 * max(1.0, abs(b)) for a, b in zip(p["coefficients"], vector)):
            return p
    return None


def main():
    mode, out = sys.argv[1], sys.argv[2]
    points = load(os.path.join(out, "sweep.json"))["points"]
    if mode == "picks":
        for label, vector, _, _ in picks(out):
            if vector is not None and grid_match(points, vector) is None:
                print(label, ",".join(f"{c:.9g}" for c in vector))
        return
    family = sys.argv[3]
    best = max(points, key=lambda p: p["meanExactMatchRate"])
    best_em = best["meanExactMatchRate"]

    def name(p):
        w = p["weighting"]
        return w if w in ("uniform", "metagpt") else "c*"

    def score(label, vector):
        on_grid = grid_match(points, vector)
        if on_grid is not None:
            return on_grid["meanExactMatchRate"], "sweep"
        e = load(os.path.join(out, f"eval-{label}.json"))
        rates = [t["exactMatchRate"] for t in e["tasks"]]
        return sum(rates) / len(rates), "eval"

    rows = {"family": family, "best": {"point": f"{name(best)} s = {best['scale']:g}", "meanExactMatch": best_em}}
    metagpt_one = [p for p in points if p["weighting"] == "metagpt" and abs(p["scale"] - 1) < 1e-12]
    if metagpt_one:
        m = metagpt_one[0]["meanExactMatchRate"]
        rows["metagptS1"] = {"meanExactMatch": m, "gap": best_em - m}
    target = [p for p in points if name(p) == "c*"]
    if target:
        t = max(target, key=lambda p: p["meanExactMatchRate"])
        rows["linearTargetBest"] = {"point": f"c* s = {t['scale']:g}", "meanExactMatch": t["meanExactMatchRate"],
                                    "gap": best_em - t["meanExactMatchRate"]}
    datafree = load(os.path.join(out, "datafree.json"))
    for label, vector, text, abstains in picks(out):
        if vector is None:
            rows[label] = {"abstains": True, "point": text}
            continue
        em, source = score(label, vector)
        rows[label] = {"point": text, "coefficients": vector, "meanExactMatch": em, "gap": best_em - em,
                       "source": source, "abstains": abstains}
    rows["datafree"]["expectedShortfall"] = datafree.get("expectedShortfall")
    few = load(os.path.join(out, "few_labels.json"))
    rows["K"], rows["K90"] = few["K"], few["K90"]
    rows["fewLabels"] = few["sizes"]
    with open(os.path.join(out, "validation.json"), "w") as f:
        json.dump(rows, f, indent=2)

    def cell(key):
        r = rows.get(key)
        if r is None:
            return "—"
        if "meanExactMatch" not in r:
            if key == "labelfree" and os.path.exists(os.path.join(out, "labelfree.json")):
                return f"abstains (ES {load(os.path.join(out, 'labelfree.json'))['expectedShortfall']:.3f})"
            return "abstains"
        point = f"{r['point']}: " if r.get("point") else ""
        gap = 100 * r['gap']
        text = f"{point}{100 * r['meanExactMatch']:.1f} % ({'−' if gap > 0 else '+'}{abs(gap):.1f})"
        if r.get("abstains"):
            text = f"abstains (ES {rows['datafree']['expectedShortfall']:.2f}; its point {text})"
        elif key == "datafree" and rows["datafree"].get("expectedShortfall") is not None:
            text += f", ES {rows['datafree']['expectedShortfall']:.2f}"
        return text

    labelfree = [k for k in rows if k.startswith("labelfree-")]
    k = f"{rows['K'] if rows['K'] is not None else '> 50'} / {rows['K90'] if rows['K90'] is not None else '> 50'}"
    columns = [family, f"{rows['best']['point']}: {100 * best_em:.1f} %", cell("metagptS1"),
               cell("linearTargetBest"), cell("datafree")] + [f"{c[len('labelfree-'):]}: {cell(c)}" for c in labelfree]
    columns += [cell("labelfree") if "labelfree" in rows else "—", k]
    print("| " + " | ".join(columns) + " |")


if __name__ == "__main__":
    main()
