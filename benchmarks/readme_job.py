"""The README job in Python PEFT, for a side-by-side measurement with `peft train` (docs/performance.md).

Same model files (the all-MiniLM-L6-v2 directory peft4j writes into its cache: config.json, model.safetensors,
tokenizer.json), same mails (the cached SpamAssassin messages.jsonl), same recipe as `peft train`'s defaults: a
stratified 80/10/10 split (Python's own shuffle, so not the same mails per part, the same sizes), LoRA r=8, alpha 16,
dropout 0.1 on query/value with the pooler and the classifier trained in full, AdamW (lr 5e-4, weight decay 0.01),
6% linear warm-up then linear decay, batch 16, max length 128 with padding to the longest in the batch, one epoch,
validation every 100 steps and at the end (batch 32), then the test split.

    python3 benchmarks/readme_job.py [--max-steps N] [--eval-every 100] [--cache DIR] [--out result.json] [--bf16]

--bf16 runs forward passes under torch.autocast("cpu", dtype=torch.bfloat16), which is what transformers' Trainer does
with bf16=True on a CPU: linear layers and matmuls compute in bf16, weights and optimizer state stay float32.

Prints and writes steps, training seconds, validation seconds, wall seconds, peak RSS and test accuracy. Needs torch,
transformers, peft, tokenizers and safetensors (a venv from the local wheels); not part of the build.
"""

import argparse
import json
import os
import random
import resource
import time

START = time.time()

import torch  # noqa: E402
from peft import LoraConfig, get_peft_model  # noqa: E402
from tokenizers import Tokenizer  # noqa: E402
from transformers import BertConfig, BertForSequenceClassification, get_linear_schedule_with_warmup  # noqa: E402


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--cache", default=os.path.expanduser("~/.cache/peft4j"))
    p.add_argument("--max-steps", type=int, default=0)
    p.add_argument("--eval-every", type=int, default=100)
    p.add_argument("--batch-size", type=int, default=16)
    p.add_argument("--eval-batch-size", type=int, default=32)
    p.add_argument("--max-length", type=int, default=128)
    p.add_argument("--lr", type=float, default=5e-4)
    p.add_argument("--seed", type=int, default=42)
    p.add_argument("--out", default=None)
    p.add_argument("--bf16", action="store_true", help="autocast the forward passes to bf16 (Trainer's bf16=True)")
    a = p.parse_args()
    random.seed(a.seed)
    torch.manual_seed(a.seed)

    model_dir = os.path.join(a.cache, "models", "all-minilm-l6-v2-langchain4j-1.19.0-beta29")
    data = os.path.join(a.cache, "datasets", "spam-assassin-0.2.3", "messages.jsonl")
    texts, labels = [], []
    with open(data, encoding="utf-8") as f:
        for line in f:
            n = json.loads(line)
            texts.append(n["text"])
            labels.append(n["label"])
    names = sorted(set(labels))
    y = [names.index(label) for label in labels]
    train, val, test = [], [], []
    for name in names:
        idx = [i for i, label in enumerate(labels) if label == name]
        random.Random(a.seed).shuffle(idx)
        k = len(idx) // 10
        test += idx[:k]
        val += idx[k : 2 * k]
        train += idx[2 * k :]
    for part, s in ((train, 1), (val, 2), (test, 3)):
        random.Random(a.seed + s).shuffle(part)

    tok = Tokenizer.from_file(os.path.join(model_dir, "tokenizer.json"))
    tok.enable_truncation(a.max_length)
    tok.enable_padding(pad_id=0, pad_token="[PAD]")

    def batch(ids):
        enc = tok.encode_batch([texts[i] for i in ids])
        return (
            torch.tensor([e.ids for e in enc]),
            torch.tensor([e.attention_mask for e in enc]),
            torch.tensor([y[i] for i in ids]),
        )

    config = BertConfig.from_pretrained(model_dir, num_labels=len(names))
    base = BertForSequenceClassification.from_pretrained(model_dir, config=config)
    model = get_peft_model(
        base,
        LoraConfig(
            r=8,
            lora_alpha=16,
            lora_dropout=0.1,
            target_modules=["query", "value"],
            modules_to_save=["pooler", "classifier"],
        ),
    )
    trainable = [q for q in model.parameters() if q.requires_grad]
    steps = len(train) // a.batch_size if a.max_steps == 0 else a.max_steps
    opt = torch.optim.AdamW(trainable, lr=a.lr, weight_decay=0.01)
    sched = get_linear_schedule_with_warmup(opt, int(0.06 * steps), steps)

    def evaluate(ids):
        model.eval()
        correct, loss = 0, 0.0
        with torch.no_grad():
            for i in range(0, len(ids), a.eval_batch_size):
                x, m, t = batch(ids[i : i + a.eval_batch_size])
                with torch.autocast("cpu", dtype=torch.bfloat16, enabled=a.bf16):
                    out = model(input_ids=x, attention_mask=m, labels=t)
                loss += out.loss.float().item() * len(t)
                correct += (out.logits.argmax(-1) == t).sum().item()
        model.train()
        return correct / len(ids), loss / len(ids)

    order = list(train)
    random.Random(a.seed).shuffle(order)
    train_s, eval_s = 0.0, 0.0
    ready = time.time()
    model.train()
    for step in range(1, steps + 1):
        t0 = time.time()
        i = ((step - 1) * a.batch_size) % (len(order) - a.batch_size + 1)
        x, m, t = batch(order[i : i + a.batch_size])
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=a.bf16):
            loss = model(input_ids=x, attention_mask=m, labels=t).loss
        loss.backward()
        opt.step()
        sched.step()
        opt.zero_grad()
        train_s += time.time() - t0
        if (a.eval_every > 0 and step % a.eval_every == 0) or step == steps:
            t0 = time.time()
            acc, vloss = evaluate(val)
            eval_s += time.time() - t0
            print(f"step {step}/{steps}: loss {loss.item():.4f}, validation accuracy {acc:.4f}", flush=True)
    t0 = time.time()
    test_acc, test_loss = evaluate(test)
    test_s = time.time() - t0
    result = {
        "steps": steps,
        "train_seconds": round(train_s, 2),
        "validation_seconds": round(eval_s, 2),
        "test_seconds": round(test_s, 2),
        "seconds_from_start_to_training": round(ready - START, 2),
        "wall_seconds": round(time.time() - START, 2),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
        "test_accuracy": round(test_acc, 4),
        "test_loss": round(test_loss, 4),
        "torch": torch.__version__,
        "threads": torch.get_num_threads(),
        "bf16_autocast": a.bf16,
    }
    print(json.dumps(result))
    if a.out:
        with open(a.out, "w") as f:
            json.dump(result, f, indent=1)


if __name__ == "__main__":
    main()
