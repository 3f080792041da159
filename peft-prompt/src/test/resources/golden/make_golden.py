"""Writes the golden files of peft-prompt's interop tests with Python PEFT.

The tiny decoders of the shared golden set (hf-decoders/<family>/base, random weights written by transformers) get a
prompt-learning adapter whose embedding is seeded 0.5·N(0, 1) so that it matters:
  prompt  PROMPT_TUNING, 5 virtual tokens (random init)
  prefix  PREFIX_TUNING, 4 virtual tokens, no projection (the key/value prefix of every layer)
Written into <method>/<family>/:
  adapter_config.json, adapter_model.safetensors   the adapter (save_pretrained; no machine path in the config)
  expected_logits.safetensors                      the logits of the shared input_ids / attention_mask with the adapter
                                                   ("adapted"; for prompt tuning the positions of the real tokens only)

    python3 make_golden.py prompt|prefix SHARED/golden/hf-decoders/<family>    # torch 2.13, transformers, peft 0.21
"""

import json
import os
import sys

import torch
from peft import PrefixTuningConfig, PromptTuningConfig, get_peft_model
from safetensors.torch import save_file
from transformers import AutoModelForCausalLM

HERE = os.path.dirname(os.path.abspath(__file__))
CONFIGS = {
    "prompt": (lambda: PromptTuningConfig(task_type="CAUSAL_LM", num_virtual_tokens=5), 5),
    "prefix": (lambda: PrefixTuningConfig(task_type="CAUSAL_LM", num_virtual_tokens=4), 0),
}


def main(method, shared):
    make_config, drop = CONFIGS[method]
    torch.manual_seed(0)
    model = AutoModelForCausalLM.from_pretrained(os.path.join(shared, "base"), dtype=torch.float32)
    model.eval()
    peft = get_peft_model(model, make_config())
    g = torch.Generator().manual_seed(1)
    with torch.no_grad():
        w = peft.prompt_encoder["default"].embedding.weight
        w.copy_(0.5 * torch.randn(w.shape, generator=g))
    peft.eval()
    e = json.load(open(os.path.join(shared, "expected_outputs.json")))
    ids = torch.tensor(e["input_ids"])
    mask = torch.tensor(e["attention_mask"])
    family = os.path.basename(os.path.normpath(shared))
    out = os.path.join(HERE, method, family)
    os.makedirs(out, exist_ok=True)
    peft.save_pretrained(out)
    cfg_path = os.path.join(out, "adapter_config.json")
    cfg = json.load(open(cfg_path))
    cfg["base_model_name_or_path"] = "hf-decoders/" + family + "/base"
    json.dump(cfg, open(cfg_path, "w"), indent=2, sort_keys=True)
    os.remove(os.path.join(out, "README.md"))
    with torch.no_grad():
        logits = peft(input_ids=ids, attention_mask=mask).logits
        base = model(input_ids=ids, attention_mask=mask).logits
    adapted = logits[:, drop:, :]
    save_file({"adapted": adapted.contiguous(), "input_ids": ids.contiguous(), "attention_mask": mask.contiguous()},
              os.path.join(out, "expected_logits.safetensors"))
    print("wrote", out, "logits", tuple(logits.shape), "max |adapted - base|", (adapted - base).abs().max().item())


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
