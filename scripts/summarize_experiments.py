#!/usr/bin/env python3
"""Summarise output/experiments/*.json (written by scripts/experiments.sh) as Markdown tables.

For each run file: mean ± std (over seeds) of the final test accuracy, the per-epoch test accuracy (means; the
validation accuracy for runs made without --test-curve),
wall time per run, the share of it spent remapping, and the mapping precision (share of training images whose
top-1 source class is one their class is mapped to, from the final frequency matrix) and, for runs with
AutoVP's learnable input scale, the learned scale σ.
"""
import json, statistics, sys, glob, os

def ms(values, scale=100.0, decimals=1):
    values = [v * scale for v in values]
    if len(values) == 1:
        return f"{values[0]:.{decimals}f}"
    return f"{statistics.mean(values):.{decimals}f} ± {statistics.stdev(values):.{decimals}f}"

rows = []
for path in sorted(glob.glob(os.path.join(sys.argv[1] if len(sys.argv) > 1 else "output/experiments", "*.json"))):
    report = json.load(open(path))
    results = report["results"]
    name = os.path.basename(path)[:-5]
    acc = [r["testAccuracy"] for r in results]
    wall = [r["wallSeconds"] for r in results]
    remap = [r["remapSeconds"] / r["wallSeconds"] for r in results if r["wallSeconds"] > 0]
    prec = [r["mappingPrecision"] for r in results if r.get("mappingPrecision") is not None]
    scales = [r["inputScale"] for r in results if r.get("inputScale") is not None]
    # Per-epoch test accuracy where the runs recorded it (--test-curve), else validation accuracy ("val").
    has_test = any(e.get("testAccuracy") is not None for r in results for e in r["history"])
    key = "testAccuracy" if has_test else "validationAccuracy"
    curves = [[e.get(key) for e in r["history"]] for r in results]
    epochs = max((len(c) for c in curves), default=0)
    curve = []
    for i in range(epochs):
        vals = [c[i] for c in curves if i < len(c) and c[i] is not None]
        curve.append(f"{100 * statistics.mean(vals):.1f}" if vals else "–")
    if not has_test and curve:
        curve.insert(0, "val:")
    rows.append((name, results[0]["trainCount"], len(results), ms(acc), f"{statistics.mean(wall):.0f}",
                 f"{100 * statistics.mean(remap):.0f} %" if remap else "–", ms(prec) if prec else "–",
                 ms(scales, scale=1.0, decimals=2) if scales else "–", " ".join(curve)))

print("| run | train images | seeds | test acc % | wall s/run | remapping | mapping precision % | learned σ | accuracy per epoch (mean; test, or val: validation) |")
print("|---|---|---|---|---|---|---|---|---|")
for r in rows:
    print("| " + " | ".join(str(x) for x in r) + " |")
