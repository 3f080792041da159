#!/usr/bin/env python3
"""Tables for SddmmBenchmark / SparseOpsBenchmark JMH JSON results (-rf json): median [min - max] per kernel,
speed-up over the baseline of the same run, and GFLOP/s (SDDMM: 2*nnz*n, dense GEMM: 2*n*out*in) or GB/s."""
import json
import statistics
import sys
from collections import defaultdict


def stats(r):
    raw = [v for fork in r["primaryMetric"]["rawData"] for v in fork]
    return statistics.median(raw), min(raw), max(raw)


rows = json.load(open(sys.argv[1]))
by = defaultdict(dict)
for r in rows:
    name = r["benchmark"].rsplit(".", 1)[-1]
    p = r["params"]
    key = (p["shape"], int(p.get("n", 0)), float(p["density"]))
    by[key][name] = stats(r)

if any("denseThenGather" in v for v in by.values()):
    print("| shape | n | density | dense gᵀx + gather (µs) | SDDMM vector (µs) | SDDMM plain (µs)"
          " | SDDMM in place on tensors (µs) | speed-up vs dense (in place) | SDDMM GFLOP/s | dense GEMM GFLOP/s |")
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    for (shape, n, d), v in sorted(by.items(), key=lambda kv: (kv[0][0], kv[0][1], kv[0][2])):
        if "denseThenGather" not in v:
            continue
        o, i = map(int, shape.split("x"))
        nnz = max(1, round(d * o * i))
        fmt = lambda t: f"{t[0]:.0f} [{t[1]:.0f}–{t[2]:.0f}]"
        dense, sd, sdt = v["denseThenGather"], v["sddmm"], v["sddmmFromTensors"]
        print(f"| {shape} | {n} | {d:g} | {fmt(dense)} | {fmt(sd)} | {fmt(v['sddmmPlain'])} | {fmt(sdt)}"
              f" | {dense[0] / sdt[0]:.1f}× | {2 * nnz * n / sd[0] / 1e3:.1f} | {2 * n * o * i / dense[0] / 1e3:.1f} |")

if any("select" in v for v in by.values()):
    print()
    print("| shape | density | select (µs) | sort-based (µs) | speed-up | gather (µs) | torch take (µs) |"
          " scatter (µs) | torch put (µs) | gather GB/s |")
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    for (shape, n, d), v in sorted(by.items(), key=lambda kv: (kv[0][0], kv[0][2])):
        if "select" not in v:
            continue
        o, i = map(int, shape.split("x"))
        nnz = max(1, round(d * o * i))
        m = lambda k: f"{v[k][0]:.0f}"
        print(f"| {shape} | {d:g} | {m('select')} | {m('selectBySort')} | {v['selectBySort'][0] / v['select'][0]:.1f}×"
              f" | {m('gather')} | {m('gatherTorch')} | {m('scatter')} | {m('scatterTorch')}"
              f" | {12 * nnz / v['gather'][0] / 1e3:.2f} |")
