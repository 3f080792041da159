"""Aggregates a JFR recording of `peft train` into where the time went: the phase of the command (training steps,
evaluation, loading, data, ...) and, inside each, the libtorch operation at the top of the stack (the JNI method of
DJL's PyTorchLibrary, so native time is attributed to its op). Used by docs/performance.md.

    java -XX:FlightRecorderOptions=stackdepth=1024 -XX:StartFlightRecording=filename=run.jfr,settings=profile \
        -jar peft-examples/target/peft.jar train ...
    python3 benchmarks/jfr_profile.py run.jfr
"""
import collections
import json
import subprocess
import sys

out = subprocess.run(["jfr", "print", "--json", "--stack-depth", "300", "--events",
                      "jdk.NativeMethodSample,jdk.ExecutionSample", sys.argv[1]],
                     capture_output=True, text=True, check=True).stdout
events = json.loads(out)["recording"]["events"]
phase = collections.Counter()
ops = collections.defaultdict(collections.Counter)
for e in events:
    st = e["values"].get("stackTrace")
    if not st:
        continue
    names = [f["method"]["type"]["name"].split(".")[-1] + "." + f["method"]["name"] for f in st["frames"]]
    joined = " ".join(names)
    if "Evaluation.of" in joined or "Evaluator" in joined:
        p = "evaluation"
    elif "FineTuner$Loop.step" in joined:
        p = "training steps"
    elif "MiniLm" in joined or "Onnx" in joined:
        p = "model conversion"
    elif "Bert.load" in joined or "HfWeights" in joined or "Decoders.load" in joined:
        p = "model load"
    elif any(k in joined for k in ("SpamAssassin", "Split", "DataFiles", "LabeledTexts", "CausalLmExamples")):
        p = "data"
    else:
        p = "other"
    phase[p] += 1
    top = names[0].replace("ai/djl/pytorch/jni/PyTorchLibrary.", "")
    if p == "training steps":
        if "torchBackward" in top:
            top = "backward (all ops' gradients)"
        elif "AdamW" in joined:
            top = "optimizer (AdamW)"
        elif "clipGradients" in joined or "zeroGradients" in joined:
            top = "clip/zero gradients"
        else:
            top = "forward: " + top
    ops[p][top] += 1
total = sum(phase.values())
print(f"{total} samples")
for k, v in phase.most_common():
    print(f"| {k} | {100 * v / total:.1f}% |")
for p in ("training steps", "evaluation"):
    n = sum(ops[p].values())
    print(f"\n{p} ({n} samples)")
    for k, v in ops[p].most_common(12):
        print(f"| {k} | {100 * v / n:.1f}% |")
