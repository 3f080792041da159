#!/bin/bash
# LoRA r=8 (query/value) against SaRA 1% and SpIEL 1% (all linear layers, sparse gradient AUTO = SDDMM at 1%) on the
# 30-step README job, each run in its own JVM with the Vector API, methods alternating, ROUNDS rounds; with a second
# jar the sparse methods also run on it (a build before a change). Prints label, peak RSS MiB, training s.
# Used by docs/performance.md (change 4).
#   benchmarks/interleave_methods.sh ROUNDS AFTER/peft.jar [BEFORE/peft.jar] [runs-dir]
set -euo pipefail
rounds=$1
after=$2
before=${3:-}
dir=${4:-runs/interleave-methods}
mkdir -p "$dir"
run() {
  label=$1; jar=$2; shift 2
  out=$dir/$label
  rm -rf "$out"
  DJL_OFFLINE=true java --add-modules jdk.incubator.vector -jar "$jar" train --model minilm --data spam-assassin \
      --max-steps 30 --eval-every 0 --checkpoint-every 0 --no-progress --output "$out" "$@" > "$out.log" 2>&1
  python3 -c "import json,sys;r=json.load(open(sys.argv[1]));print(sys.argv[2], round(r['peak_rss_mb']), round(r['train_seconds'],1))" "$out/results.json" "$label"
}
for i in $(seq "$rounds"); do
  run "lora-$i" "$after" --method lora
  for m in sara spiel; do
    opt=$([ $m = sara ] && echo --sara-fraction || echo --density)
    [ -n "$before" ] && run "$m-before-$i" "$before" --method $m $opt 0.01
    run "$m-$i" "$after" --method $m $opt 0.01
  done
done
