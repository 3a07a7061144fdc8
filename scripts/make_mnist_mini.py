#!/usr/bin/env python
"""Build ``fastnn/data/_embedded/mnist_mini.npz``: the stratified mini-MNIST shipped with fastnn.

From the four official MNIST files (verified by MD5 through ``fastnn.data.MNIST``) it draws,
with a fixed seed, 1,000 training digits of every class (10,000 in all) and 200 test digits of
every class (2,000), keeps them in their original order, and stores them as uint8:

    x_train (10000, 1, 28, 28)  y_train (10000,)  idx_train (10000,)  <- idx_*: original indices
    x_test  (2000, 1, 28, 28)   y_test  (2000,)   idx_test  (2000,)

The file is an ordinary ``np.savez_compressed`` archive (arrays only, ``np.load(...,
allow_pickle=False)`` reads it), but written with fixed zip timestamps so that the same input
gives byte-identical output: its sha256 is recorded in ``fastnn.data.datasets.MNIST_MINI_SHA256``
and checked on every load. Expected output::

    sha256 a563e4af42c9dd1da64172c248fb3ead0fae813e9ceb052fdf8574621a418030  (2,003,759 bytes)

Usage::

    FASTNN_DATA=/path/to/data python scripts/make_mnist_mini.py            # writes the embedded file
    python scripts/make_mnist_mini.py --root /path/to/data --out /tmp/m.npz  # somewhere else
"""
from __future__ import annotations

import argparse
import hashlib
import io
import sys
import zipfile
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
OUT = REPO / "fastnn" / "data" / "_embedded" / "mnist_mini.npz"
SEED = 1998
TRAIN_PER_CLASS = 1000
TEST_PER_CLASS = 200
_ZIP_DATE = (1980, 1, 1, 0, 0, 0)  # fixed timestamp: reproducible bytes


def stratified_indices(labels: np.ndarray, per_class: int, rng: np.random.Generator) -> np.ndarray:
    """``per_class`` random indices of every class (without replacement), sorted."""
    picks = []
    for c in range(10):
        pool = np.flatnonzero(labels == c)
        picks.append(rng.choice(pool, size=per_class, replace=False))
    return np.sort(np.concatenate(picks)).astype(np.int64)


def npz_bytes(arrays: dict[str, np.ndarray]) -> bytes:
    """The bytes of ``np.savez_compressed(**arrays)``, with fixed zip metadata."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=9) as zf:
        for name, arr in arrays.items():
            info = zipfile.ZipInfo(f"{name}.npy", date_time=_ZIP_DATE)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            with zf.open(info, "w", force_zip64=True) as f:
                np.lib.format.write_array(f, np.ascontiguousarray(arr), allow_pickle=False)
    return buf.getvalue()


def build(root: str | None = None) -> bytes:
    if str(REPO) not in sys.path:
        sys.path.insert(0, str(REPO))
    from fastnn.data import MNIST

    rng = np.random.default_rng(SEED)
    out = {}
    for split, train, per_class in (("train", True, TRAIN_PER_CLASS), ("test", False, TEST_PER_CLASS)):
        ds = MNIST(root=root, train=train)
        idx = stratified_indices(ds.targets, per_class, rng)
        out[f"x_{split}"] = ds.data[idx]
        out[f"y_{split}"] = ds.targets[idx].astype(np.uint8)
        out[f"idx_{split}"] = idx
    return npz_bytes(out)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--root", default=None, help="data root holding mnist/ (default $FASTNN_DATA)")
    ap.add_argument("--out", default=str(OUT), help=f"output file (default {OUT})")
    args = ap.parse_args(argv)
    data = build(args.root)
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(f".{out.name}.tmp")
    tmp.write_bytes(data)
    tmp.replace(out)
    print(f"wrote {out} ({len(data)} bytes)\nsha256 {hashlib.sha256(data).hexdigest()}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
