"""Writes the golden files of peft-methods' interop tests (PythonGolden) with Python PEFT.

The tiny Llama of the shared golden set (hf-decoders/llama/base, random weights written by transformers) gets an
adapter of one method, its trainable tensors seeded so that every one matters:
  ia3   IA3 as Python PEFT builds it for Llama: target_modules k_proj, v_proj, down_proj, down_proj a feed-forward
        module (its input is scaled); l = 1 + 0.3·N(0, 1)
  loha  LoHa r=4, alpha=8 on q_proj, v_proj, o_proj; all four factors 0.3·N(0, 1) (at init one is zero)
  ln_tuning  LayerNorm tuning of every RMSNorm (input_layernorm, post_attention_layernorm, the final norm); the copies'
        weights 1 + 0.3·N(0, 1)
  lokr  LoKr r=4, alpha=8, decompose_both on q_proj, v_proj (full lokr_w1, lokr_w2) and down_proj (160 → 64: both
        factors decomposed, lokr_w1_a/b, lokr_w2_a/b); every factor 0.3·N(0, 1) (at init w1 is zero)
  vera  VeRA r=16, projection_prng_key=42 on q_proj, v_proj, up_proj, down_proj (shared A [16, 160], B [160, 16]
        from the key, saved as save_projection does); lambda_b and lambda_d 0.5·N(0, 1) (at init lambda_b is zero)
Written into <method>/llama/:
  adapter_config.json, adapter_model.safetensors   the adapter (save_pretrained; no machine path in the config)
  expected_logits.safetensors                      logits of the shared input_ids / attention_mask with the adapter
                                                   ("adapted") and after merge_and_unload ("merged")

    python3 make_golden.py ia3|ln_tuning|loha|lokr|vera SHARED/golden/hf-decoders/llama    # with torch 2.13, transformers, peft 0.21
"""

import json
import os
import sys

import torch
from peft import IA3Config, LNTuningConfig, LoHaConfig, LoKrConfig, VeraConfig, get_peft_model
from safetensors.torch import save_file
from transformers import AutoModelForCausalLM

HERE = os.path.dirname(os.path.abspath(__file__))

METHODS = {
    # method: (config, the name part of its trainable tensors, the seeded value of a tensor of that shape)
    "ia3": (lambda: IA3Config(task_type="CAUSAL_LM", target_modules=["k_proj", "v_proj", "down_proj"],
                              feedforward_modules=["down_proj"]),
            "ia3_l", lambda shape, g: 1 + 0.3 * torch.randn(shape, generator=g)),
    "loha": (lambda: LoHaConfig(task_type="CAUSAL_LM", r=4, alpha=8, target_modules=["q_proj", "v_proj", "o_proj"]),
             "hada_", lambda shape, g: 0.3 * torch.randn(shape, generator=g)),
    "ln_tuning": (lambda: LNTuningConfig(task_type="CAUSAL_LM",
                                         target_modules=["input_layernorm", "post_attention_layernorm", "norm"]),
                  "ln_tuning_layers", lambda shape, g: 1 + 0.3 * torch.randn(shape, generator=g)),
    "lokr": (lambda: LoKrConfig(task_type="CAUSAL_LM", r=4, alpha=8, decompose_both=True,
                                target_modules=["q_proj", "v_proj", "down_proj"]),
             "lokr_", lambda shape, g: 0.3 * torch.randn(shape, generator=g)),
    "vera": (lambda: VeraConfig(task_type="CAUSAL_LM", r=16, projection_prng_key=42,
                                target_modules=["q_proj", "v_proj", "up_proj", "down_proj"]),
             "vera_lambda_", lambda shape, g: 0.5 * torch.randn(shape, generator=g)),
}


def main(method, shared_llama):
    make_config, tensor, value = METHODS[method]
    torch.manual_seed(0)
    model = AutoModelForCausalLM.from_pretrained(os.path.join(shared_llama, "base"), dtype=torch.float32)
    model.eval()
    peft = get_peft_model(model, make_config())
    g = torch.Generator().manual_seed(1)
    with torch.no_grad():
        for name, p in peft.named_parameters():
            if tensor in name:
                p.copy_(value(p.shape, g))
    e = json.load(open(os.path.join(shared_llama, "expected_outputs.json")))
    ids = torch.tensor(e["input_ids"])
    mask = torch.tensor(e["attention_mask"])
    out = os.path.join(HERE, method, "llama")
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
        merged = peft.merge_and_unload()(input_ids=ids, attention_mask=mask).logits
    save_file({"adapted": adapted.contiguous(), "merged": merged.contiguous(),
               "input_ids": ids.contiguous(), "attention_mask": mask.contiguous()},
              os.path.join(out, "expected_logits.safetensors"))
    print("wrote", out, "max |adapted - merged|", (adapted - merged).abs().max().item())


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
