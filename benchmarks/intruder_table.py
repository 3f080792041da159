"""Summarises the diagnose.json files of benchmarks/after_training.sh into the tables of docs/results.md.

    python3 benchmarks/intruder_table.py OUT        # OUT/s*/diagnose.json, OUT/s*/<run>/results.json

Per update (LoRA r=1/8/64, full): intruder dimensions over all diagnosed layers at several epsilons (from the saved
best cosines of the top 10 singular vectors, so any epsilon is a recount, not a recomputation), layers with at least
one at epsilon 0.5, mean effective rank, mean ||dW||/||W||, and the run's test accuracy; one row per seed.
"""

import glob
import json
import os
import sys

EPS = (0.3, 0.5, 0.7)


def main(out):
    rows = []
    for path in sorted(glob.glob(os.path.join(out, "s*", "diagnose.json"))):
        seed = os.path.basename(os.path.dirname(path))[1:]
        d = json.load(open(path))
        for label, u in d["updates"].items():
            name = os.path.basename(label.rstrip("/"))
            res = json.load(open(os.path.join(label, "results.json")))
            subsets = [(name, u["per_layer"])]
            if name == "full":  # the same layers as the LoRA runs, too
                subsets.append(("full (query/value only)",
                                [l for l in u["per_layer"] if l["layer"].endswith(("query", "value"))]))
            for n, layers in subsets:
                counts = [sum(sum(1 for c in l["best_cosines"] if c < e) for l in layers) for e in EPS]
                with_any = sum(1 for l in layers if any(c < 0.5 for c in l["best_cosines"]))
                rank = sum(l["effective_rank"] for l in layers) / len(layers)
                norm = sum(l["relative_norm"] for l in layers) / len(layers)
                rows.append((n, seed, counts, with_any, len(layers), rank, norm, res["test_accuracy"]))
    eps = " | ".join(f"intruders ε={e}" for e in EPS)
    print(f"| update | seed | {eps} | layers with intruders (ε=0.5) | mean effective rank | mean ‖ΔW‖/‖W‖ | test accuracy |")
    print("| --- | ---: | " + " | ".join("---:" for _ in EPS) + " | ---: | ---: | ---: | ---: |")
    order = {"lora-r1": 0, "lora-r8": 1, "lora-r64": 2, "full": 3, "full (query/value only)": 4}
    for r in sorted(rows, key=lambda r: (order.get(r[0], 9), r[1])):
        c = " | ".join(str(x) for x in r[2])
        print(f"| {r[0]} | {r[1]} | {c} | {r[3]} of {r[4]} | {r[5]:.2f} | {r[6]:.4f} | {r[7]:.4f} |")


if __name__ == "__main__":
    main(sys.argv[1])
