"""Python PEFT's side of DecoderBench: the same LoRA r=16 all-linear (and full fine-tuning) training step on a
randomly initialised model of SmolLM2-135M's shape, batch 4 x 256 tokens, AdamW, float32 on the CPU; and greedy
generation of 64 tokens after a 32-token prompt with and without the KV cache. Not part of the build: run it beside
`java -cp benchmarks/target/benchmarks.jar io.github.peft4j.bench.DecoderBench` on the same machine.

    python benchmarks/decoder_bench.py lora|full|generate [steps]
(each mode in its own process, so that the peak RSS printed is its own)
"""
import resource
import statistics
import sys
import time

import torch
from transformers import LlamaConfig, LlamaForCausalLM

mode = sys.argv[1]
steps = int(sys.argv[2]) if len(sys.argv) > 2 else 8
torch.manual_seed(1)
cfg = LlamaConfig(vocab_size=49152, hidden_size=576, intermediate_size=1536, num_hidden_layers=30,
                  num_attention_heads=9, num_key_value_heads=3, max_position_embeddings=8192, rms_norm_eps=1e-5,
                  rope_theta=100000.0, tie_word_embeddings=True, initializer_range=0.041,
                  bos_token_id=None, eos_token_id=None, pad_token_id=None)
model = LlamaForCausalLM(cfg)


def stat(v, fmt):
    return (fmt % statistics.median(v)) + " [" + (fmt % min(v)) + "–" + (fmt % max(v)) + "]"


if mode in ("lora", "full"):
    if mode == "lora":
        from peft import LoraConfig, get_peft_model
        model = get_peft_model(model, LoraConfig(r=16, lora_alpha=32, lora_dropout=0.05, target_modules="all-linear",
                                                 task_type="CAUSAL_LM"))
    model.train()
    params = [p for p in model.parameters() if p.requires_grad]
    opt = torch.optim.AdamW(params, lr=2e-4 if mode == "lora" else 5e-5, weight_decay=0.0)
    g = torch.Generator().manual_seed(3)
    times = []
    for step in range(steps + 2):
        ids = torch.randint(0, 49152, (4, 256), generator=g)
        t0 = time.perf_counter()
        loss = model(input_ids=ids, labels=ids).loss
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, 1.0)
        opt.step()
        opt.zero_grad()
        if step >= 2:
            times.append(time.perf_counter() - t0)
    print(f"| Python PEFT {mode} | {stat(times, '%.2f')} | {4 * 256 / statistics.median(times):.0f} |"
          f" {sum(p.numel() for p in params):,} | {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} |")
else:
    model.eval()
    prompt = torch.randint(1, 49152, (1, 32), generator=torch.Generator().manual_seed(5))
    for cache in (True, False):
        rates = []
        for i in range(5):
            t0 = time.perf_counter()
            with torch.no_grad():
                out = model.generate(prompt, max_new_tokens=64, min_new_tokens=64, do_sample=False, use_cache=cache)
            if i > 0:
                rates.append((out.shape[1] - 32) / (time.perf_counter() - t0))
        print(f"| Python {'with' if cache else 'without'} cache | {stat(rates, '%.1f')} |")
    print(f"peak RSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MiB")
