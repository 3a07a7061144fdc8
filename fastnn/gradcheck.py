"""Finite-difference gradient checking: the test every backward pass must pass.

``gradcheck(fn, inputs)`` compares the Jacobian that autograd computes (one backward
pass per output element) with the one central differences give, in float64:
``(f(x + eps) - f(x - eps)) / (2 eps)`` has error O(eps^2), so with eps = 1e-6 a
correct backward agrees to ~1e-8 and a wrong one is off by O(1).
"""
from __future__ import annotations

import numpy as np

from .autograd import no_grad
from .tensor import Tensor


class GradcheckError(AssertionError):
    """Analytic and numerical gradients disagree."""


def _outputs(fn, inputs):
    out = fn(*inputs)
    outs = out if isinstance(out, (tuple, list)) else (out,)
    return [o for o in outs if isinstance(o, Tensor) and o.dtype.kind == "f"]


def _index(flat: int, shape) -> tuple:
    return tuple(int(i) for i in np.unravel_index(flat, shape))


def gradcheck(fn, inputs, eps: float = 1e-6, atol: float = 1e-5, rtol: float = 1e-3) -> bool:
    """Check d fn(*inputs) / d input for every float64 input that requires grad.

    ``fn`` returns a Tensor or a tuple of Tensors. Returns True, or raises
    :class:`GradcheckError` naming the input, the output and the worst element."""
    inputs = tuple(inputs) if isinstance(inputs, (tuple, list)) else (inputs,)
    wrt = [(i, t) for i, t in enumerate(inputs) if isinstance(t, Tensor) and t.requires_grad]
    if not wrt:
        raise ValueError("gradcheck: no input requires grad")
    for i, t in wrt:
        if t.dtype != np.float64:
            raise TypeError(f"gradcheck: input {i} is {t.dtype}; use float64 inputs "
                            f"(tensor(..., dtype=float64)) so finite differences are accurate")

    outputs = _outputs(fn, inputs)
    for k, out in enumerate(outputs):
        flat_out = out.data.size
        analytic = {i: np.zeros((flat_out, t.data.size)) for i, t in wrt}
        for j in range(flat_out):           # one backward per output element: row j of the Jacobian
            for _, t in wrt:
                t.grad = None
            seed = np.zeros(out.shape, dtype=out.dtype)
            seed.reshape(-1)[j] = 1
            fresh = _outputs(fn, inputs)[k]
            if fresh.requires_grad:
                fresh.backward(seed)
            for i, t in wrt:
                if t.grad is not None:
                    analytic[i][j] = t.grad.data.reshape(-1)
        for i, t in wrt:
            numeric = np.zeros_like(analytic[i])
            data = t.data               # perturbed in place through a multi-index, never through
            with no_grad():             # reshape(-1), which copies a non-contiguous array
                for m in range(data.size):  # one column of the Jacobian per input element
                    idx = np.unravel_index(m, data.shape)
                    orig = data[idx]
                    data[idx] = orig + eps
                    plus = _outputs(fn, inputs)[k].data.reshape(-1).astype(np.float64)
                    data[idx] = orig - eps
                    minus = _outputs(fn, inputs)[k].data.reshape(-1).astype(np.float64)
                    data[idx] = orig
                    numeric[:, m] = (plus - minus) / (2 * eps)
            err = np.abs(analytic[i] - numeric) - (atol + rtol * np.abs(numeric))
            if (err > 0).any():
                j, m = np.unravel_index(np.argmax(err), err.shape)
                raise GradcheckError(
                    f"gradcheck failed for input {i} (shape {t.shape}), output {k} (shape {out.shape}): "
                    f"d out[{_index(j, out.shape)}] / d in[{_index(m, t.shape)}] is "
                    f"{analytic[i][j, m]:.6g} by backward but {numeric[j, m]:.6g} by finite differences")
    for _, t in wrt:
        t.grad = None
    return True
