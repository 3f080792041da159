"""Writes the golden files of peft-merge's WeightedCombinationTest with Python PEFT's add_weighted_adapter.

A toy model with three linear layers (q: 12 -> 10, v: 12 -> 8, fc: 10 -> 6) gets three LoRA adapters with seeded
random A and B (B is not zero, so every update is non-trivial):
  a: r=4, alpha=8, targets q, v, fc
  b: r=4, alpha=16, targets q, v (fc absent: the combination uses only the adapters a layer has)
  c: r=2, alpha=3, use_rslora, targets q, v, fc (another rank, for cat and the SVD types)
Each is saved in the Hugging Face layout (inputs/a, inputs/b, inputs/c). Then, for every deterministic combination
type, add_weighted_adapter builds a new adapter from them and it is saved under combined/<case>; cases.json lists
each case's arguments. The Java test combines the saved inputs with the same arguments and compares the adapters:
config keys, shapes, and ΔW = s·B·A per layer within 1e-4 (A and B themselves for linear and cat, whose factors are
unique; the SVD types only fix ΔW, as singular vectors have a sign per component).

    python3 make_golden.py   # from this directory, with torch and peft installed (peft 0.21, torch 2.13)
"""

import json
import os
import shutil

import torch
from peft import LoraConfig, get_peft_model


class Toy(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.q = torch.nn.Linear(12, 10)
        self.v = torch.nn.Linear(12, 8)
        self.fc = torch.nn.Linear(10, 6)

    def forward(self, x):
        return self.fc(self.q(x)) + self.v(x).sum()


ADAPTERS = {
    "a": dict(r=4, lora_alpha=8, target_modules=["q", "v", "fc"]),
    "b": dict(r=4, lora_alpha=16, target_modules=["q", "v"]),
    "c": dict(r=2, lora_alpha=3, use_rslora=True, target_modules=["q", "v", "fc"]),
}

CASES = [
    dict(name="linear", adapters=["a", "b"], weights=[0.7, -0.4], combination_type="linear"),
    dict(name="linear_single", adapters=["c"], weights=[1.5], combination_type="svd"),
    dict(name="cat", adapters=["a", "c"], weights=[0.6, 1.3], combination_type="cat"),
    dict(name="svd", adapters=["a", "b", "c"], weights=[0.5, 0.8, -1.1], combination_type="svd", svd_rank=5),
    dict(name="svd_default_rank", adapters=["a", "c"], weights=[1.0, 1.0], combination_type="svd"),
    dict(name="svd_clamp", adapters=["a", "b"], weights=[0.5, 0.5], combination_type="svd", svd_clamp=0.9),
    dict(name="ties", adapters=["a", "b"], weights=[0.9, 0.6], combination_type="ties", density=0.5),
    dict(name="ties_frequency", adapters=["a", "b"], weights=[0.9, -0.6], combination_type="ties", density=0.7,
         majority_sign_method="frequency"),
    dict(name="ties_svd", adapters=["a", "b", "c"], weights=[0.9, 0.6, 1.2], combination_type="ties_svd",
         density=0.4, svd_rank=6),
    dict(name="magnitude_prune", adapters=["a", "b"], weights=[0.8, 0.3], combination_type="magnitude_prune",
         density=0.5),
    dict(name="magnitude_prune_svd", adapters=["a", "b", "c"], weights=[0.8, 0.3, -0.5],
         combination_type="magnitude_prune_svd", density=0.3, svd_rank=4),
]


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    torch.manual_seed(0)
    base = Toy()
    names = list(ADAPTERS)
    model = get_peft_model(base, LoraConfig(init_lora_weights=False, **ADAPTERS[names[0]]), adapter_name=names[0])
    for n in names[1:]:
        model.add_adapter(n, LoraConfig(init_lora_weights=False, **ADAPTERS[n]))
    gen = torch.Generator().manual_seed(1234)
    with torch.no_grad():
        for key, p in model.named_parameters():
            if "lora_" in key:
                p.copy_(torch.randn(p.shape, generator=gen) * 0.3)
    for d in ("inputs", "combined"):
        shutil.rmtree(os.path.join(here, d), ignore_errors=True)
    for n in names:
        model.save_pretrained(os.path.join(here, "inputs", "tmp"), selected_adapters=[n])
        src = os.path.join(here, "inputs", "tmp") if n == "default" else os.path.join(here, "inputs", "tmp", n)
        shutil.move(src if os.path.isdir(src) else os.path.join(here, "inputs", "tmp"), os.path.join(here, "inputs", n))
        shutil.rmtree(os.path.join(here, "inputs", "tmp"), ignore_errors=True)
    for case in CASES:
        args = {k: v for k, v in case.items() if k != "name"}
        model.add_weighted_adapter(adapter_name=case["name"], **args)
        out = os.path.join(here, "combined", "tmp")
        model.save_pretrained(out, selected_adapters=[case["name"]])
        shutil.move(os.path.join(out, case["name"]), os.path.join(here, "combined", case["name"]))
        shutil.rmtree(out)
    for root, _, files in os.walk(here):
        for f in files:
            if f == "README.md" and root != here:
                os.remove(os.path.join(root, f))
    with open(os.path.join(here, "cases.json"), "w") as f:
        json.dump(CASES, f, indent=1)
    print("torch", torch.__version__)


if __name__ == "__main__":
    main()
