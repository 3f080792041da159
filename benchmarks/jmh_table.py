#!/usr/bin/env python3
"""Prints a JMH JSON result (-rf json) as a Markdown table: median [min - max] of the measured iterations."""
import json
import statistics
import sys

rows = json.load(open(sys.argv[1]))
print("| benchmark | params | median | min | max | unit |")
print("| --- | --- | ---: | ---: | ---: | --- |")
for r in rows:
    raw = [v for fork in r["primaryMetric"]["rawData"] for v in fork]
    params = ", ".join(f"{k}={v}" for k, v in r.get("params", {}).items())
    name = r["benchmark"].rsplit(".", 2)[-2] + "." + r["benchmark"].rsplit(".", 1)[-1]
    unit = r["primaryMetric"]["scoreUnit"]
    print(f"| {name} | {params} | {statistics.median(raw):.0f} | {min(raw):.0f} | {max(raw):.0f} | {unit} |")
