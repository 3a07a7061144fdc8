"""The Numba backend: every kernel of the contract as Python that LLVM compiles.

Read it next to the Cython backend (``src_cython/``): the same kernels, the same ladder names,
the other road to compiled speed. One module per kernel family:

=================  ==========================================================================
``gemm.py``        the GEMM ladder ``naive -> reordered -> tiled -> packed -> parallel (-> blas)``
``conv.py``        im2col/col2im, conv2d ``direct`` and ``im2col`` rungs, forward and backward
``pool.py``        max pool (with argmax) and average pool, forward and backward
``activations.py`` relu, leaky_relu, elu, sigmoid, tanh, forward and backward
``losses.py``      fused softmax-cross-entropy, log-softmax
``norm.py``        batch norm, train and eval, forward and backward
``_common.py``     compile options (``cache=True``, the fast-math subset), the stack tile
``_vmath.py``      vectorisable float32 exp/expm1/tanh/sigmoid and row max (no libm calls)
=================  ==========================================================================

Compile cost
------------
Importing this package compiles nothing: each ``@njit`` function compiles on its first call
(about 0.2-3 s per kernel, a minute for all of them) and, with ``cache=True``, writes the
machine code to ``__pycache__/`` next to its source, so the next process only loads it
(milliseconds). ``fastnn.backends.get("numba").warmup()`` compiles (or loads) everything ahead
of time, with a progress bar, and returns the seconds it took.

If the package directory is not writable (a system-wide install), Numba caches in
``$NUMBA_CACHE_DIR`` when set, else in ``~/.cache/numba`` style user directories -- setting
``NUMBA_CACHE_DIR`` to a writable path always works. The cache is keyed by the source file's
modification time: after editing a kernel its file recompiles, but Numba does not track calls
*across* files, so after editing ``gemm.py`` also touch ``conv.py`` (which calls the packed
GEMM), after editing ``_vmath.py`` touch ``activations.py`` and ``losses.py``, or delete
``fastnn/backends/numba_kernels/__pycache__``.

Debugging: with ``NUMBA_DISABLE_JIT=1`` in the environment every kernel runs as plain Python
(slowly), so ``print`` and ``pdb`` work inside it -- the kernels are written to stay valid Python.

Only float32 is compiled (``dtypes``); float64 calls, used by finite-difference gradient checks,
are routed to the NumPy reference by the contract.
"""
from __future__ import annotations

import time

import numba
import numpy as np

from ..contract import KERNELS
from ..numpy_ref import NumpyBackend
from . import activations as _act
from . import conv as _conv
from . import gemm as _gemm
from . import losses as _loss
from . import norm as _norm
from . import pool as _pool
from ._common import DISABLE_JIT, ENTRY_POINTS, REGISTRY, workspace


class NumbaBackend(NumpyBackend):
    """Kernels compiled by Numba (``@njit``, ``prange``), float32.

    Every private kernel below is a Numba implementation; none is inherited from the reference
    (``tests/test_numba_backend.py`` checks that). ``gemm_variants`` and ``conv_variants`` list
    the ladder rungs, the first being the default (the fastest measured on a 2-core AVX-512
    machine; see ``docs/numba.md``)."""

    name = "numba"
    dtypes = (np.dtype(np.float32),)
    gemm_variants = ("parallel", "naive", "reordered", "tiled", "packed", "blas")
    conv_variants = ("im2col", "direct")
    #: every kernel of the contract runs Numba-compiled code here
    compiled_kernels: tuple[str, ...] = KERNELS
    #: True when NUMBA_DISABLE_JIT=1: the kernels run as plain Python
    jit_disabled: bool = DISABLE_JIT

    # ---------------------------------------------------------------- threads
    def set_num_threads(self, n: int) -> None:
        """Threads of the ``prange`` loops (called by ``fastnn.set_num_threads``)."""
        numba.set_num_threads(max(1, min(int(n), numba.config.NUMBA_NUM_THREADS)))

    def get_num_threads(self) -> int:
        return numba.get_num_threads()

    @property
    def threading_layer(self) -> str:
        """Numba's threading layer (``omp``, ``tbb`` or ``workqueue``), known after the first
        parallel kernel ran."""
        try:
            return numba.threading_layer()
        except ValueError:
            return "not initialised"

    # ---------------------------------------------------------------- compile ahead
    def warmup(self, progress: bool = True) -> float:
        """Compile (or load from the on-disk cache) every kernel and every ladder rung now.

        Runs each kernel once on tiny float32 inputs, with a progress bar; returns the seconds
        taken (about a minute the first time, well under a second once cached)."""
        from tqdm.auto import tqdm
        tasks = _warmup_tasks(self)
        start = time.perf_counter()
        with tqdm(tasks, desc="numba: compiling kernels", unit="kernel", disable=not progress,
                  leave=False) as bar:
            for label, call in bar:
                bar.set_postfix_str(label, refresh=False)
                call()
        return time.perf_counter() - start

    @staticmethod
    def clear_workspace() -> None:
        """Free the cached scratch buffers (im2col columns, packed panels) of this thread."""
        workspace.clear()

    # ---------------------------------------------------------------- gemm
    def _gemm(self, a, b, trans_a, trans_b, out, variant):
        return _gemm.gemm(a, b, trans_a, trans_b, out, variant)

    # ---------------------------------------------------------------- conv
    def _im2col(self, x, k, s, p, d, o):
        return _conv.im2col_face(x, k, s, p, d, o)

    def _col2im(self, cols, x_shape, k, s, p, d, o):
        return _conv.col2im_face(cols, x_shape, k, s, p, d, o)

    def _conv2d_forward(self, x, weight, bias, s, p, d, o, variant):
        return _conv.conv2d_forward_face(x, weight, bias, s, p, d, o, variant)

    def _conv2d_backward(self, grad_out, x, weight, s, p, d, o, needs_input_grad, needs_bias_grad):
        # the contract's backward takes no variant: it follows the default rung
        return _conv.conv2d_backward_face(grad_out, x, weight, s, p, d, o, needs_input_grad,
                                          needs_bias_grad, self.conv_variants[0])

    # ---------------------------------------------------------------- pool
    def _maxpool2d_forward(self, x, k, s, p, o):
        return _pool.maxpool2d_forward_face(x, k, s, p, o)

    def _maxpool2d_backward(self, grad_out, argmax, x_shape):
        return _pool.maxpool2d_backward_face(grad_out, argmax, x_shape)

    def _avgpool2d_forward(self, x, k, s, p, o, count_include_pad):
        return _pool.avgpool2d_forward_face(x, k, s, p, o, count_include_pad)

    def _avgpool2d_backward(self, grad_out, x_shape, k, s, p, o, count_include_pad):
        return _pool.avgpool2d_backward_face(grad_out, x_shape, k, s, p, o, count_include_pad)

    # ---------------------------------------------------------------- activations
    def _relu_forward(self, x):
        return _act.unary(_act.relu_forward, x)

    def _relu_backward(self, grad_y, y):
        return _act.unary_backward(_act.relu_backward, grad_y, y)

    def _leaky_relu_forward(self, x, negative_slope):
        return _act.unary(_act.leaky_relu_forward, x, float(negative_slope))

    def _leaky_relu_backward(self, grad_y, x, negative_slope):
        return _act.unary_backward(_act.leaky_relu_backward, grad_y, x, float(negative_slope))

    def _elu_forward(self, x, alpha):
        return _act.unary(_act.elu_forward, x, float(alpha))

    def _elu_backward(self, grad_y, y, alpha):
        return _act.unary_backward(_act.elu_backward, grad_y, y, float(alpha))

    def _sigmoid_forward(self, x):
        return _act.unary(_act.sigmoid_forward, x)

    def _sigmoid_backward(self, grad_y, y):
        return _act.unary_backward(_act.sigmoid_backward, grad_y, y)

    def _tanh_forward(self, x):
        return _act.unary(_act.tanh_forward, x)

    def _tanh_backward(self, grad_y, y):
        return _act.unary_backward(_act.tanh_backward, grad_y, y)

    # ---------------------------------------------------------------- losses
    def _softmax_cross_entropy_forward(self, logits, target, label_smoothing):
        return _loss.softmax_cross_entropy_forward_face(logits, target, label_smoothing)

    def _softmax_cross_entropy_backward(self, grad_losses, probs, target, label_smoothing):
        return _loss.softmax_cross_entropy_backward_face(grad_losses, probs, target, label_smoothing)

    def _log_softmax_forward(self, x):
        return _loss.log_softmax_forward_face(x)

    def _log_softmax_backward(self, grad_y, y):
        return _loss.log_softmax_backward_face(grad_y, y)

    # ---------------------------------------------------------------- batchnorm
    def _batchnorm_forward(self, x, weight, bias, running_mean, running_var, training, momentum, eps):
        return _norm.batchnorm_forward_face(x, weight, bias, running_mean, running_var, training, momentum, eps)

    def _batchnorm_backward(self, grad_y, x, weight, mean, invstd, training):
        return _norm.batchnorm_backward_face(grad_y, x, weight, mean, invstd, training)


def _warmup_tasks(backend):
    """``(label, thunk)`` pairs that together call every compiled kernel once, with the argument
    types real calls use (C-contiguous float32 arrays, Python ints/floats/bools)."""
    f32 = np.float32
    rng = np.random.default_rng(0)
    x = rng.standard_normal((2, 3, 6, 6)).astype(f32)
    w = rng.standard_normal((4, 3, 3, 3)).astype(f32)
    bias = rng.standard_normal(4).astype(f32)
    a = rng.standard_normal((9, 7)).astype(f32)
    g_conv = rng.standard_normal((2, 4, 6, 6)).astype(f32)
    flat = rng.standard_normal((3, 5)).astype(f32)
    target = np.array([0, 4, 2], dtype=np.int64)
    bn = rng.standard_normal((4, 3, 5)).astype(f32)
    ones3 = np.ones(3, f32)
    geo = dict(stride=1, padding=1)

    def gemm_variant(v):
        def run():
            backend.gemm(a, a, trans_b=True, variant=v)
            backend.gemm(a, a, trans_a=True, variant=v)
            if v == "parallel":         # tiny products take the serial path: compile the kernel itself
                _gemm.gemm_parallel(a, a, np.empty((9, 9), f32), False, True, 1, 2)
        return run

    def conv_fb(v):
        def run():
            backend.conv2d_forward(x, w, bias, variant=v, **geo)
            backend.conv2d_forward(x, w, None, variant=v, **geo)
            for needs_x in (True, False):
                _conv.conv2d_backward_face(g_conv, x, w, (1, 1), (1, 1), (1, 1), (6, 6), needs_x, True, v)
            # stride 2: grad_x by col2im instead of as a convolution
            _conv.conv2d_backward_face(g_conv[:, :, :3, :3].copy(), x, w, (2, 2), (1, 1), (1, 1), (3, 3), True,
                                       True, v)
        return run

    def unary(name, *params):
        def run():
            y = getattr(backend, name + "_forward")(flat, *params)
            getattr(backend, name + "_backward")(flat, flat if name == "leaky_relu" else y, *params)
        return run

    def pools():
        out, am = backend.maxpool2d_forward(x, 2, 2, 1)
        backend.maxpool2d_backward(out, am, x.shape)
        avg = backend.avgpool2d_forward(x, 3, 2, 1, count_include_pad=False)
        backend.avgpool2d_backward(avg, x.shape, 3, 2, 1, count_include_pad=False)

    def losses():
        losses_, probs = backend.softmax_cross_entropy_forward(flat, target, 0.1)
        backend.softmax_cross_entropy_backward(losses_, probs, target, 0.1)
        y = backend.log_softmax_forward(flat)
        backend.log_softmax_backward(flat, y)

    def norms():
        rm, rv = np.zeros(3, f32), np.ones(3, f32)
        for training in (True, False):
            y, mean, invstd = backend.batchnorm_forward(bn, ones3, ones3, rm, rv, training)
            backend.batchnorm_backward(bn, bn, ones3, mean, invstd, training)

    tasks = [(f"gemm/{v}", gemm_variant(v)) for v in backend.gemm_variants if v != "blas"]
    tasks += [("im2col/col2im", lambda: backend.col2im(backend.im2col(x, 3, **geo), x.shape, 3, **geo))]
    tasks += [(f"conv2d/{v}", conv_fb(v)) for v in backend.conv_variants]
    tasks += [("pooling", pools)]
    tasks += [(name, unary(name, *params)) for name, params in
              (("relu", ()), ("leaky_relu", (0.01,)), ("elu", (1.0,)), ("sigmoid", ()), ("tanh", ()))]
    tasks += [("losses", losses), ("batchnorm", norms)]
    return tasks


__all__ = ["NumbaBackend", "REGISTRY", "ENTRY_POINTS"]
