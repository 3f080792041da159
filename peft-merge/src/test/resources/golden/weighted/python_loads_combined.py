"""Checks that Python PEFT loads adapters peft4j combined, and computes the update peft4j meant.

For each directory given (written by `peft combine` from this folder's inputs), Python PEFT 0.21 loads it onto the
toy model of make_golden.py with PeftModel.from_pretrained; for every layer, the update Python applies
(get_delta_weight) is compared with s·B·A computed here from the saved factors and the config's scaling, and, for a
`cat` combination, with the weighted sum of the inputs' updates (the reference re-derived from the inputs).

    python3 python_loads_combined.py DIR[:cat:wa,wb:a,c] ...
"""

import json
import os
import sys

import torch
from peft import PeftModel
from safetensors.torch import load_file

from make_golden import Toy

HERE = os.path.dirname(os.path.abspath(__file__))


def update(dir_, layer):
    cfg = json.load(open(os.path.join(dir_, "adapter_config.json")))
    t = load_file(os.path.join(dir_, "adapter_model.safetensors"))
    a = t.get(f"base_model.model.{layer}.lora_A.weight")
    if a is None:
        return None
    b = t[f"base_model.model.{layer}.lora_B.weight"]
    r = cfg["rank_pattern"].get(layer, cfg["r"]) if cfg.get("rank_pattern") else cfg["r"]
    alpha = cfg["alpha_pattern"].get(layer, cfg["lora_alpha"]) if cfg.get("alpha_pattern") else cfg["lora_alpha"]
    s = alpha / (r ** 0.5) if cfg.get("use_rslora") else alpha / r
    return s * (b.double() @ a.double())


def main():
    worst = 0.0
    for arg in sys.argv[1:]:
        parts = arg.split(":")
        d = parts[0]
        torch.manual_seed(0)
        model = PeftModel.from_pretrained(Toy(), d)
        for layer in ("q", "v", "fc"):
            module = getattr(model.base_model.model, layer)
            got = module.get_delta_weight("default").double()
            saved = update(d, layer)
            diff = (got - saved).abs().max().item()
            line = f"{os.path.basename(d)} {layer}: Python's delta vs s*B*A of the file {diff:.2e}"
            worst = max(worst, diff)
            if len(parts) == 4 and parts[1] == "cat":
                weights = [float(w) for w in parts[2].split(",")]
                ref = sum(w * u for w, u in ((w, update(os.path.join(HERE, "inputs", n), layer))
                                             for w, n in zip(weights, parts[3].split(","))) if u is not None)
                d2 = (got - ref).abs().max().item()
                worst = max(worst, d2)
                line += f", vs the weighted sum of the inputs' updates {d2:.2e}"
            print(line)
    print(f"largest difference {worst:.2e}")
    sys.exit(0 if worst < 1e-5 else 1)


if __name__ == "__main__":
    main()
