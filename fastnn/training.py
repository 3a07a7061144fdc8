"""Training helpers: ``fit``, ``evaluate`` and the ``History`` they record.

A plain loop stays first-class; ``fit`` is a convenience around this one::

    for x, y in train_loader:
        loss = loss_fn(model(x), y)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()

``fit`` adds what a long run needs: a progress bar (running loss, accuracy and
samples/s), one summary line per epoch, a NaN guard that names the step, a way to
stop cleanly between steps, and callbacks (checkpoints, curves).
"""
from __future__ import annotations

import csv
import io
import json
import math
import time
from dataclasses import dataclass, field
from typing import Callable, Iterable

import numpy as np

from .autograd import no_grad
from .serialization import atomic_write_bytes


class NonFiniteLossError(FloatingPointError):
    """The loss became NaN or infinite; the message names the epoch and step."""


@dataclass
class History:
    """Per-epoch metrics: a list of dicts (epoch, train_loss, train_acc, val_loss, val_acc,
    lr, time, samples_per_s), plus whether the run was interrupted."""

    epochs: list = field(default_factory=list)
    interrupted: bool = False

    def append(self, row: dict) -> None:
        self.epochs.append(row)

    def __getitem__(self, key: str) -> list:
        return [row.get(key) for row in self.epochs]

    def __len__(self) -> int:
        return len(self.epochs)

    def best(self, key: str = "val_acc"):
        values = [v for v in self[key] if v is not None]
        return max(values) if values else None

    def to_json(self) -> str:
        return json.dumps({"epochs": self.epochs, "interrupted": self.interrupted}, indent=2)

    @classmethod
    def from_json(cls, text: str) -> "History":
        data = json.loads(text)
        return cls(list(data.get("epochs", [])), bool(data.get("interrupted", False)))

    def to_csv(self) -> str:
        keys = sorted({k for row in self.epochs for k in row}, key=lambda k: (k != "epoch", k))
        buf = io.StringIO()
        writer = csv.DictWriter(buf, fieldnames=keys)
        writer.writeheader()
        writer.writerows(self.epochs)
        return buf.getvalue()

    def save(self, directory) -> None:
        """Write ``history.json`` and ``history.csv`` atomically into ``directory``."""
        import os
        atomic_write_bytes(os.path.join(directory, "history.json"), self.to_json().encode())
        atomic_write_bytes(os.path.join(directory, "history.csv"), self.to_csv().encode())


def _accuracy_count(logits: np.ndarray, target: np.ndarray) -> int:
    return int((logits.argmax(axis=1) == target).sum()) if logits.ndim == 2 else 0


def evaluate(model, loader: Iterable, loss_fn: Callable | None = None, num_classes: int | None = None) -> dict:
    """Loss, accuracy and confusion matrix of ``model`` over ``loader`` (eval mode, no graph).

    The model's train/eval mode is restored afterwards."""
    was_training = model.training
    model.eval()
    total, correct, loss_sum = 0, 0, 0.0
    confusion = None
    try:
        with no_grad():
            for x, y in loader:
                out = model(x)
                n = y.shape[0]
                if loss_fn is not None:
                    loss_sum += float(loss_fn(out, y).item()) * n
                logits, target = out.data, y.data
                correct += _accuracy_count(logits, target)
                if num_classes is not None:
                    if confusion is None:
                        confusion = np.zeros((num_classes, num_classes), dtype=np.int64)
                    np.add.at(confusion, (target, logits.argmax(axis=1)), 1)
                total += n
    finally:
        model.train(was_training)
    result = {"loss": loss_sum / total if total and loss_fn is not None else None,
              "accuracy": correct / total if total else None, "n": total}
    if confusion is not None:
        result["confusion"] = confusion
    return result


def _diverged(what, value, epoch, step, optimizer):
    lr = optimizer.param_groups[0]["lr"]
    raise NonFiniteLossError(f"{what} became {value} at epoch {epoch + 1}, step {step}: training diverged. "
                             f"Try a lower learning rate (e.g. --lr {lr / 10:g}; it was {lr:g} at that step).")


def train_one_epoch(model, loader, optimizer, loss_fn, epoch: int = 0, scheduler=None, progress: bool = True,
                    should_stop: Callable[[], bool] | None = None, desc: str | None = None, start_step: int = 0,
                    totals: dict | None = None) -> dict:
    """One pass over ``loader``; ``scheduler`` (if given) is stepped after every batch.

    ``start_step`` resumes an interrupted epoch: the first batches are drawn from the
    loader (so its random augmentation advances exactly as before) but not trained on;
    ``totals`` carries the interrupted epoch's running sums. Returns the epoch's mean
    loss, accuracy, samples/s, the step reached and whether it stopped early."""
    model.train()
    totals = dict(totals or {})
    total, correct = int(totals.get("total", 0)), int(totals.get("correct", 0))
    loss_sum, previous_time = float(totals.get("loss_sum", 0.0)), float(totals.get("time", 0.0))
    bar = None
    if progress:
        from tqdm.auto import tqdm
        bar = tqdm(total=len(loader), initial=start_step, desc=desc or f"epoch {epoch + 1}", unit="batch",
                   leave=False, dynamic_ncols=True)
    start = time.perf_counter()
    stopped, step = False, 0
    try:
        for step, (x, y) in enumerate(loader, 1):
            if step <= start_step:
                continue
            out = model(x)
            if not np.isfinite(out.data).all():     # the loss would refuse NaN logits: say why here
                _diverged("the model's output", "NaN or infinite", epoch, step, optimizer)
            loss = loss_fn(out, y)
            value = float(loss.item())
            if not math.isfinite(value):
                _diverged("the loss", value, epoch, step, optimizer)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            if scheduler is not None:
                scheduler.step()
            n = y.shape[0]
            total += n
            loss_sum += value * n
            correct += _accuracy_count(out.data, y.data)
            if bar is not None:
                elapsed = previous_time + time.perf_counter() - start
                bar.set_postfix(loss=f"{loss_sum / total:.4f}", acc=f"{correct / total:.3f}",
                                samples_s=f"{total / max(elapsed, 1e-9):.0f}", refresh=False)
                bar.update()
            if should_stop is not None and should_stop():
                stopped = True
                break
    finally:
        if bar is not None:
            bar.close()
    elapsed = previous_time + time.perf_counter() - start
    return {"train_loss": loss_sum / total if total else None, "train_acc": correct / total if total else None,
            "time": elapsed, "samples_per_s": total / elapsed if elapsed > 0 else None, "steps": step,
            "stopped": stopped, "totals": {"total": total, "correct": correct, "loss_sum": loss_sum, "time": elapsed}}


def fit(model, train_loader, optimizer, loss_fn, epochs: int, val_loader=None, scheduler=None, callbacks=None,
        progress: bool = True, start_epoch: int = 0, history: History | None = None,
        scheduler_step: str = "epoch", should_stop: Callable[[], bool] | None = None, log=print) -> History:
    """Train for ``epochs`` epochs (from ``start_epoch``); return the :class:`History`.

    ``scheduler`` is stepped once per epoch, or once per batch with
    ``scheduler_step="batch"`` (OneCycleLR). Each callback is called as
    ``callback(epoch, row, history)`` after every epoch (checkpointing, plots). When
    ``should_stop()`` turns true the current step finishes, the partial epoch is
    recorded with ``interrupted`` set, callbacks run, and ``fit`` returns."""
    if scheduler_step not in ("epoch", "batch"):
        raise ValueError(f"scheduler_step must be 'epoch' or 'batch', got {scheduler_step!r}")
    history = history if history is not None else History()
    callbacks = list(callbacks or [])
    for epoch in range(start_epoch, epochs):
        stats = train_one_epoch(model, train_loader, optimizer, loss_fn, epoch,
                                scheduler if scheduler_step == "batch" else None, progress, should_stop,
                                desc=f"epoch {epoch + 1}/{epochs}")
        row = {"epoch": epoch + 1, "lr": optimizer.param_groups[0]["lr"], **stats}
        if val_loader is not None and not stats["stopped"]:
            val = evaluate(model, val_loader, loss_fn)
            row.update(val_loss=val["loss"], val_acc=val["accuracy"])
        if scheduler is not None and scheduler_step == "epoch" and not stats["stopped"]:
            scheduler.step()
        stopped = row.pop("stopped")
        row.pop("totals")
        history.interrupted = stopped
        if not stopped:
            history.append(row)
            if log is not None:
                log(_summary(row, epochs))
        for callback in callbacks:
            callback(epoch, row, history)
        if stopped:
            break
    return history


def _summary(row: dict, epochs: int) -> str:
    parts = [f"epoch {row['epoch']}/{epochs}", f"train loss {row['train_loss']:.4f} acc {row['train_acc']:.4f}"]
    if row.get("val_acc") is not None:
        parts.append(f"val loss {row['val_loss']:.4f} acc {row['val_acc']:.4f}")
    parts.append(f"{row['time']:.1f}s ({row['samples_per_s']:.0f} samples/s)")
    return " | ".join(parts)


def plot_history(history: History, path) -> bool:
    """Save loss and accuracy curves to ``path``; returns False when matplotlib is missing."""
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return False
    epochs = history["epoch"]
    fig, (ax_loss, ax_acc) = plt.subplots(1, 2, figsize=(10, 4))
    ax_loss.plot(epochs, history["train_loss"], "o-", label="train")
    ax_acc.plot(epochs, history["train_acc"], "o-", label="train")
    if any(v is not None for v in history["val_loss"]):
        ax_loss.plot(epochs, history["val_loss"], "o-", label="validation")
        ax_acc.plot(epochs, history["val_acc"], "o-", label="validation")
    ax_loss.set(xlabel="epoch", ylabel="loss", title="loss")
    ax_acc.set(xlabel="epoch", ylabel="accuracy", title="accuracy")
    for ax in (ax_loss, ax_acc):
        ax.grid(alpha=0.3)
        ax.legend()
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=100)
    plt.close(fig)
    atomic_write_bytes(str(path), buf.getvalue())
    return True
