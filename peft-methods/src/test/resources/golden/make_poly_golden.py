"""Writes the golden files of PolyGoldenTest with Python PEFT's Poly (Polytropon / Multi-Head Routing).

The tiny Llama of the shared golden set (hf-decoders/llama/base) gets Poly r=4 with 3 tasks, 4 skills and 2 splits (MHR)
on q_proj, v_proj and down_proj; every poly_lora_B is 0.3·N(0, 1) (zero at init) and every router's module_logits
N(0, 1) (±1e-3 at init), so that each task mixes the skills differently.
Written into poly/llama/:
  adapter_config.json, adapter_model.safetensors   the adapter (save_pretrained; no machine path in the config)
  expected_logits.safetensors   for the shared input_ids / attention_mask and task_ids [2, 0, 1] (the rows route to tasks
                                2, 0 and 1): "adapted" the logits in eval mode (the router's sigmoid), "task_ids",
                                "input_ids", "attention_mask"; "train_logits" the logits of a training pass after
                                torch.manual_seed(1234) (the routers' relaxed-Bernoulli noise drawn from the global
                                generator), and the gradients of that pass's
                                loss = sum(mask · logits²) / (sum(mask) · vocab) with respect to every Poly tensor,
                                keyed "grad/" + its key in adapter_model.safetensors

    python3 make_poly_golden.py SHARED/golden/hf-decoders/llama    # torch 2.13, transformers, peft 0.21
"""

import json
import os
import sys

import torch
from peft import PolyConfig, get_peft_model
from safetensors.torch import save_file
from transformers import AutoModelForCausalLM

HERE = os.path.dirname(os.path.abspath(__file__))
SEED = 1234


def main(shared_llama):
    torch.manual_seed(0)
    model = AutoModelForCausalLM.from_pretrained(os.path.join(shared_llama, "base"), dtype=torch.float32)
    config = PolyConfig(task_type="CAUSAL_LM", r=4, n_tasks=3, n_skills=4, n_splits=2,
                        target_modules=["q_proj", "v_proj", "down_proj"])
    peft = get_peft_model(model, config)
    g = torch.Generator().manual_seed(1)
    with torch.no_grad():
        for name, p in peft.named_parameters():
            if "poly_lora_B" in name:
                p.copy_(0.3 * torch.randn(p.shape, generator=g))
            elif "module_logits" in name:
                p.copy_(torch.randn(p.shape, generator=g))
    peft.eval()
    e = json.load(open(os.path.join(shared_llama, "expected_outputs.json")))
    ids = torch.tensor(e["input_ids"])
    mask = torch.tensor(e["attention_mask"])
    task_ids = torch.tensor([2, 0, 1])
    out = os.path.join(HERE, "poly", "llama")
    os.makedirs(out, exist_ok=True)
    peft.save_pretrained(out)
    cfg_path = os.path.join(out, "adapter_config.json")
    cfg = json.load(open(cfg_path))
    cfg["base_model_name_or_path"] = "hf-decoders/llama/base"
    json.dump(cfg, open(cfg_path, "w"), indent=2, sort_keys=True)
    os.remove(os.path.join(out, "README.md"))
    with torch.no_grad():
        logits = peft(input_ids=ids, attention_mask=mask, task_ids=task_ids).logits
    # a training pass: the routers draw relaxed-Bernoulli noise from the global generator, seeded here
    peft.train()
    torch.manual_seed(SEED)
    train_logits = peft(input_ids=ids, attention_mask=mask, task_ids=task_ids).logits
    m = mask.to(train_logits.dtype)[:, :, None]
    loss = (m * train_logits ** 2).sum() / (m.sum() * train_logits.shape[-1])
    loss.backward()
    peft.eval()
    tensors = {"adapted": logits.contiguous(), "task_ids": task_ids.contiguous(),
               "input_ids": ids.contiguous(), "attention_mask": mask.contiguous(),
               "train_logits": train_logits.detach().contiguous()}
    for name, p in peft.named_parameters():
        if p.requires_grad:
            key = name.replace(".default", "")
            tensors["grad/" + key] = p.grad.contiguous()
    save_file(tensors, os.path.join(out, "expected_logits.safetensors"))
    with torch.no_grad():
        with peft.disable_adapter():
            plain = peft(input_ids=ids, attention_mask=mask, task_ids=task_ids).logits
    print("wrote", out, "max |adapted - base|", (logits - plain).abs().max().item(), "grads", len(tensors) - 5)


if __name__ == "__main__":
    main(sys.argv[1])
