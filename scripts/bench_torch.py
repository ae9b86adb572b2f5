"""PyTorch's side of `make bench-torch`: the same VP step and forward pass that vpbench measures, with the
same models, shapes, mapped logits and threads, on this machine, in the same run.

VP step = forward of a frozen model (eval mode, no parameter gradients) + cross-entropy over 10 mapped logits
(source classes 0, 100, …, 900 of a 1000-class model; all 10 of a 10-class one) + gradient to the input.
Each figure is the best of PyTorch's NCHW and channels-last layouts, best of `--repeat` timed calls after
one warm-up, images per second.

    python scripts/bench_torch.py --vpbench vpbench.txt   # prints PyTorch's figures, vpbook's and the ratios
    python scripts/bench_torch.py --model resnet18        # one model (bench-torch.sh passes --model to both)
"""

import argparse
import os
import re
import time

import torch
import torchvision


def best_time(repeats, body):
    body()
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        body()
        best = min(best, time.perf_counter() - start)
    return best


def measure(model, classes, canvas, batch, repeats, channels_last):
    torch.manual_seed(0)
    x = torch.sin(torch.arange(batch * 3 * canvas * canvas, dtype=torch.float32) * 0.001).reshape(
        batch, 3, canvas, canvas)
    if channels_last:
        model = model.to(memory_format=torch.channels_last)
        x = x.contiguous(memory_format=torch.channels_last)
    index = torch.tensor([k * 100 for k in range(10)] if classes >= 1000 else list(range(min(10, classes))))
    labels = torch.arange(batch) % len(index)

    def step():
        xg = x.detach().requires_grad_(True)
        logits = model(xg)
        loss = torch.nn.functional.cross_entropy(logits.index_select(1, index), labels)
        loss.backward()
        return xg.grad

    def forward():
        with torch.no_grad():
            return model(x)

    return batch / best_time(repeats, step), batch / best_time(repeats, forward)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--vpbench", help="vpbench's output, to print side by side")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--vit", action="store_true", help="also ViT-B/32 and ViT-B/16 (224 px, batch 32)")
    parser.add_argument("--model", help="only this model (as vpbench --model)")
    args, _ = parser.parse_known_args()
    threads = int(os.environ.get("VPBOOK_THREADS") or os.cpu_count())
    torch.set_num_threads(threads)
    settings = [(128, 16)] if args.quick else [(224, 32), (128, 64)]
    models = {
        "mobilenet_v2": (lambda: torchvision.models.mobilenet_v2(), 1000),
        "resnet18": (lambda: torchvision.models.resnet18(num_classes=10), 10),
    }
    if args.vit or (args.model or "").startswith("vit"):
        # Random weights of torchvision's sizes, as vpbench's; a ViT takes its image size only.
        models["vit_b_32"] = (lambda: torchvision.models.vit_b_32(), 1000)
        models["vit_b_16"] = (lambda: torchvision.models.vit_b_16(), 1000)
    ours = {}
    if args.vpbench:
        for line in open(args.vpbench):
            m = re.match(r"^(\S+)\s+(\d+)\s+(\d+)\s+([\d.]+)\s+([\d.]+)", line)
            if m:
                ours[(m[1], int(m[2]), int(m[3]))] = (float(m[4]), float(m[5]))
            elif line.startswith("vpbench"):
                print(line.rstrip())
    print(f"PyTorch {torch.__version__}, {threads} threads, MKLDNN {torch.backends.mkldnn.is_available()}; "
          f"best of NCHW and channels-last")
    print("| model | canvas | batch | PyTorch step | vpbook step | ratio | PyTorch fwd | vpbook fwd | ratio |")
    print("|---|---|---|---|---|---|---|---|---|")
    for name, (make, classes) in models.items():
        if args.model and name != args.model:
            continue
        model = make().eval()
        for p in model.parameters():
            p.requires_grad_(False)
        for canvas, batch in ([(224, 32)] if name.startswith("vit") else settings):
            runs = [measure(make().eval().requires_grad_(False), classes, canvas, batch, args.repeat, layout)
                    for layout in (False, True)]
            step = max(r[0] for r in runs)
            fwd = max(r[1] for r in runs)
            mine = ours.get((name, canvas, batch))
            if mine:
                print(f"| {name} | {canvas} | {batch} | {step:.1f} | {mine[0]:.1f} | {mine[0] / step:.2f}× "
                      f"| {fwd:.1f} | {mine[1]:.1f} | {mine[1] / fwd:.2f}× |")
            else:
                print(f"| {name} | {canvas} | {batch} | {step:.1f} | – | – | {fwd:.1f} | – | – |")


if __name__ == "__main__":
    main()
