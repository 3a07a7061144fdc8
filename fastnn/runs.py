"""A training *run*: data set + model + recipe + output folder + checkpoints.

This is what ``fastnn train`` and ``fastnn evaluate`` do, as plain functions:

* :func:`make_datasets` picks the data set (the embedded mini-MNIST by default);
* :data:`RECIPES` holds each model's default optimizer, learning rate, batch size and
  epochs (the recipes reach the accuracies in ``docs/results.md``);
* :func:`train` runs the epochs with a progress bar, writes ``history.json/.csv``,
  ``curves.png`` and ``config.json``, checkpoints after every epoch (atomically), and
  stops cleanly on Ctrl-C *between two steps*, saving a checkpoint that
  :func:`train` with ``resume=`` continues exactly (same result as a run that was never
  interrupted, for the same seed and thread count).

A checkpoint (``last.npz`` / ``best.npz``) holds the model, the optimizer and the
scheduler state, the epoch and step reached, the global RNG state, the data loader's
RNG state at the start of the epoch, the partial epoch's running sums and the config.
"""
from __future__ import annotations

import json
import math
import os
import signal
import time
from dataclasses import asdict, dataclass, field

import numpy as np

from . import backends, nn, optim
from .data import CIFAR10, MNIST, DataLoader, FashionMNIST, Subset
from .data import transforms as T
from .models import get_model
from .random import get_rng_state, manual_seed, set_rng_state
from .serialization import CheckpointError, atomic_write_bytes, load, save
from .training import History, NonFiniteLossError, evaluate, plot_history, train_one_epoch

DATASETS = ("mnist-mini", "mnist", "fashion-mnist", "cifar10")
_NORMALISE = {"mnist": ((0.1307,), (0.3081,)), "fashion-mnist": ((0.2860,), (0.3530,)),
              "cifar10": ((0.4914, 0.4822, 0.4465), (0.2470, 0.2435, 0.2616))}

#: model -> default recipe (optimizer, peak lr of a one-cycle schedule, batch size, epochs, weight decay)
RECIPES = {
    "mlp": dict(optimizer="adam", lr=2e-3, batch_size=64, epochs=3, weight_decay=0.0),
    "lenet": dict(optimizer="sgd", lr=0.05, batch_size=64, epochs=3, weight_decay=0.0),
    "cifar_cnn": dict(optimizer="sgd", lr=0.05, batch_size=128, epochs=15, weight_decay=5e-4),
    "resnet8": dict(optimizer="sgd", lr=0.1, batch_size=128, epochs=30, weight_decay=5e-4),
    "resnet20": dict(optimizer="sgd", lr=0.1, batch_size=128, epochs=20, weight_decay=5e-4),
}
MINI_EPOCHS = 8
DEFAULT_MODEL = {"mnist-mini": "lenet", "mnist": "lenet", "fashion-mnist": "lenet", "cifar10": "cifar_cnn"}


@dataclass
class RunConfig:
    dataset: str = "mnist-mini"
    model: str | None = None
    epochs: int | None = None
    batch_size: int | None = None
    lr: float | None = None
    optimizer: str | None = None
    weight_decay: float | None = None
    backend: str = "auto"
    threads: int | None = None
    seed: int = 0
    augment: bool = False
    out: str | None = None
    data_dir: str | None = None
    limit: int | None = None
    progress: bool = True
    extra: dict = field(default_factory=dict)

    def resolved(self) -> "RunConfig":
        """Fill the unset fields from the data set's default model and its recipe."""
        if self.dataset not in DATASETS:
            raise ValueError(f"unknown data set {self.dataset!r}; choose one of {', '.join(DATASETS)}")
        cfg = RunConfig(**asdict(self))
        cfg.model = (cfg.model or DEFAULT_MODEL[cfg.dataset]).replace("-", "_")
        if cfg.model not in RECIPES:
            raise ValueError(f"unknown model {cfg.model!r}; choose one of {', '.join(RECIPES)}")
        for key, value in RECIPES[cfg.model].items():
            if getattr(cfg, key) is None:
                setattr(cfg, key, value)
        if self.epochs is None and cfg.dataset == "mnist-mini":
            cfg.epochs = MINI_EPOCHS        # 10,000 digits: more passes, still about a minute
        if cfg.epochs < 1 or cfg.batch_size < 1 or cfg.lr <= 0:
            raise ValueError("epochs and batch size must be >= 1 and the learning rate > 0")
        if cfg.limit is not None and cfg.limit < 1:
            raise ValueError(f"--limit must be a positive number of samples, got {cfg.limit}")
        return cfg


def make_datasets(cfg: RunConfig):
    """(train set, test set) for ``cfg.dataset``, with float conversion, normalisation and,
    with ``augment``, random crops (padding 4, CIFAR) and horizontal flips (CIFAR only)."""
    base = "mnist" if cfg.dataset == "mnist-mini" else cfg.dataset
    mean, std = _NORMALISE[base]
    test_tf = T.Compose([T.ToFloat(), T.Normalize(mean, std)])
    train_tf = test_tf
    if cfg.augment:
        extra = [T.RandomCrop(32, padding=4), T.RandomHorizontalFlip()] if base == "cifar10" else \
            [T.RandomCrop(28, padding=2)]
        train_tf = T.Compose(extra + [T.ToFloat(), T.Normalize(mean, std)])
    if cfg.dataset == "mnist-mini":
        kind, kwargs = MNIST, {"subset": "mini"}
    else:
        kind = {"mnist": MNIST, "fashion-mnist": FashionMNIST, "cifar10": CIFAR10}[cfg.dataset]
        kwargs = {"root": cfg.data_dir}
    train_set, test_set = kind(train=True, transform=train_tf, **kwargs), kind(train=False, transform=test_tf, **kwargs)
    if cfg.limit is not None:
        train_set = Subset(train_set, np.arange(min(cfg.limit, len(train_set))))
        test_set = Subset(test_set, np.arange(min(cfg.limit, len(test_set))))
    return train_set, test_set


def make_optimizer(cfg: RunConfig, model):
    params = model.parameters()
    if cfg.optimizer == "sgd":
        return optim.SGD(params, lr=cfg.lr, momentum=0.9, nesterov=True, weight_decay=cfg.weight_decay)
    if cfg.optimizer == "adam":
        return optim.Adam(params, lr=cfg.lr, weight_decay=cfg.weight_decay)
    if cfg.optimizer == "adamw":
        return optim.AdamW(params, lr=cfg.lr, weight_decay=cfg.weight_decay or 1e-2)
    raise ValueError(f"unknown optimizer {cfg.optimizer!r}; choose sgd, adam or adamw")


def _in_channels(dataset: str) -> int:
    return 3 if dataset == "cifar10" else 1


class _StopFlag:
    """Set by SIGINT: the training loop finishes its step, saves and returns."""

    def __init__(self):
        self.requested = False

    def __call__(self) -> bool:
        return self.requested

    def install(self):
        def handler(signum, frame):
            if self.requested:                      # a second Ctrl-C: stop now
                raise KeyboardInterrupt
            self.requested = True
        try:
            return signal.signal(signal.SIGINT, handler)
        except ValueError:                          # not the main thread: no handler
            return None


def _checkpoint(path, model, optimizer, scheduler, cfg, epoch, step, loader_state, totals, history, best):
    save({
        "format": "fastnn-run", "model": model.state_dict(), "optimizer": optimizer.state_dict(),
        "scheduler": scheduler.state_dict(), "epoch": epoch, "step": step, "rng": get_rng_state(),
        "loader_rng": json.dumps(loader_state), "totals": json.dumps(totals),
        "config": json.dumps(asdict(cfg)), "history": history.to_json(), "best_acc": best,
    }, path)


def read_checkpoint(path) -> dict:
    """Load a run checkpoint, with clear errors for missing, corrupt or foreign files."""
    if not os.path.exists(path):
        raise FileNotFoundError(f"checkpoint '{path}' does not exist")
    ckpt = load(path)
    if not isinstance(ckpt, dict) or ckpt.get("format") != "fastnn-run":
        raise CheckpointError(f"'{path}' is a fastnn file but not a training-run checkpoint "
                              f"(no model/optimizer/config); was it written by `fastnn train`?")
    return ckpt


def build_model(cfg: RunConfig):
    return get_model(cfg.model, in_channels=_in_channels(cfg.dataset))


def train(cfg: RunConfig, resume: str | None = None, log=print) -> dict:
    """Run (or resume) a training run; returns a summary dict (best accuracy, paths)."""
    ckpt = None
    if resume is not None:
        ckpt = read_checkpoint(resume)
        saved = RunConfig(**json.loads(ckpt["config"]))
        saved.epochs = cfg.epochs or saved.epochs       # allow extending a finished run
        saved.progress, saved.backend = cfg.progress, cfg.backend if cfg.backend != "auto" else saved.backend
        saved.out = os.path.dirname(os.path.abspath(resume))
        cfg = saved
    cfg = cfg.resolved()
    backends.set_backend(cfg.backend)
    if cfg.threads:
        backends.set_num_threads(cfg.threads)
    manual_seed(cfg.seed)

    train_set, test_set = make_datasets(cfg)
    loader = DataLoader(train_set, batch_size=cfg.batch_size, shuffle=True, seed=cfg.seed)
    test_loader = DataLoader(test_set, batch_size=500)
    model = build_model(cfg)
    optimizer = make_optimizer(cfg, model)
    scheduler = optim.lr_scheduler.OneCycleLR(optimizer, max_lr=cfg.lr, epochs=cfg.epochs,
                                              steps_per_epoch=len(loader))
    loss_fn = nn.CrossEntropyLoss()

    out = cfg.out or os.path.join("runs", f"{cfg.dataset}-{cfg.model}-{time.strftime('%Y%m%d-%H%M%S')}")
    os.makedirs(out, exist_ok=True)
    atomic_write_bytes(os.path.join(out, "config.json"), json.dumps(asdict(cfg), indent=2).encode())
    history, start_epoch, start_step, totals, best = History(), 0, 0, None, -1.0
    if ckpt is not None:
        try:
            model.load_state_dict(ckpt["model"])
        except (KeyError, RuntimeError, ValueError) as exc:
            raise CheckpointError(f"checkpoint '{resume}' does not fit model {cfg.model}: {exc}") from None
        optimizer.load_state_dict(ckpt["optimizer"])
        scheduler.load_state_dict(ckpt["scheduler"])
        history = History.from_json(ckpt["history"])
        start_epoch, start_step, best = int(ckpt["epoch"]), int(ckpt["step"]), float(ckpt["best_acc"])
        totals = json.loads(ckpt["totals"]) if start_step else None
        set_rng_state(ckpt["rng"])
        loader.generator.bit_generator.state = json.loads(ckpt["loader_rng"])
        log(f"resuming {resume} at epoch {start_epoch + 1}" + (f", step {start_step}" if start_step else ""))

    log(f"training {cfg.model} on {cfg.dataset} ({len(train_set)} train / {len(test_set)} test samples) | "
        f"backend {backends.get().name}, {backends.get_num_threads()} threads | {cfg.optimizer} lr {cfg.lr:g}, "
        f"batch {cfg.batch_size}, {cfg.epochs} epochs")
    stop = _StopFlag()
    previous_handler = stop.install()
    last = os.path.join(out, "last.npz")
    try:
        for epoch in range(start_epoch, cfg.epochs):
            loader_state = loader.generator.bit_generator.state     # replays this epoch on resume
            stats = train_one_epoch(model, loader, optimizer, loss_fn, epoch, scheduler, cfg.progress, stop,
                                    desc=f"epoch {epoch + 1}/{cfg.epochs}", start_step=start_step,
                                    totals=totals)
            start_step, totals = 0, None
            if stats["stopped"]:
                _checkpoint(last, model, optimizer, scheduler, cfg, epoch, stats["steps"], loader_state,
                            stats["totals"], history, best)
                log(f"\ninterrupted at epoch {epoch + 1}, step {stats['steps']}; checkpoint saved.\n"
                    f"resume with: fastnn train --resume {last}")
                return {"interrupted": True, "checkpoint": last, "out": out, "history": history}
            result = evaluate(model, test_loader, loss_fn)
            row = {"epoch": epoch + 1, "lr": scheduler.get_last_lr()[0], "train_loss": stats["train_loss"],
                   "train_acc": stats["train_acc"], "val_loss": result["loss"], "val_acc": result["accuracy"],
                   "time": stats["time"], "samples_per_s": stats["samples_per_s"]}
            history.append(row)
            log(f"epoch {epoch + 1}/{cfg.epochs} | train loss {row['train_loss']:.4f} acc {row['train_acc']:.4f} | "
                f"test loss {row['val_loss']:.4f} acc {row['val_acc']:.4f} | {row['time']:.1f}s "
                f"({row['samples_per_s']:.0f} samples/s)")
            _checkpoint(last, model, optimizer, scheduler, cfg, epoch + 1, 0, loader.generator.bit_generator.state,
                        {}, history, max(best, row["val_acc"]))
            if row["val_acc"] > best:
                best = row["val_acc"]
                _checkpoint(os.path.join(out, "best.npz"), model, optimizer, scheduler, cfg, epoch + 1, 0,
                            loader.generator.bit_generator.state, {}, history, best)
            history.save(out)
    except NonFiniteLossError as exc:
        log(f"error: {exc}")
        return {"error": str(exc), "out": out, "history": history}
    finally:
        if previous_handler is not None:
            signal.signal(signal.SIGINT, previous_handler)
    history.save(out)
    plotted = plot_history(history, os.path.join(out, "curves.png"))
    log(f"best test accuracy {best:.4f}; files in {out}/ (history.json, history.csv, config.json, last.npz, "
        f"best.npz{', curves.png' if plotted else ''})")
    if not plotted:
        log("note: curves.png was not written because matplotlib is not installed (pip install matplotlib)")
    return {"best_acc": best, "out": out, "history": history, "checkpoint": last}


def evaluate_checkpoint(path, data_dir=None, limit=None, backend="auto") -> dict:
    """Test accuracy, per-class accuracy and confusion matrix of a run checkpoint."""
    ckpt = read_checkpoint(path)
    cfg = RunConfig(**json.loads(ckpt["config"]))
    cfg.data_dir, cfg.limit, cfg.augment, cfg.backend = data_dir or cfg.data_dir, limit, False, backend
    cfg = cfg.resolved()
    backends.set_backend(cfg.backend)
    model = build_model(cfg)
    try:
        model.load_state_dict(ckpt["model"])
    except (KeyError, RuntimeError, ValueError) as exc:
        raise CheckpointError(f"checkpoint '{path}' does not fit model {cfg.model}: {exc}") from None
    _, test_set = make_datasets(cfg)
    result = evaluate(model, DataLoader(test_set, batch_size=500), nn.CrossEntropyLoss(), num_classes=10)
    confusion = result["confusion"]
    with np.errstate(invalid="ignore", divide="ignore"):
        result["per_class"] = np.where(confusion.sum(1) > 0, np.diag(confusion) / confusion.sum(1), math.nan)
    result["config"] = cfg
    base = (MNIST if cfg.dataset in ("mnist", "mnist-mini") else FashionMNIST if cfg.dataset == "fashion-mnist"
            else CIFAR10)
    result["classes"] = list(base.classes)
    return result
