#!/usr/bin/env python3
"""How vpbook's cost grows: time per epoch and peak memory against the training-set size N, the canvas and the
model, and the tour's per-block time cold and warm. Regenerates the tables of docs/PERFORMANCE.md ("How the cost
grows"). Python's standard library only; run from the repository root after `make build`:

    python3 scripts/cost_table.py [--steps 12] [--vpbook .build/release/vpbook] [--skip-tour]

Each (model, canvas, N) point is one `vpbook train` process on Fashion-MNIST (N = 1 000, 10 000, or the whole
training file, 60 000) with RLM (no frequency pass), one epoch cut to `--steps` batches of 64: it loads all N
images (as bytes) and trains the given number of steps. Measured: the training step's images/s
(`trainImagesPerSecond`) and the process's peak RSS. One more process per (model, canvas) runs FLM on 1 000
images to measure the forward pass a remap makes (`remapSeconds`). A whole epoch is derived, not run:
N / (step images/s), plus, for a mapping that remaps every epoch (ILM), N / (remap images/s). The machine and
kernels are printed first: compare rows of one run only.
"""

import argparse
import json
import os
import platform
import re
import subprocess
import sys
import tempfile
import time

MODELS = ["mobilenet_v2", "efficientnet_lite0"]
CANVASES = [64, 128, 224]
SIZES = [("1 k", "100"), ("10 k", "1000"), ("60 k", "all")]


def cpu_name():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


def train(vpbook, model, canvas, per_class, steps, mapping="rlm"):
    with tempfile.TemporaryDirectory() as folder:
        out = os.path.join(folder, "r.json")
        args = [
            vpbook, "train", "--model", model, "--data", "fashion-mnist", "--per-class", per_class, "--val", "0",
            "--test", "64", "--canvas", str(canvas), "--image", str(canvas * 3 // 4), "--epochs", "1",
            "--steps", str(steps), "--batch", "64", "--mapping", mapping, "--seeds", "7", "--quiet", "--json", out,
        ]
        started = time.time()
        done = subprocess.run(args, capture_output=True, text=True)
        wall = time.time() - started
        if done.returncode != 0:
            sys.exit(f"vpbook train failed ({model}, canvas {canvas}, per-class {per_class}):\n{done.stderr}")
        with open(out) as f:
            report = json.load(f)
    result = report["results"][0]
    peak = re.search(r"peak memory \(RSS\): ([0-9.]+) (MB|GB|kB)", done.stderr)
    factor = {"kB": 1e-3, "MB": 1.0, "GB": 1e3}
    peak_mb = float(peak.group(1)) * factor[peak.group(2)] if peak else float("nan")
    return {
        "kernels": report.get("kernels", "?"),
        "n": result["trainCount"],
        "step": result["trainImagesPerSecond"],
        "remap": result["remapSeconds"],
        "peak": peak_mb,
        "wall": wall,
    }


def tour(vpbook):
    rows = []
    with tempfile.TemporaryDirectory() as folder:
        cache = os.path.join(folder, "cache")
        for label in ("cold", "warm"):
            html = os.path.join(folder, f"tour-{label}.html")
            done = subprocess.run(
                [vpbook, "run", "notebooks/tour.md", "--cache-dir", cache, "-o", html, "--quiet"],
                capture_output=True, text=True)
            if done.returncode != 0:
                sys.exit(f"vpbook run notebooks/tour.md failed:\n{done.stderr}")
            with open(html[:-5] + ".json") as f:
                manifest = json.load(f)
            rows.append((label, manifest["seconds"], manifest["blocks"]))
    return rows


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--vpbook", default=".build/release/vpbook")
    parser.add_argument("--steps", type=int, default=12)
    parser.add_argument("--skip-tour", action="store_true")
    parser.add_argument("--models", default=",".join(MODELS))
    parser.add_argument("--canvases", default=",".join(map(str, CANVASES)))
    parser.add_argument("--sizes", default=",".join(label for label, _ in SIZES), help="of: 1 k,10 k,60 k")
    options = parser.parse_args()
    models = options.models.split(",")
    canvases = [int(c) for c in options.canvases.split(",")]
    sizes = [(label, per_class) for label, per_class in SIZES if label in options.sizes.split(",")]

    points, remap_rate = {}, {}
    for model in models:
        for canvas in canvases:
            flm = train(options.vpbook, model, canvas, "100", 1, mapping="flm")
            remap_rate[model, canvas] = flm["n"] / flm["remap"]
            for label, per_class in sizes:
                points[model, canvas, label] = train(options.vpbook, model, canvas, per_class, options.steps)
                p = points[model, canvas, label]
                print(f"  {model} {canvas} {label}: {p['step']:.0f} img/s, remap {remap_rate[model, canvas]:.0f} "
                      f"img/s, peak {p['peak']:.0f} MB", file=sys.stderr)
    kernels = next(iter(points.values()))["kernels"]
    print(f"{time.strftime('%Y-%m-%d')}, {cpu_name()}, {os.cpu_count()} cores; kernels: {kernels}; "
          f"`python3 scripts/cost_table.py --steps {options.steps}`\n")
    print("| model | canvas | N | step img/s | remap img/s | epoch, derived (s) | ILM epoch, derived (s) "
          "| peak RSS (MB) |")
    print("|---|---|---|---|---|---|---|---|")
    for (model, canvas, label), p in points.items():
        rate = remap_rate[model, canvas]
        epoch = p["n"] / p["step"]
        print(f"| {model} | {canvas} | {label} ({p['n']}) | {p['step']:.0f} | {rate:.0f} | {epoch:.0f} | "
              f"{epoch + p['n'] / rate:.0f} | {p['peak']:.0f} |")
    if options.skip_tour:
        return
    print()
    rows = tour(options.vpbook)
    (cold_label, cold_total, cold_blocks), (warm_label, warm_total, warm_blocks) = rows
    print(f"The tour (`vpbook run notebooks/tour.md`, a fresh cache, then again): {cold_total:.1f} s cold, "
          f"{warm_total:.1f} s warm.\n")
    print("| step | line | statement | cold (s) | warm (s) | warm status |")
    print("|---|---|---|---|---|---|")
    for cold, warm in zip(cold_blocks, warm_blocks):
        summary = cold["summary"].replace("|", "\\|")
        print(f"| {cold['ordinal']} | {cold['line']} | `{summary}` | {cold['seconds']:.2f} | "
              f"{warm['seconds']:.2f} | {warm['status']} |")


if __name__ == "__main__":
    main()
