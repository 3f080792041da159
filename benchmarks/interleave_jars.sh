#!/bin/bash
# Alternates a 30-step run of the README job (then validation and test) with two builds of peft.jar, 3 rounds, each
# run in its own JVM; prints label, peak RSS MiB, training s, whole command s. Used by docs/performance.md to compare
# two builds (the per-layer memory scopes, LayerScope; the fused attention operator).
#   benchmarks/interleave_jars.sh BEFORE/peft.jar AFTER/peft.jar [runs-dir]
set -euo pipefail
before=$1
after=$2
dir=${3:-runs/interleave}
mkdir -p "$dir"
run() {
  label=$1; jar=$2
  out=$dir/$label
  rm -rf "$out"
  start=$(date +%s.%N)
  DJL_OFFLINE=true java -jar "$jar" train --model minilm --data spam-assassin --max-steps 30 --eval-every 0 \
      --checkpoint-every 0 --no-progress --output "$out" > "$out.log" 2>&1
  end=$(date +%s.%N)
  python3 -c "import json,sys;r=json.load(open(sys.argv[1]));print(sys.argv[2], round(r['peak_rss_mb']), round(r['train_seconds'],1), round(float(sys.argv[4])-float(sys.argv[3]),1))" "$out/results.json" "$label" "$start" "$end"
}
for i in 1 2 3; do
  run "before-$i" "$before"
  run "after-$i" "$after"
done
