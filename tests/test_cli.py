"""The training run and the `fastnn` command: short runs on small subsets, resume
equivalence, Ctrl-C, divergence, bad checkpoints, `fastnn info` and `fastnn evaluate`."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

import fastnn
from fastnn import backends
from fastnn.cli import main
from fastnn.runs import RECIPES, RunConfig, read_checkpoint, train
from fastnn.serialization import CheckpointError, load

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
QUIET = dict(progress=False)


def _silent(*args, **kwargs):
    pass


def _require_real(name: str) -> None:
    """Skip without the real data set, or fail when FASTNN_REQUIRE_DATA=1."""
    from fastnn.data import CIFAR10, MNIST
    kind = {"mnist": MNIST, "cifar10": CIFAR10}[name]
    try:
        kind(train=False)
    except Exception as exc:            # missing files: DatasetError with the places it looked
        if os.environ.get("FASTNN_REQUIRE_DATA") == "1":
            pytest.fail(f"FASTNN_REQUIRE_DATA=1 but {name} is not loadable: {exc}")
        pytest.skip(f"{name} is not available here: {exc}")


def _run_files(out):
    return sorted(os.listdir(out))


@pytest.mark.parametrize("backend", backends.available())
@pytest.mark.parametrize("dataset", ["mnist-mini", "mnist", "cifar10"])
def test_short_run_every_dataset_and_backend(tmp_path, dataset, backend):
    if dataset != "mnist-mini":
        _require_real(dataset)
    out = tmp_path / "run"
    result = train(RunConfig(dataset=dataset, epochs=1, limit=192, batch_size=64, backend=backend, out=str(out),
                             **QUIET), log=_silent)
    history = json.loads((out / "history.json").read_text())
    assert len(history["epochs"]) == 1
    row = history["epochs"][0]
    assert 0.0 <= row["val_acc"] <= 1.0 and np.isfinite(row["train_loss"])
    assert result["best_acc"] == pytest.approx(row["val_acc"])
    files = _run_files(out)
    for name in ("history.json", "history.csv", "config.json", "last.npz", "best.npz"):
        assert name in files
    csv_lines = (out / "history.csv").read_text().strip().splitlines()
    assert len(csv_lines) == 2 and csv_lines[0].startswith("epoch")
    ckpt = read_checkpoint(str(out / "last.npz"))
    assert ckpt["epoch"] == 1 and json.loads(ckpt["config"])["dataset"] == dataset


@pytest.mark.parametrize("backend", backends.available())
def test_short_fashion_mnist_run_on_official_format_files(tmp_path, monkeypatch, backend):
    """Fashion-MNIST's image files are not on this machine: the same CLI run on small files in
    the official format (gzipped IDX, checksums verified against the class's table, which
    the test fills in), read from ``--data-dir``."""
    from fastnn.data import FashionMNIST
    from fastnn.data import _storage
    from test_data_files import idx_bytes, md5, write_mnist_split
    monkeypatch.setattr(_storage, "VERIFY_CACHE_DIR", tmp_path / "verified")
    monkeypatch.setattr(FashionMNIST, "counts", {True: 256, False: 64})
    table = dict(FashionMNIST.checksums)
    monkeypatch.setattr(FashionMNIST, "checksums", table)
    rng = np.random.default_rng(3)
    for train_split, n in ((True, 256), (False, 64)):
        labels = rng.integers(0, 10, n)
        images = (rng.integers(0, 60, (n, 28, 28)) + 19 * labels[:, None, None]).astype(np.uint8)
        written = write_mnist_split(tmp_path / "data" / "fashion-mnist", train=train_split,
                                    images=idx_bytes(images), labels=idx_bytes(labels))
        table.update({stem: (md5(data), None) for stem, data in written.items()})
    out = tmp_path / "run"
    code = main(["train", "fashion-mnist", "--epochs", "2", "--batch-size", "32", "--backend", backend,
                 "--data-dir", str(tmp_path / "data"), "--out", str(out), "--no-progress"])
    assert code == 0
    history = json.loads((out / "history.json").read_text())
    assert [row["epoch"] for row in history["epochs"]] == [1, 2]
    config = json.loads((out / "config.json").read_text())
    assert config["dataset"] == "fashion-mnist" and config["model"] == "lenet"
    assert history["epochs"][-1]["train_loss"] < history["epochs"][0]["train_loss"]


def test_curves_png_written_when_matplotlib_installed(tmp_path):
    pytest.importorskip("matplotlib")
    out = tmp_path / "run"
    train(RunConfig(model="mlp", epochs=2, limit=128, backend="numpy", out=str(out), **QUIET), log=_silent)
    png = (out / "curves.png").read_bytes()
    assert png.startswith(b"\x89PNG") and len(png) > 5000


@pytest.mark.parametrize("model", sorted(RECIPES))
def test_every_model_trains_a_step(tmp_path, model):
    dataset = "mnist-mini" if model in ("mlp", "lenet") else "cifar10"
    if dataset == "cifar10":
        _require_real("cifar10")
    result = train(RunConfig(dataset=dataset, model=model, epochs=1, limit=32, batch_size=16, out=str(tmp_path),
                             **QUIET), log=_silent)
    assert 0.0 <= result["best_acc"] <= 1.0


def test_mlp_learns_on_mini_mnist(tmp_path):
    """Not a speed test: two epochs on 2,000 digits must clearly beat chance (10%)."""
    result = train(RunConfig(model="mlp", epochs=2, limit=2000, out=str(tmp_path), **QUIET), log=_silent)
    assert result["best_acc"] > 0.8


def _stop_after(n):
    """A replacement for the Ctrl-C flag's check: asks to stop once ``n`` training steps have run."""
    calls = []

    def requested(flag_self):
        calls.append(1)
        return len(calls) == n
    return requested


@pytest.mark.parametrize("stop_at", [3, 10, 13])     # mid-epoch 1, the end of epoch 1, mid-epoch 2
def test_resume_equals_uninterrupted_run(tmp_path, monkeypatch, stop_at):
    cfg = dict(model="lenet", epochs=2, limit=640, batch_size=64, backend="numpy", augment=True, **QUIET)
    full = train(RunConfig(out=str(tmp_path / "full"), **cfg), log=_silent)

    import fastnn.runs as runs
    monkeypatch.setattr(runs._StopFlag, "__call__", _stop_after(stop_at))
    interrupted = train(RunConfig(out=str(tmp_path / "cut"), **cfg), log=_silent)
    assert interrupted["interrupted"]
    monkeypatch.undo()
    resumed = train(RunConfig(backend="numpy", **QUIET), resume=interrupted["checkpoint"], log=_silent)

    a, b = load(str(tmp_path / "full" / "last.npz")), load(str(tmp_path / "cut" / "last.npz"))
    for key in a["model"]:
        np.testing.assert_array_equal(a["model"][key], b["model"][key], err_msg=key)
    assert full["history"]["train_loss"] == resumed["history"]["train_loss"]
    assert full["history"]["val_acc"] == resumed["history"]["val_acc"]


def test_sigint_saves_a_loadable_checkpoint(tmp_path):
    out = tmp_path / "run"
    env = dict(os.environ, PYTHONPATH=REPO + os.pathsep + os.environ.get("PYTHONPATH", ""), PYTHONUNBUFFERED="1")
    proc = subprocess.Popen([sys.executable, "-m", "fastnn", "train", "--model", "mlp", "--epochs", "200",
                             "--limit", "4000", "--backend", "numpy", "--no-progress", "--out", str(out)],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env, cwd=REPO)
    lines = []
    deadline = time.time() + 120
    for line in proc.stdout:                  # wait for the first finished epoch, then press Ctrl-C
        lines.append(line)
        if line.startswith("epoch 1/200") or time.time() > deadline:
            break
    proc.send_signal(signal.SIGINT)
    rest, _ = proc.communicate(timeout=120)
    output = "".join(lines) + rest
    assert proc.returncode == 130, output
    assert "resume with: fastnn train --resume" in output
    ckpt = read_checkpoint(str(out / "last.npz"))
    assert 1 <= ckpt["epoch"] < 200
    model = fastnn.models.get_model("mlp")
    model.load_state_dict(ckpt["model"])        # a complete, loadable state


def test_divergence_names_the_step(tmp_path, capsys):
    result = train(RunConfig(model="mlp", epochs=1, limit=512, lr=1e6, optimizer="sgd", backend="numpy",
                             out=str(tmp_path), **QUIET), log=print)
    assert "error" in result
    message = result["error"]
    assert "step" in message and "lower learning rate" in message
    assert "epoch 1" in message


def test_nan_loss_via_cli_exit_code(tmp_path, capsys):
    code = main(["train", "--model", "mlp", "--epochs", "1", "--limit", "256", "--lr", "1e6", "--optimizer", "sgd",
                 "--backend", "numpy", "--no-progress", "--out", str(tmp_path)])
    assert code == 3
    assert "diverged" in capsys.readouterr().out


def test_corrupt_and_foreign_checkpoints(tmp_path, capsys):
    garbage = tmp_path / "garbage.npz"
    garbage.write_bytes(b"this is not a checkpoint")
    assert main(["evaluate", str(garbage)]) == 2
    assert "not a fastnn checkpoint" in capsys.readouterr().err

    fastnn.save({"weights": np.zeros(3)}, str(tmp_path / "foreign.npz"))
    with pytest.raises(CheckpointError, match="not a training-run checkpoint"):
        read_checkpoint(str(tmp_path / "foreign.npz"))

    out = tmp_path / "run"
    train(RunConfig(model="mlp", epochs=1, limit=64, backend="numpy", out=str(out), **QUIET), log=_silent)
    data = (out / "last.npz").read_bytes()
    (tmp_path / "truncated.npz").write_bytes(data[: len(data) // 2])
    assert main(["evaluate", str(tmp_path / "truncated.npz")]) == 2
    assert "truncated.npz" in capsys.readouterr().err

    # a checkpoint whose weights do not fit the model its config names
    ckpt = load(str(out / "last.npz"))
    config = json.loads(ckpt["config"])
    config["model"] = "lenet"
    ckpt["config"] = json.dumps(config)
    fastnn.save(ckpt, str(tmp_path / "mismatch.npz"))
    assert main(["evaluate", str(tmp_path / "mismatch.npz")]) == 2
    assert "does not fit model lenet" in capsys.readouterr().err

    assert main(["evaluate", str(tmp_path / "missing.npz")]) == 2


def test_evaluate_prints_accuracy_and_confusion(tmp_path, capsys):
    out = tmp_path / "run"
    train(RunConfig(model="mlp", epochs=1, limit=500, backend="numpy", out=str(out), **QUIET), log=_silent)
    capsys.readouterr()
    assert main(["evaluate", str(out / "best.npz"), "--limit", "300"]) == 0
    text = capsys.readouterr().out
    assert "test set (300 samples)" in text and "confusion matrix" in text
    rows = [line.split() for line in text.splitlines()[-10:]]
    matrix = np.array([[int(v) for v in row[1:]] for row in rows])
    assert matrix.shape == (10, 10) and matrix.sum() == 300
    accuracy = float(text.split("accuracy ")[1].split()[0])
    assert accuracy == pytest.approx(np.trace(matrix) / 300, abs=1e-4)


def test_missing_dataset_says_how_to_get_it(tmp_path, capsys):
    code = main(["train", "fashion-mnist", "--data-dir", str(tmp_path), "--no-progress", "--out", str(tmp_path / "o")])
    err = capsys.readouterr().err
    assert code == 2
    assert str(tmp_path) in err and "FASTNN_DATA" in err


def test_bad_options_are_clear(capsys):
    assert main(["train", "--model", "mlp", "--limit", "0"]) == 2
    assert "--limit" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["train", "imagenet"])


def test_info_reports_backends_threads_and_simd():
    env = dict(os.environ, PYTHONPATH=REPO + os.pathsep + os.environ.get("PYTHONPATH", ""))
    result = subprocess.run([sys.executable, "-m", "fastnn", "info"], capture_output=True, text=True, env=env,
                            cwd=REPO, timeout=60)
    assert result.returncode == 0, result.stderr
    text = result.stdout
    for word in ("fastnn", "backends:", "numpy", "threads:", "SIMD", "BLAS", "compiler"):
        assert word in text
    assert f"default: {backends.get().name}" in text or "default:" in text
