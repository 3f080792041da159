"""Writes the golden file of peft-lora-init's CorDA test with Python PEFT.

The tiny Llama of the shared golden set gets a LoRA adapter (r=4, lora_alpha=8, q_proj and v_proj) initialised by
CorDA in both modes from 6 sample sequences of 12 random tokens, each run through the model alone (batch 1), as
PEFT's preprocess_corda expects. Written into corda.safetensors:
  samples                              the sample token ids [6, 12]
  <mode>.<module>.lora_A / .lora_B     the factors Python's corda_init set (mode ipm or kpm)
  <mode>.<module>.residual             the base weight it left (W − s·B A)

    python3 make_golden.py SHARED/golden/hf-decoders/llama    # with torch 2.13, transformers, peft 0.21
"""

import os
import sys

import torch
from peft import LoraConfig, get_peft_model
from peft.tuners.lora.config import CordaConfig
from peft.tuners.lora.corda import preprocess_corda
from safetensors.torch import save_file
from transformers import AutoModelForCausalLM

HERE = os.path.dirname(os.path.abspath(__file__))


def main(shared_llama):
    g = torch.Generator().manual_seed(7)
    samples = torch.randint(3, 512, (6, 12), generator=g)
    out = {"samples": samples}
    for mode in ("ipm", "kpm"):
        torch.manual_seed(0)
        model = AutoModelForCausalLM.from_pretrained(os.path.join(shared_llama, "base"), dtype=torch.float32)
        model.eval()
        cfg = LoraConfig(r=4, lora_alpha=8, target_modules=["q_proj", "v_proj"], init_lora_weights="corda",
                         corda_config=CordaConfig(corda_method=mode))

        def run_model():
            for s in samples:
                model(input_ids=s.unsqueeze(0))

        preprocess_corda(model, cfg, run_model=run_model)
        peft = get_peft_model(model, cfg)
        for name, module in peft.base_model.model.named_modules():
            if hasattr(module, "lora_A") and "default" in getattr(module, "lora_A", {}):
                out[f"{mode}.{name}.lora_A"] = module.lora_A["default"].weight.detach().clone()
                out[f"{mode}.{name}.lora_B"] = module.lora_B["default"].weight.detach().clone()
                out[f"{mode}.{name}.residual"] = module.base_layer.weight.detach().clone()
    save_file({k: v.contiguous() for k, v in out.items()}, os.path.join(HERE, "corda.safetensors"))
    print("wrote", sorted(out)[:4], len(out))


if __name__ == "__main__":
    main(sys.argv[1])
