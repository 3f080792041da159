"""Writes the RoPE-scaling golden files of RopeScalingParityTest.

Each folder is a tiny random LlamaForCausalLM (hidden 32, 1 layer, 4 heads / 2 KV heads, vocab 64,
max_position_embeddings 16) saved by transformers with one rope type, plus the logits transformers computes for a
40-token input (longer than max_position_embeddings, so dynamic NTK and YaRN scaling take effect); for Mistral, a
sliding window of 8; and a Qwen3ForCausalLM (per-head q/k RMSNorm, head_dim 16 wider than hidden/heads).

Run from this folder with torch and transformers installed (written with torch 2.13, transformers 5.18):
    python generate.py
"""
import json

import torch
from transformers import (LlamaConfig, LlamaForCausalLM, MistralConfig, MistralForCausalLM, Qwen3Config,
                          Qwen3ForCausalLM)

CASES = {
    "default": {"rope_type": "default", "rope_theta": 10000.0},
    "linear": {"rope_type": "linear", "rope_theta": 10000.0, "factor": 2.0},
    "dynamic": {"rope_type": "dynamic", "rope_theta": 10000.0, "factor": 2.0},
    "yarn": {"rope_type": "yarn", "rope_theta": 10000.0, "factor": 4.0, "original_max_position_embeddings": 16},
    "llama3": {"rope_type": "llama3", "rope_theta": 500000.0, "factor": 8.0, "low_freq_factor": 1.0,
               "high_freq_factor": 4.0, "original_max_position_embeddings": 8},
}

common = dict(vocab_size=64, hidden_size=32, intermediate_size=48, num_hidden_layers=1, num_attention_heads=4,
              num_key_value_heads=2, max_position_embeddings=16, rms_norm_eps=1e-6, tie_word_embeddings=False)
ids = torch.arange(40).remainder(61).unsqueeze(0) + 2
for name, rope in list(CASES.items()) + [("mistral", None), ("qwen3", None)]:
    torch.manual_seed(7)
    if name == "qwen3":
        cfg = Qwen3Config(**common, head_dim=16, rope_parameters={"rope_type": "default", "rope_theta": 1e6})
        model = Qwen3ForCausalLM(cfg)
    elif rope is None:
        cfg = MistralConfig(**common, sliding_window=8, rope_parameters={"rope_type": "default", "rope_theta": 1e4})
        model = MistralForCausalLM(cfg)
    else:
        cfg = LlamaConfig(**common, rope_parameters=rope)
        model = LlamaForCausalLM(cfg)
    with torch.no_grad():
        for p in model.parameters():
            p.normal_(0, 0.3)
    model.eval()
    model.save_pretrained(name, safe_serialization=True)
    with torch.no_grad():
        logits = model(input_ids=ids).logits
    json.dump({"input_ids": ids.tolist(), "logits": logits.flatten().tolist()}, open(f"{name}/expected.json", "w"))
    print(name, logits.shape)
