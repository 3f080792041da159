"""Python's side of the peft4j -> Python interop check (PeftInteropTest).

The adapter here was trained by peft4j on the tiny Llama of peft-testing's TinyDecoders:
    peft train --task causal-lm --model <tiny llama base> --data <80 synthetic spam/ham JSONL lines>
        --max-steps 30 --batch-size 8 --lr 1e-2 --eval-every 10   (LoRA r 8, alpha 16, all-linear)
This script loads it with Python's PEFT onto the same base and writes the logits Python computes for the input ids of
the tiny Llama's expected_outputs.json to python_logits.json.

    python python_logits.py <path to peft-testing/src/main/resources/io/github/peft4j/testing/decoders/llama> (run from this folder)
"""
import json
import sys

import torch
from peft import PeftModel
from transformers import AutoModelForCausalLM

family = sys.argv[1]
expected = json.load(open(f"{family}/expected_outputs.json"))
base = AutoModelForCausalLM.from_pretrained(f"{family}/base")
model = PeftModel.from_pretrained(base, ".")
model.eval()
with torch.no_grad():
    logits = model(input_ids=torch.tensor(expected["input_ids"]),
                   attention_mask=torch.tensor(expected["attention_mask"])).logits
json.dump({"logits": logits.flatten().tolist(), "peft": __import__("peft").__version__,
           "transformers": __import__("transformers").__version__}, open("python_logits.json", "w"))
print("wrote", logits.shape)
