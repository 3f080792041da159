"""Writes the golden files of peft-methods' LohaGoldenTest with Python PEFT's LoHa.

The tiny Llama of the shared golden set (hf-decoders/llama/base, random weights written by transformers) gets a LoHa
adapter (r=4, alpha=8 on q_proj, v_proj, o_proj) whose four factors per layer are seeded 0.3·N(0, 1), so that every
update matters (at init one factor is zero). Written here:
  llama/adapter_config.json, llama/adapter_model.safetensors   the adapter (save_pretrained)
  llama/expected_logits.safetensors                            logits of the shared input_ids / attention_mask
                                                               with the adapter ("adapted") and merged ("merged")

    python3 make_golden.py SHARED/golden/hf-decoders/llama    # with torch 2.13, transformers, peft 0.21
"""

import json
import os
import sys

import torch
from peft import LoHaConfig, get_peft_model
from safetensors.torch import save_file
from transformers import AutoModelForCausalLM

HERE = os.path.dirname(os.path.abspath(__file__))


def main(shared_llama):
    torch.manual_seed(0)
    model = AutoModelForCausalLM.from_pretrained(os.path.join(shared_llama, "base"), torch_dtype=torch.float32)
    model.eval()
    config = LoHaConfig(task_type="CAUSAL_LM", r=4, alpha=8, target_modules=["q_proj", "v_proj", "o_proj"])
    peft = get_peft_model(model, config)
    g = torch.Generator().manual_seed(1)
    with torch.no_grad():
        for name, p in peft.named_parameters():
            if "hada_" in name:
                p.copy_(0.3 * torch.randn(p.shape, generator=g))
    e = json.load(open(os.path.join(shared_llama, "expected_outputs.json")))
    ids = torch.tensor(e["input_ids"])
    mask = torch.tensor(e["attention_mask"])
    out = os.path.join(HERE, "llama")
    os.makedirs(out, exist_ok=True)
    peft.save_pretrained(out)
    # no machine path in the committed files: the base is named by its place in the shared golden set
    cfg_path = os.path.join(out, "adapter_config.json")
    cfg = json.load(open(cfg_path))
    cfg["base_model_name_or_path"] = "hf-decoders/llama/base"
    json.dump(cfg, open(cfg_path, "w"), indent=2, sort_keys=True)
    os.remove(os.path.join(out, "README.md"))
    with torch.no_grad():
        adapted = peft(input_ids=ids, attention_mask=mask).logits
        merged_model = peft.merge_and_unload()
        merged = merged_model(input_ids=ids, attention_mask=mask).logits
    save_file({"adapted": adapted.contiguous(), "merged": merged.contiguous(),
               "input_ids": ids.contiguous(), "attention_mask": mask.contiguous()},
              os.path.join(out, "expected_logits.safetensors"))
    print("wrote", out, "max |adapted - merged|", (adapted - merged).abs().max().item())


if __name__ == "__main__":
    main(sys.argv[1])
