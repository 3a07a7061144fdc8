"""Small classic data sets for first experiments: XOR, spirals, moons and Fisher's Iris.

Every function returns plain NumPy arrays ``(X, y)`` — ``X`` float32 ``(n, features)``, ``y``
int64 ``(n,)`` class indices — (``iris`` also returns the class names). Wrap them for a
loader with ``TensorDataset(X, y)``::

    X, y = spirals(300, classes=3, noise=0.2, seed=0)
    loader = DataLoader(TensorDataset(X, y), batch_size=32, shuffle=True, seed=0)

The random generators take a ``seed`` and are reproducible with it.
"""
from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np

from ._storage import DatasetError

__all__ = ["xor", "spirals", "moons", "iris", "IRIS_FEATURES", "IRIS_CLASSES"]

_EMBEDDED = Path(__file__).resolve().parent / "_embedded"

# Origin of _embedded/iris.csv: a byte-exact copy of sklearn/datasets/data/iris.csv from the
# scikit-learn 1.9.1 wheel (BSD-3-Clause), i.e. Fisher's data (R. A. Fisher, "The use of multiple
# measurements in taxonomic problems", Annals of Eugenics 7(2), 1936) with the two UCI
# transcription errors corrected, as in R's `iris`. First line: "150,4,<class names>".
IRIS_SHA256 = "f13ffa8fdd56fd8e6c8d16d4081a3fbd3114bcd0aae4256c43205169cd9d1449"
IRIS_FEATURES = ["sepal length (cm)", "sepal width (cm)", "petal length (cm)", "petal width (cm)"]
IRIS_CLASSES = ["setosa", "versicolor", "virginica"]


def _split_counts(n: int, k: int) -> list[int]:
    """n samples over k classes as evenly as possible (the first classes get the extras)."""
    if n < k:
        raise ValueError(f"need at least one sample per class: n={n} < classes={k}")
    return [n // k + (1 if i < n % k else 0) for i in range(k)]


def xor(n: int | None = None, noise: float = 0.0, seed: int | None = None):
    """The XOR problem: label 1 when exactly one coordinate is 1.

    ``xor()`` is the four points ``(0,0)->0, (0,1)->1, (1,0)->1, (1,1)->0``. With ``n``, draws
    ``n`` points at random corners plus Gaussian noise of std ``noise``.
    """
    corners = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], dtype=np.float32)
    labels = np.array([0, 1, 1, 0], dtype=np.int64)
    if n is None:
        return corners, labels
    rng = np.random.default_rng(seed)
    pick = rng.integers(0, 4, size=n)
    X = corners[pick] + rng.normal(0.0, noise, size=(n, 2)).astype(np.float32)
    return X.astype(np.float32), labels[pick]


def spirals(n: int = 300, classes: int = 3, noise: float = 0.2, seed: int | None = None):
    """Interleaved spirals (the CS231n toy problem): ``n`` points in total, ``classes`` arms.

    Arm ``k`` has radius going 0 -> 1 and angle ``4k .. 4(k+1)`` radians plus Gaussian angle
    noise of std ``noise``. Not linearly separable; a 2-layer MLP solves it.
    """
    rng = np.random.default_rng(seed)
    xs, ys = [], []
    for k, m in enumerate(_split_counts(n, classes)):
        r = np.linspace(0.0, 1.0, m)
        t = np.linspace(k * 4.0, (k + 1) * 4.0, m) + rng.normal(0.0, noise, size=m)
        xs.append(np.stack([r * np.sin(t), r * np.cos(t)], axis=1))
        ys.append(np.full(m, k, dtype=np.int64))
    return np.concatenate(xs).astype(np.float32), np.concatenate(ys)


def moons(n: int = 200, noise: float = 0.1, seed: int | None = None):
    """Two interleaving half circles (as scikit-learn's ``make_moons``), shuffled.

    Class 0 is the upper arc ``(cos t, sin t)``, class 1 the lower ``(1 - cos t, 0.5 - sin t)``,
    ``t`` in [0, pi]; Gaussian noise of std ``noise`` is added to every coordinate.
    """
    rng = np.random.default_rng(seed)
    n0, n1 = _split_counts(n, 2)
    t0, t1 = np.linspace(0.0, np.pi, n0), np.linspace(0.0, np.pi, n1)
    X = np.concatenate([np.stack([np.cos(t0), np.sin(t0)], 1),
                        np.stack([1.0 - np.cos(t1), 0.5 - np.sin(t1)], 1)])
    y = np.concatenate([np.zeros(n0, np.int64), np.ones(n1, np.int64)])
    X = X + rng.normal(0.0, noise, size=X.shape)
    perm = rng.permutation(n)
    return X[perm].astype(np.float32), y[perm]


def iris():
    """Fisher's Iris: ``(X float32 (150, 4), y int64 (150,), class_names)``; 50 samples per class.

    Features (cm): sepal length, sepal width, petal length, petal width (``IRIS_FEATURES``).
    """
    path = _EMBEDDED / "iris.csv"
    raw = path.read_bytes()
    got = hashlib.sha256(raw).hexdigest()
    if got != IRIS_SHA256:
        raise DatasetError(f"{path}: sha256 {got} does not match the shipped Iris file ({IRIS_SHA256})")
    lines = raw.decode("ascii").splitlines()
    head = lines[0].split(",")
    n, d, names = int(head[0]), int(head[1]), head[2:]
    table = np.array([[float(v) for v in ln.split(",")] for ln in lines[1:] if ln.strip()])
    if table.shape != (n, d + 1):
        raise DatasetError(f"{path}: expected {n} rows of {d + 1} values, got {table.shape}")
    X = table[:, :d].astype(np.float32)
    y = table[:, d].astype(np.int64)
    if np.bincount(y, minlength=3).tolist() != [50, 50, 50]:
        raise DatasetError(f"{path}: expected 50 samples per class, got {np.bincount(y).tolist()}")
    return X, y, list(names)
