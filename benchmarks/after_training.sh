#!/usr/bin/env bash
# The after-training measurements of docs/results.md, on all-MiniLM-L6-v2 and SpamAssassin:
#   1. intruder dimensions: LoRA r=1, 8, 64 (alpha 2r) and full fine-tuning, per seed, diagnosed against the base;
#   2. LiNeS: two LoRA adapters trained on disjoint halves of one training split, summed, averaged, and the sum
#      scaled by depth, each evaluated on the shared test split;
#   3. grafting: the largest fractions of the first seed's full fine-tune grafted onto the base.
# One process at a time; the figures (accuracy, intruder counts) do not depend on the machine's load.
#
#   benchmarks/after_training.sh OUT [SEEDS="1 2"] [STEPS=150] [LORA_LR=2e-3] [FULL_LR=5e-5]
#
# Needs the built jar (mvn -B -ntp -q -DskipTests package) and python3 (the data halves; standard library only).
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:?usage: benchmarks/after_training.sh OUT [SEEDS] [STEPS] [LORA_LR] [FULL_LR]}
seeds=${2:-"1 2"}
steps=${3:-150}
lora_lr=${4:-2e-3}
full_lr=${5:-5e-5}
mkdir -p "$out"
train=(bin/peft train --model minilm --eval-every 0 --checkpoint-every 0 --no-progress --max-steps "$steps")

# 1. intruder dimensions
for s in $seeds; do
  for r in 1 8 64; do
    [ -f "$out/s$s/lora-r$r/results.json" ] || "${train[@]}" --data spam-assassin --seed "$s" --rank "$r" \
      --alpha $((2 * r)) --lr "$lora_lr" --output "$out/s$s/lora-r$r" > "$out/s$s-lora-r$r.log" 2>&1
  done
  [ -f "$out/s$s/full/results.json" ] || "${train[@]}" --data spam-assassin --seed "$s" --method full \
    --lr "$full_lr" --output "$out/s$s/full" > "$out/s$s-full.log" 2>&1
  bin/peft diagnose "$out/s$s/lora-r1" "$out/s$s/lora-r8" "$out/s$s/lora-r64" "$out/s$s/full" \
    --output "$out/s$s/diagnose.html" --json "$out/s$s/diagnose.json" | tee "$out/s$s-diagnose.txt"
done

# 2. LiNeS on a merged pair: the halves of one stratified 80/10/10 split (seed 7)
cache=${PEFT4J_CACHE:-$HOME/.cache/peft4j}
python3 - "$cache/datasets/spam-assassin-0.2.3/messages.jsonl" "$out/halves" <<'EOF'
import json, os, random, sys
rows = [json.loads(l) for l in open(sys.argv[1], encoding="utf-8")]
rnd = random.Random(7)
by = {}
for r in rows:
    by.setdefault(r["label"], []).append({"text": r["text"], "label": r["label"]})
train, val, test = [], [], []
for label, items in sorted(by.items()):
    rnd.shuffle(items)
    n = len(items)
    a, b = int(n * 0.8), int(n * 0.9)
    train += items[:a]; val += items[a:b]; test += items[b:]
rnd.shuffle(train)
for name, part in (("a", train[0::2]), ("b", train[1::2])):
    d = os.path.join(sys.argv[2], name)
    os.makedirs(d, exist_ok=True)
    for fname, rows_ in (("train", part), ("validation", val), ("test", test)):
        with open(os.path.join(d, fname + ".jsonl"), "w", encoding="utf-8") as f:
            for r in rows_:
                f.write(json.dumps(r) + "\n")
print("halves:", len(train[0::2]), len(train[1::2]), "validation", len(val), "test", len(test))
EOF
for h in a b; do
  [ -f "$out/lines/$h/results.json" ] || "${train[@]}" --data "$out/halves/$h" --seed 42 --lr 5e-4 \
    --output "$out/lines/$h" > "$out/lines-$h.log" 2>&1
done
bin/peft combine --adapter "$out/lines/a/adapter" --adapter "$out/lines/b/adapter" --weights 1,1 --type cat \
  --modules-to-save-from 1 --output "$out/lines/sum"
bin/peft combine --adapter "$out/lines/a/adapter" --adapter "$out/lines/b/adapter" --weights 0.5,0.5 --type cat \
  --modules-to-save-from 1 --output "$out/lines/mean"
bin/peft lines --adapter "$out/lines/sum" --alpha 0.5 --beta 0.5 --num-layers 6 --output "$out/lines/sum-lines"
bin/peft lines --adapter "$out/lines/a/adapter" --num-layers 6 --output "$out/lines/a-lines"
for m in a/adapter b/adapter sum mean sum-lines a-lines; do
  echo "== $m"
  bin/peft eval --model minilm --adapter "$out/lines/$m" --data "$out/halves/a"
done | tee "$out/lines.txt"

# 3. grafting the first seed's full fine-tune
first=${seeds%% *}
bin/peft graft --base minilm --fine-tuned "$out/s$first/full/model" --data spam-assassin --seed "$first" \
  --fractions 0,0.0001,0.001,0.01,0.05,0.1,0.5,1 --output "$out/graft" | tee "$out/graft.txt"
