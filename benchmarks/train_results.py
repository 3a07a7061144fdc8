"""Train each reference model with fastnn (every backend asked for) and with PyTorch CPU on
the same recipe, on the same machine, in the same run; write docs/results.md and a JSON file.

    python benchmarks/train_results.py                          # the full table (hours on 2 cores)
    python benchmarks/train_results.py --runs lenet:mnist --backends cython --frameworks fastnn,torch
    python benchmarks/train_results.py --limit 2000 --epochs 1  # a quick smoke run

The recipe is the one `fastnn train` uses (fastnn.runs.RECIPES: optimizer, one-cycle peak
learning rate, batch size, epochs, weight decay; augmentation for CIFAR-10). PyTorch gets the
same architecture (twins defined below), the same data arrays, the same batch order
(one shared permutation per epoch) and the same thread count.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

import fastnn  # noqa: E402
from fastnn.runs import RECIPES, RunConfig, build_model, make_datasets, make_optimizer  # noqa: E402
from fastnn.serialization import atomic_write_bytes  # noqa: E402
from fastnn.training import evaluate, train_one_epoch  # noqa: E402

DEFAULT_RUNS = ["mlp:mnist", "lenet:mnist", "cifar_cnn:cifar10", "resnet20:cifar10"]


# ------------------------------------------------------------------ PyTorch twins of fastnn.models

def torch_twin(name: str, in_channels: int):
    import torch.nn as tnn
    import torch.nn.functional as tF

    class LeNet(tnn.Module):
        def __init__(self):
            super().__init__()
            self.conv1, self.conv2 = tnn.Conv2d(in_channels, 10, 5), tnn.Conv2d(10, 20, 5)
            self.fc1, self.dropout, self.fc2 = tnn.Linear(320, 50), tnn.Dropout(0.5), tnn.Linear(50, 10)

        def forward(self, x):
            x = tF.relu(tF.max_pool2d(self.conv1(x), 2))
            x = tF.relu(tF.max_pool2d(self.conv2(x), 2))
            return self.fc2(self.dropout(tF.relu(self.fc1(x.flatten(1)))))

    def conv_bn_relu(cin, cout):
        return tnn.Sequential(tnn.Conv2d(cin, cout, 3, padding=1, bias=False), tnn.BatchNorm2d(cout), tnn.ReLU())

    class Block(tnn.Module):
        def __init__(self, cin, cout, stride):
            super().__init__()
            self.conv1 = tnn.Conv2d(cin, cout, 3, stride=stride, padding=1, bias=False)
            self.bn1 = tnn.BatchNorm2d(cout)
            self.conv2 = tnn.Conv2d(cout, cout, 3, padding=1, bias=False)
            self.bn2 = tnn.BatchNorm2d(cout)
            self.shortcut = tnn.Identity() if stride == 1 and cin == cout else tnn.Sequential(
                tnn.Conv2d(cin, cout, 1, stride=stride, bias=False), tnn.BatchNorm2d(cout))

        def forward(self, x):
            out = self.bn2(self.conv2(tF.relu(self.bn1(self.conv1(x)))))
            return tF.relu(out + self.shortcut(x))

    def resnet(n):
        layers, cin = [conv_bn_relu(in_channels, 16)], 16
        for cout, stride in ((16, 1), (32, 2), (64, 2)):
            for i in range(n):
                layers.append(Block(cin, cout, stride if i == 0 else 1))
                cin = cout
        return tnn.Sequential(*layers, tnn.AdaptiveAvgPool2d(1), tnn.Flatten(), tnn.Linear(64, 10))

    if name == "mlp":
        return tnn.Sequential(tnn.Flatten(), tnn.Linear(784 * in_channels, 250), tnn.ReLU(), tnn.Linear(250, 100),
                              tnn.ReLU(), tnn.Linear(100, 10))
    if name == "lenet":
        return LeNet()
    if name == "cifar_cnn":
        return tnn.Sequential(conv_bn_relu(in_channels, 32), conv_bn_relu(32, 32), tnn.MaxPool2d(2),
                              conv_bn_relu(32, 64), conv_bn_relu(64, 64), tnn.MaxPool2d(2),
                              tnn.Flatten(), tnn.Dropout(0.25), tnn.Linear(64 * 8 * 8, 10))
    if name in ("resnet8", "resnet20"):
        return resnet(1 if name == "resnet8" else 3)
    raise ValueError(name)


class _Batches:
    """The fastnn DataLoader's batches as torch tensors (same data, order and augmentation)."""

    def __init__(self, loader):
        self.loader = loader

    def __len__(self):
        return len(self.loader)

    def __iter__(self):
        import torch
        for x, y in self.loader:
            yield torch.from_numpy(np.ascontiguousarray(x.numpy())), torch.from_numpy(y.numpy())


def train_torch(cfg: RunConfig, train_set, test_set, threads: int):
    import torch
    torch.set_num_threads(threads)
    torch.manual_seed(cfg.seed)
    model = torch_twin(cfg.model, 3 if cfg.dataset == "cifar10" else 1)
    if cfg.optimizer == "sgd":
        opt = torch.optim.SGD(model.parameters(), lr=cfg.lr, momentum=0.9, nesterov=True, weight_decay=cfg.weight_decay)
    else:
        opt = torch.optim.Adam(model.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
    loader = fastnn.data.DataLoader(train_set, batch_size=cfg.batch_size, shuffle=True, seed=cfg.seed)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=cfg.lr, epochs=cfg.epochs, steps_per_epoch=len(loader))
    test = _Batches(fastnn.data.DataLoader(test_set, batch_size=500))
    rows = []
    for epoch in range(cfg.epochs):
        model.train()
        start, seen = time.perf_counter(), 0
        for x, y in _Batches(loader):
            loss = torch.nn.functional.cross_entropy(model(x), y)
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
            seen += len(y)
        elapsed = time.perf_counter() - start
        model.eval()
        correct = total = 0
        with torch.no_grad():
            for x, y in test:
                correct += int((model(x).argmax(1) == y).sum())
                total += len(y)
        rows.append({"epoch": epoch + 1, "time": elapsed, "samples_per_s": seen / elapsed, "val_acc": correct / total})
        print(f"  torch     epoch {epoch + 1}: {elapsed:.1f}s, test acc {correct / total:.4f}", flush=True)
    return rows


def train_fastnn(cfg: RunConfig, train_set, test_set, backend: str, threads: int):
    fastnn.set_backend(backend)
    fastnn.set_num_threads(threads)
    fastnn.manual_seed(cfg.seed)
    model = build_model(cfg)
    optimizer = make_optimizer(cfg, model)
    loader = fastnn.data.DataLoader(train_set, batch_size=cfg.batch_size, shuffle=True, seed=cfg.seed)
    scheduler = fastnn.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=cfg.lr, epochs=cfg.epochs,
                                                     steps_per_epoch=len(loader))
    test_loader = fastnn.data.DataLoader(test_set, batch_size=500)
    loss_fn = fastnn.nn.CrossEntropyLoss()
    rows = []
    for epoch in range(cfg.epochs):
        stats = train_one_epoch(model, loader, optimizer, loss_fn, epoch, scheduler, progress=False)
        acc = evaluate(model, test_loader)["accuracy"]
        rows.append({"epoch": epoch + 1, "time": stats["time"], "samples_per_s": stats["samples_per_s"], "val_acc": acc})
        print(f"  {backend:<9} epoch {epoch + 1}: {stats['time']:.1f}s, test acc {acc:.4f}", flush=True)
    return rows


def rerender(json_path: str, markdown_path: str) -> None:
    """Rewrite the Markdown table from a results JSON (no training)."""
    with open(json_path) as f:
        data = json.load(f)
    atomic_write_bytes(markdown_path, render(data["meta"], data["results"]).encode())


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", default=",".join(DEFAULT_RUNS), help="model:dataset pairs, comma-separated")
    parser.add_argument("--backends", default="cython,numba", help="fastnn backends to train with")
    parser.add_argument("--frameworks", default="fastnn,torch")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--epochs", type=int, help="override the recipe's epochs")
    parser.add_argument("--limit", type=int)
    parser.add_argument("--json", default=os.path.join(ROOT, "docs", "results.json"))
    parser.add_argument("--markdown", default=os.path.join(ROOT, "docs", "results.md"))
    args = parser.parse_args(argv)

    results = []
    for run in args.runs.split(","):
        model, dataset = run.split(":")
        cfg = RunConfig(dataset=dataset, model=model, epochs=args.epochs, limit=args.limit,
                        augment=dataset == "cifar10", progress=False).resolved()
        train_set, test_set = make_datasets(cfg)
        print(f"{model} on {dataset}: {RECIPES[model]} epochs={cfg.epochs}", flush=True)
        entries = []
        if "fastnn" in args.frameworks:
            entries += [(f"fastnn/{b}", lambda b=b: train_fastnn(cfg, train_set, test_set, b, args.threads))
                        for b in args.backends.split(",")]
        if "torch" in args.frameworks:
            entries.append(("torch", lambda: train_torch(cfg, train_set, test_set, args.threads)))
        for name, fn in entries:
            rows = fn()
            results.append({"model": model, "dataset": dataset, "framework": name, "epochs": rows,
                             "recipe": {**RECIPES[model], "epochs": cfg.epochs, "augment": cfg.augment}})
    meta = {"machine": platform.processor() or platform.machine(), "cpu_count": os.cpu_count(),
            "threads": args.threads, "fastnn": fastnn.__version__, "numpy": np.__version__,
            "date": time.strftime("%Y-%m-%d")}
    try:
        import torch
        meta["torch"] = torch.__version__
    except ImportError:
        pass
    from fastnn.bench.machine import cpu_model
    meta["machine"] = cpu_model()
    atomic_write_bytes(args.json, json.dumps({"meta": meta, "results": results}, indent=2).encode())
    atomic_write_bytes(args.markdown, render(meta, results).encode())
    print(f"wrote {args.markdown} and {args.json}")


def render(meta, results) -> str:
    lines = ["# Training results", "",
             f"Measured on {meta['machine']} ({meta['cpu_count']} cores), {meta['threads']} threads for every "
             f"framework, {meta['date']}; fastnn {meta['fastnn']}, NumPy {meta['numpy']}, "
             f"PyTorch {meta.get('torch', 'not installed')} (CPU). Same recipe, same data, same batch order "
             "for every framework, in one run. Regenerate with `python benchmarks/train_results.py`.", "",
             "| model | data set | recipe | framework | epochs | best test acc | final test acc | median s/epoch | "
             "samples/s | time vs torch |", "|---|---|---|---|---|---|---|---|---|---|"]
    torch_time = {(r["model"], r["dataset"]): np.median([e["time"] for e in r["epochs"]])
                  for r in results if r["framework"] == "torch"}
    for r in results:
        times = [e["time"] for e in r["epochs"]]
        accs = [e["val_acc"] for e in r["epochs"]]
        t = float(np.median(times))
        ref = torch_time.get((r["model"], r["dataset"]))
        ratio = f"{t / ref:.2f}x" if ref else "-"
        rc = r["recipe"]
        recipe = f"{rc['optimizer']} lr {rc['lr']:g}, batch {rc['batch_size']}" + (", augment" if rc.get("augment") else "")
        lines.append(f"| {r['model']} | {r['dataset']} | {recipe} | {r['framework']} | {len(accs)} | {max(accs):.4f} | "
                     f"{accs[-1]:.4f} | {t:.1f} | {np.median([e['samples_per_s'] for e in r['epochs']]):.0f} | "
                     f"{ratio} |")
    lines += ["", "`time vs torch` < 1 means fastnn's epoch was faster than PyTorch's. Recipes: "
              "`fastnn.runs.RECIPES` (one-cycle learning rate; CIFAR-10 with random crops and flips).", ""]
    return "\n".join(lines)


if __name__ == "__main__":
    main()
