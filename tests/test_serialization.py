"""``fastnn.save`` / ``fastnn.load``: round trips, atomic replacement (an exception half-way
through a save, and a process SIGKILLed while saving, both leave the previous checkpoint
loadable), clear errors for missing, truncated, corrupt and foreign files, and refusal of
pickled object arrays."""
from __future__ import annotations

import io
import json
import os
import signal
import subprocess
import sys
import time
import zipfile
from collections import OrderedDict

import numpy as np
import pytest

import fastnn
from fastnn import serialization
from fastnn.serialization import CheckpointError

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def sample():
    rng = np.random.default_rng(0)
    return {
        "model": OrderedDict([("fc.weight", rng.standard_normal((3, 4)).astype(np.float32)),
                              ("bn.num_batches_tracked", np.array(7, dtype=np.int64))]),
        "arrays": [np.arange(5, dtype=np.int32), np.array([True, False]), np.zeros((0, 3), np.float64),
                   rng.integers(0, 255, (2, 2)).astype(np.uint8), np.array(["ab", "c"]),
                   np.asfortranarray(rng.standard_normal((3, 2)))],
        "tensor": fastnn.tensor([[1.0, 2.0]], requires_grad=True),
        "numbers": {"int": 3, "big": 2 ** 70, "float": 0.1, "nan": float("nan"), "inf": -float("inf"),
                    "bool": True, "none": None, "np_scalar": np.float32(2.5), "np_int": np.int64(9)},
        "strings": ["", "héllo / wörld", "a/b"],
        "int_keys": {0: "zero", 12: {"nested": (1, 2.0, "x")}},
        "a/b": 1,                       # a key containing the path separator
        "a": {"b": np.ones(2)},         # ... whose flattened path would collide
        "a/b/": np.zeros(1),
    }


def assert_same(a, b, path="root"):
    if isinstance(a, fastnn.Tensor):
        a = a.data
    if isinstance(a, np.ndarray):
        assert isinstance(b, np.ndarray), path
        assert a.dtype == b.dtype and a.shape == b.shape, path
        np.testing.assert_array_equal(a, b, err_msg=path)
    elif isinstance(a, np.generic):
        assert type(a) is type(b) and a == b, path
    elif isinstance(a, dict):
        assert type(a) is type(b) and list(a) == list(b), path
        for k in a:
            assert_same(a[k], b[k], f"{path}/{k}")
    elif isinstance(a, (list, tuple)):
        assert type(a) is type(b) and len(a) == len(b), path
        for i, (x, y) in enumerate(zip(a, b)):
            assert_same(x, y, f"{path}/{i}")
    elif isinstance(a, float) and a != a:
        assert isinstance(b, float) and b != b, path
    else:
        assert type(a) is type(b) and a == b, path


def test_round_trip(tmp_path):
    obj = sample()
    path = tmp_path / "checkpoint.pt"
    fastnn.save(obj, path)
    loaded = fastnn.load(path)
    assert_same(obj, loaded)
    assert loaded["model"]["fc.weight"].flags.writeable
    assert os.listdir(tmp_path) == ["checkpoint.pt"]            # no temporary file left behind


def test_round_trip_top_level_values_and_file_objects(tmp_path):
    for obj in (np.arange(3.0), 5, "text", None, [1, [2, (3,)]], {}):
        fastnn.save(obj, tmp_path / "x")
        assert_same(obj, fastnn.load(tmp_path / "x"))
    buffer = io.BytesIO()
    fastnn.save(sample(), buffer)
    buffer.seek(0)
    assert_same(sample(), fastnn.load(buffer))


def test_file_is_a_plain_npz_with_readable_names(tmp_path):
    path = tmp_path / "c.npz"
    fastnn.save({"model": {"fc.weight": np.ones((2, 2), np.float32)}, "epoch": 3}, path)
    with np.load(path, allow_pickle=False) as npz:
        assert "model/fc.weight" in npz.files
        manifest = json.loads(str(npz[serialization.MANIFEST]))
    assert manifest["format"] == "fastnn-checkpoint" and manifest["version"] == 1


def test_model_optimizer_scheduler_checkpoint(tmp_path):
    model = fastnn.nn.Sequential(fastnn.nn.Linear(3, 4), fastnn.nn.BatchNorm1d(4))
    opt = fastnn.optim.Adam(model.parameters(), lr=0.01)
    sched = fastnn.optim.lr_scheduler.MultiStepLR(opt, milestones=[1, 3])
    model(fastnn.randn(5, 3)).sum().backward()
    opt.step()
    sched.step()
    ckpt = {"model": model.state_dict(), "optimizer": opt.state_dict(), "scheduler": sched.state_dict(),
            "epoch": 1, "rng": fastnn.get_rng_state()}
    fastnn.save(ckpt, tmp_path / "ckpt.pt")
    loaded = fastnn.load(tmp_path / "ckpt.pt")
    assert_same(ckpt["model"], loaded["model"])
    assert_same(ckpt["optimizer"], loaded["optimizer"])
    assert loaded["optimizer"]["param_groups"][0]["betas"] == (0.9, 0.999)
    assert dict(loaded["scheduler"]["milestones"]) == {1: 1, 3: 1}
    fresh = fastnn.nn.Sequential(fastnn.nn.Linear(3, 4), fastnn.nn.BatchNorm1d(4))
    fresh.load_state_dict(loaded["model"])
    for key, value in model.state_dict().items():
        np.testing.assert_array_equal(fresh.state_dict()[key], value)
    fastnn.set_rng_state(loaded["rng"])
    assert fastnn.get_rng_state() == ckpt["rng"]


def test_unsupported_objects_are_refused(tmp_path):
    with pytest.raises(TypeError, match="never pickles"):
        fastnn.save({"f": lambda x: x}, tmp_path / "x")
    with pytest.raises(TypeError, match="object"):
        fastnn.save({"o": np.array([{}, None], dtype=object)}, tmp_path / "x")
    with pytest.raises(TypeError, match="keys must be str or int"):
        fastnn.save({(1, 2): 3}, tmp_path / "x")
    assert not os.path.exists(tmp_path / "x")


# ------------------------------------------------------------------ atomicity

def test_exception_half_way_keeps_previous_file(tmp_path, monkeypatch):
    path = tmp_path / "ckpt.pt"
    old = {"version": "old", "w": np.arange(10.0)}
    fastnn.save(old, path)
    before = path.read_bytes()

    written = []
    real = serialization._write_array

    def failing_writer(member, arr):
        if len(written) == 3:
            raise OSError("disk full (simulated)")
        written.append(arr)
        real(member, arr)

    monkeypatch.setattr(serialization, "_write_array", failing_writer)
    new = {"version": "new", **{f"w{i}": np.full(1000, i, np.float32) for i in range(10)}}
    with pytest.raises(OSError, match="simulated"):
        fastnn.save(new, path)
    assert len(written) == 3                        # it really failed half-way
    assert path.read_bytes() == before
    assert_same(old, fastnn.load(path))
    assert os.listdir(tmp_path) == ["ckpt.pt"]      # the partial temporary file was removed

    monkeypatch.setattr(serialization, "_write_array", real)
    fastnn.save(new, path)
    assert fastnn.load(path)["version"] == "new"


_KILLED_WRITER = r"""
import sys, time
import numpy as np
sys.path.insert(0, sys.argv[1])
import fastnn
from fastnn import serialization
path = sys.argv[2]
real = serialization._write_array
def slow_writer(member, arr):          # slow the real writer down so the kill lands mid-write
    real(member, arr)
    time.sleep(0.02)
serialization._write_array = slow_writer
print("writing", flush=True)
fastnn.save({"version": "new", **{f"w{i}": np.full(250_000, i, np.float32) for i in range(100)}}, path)
print("finished", flush=True)
"""


def test_sigkill_during_save_keeps_previous_file(tmp_path):
    path = tmp_path / "ckpt.pt"
    old = {"version": "old", "w": np.arange(1000.0)}
    fastnn.save(old, path)
    before = path.read_bytes()
    proc = subprocess.Popen([sys.executable, "-c", _KILLED_WRITER, REPO, str(path)], stdout=subprocess.PIPE,
                            text=True)
    try:
        assert proc.stdout.readline().strip() == "writing"
        deadline = time.monotonic() + 20
        temp = []
        while time.monotonic() < deadline:     # wait until the temporary file holds a few MB
            temp = [f for f in os.listdir(tmp_path) if f.endswith(".tmp")]
            if temp and os.path.getsize(tmp_path / temp[0]) > 4_000_000:
                break
            time.sleep(0.005)
        assert temp, "the writer never started its temporary file"
        os.kill(proc.pid, signal.SIGKILL)
    finally:
        proc.kill()
        out, _ = proc.communicate(timeout=10)
    assert proc.returncode == -signal.SIGKILL
    assert "finished" not in out                    # the kill really interrupted the save
    assert path.read_bytes() == before
    assert_same(old, fastnn.load(path))
    # the orphaned temporary file is itself not a loadable checkpoint
    leftovers = [f for f in os.listdir(tmp_path) if f.endswith(".tmp")]
    assert leftovers
    with pytest.raises(CheckpointError):
        fastnn.load(tmp_path / leftovers[0])


def test_atomic_write_bytes(tmp_path, monkeypatch):
    path = tmp_path / "history.json"
    serialization.atomic_write_bytes(path, b"old")
    assert path.read_bytes() == b"old"

    def failing_replace(src, dst):
        raise OSError("rename failed (simulated)")
    monkeypatch.setattr(serialization.os, "replace", failing_replace)
    with pytest.raises(OSError, match="simulated"):
        serialization.atomic_write_bytes(path, b"new")
    assert path.read_bytes() == b"old" and os.listdir(tmp_path) == ["history.json"]
    monkeypatch.undo()
    serialization.atomic_write_bytes(str(path), b"new")
    assert path.read_bytes() == b"new"


def test_permissions_of_an_overwritten_file_are_kept(tmp_path):
    path = tmp_path / "ckpt"
    fastnn.save(1, path)
    os.chmod(path, 0o640)
    fastnn.save(2, path)
    assert os.stat(path).st_mode & 0o777 == 0o640 and fastnn.load(path) == 2


# ------------------------------------------------------------------ bad files

def test_missing_file(tmp_path):
    with pytest.raises(FileNotFoundError, match="nope.pt"):
        fastnn.load(tmp_path / "nope.pt")


def test_truncated_file(tmp_path):
    path = tmp_path / "ckpt.pt"
    fastnn.save(sample(), path)
    data = path.read_bytes()
    for cut in (len(data) // 2, len(data) - 30, 10):
        bad = tmp_path / f"cut{cut}.pt"
        bad.write_bytes(data[:cut])
        with pytest.raises(CheckpointError, match=f"cut{cut}.pt"):
            fastnn.load(bad)


def test_corrupt_bytes(tmp_path):
    path = tmp_path / "ckpt.pt"
    fastnn.save({"w": np.arange(1000.0)}, path)
    data = bytearray(path.read_bytes())
    i = data.index(b"\x93NUMPY", data.index(b"w.npy"))      # the header of the 'w' array
    data[i + 20:i + 40] = b"garbage garbage garba"[:20]
    path.write_bytes(bytes(data))
    with pytest.raises(CheckpointError, match="ckpt.pt"):
        fastnn.load(path)


@pytest.mark.parametrize("content, message", [(b"", "empty"), (b"hello world", "not a fastnn checkpoint"),
                                              (b"\x80\x04\x95 pickle", "pickle")])
def test_foreign_files(tmp_path, content, message):
    path = tmp_path / "f.bin"
    path.write_bytes(content)
    with pytest.raises(CheckpointError, match=message):
        fastnn.load(path)


def test_plain_npz_and_npy_are_not_checkpoints(tmp_path):
    np.savez(tmp_path / "plain.npz", a=np.ones(2))
    with pytest.raises(CheckpointError, match="not a fastnn checkpoint"):
        fastnn.load(tmp_path / "plain.npz")
    np.save(tmp_path / "one.npy", np.ones(2))
    with pytest.raises(CheckpointError, match="single .npy"):
        fastnn.load(tmp_path / "one.npy")


def test_pickled_object_array_is_refused(tmp_path):
    """A checkpoint doctored to hold an object array (which only pickle can read) must be
    refused, not unpickled."""
    path = tmp_path / "evil.pt"
    fastnn.save({"w": np.ones(2)}, path)
    with zipfile.ZipFile(path, "a") as zf:
        with zf.open("evil.npy", "w") as member:
            np.lib.format.write_array(member, np.array([{"x": 1}, None], dtype=object), allow_pickle=True)
    with np.load(path, allow_pickle=True) as npz:       # (it really is a pickled object array)
        assert npz["evil"].dtype == object
    with pytest.raises(CheckpointError, match="pickle"):
        fastnn.load(path)


def test_tampered_manifest_is_a_clear_error(tmp_path):
    path = tmp_path / "t.pt"
    with zipfile.ZipFile(path, "w") as zf:
        with zf.open(serialization.MANIFEST + ".npy", "w") as member:
            manifest = {"format": "fastnn-checkpoint", "version": 1, "root": {"t": "array", "k": "missing"}}
            np.lib.format.write_array(member, np.array(json.dumps(manifest)))
    with pytest.raises(CheckpointError, match="t.pt"):
        fastnn.load(path)
