"""Writes the golden files of peft-methods' AdaLoRA tests with Python PEFT.

The tiny Llama of the shared golden set gets an AdaLoRA adapter (init_r=4, target_r=2, tinit=1, tfinal=2,
total_step=8, deltaT=1, q_proj and v_proj, A/B/E seeded 0.3·N(0, 1)); 8 SGD steps (lr 0.05) on random token batches
with Python's own loss (orthogonal regulariser included) run with update_and_allocate(step) after every step, as PEFT's
examples do. Written into adalora/:
  allocation.safetensors   per step s: the lora_A/B/E values and gradients the allocator saw (s<k>.<module>.<name>
                           and s<k>.<module>.<name>.grad) and lora_E after it (s<k>.<module>.lora_E.after)
  allocation.json          per step: the rank pattern the allocator returned (null when it did not mask)
  llama/                   the adapter save_pretrained wrote after the 8 steps (resized by the final rank pattern,
                           no machine path in the config) and expected_logits.safetensors (adapted, merged) on the
                           shared input_ids / attention_mask

    python3 make_adalora_golden.py SHARED/golden/hf-decoders/llama    # with torch 2.13, transformers, peft 0.21
"""

import json
import os
import sys

import torch
from peft import AdaLoraConfig, get_peft_model
from safetensors.torch import save_file
from transformers import AutoModelForCausalLM

HERE = os.path.dirname(os.path.abspath(__file__))
STEPS = 8


def lora_params(peft):
    # name inside the LoraModel's model, without the adapter name: model.layers.0.self_attn.q_proj.lora_A
    out = {}
    for n, p in peft.base_model.model.named_parameters():
        if "lora_" in n and n.endswith(".default"):
            out[n[: -len(".default")]] = p
    return out


def main(shared_llama):
    torch.manual_seed(0)
    model = AutoModelForCausalLM.from_pretrained(os.path.join(shared_llama, "base"), dtype=torch.float32)
    cfg = AdaLoraConfig(task_type="CAUSAL_LM", init_r=4, target_r=2, tinit=1, tfinal=2, total_step=STEPS, deltaT=1,
                        lora_alpha=8, target_modules=["q_proj", "v_proj"])
    peft = get_peft_model(model, cfg)
    g = torch.Generator().manual_seed(1)
    with torch.no_grad():
        for n, p in sorted(lora_params(peft).items()):
            if "ranknum" not in n:
                p.copy_(0.3 * torch.randn(p.shape, generator=g))
    params = {n: p for n, p in lora_params(peft).items() if "ranknum" not in n}
    opt = torch.optim.SGD([p for p in peft.parameters() if p.requires_grad], lr=0.05)
    tensors = {}
    patterns = []
    data = torch.Generator().manual_seed(2)
    peft.train()
    for step in range(STEPS):
        ids = torch.randint(3, 512, (4, 12), generator=data)
        loss = peft(input_ids=ids, labels=ids).loss
        loss.backward()
        opt.step()
        for n, p in params.items():
            tensors[f"s{step}.{n}"] = p.detach().clone()
            tensors[f"s{step}.{n}.grad"] = p.grad.detach().clone()
        peft.base_model.update_and_allocate(step)
        rp = peft.peft_config["default"].rank_pattern
        patterns.append(None if rp is None else {k.replace(".default", ""): [bool(b) for b in v]
                                                  for k, v in rp.items()})
        for n, p in params.items():
            if n.endswith("lora_E"):
                tensors[f"s{step}.{n}.after"] = p.detach().clone()
        opt.zero_grad()
    out = os.path.join(HERE, "adalora")
    save_file({k: v.contiguous() for k, v in tensors.items()}, os.path.join(out, "allocation.safetensors"))
    json.dump({"steps": STEPS, "patterns": patterns}, open(os.path.join(out, "allocation.json"), "w"), indent=1)

    peft.eval()
    llama = os.path.join(out, "llama")
    os.makedirs(llama, exist_ok=True)
    peft.save_pretrained(llama)
    cfg_path = os.path.join(llama, "adapter_config.json")
    c = json.load(open(cfg_path))
    c["base_model_name_or_path"] = "hf-decoders/llama/base"
    json.dump(c, open(cfg_path, "w"), indent=2, sort_keys=True)
    os.remove(os.path.join(llama, "README.md"))
    e = json.load(open(os.path.join(shared_llama, "expected_outputs.json")))
    ids = torch.tensor(e["input_ids"])
    mask = torch.tensor(e["attention_mask"])
    with torch.no_grad():
        adapted = peft(input_ids=ids, attention_mask=mask).logits
        merged = peft.merge_and_unload()(input_ids=ids, attention_mask=mask).logits
    save_file({"adapted": adapted.contiguous(), "merged": merged.contiguous(),
               "input_ids": ids.contiguous(), "attention_mask": mask.contiguous()},
              os.path.join(llama, "expected_logits.safetensors"))
    print("wrote", out, "patterns", [p is not None for p in patterns],
          "max |adapted - merged|", (adapted - merged).abs().max().item())


if __name__ == "__main__":
    main(sys.argv[1])
