"""Train each reference model with fastnn (every backend asked for) and with PyTorch CPU on
the same recipe, on the same machine, in the same run; write docs/results.md and a JSON file.

    python benchmarks/train_results.py                          # the full table (hours on 2 cores)
    python benchmarks/train_results.py --runs lenet:mnist --backends cython --frameworks fastnn,torch
    python benchmarks/train_results.py --limit 2000 --epochs 1  # a quick smoke run
    python benchmarks/train_results.py --runs resnet20:cifar10 --peer-epochs 3   # see below

The frameworks take turns epoch by epoch (cython epoch 1, numba epoch 1, torch epoch 1,
cython epoch 2, ...), so a noisy neighbour on a shared machine slows all of them alike.
Results are written after every round and merged into the existing JSON (one entry per
model, data set and framework), so an interrupted run keeps what it measured.
``--peer-epochs K`` stops every framework but the first after K epochs of the full recipe
(the one-cycle schedule still spans all epochs): enough for the time per epoch on the long
CIFAR-10 runs, while the first framework trains to the end for the accuracy.

The recipe is the one `fastnn train` uses (fastnn.runs.RECIPES: optimizer, one-cycle peak
learning rate, batch size, epochs, weight decay; augmentation for CIFAR-10). PyTorch gets the
same architecture (the twins of fastnn.bench.training), the same data arrays, the same batch order
(one shared permutation per epoch) and the same thread count.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

import fastnn  # noqa: E402
from fastnn.bench.training import torch_twin  # noqa: E402
from fastnn.runs import RECIPES, RunConfig, build_model, make_datasets, make_optimizer  # noqa: E402
from fastnn.random import get_rng_state, set_rng_state  # noqa: E402
from fastnn.serialization import atomic_write_bytes  # noqa: E402
from fastnn.training import evaluate, train_one_epoch  # noqa: E402

DEFAULT_RUNS = ["mlp:mnist", "lenet:mnist", "cifar_cnn:cifar10", "resnet20:cifar10"]


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
    """Yield one result row per epoch (a generator, so that frameworks can take turns)."""
    import torch
    torch.set_num_threads(threads)
    torch.manual_seed(cfg.seed)
    model = torch_twin(cfg.model, torch, in_channels=3 if cfg.dataset == "cifar10" else 1)
    if cfg.optimizer == "sgd":
        opt = torch.optim.SGD(model.parameters(), lr=cfg.lr, momentum=0.9, nesterov=True, weight_decay=cfg.weight_decay)
    else:
        opt = torch.optim.Adam(model.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
    loader = fastnn.data.DataLoader(train_set, batch_size=cfg.batch_size, shuffle=True, seed=cfg.seed)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=cfg.lr, epochs=cfg.epochs, steps_per_epoch=len(loader))
    test = _Batches(fastnn.data.DataLoader(test_set, batch_size=500))
    for epoch in range(cfg.epochs):
        torch.set_num_threads(threads)
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
        print(f"  torch     epoch {epoch + 1}: {elapsed:.1f}s, test acc {correct / total:.4f}", flush=True)
        yield {"epoch": epoch + 1, "time": elapsed, "samples_per_s": seen / elapsed, "val_acc": correct / total}


def train_fastnn(cfg: RunConfig, train_set, test_set, backend: str, threads: int):
    """Yield one result row per epoch. The global RNG (dropout) is saved between turns, so
    each backend draws the same numbers as it would running alone."""
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
    rng_state = get_rng_state()
    for epoch in range(cfg.epochs):
        fastnn.set_backend(backend)
        fastnn.set_num_threads(threads)
        set_rng_state(rng_state)
        stats = train_one_epoch(model, loader, optimizer, loss_fn, epoch, scheduler, progress=False)
        acc = evaluate(model, test_loader)["accuracy"]
        rng_state = get_rng_state()
        print(f"  {backend:<9} epoch {epoch + 1}: {stats['time']:.1f}s, test acc {acc:.4f}", flush=True)
        yield {"epoch": epoch + 1, "time": stats["time"], "samples_per_s": stats["samples_per_s"], "val_acc": acc}


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
    parser.add_argument("--peer-epochs", type=int, help="stop every framework but the first after this many epochs")
    parser.add_argument("--fresh", action="store_true", help="start a new JSON instead of merging into it")
    args = parser.parse_args(argv)

    results = []
    if not args.fresh and os.path.exists(args.json):
        with open(args.json) as f:
            results = json.load(f)["results"]
    meta = machine_meta(args.threads)
    for run in args.runs.split(","):
        model, dataset = run.split(":")
        cfg = RunConfig(dataset=dataset, model=model, epochs=args.epochs, limit=args.limit,
                        augment=dataset == "cifar10", progress=False).resolved()
        train_set, test_set = make_datasets(cfg)
        print(f"{model} on {dataset}: {RECIPES[model]} epochs={cfg.epochs}", flush=True)
        trainers = []
        if "fastnn" in args.frameworks:
            trainers += [(f"fastnn/{b}", train_fastnn(cfg, train_set, test_set, b, args.threads))
                         for b in args.backends.split(",")]
        if "torch" in args.frameworks:
            trainers.append(("torch", train_torch(cfg, train_set, test_set, args.threads)))
        entries = []
        for name, _ in trainers:
            results = [r for r in results if (r["model"], r["dataset"], r["framework"]) != (model, dataset, name)]
            entries.append({"model": model, "dataset": dataset, "framework": name, "epochs": [],
                            "recipe": {**RECIPES[model], "epochs": cfg.epochs, "augment": cfg.augment},
                            "date": meta["date"], "interleaved": len(trainers) > 1})
            results.append(entries[-1])
        for epoch in range(cfg.epochs):           # the frameworks take turns, one epoch each
            for i, ((name, trainer), entry) in enumerate(zip(trainers, entries)):
                if i > 0 and args.peer_epochs is not None and epoch >= args.peer_epochs:
                    continue
                entry["epochs"].append(next(trainer))
            write(args.json, args.markdown, meta, results)
    print(f"wrote {args.markdown} and {args.json}")


def machine_meta(threads: int) -> dict:
    from fastnn.bench.machine import cpu_model
    meta = {"machine": cpu_model(), "cpu_count": os.cpu_count(), "threads": threads,
            "fastnn": fastnn.__version__, "numpy": np.__version__, "date": time.strftime("%Y-%m-%d")}
    try:
        import torch
        meta["torch"] = torch.__version__
    except ImportError:
        pass
    return meta


def write(json_path: str, markdown_path: str, meta: dict, results: list) -> None:
    atomic_write_bytes(json_path, json.dumps({"meta": meta, "results": results}, indent=2).encode())
    atomic_write_bytes(markdown_path, render(meta, results).encode())


def render(meta, results) -> str:
    lines = ["# Training results", "",
             f"Measured on {meta['machine']} ({meta['cpu_count']} cores), {meta['threads']} threads for every "
             f"framework; fastnn {meta['fastnn']}, NumPy {meta['numpy']}, PyTorch {meta.get('torch', 'not installed')} "
             "(CPU). Same recipe, same data, same batch order for every framework of a model, in one run of "
             "`benchmarks/train_results.py`, the frameworks taking turns epoch by epoch.", "",
             "| model | data set | recipe | framework | epochs | best test acc | final test acc | median s/epoch | "
             "min s/epoch | samples/s | time vs torch | date |", "|---|---|---|---|---|---|---|---|---|---|---|---|"]
    torch_rows = {(r["model"], r["dataset"]): r for r in results if r["framework"] == "torch"}
    sequential = False
    models = [run.split(":")[0] for run in DEFAULT_RUNS]
    frameworks = ["fastnn/cython", "fastnn/numba", "fastnn/numpy", "torch"]

    def order(r):
        return (models.index(r["model"]) if r["model"] in models else len(models), r["model"], r["dataset"],
                frameworks.index(r["framework"]) if r["framework"] in frameworks else len(frameworks))
    for r in sorted(results, key=order):
        if not r["epochs"]:
            continue
        times = [e["time"] for e in r["epochs"]]
        accs = [e["val_acc"] for e in r["epochs"]]
        peer = torch_rows.get((r["model"], r["dataset"]))
        ratio = "-"
        if peer and peer["epochs"]:
            m = min(len(times), len(peer["epochs"]))        # the epochs both ran
            ratio = f"{np.median(times[:m]) / np.median([e['time'] for e in peer['epochs'][:m]]):.2f}x"
        rc = r["recipe"]
        recipe = f"{rc['optimizer']} lr {rc['lr']:g}, batch {rc['batch_size']}" + (", augment" if rc.get("augment") else "")
        done = f"{len(accs)}" if len(accs) == rc["epochs"] else f"{len(accs)} of {rc['epochs']}"
        mark = "" if r.get("interleaved", False) else " *"
        if r.get("note"):
            notes_so_far = sorted({q["note"] for q in results if q.get("note")})
            mark += f" (note {notes_so_far.index(r['note']) + 1})"
        sequential = sequential or not r.get("interleaved", False)
        lines.append(f"| {r['model']} | {r['dataset']} | {recipe} | {r['framework']}{mark} | {done} | {max(accs):.4f} | "
                     f"{accs[-1]:.4f} | {np.median(times):.1f} | {min(times):.1f} | "
                     f"{np.median([e['samples_per_s'] for e in r['epochs']]):.0f} | {ratio} | {r.get('date', '-')} |")
    lines += ["", "`time vs torch`: the median epoch time over the epochs both ran, divided by PyTorch's; below 1 "
              "means fastnn's epoch was faster. `min s/epoch` is the least disturbed epoch: on a shared "
              "2-core machine other work can slow down some epochs of any framework. `3 of 20` epochs: that framework stopped early "
              "(`--peer-epochs`) while the first one trained to the end; the learning-rate schedule is the "
              "full recipe's either way. Recipes: `fastnn.runs.RECIPES` (one-cycle learning rate; "
              "CIFAR-10 with random crops and flips)."]
    notes = sorted({r["note"] for r in results if r.get("note")})
    for i, note in enumerate(notes, 1):
        lines += ["", f"Note {i}: {note}"]
    if sequential:
        lines += ["", "\\* ran one framework after the other (an earlier version of the script), not taking turns."]
    lines.append("")
    return "\n".join(lines)


if __name__ == "__main__":
    main()
