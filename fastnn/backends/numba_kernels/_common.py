"""What every Numba kernel module shares: the compile options, a stack-allocated tile for the
GEMM micro-kernel, and a small cache of scratch buffers.

Compile options
---------------
``jit(...)`` is ``numba.njit`` with ``cache=True`` (compiled machine code is written next to the
source, in ``__pycache__/``, so the next process loads it instead of compiling again) and
``boundscheck=False`` (the contract validated every shape before a kernel is called).

``FASTMATH`` is a *subset* of LLVM's fast-math flags, chosen so that it never changes what a
kernel means, only the order of floating-point additions:

* ``reassoc`` -- ``(a + b) + c`` may become ``a + (b + c)``: this is what lets LLVM vectorise a
  reduction (a sum over a row is split into 8 or 16 partial sums, one per SIMD lane);
* ``contract`` -- ``a * b + c`` may become one fused multiply-add instruction;
* ``nsz``, ``arcp`` -- the sign of a zero and ``x / y`` as ``x * (1 / y)`` may change.

``nnan``/``ninf`` (assume no NaN / infinity) and ``afn`` (approximate ``exp``, ``log``) are
left out: max pooling must treat ``-inf`` padding and NaN exactly like the reference, and
the activations must not lose accuracy.

Numba compiles a function on its first call with a new combination of argument *types*;
importing these modules compiles nothing.
"""
from __future__ import annotations

import threading

import numba
import numpy as np
from numba import njit

#: LLVM fast-math flags that keep NaN/inf semantics (see the module docstring)
FASTMATH = {"reassoc", "contract", "nsz", "arcp"}

#: True under NUMBA_DISABLE_JIT=1: every @njit function runs as plain Python
DISABLE_JIT = bool(numba.config.DISABLE_JIT)

#: every function defined with :func:`jit`, ``"module.name"`` -> dispatcher
REGISTRY: dict[str, object] = {}
#: the names in REGISTRY that Python calls directly (the others are helpers compiled into them)
ENTRY_POINTS: set[str] = set()


def jit(*, parallel: bool = False, fastmath: bool | set = True, entry: bool | None = None,
        error_model: str = "python"):
    """``numba.njit(cache=True, ...)`` with fastnn's options, registering the function by name.

    ``fastmath``: ``True`` for :data:`FASTMATH`, ``False`` for none, or a set of LLVM flags
    (``_vmath.py`` uses ``{"contract"}`` only: its exp must not be reassociated).
    ``error_model="numpy"``: a float division by zero gives inf/NaN as in NumPy instead of raising
    ``ZeroDivisionError``. Under the default ``"python"`` model Numba tests every divisor and
    branches to an exception path, and that branch alone keeps LLVM from vectorising a loop
    that divides (sigmoid, tanh, the softmax normalisation use it).
    ``entry`` marks a kernel called from Python (default: the ``parallel`` ones); helpers called
    only from other compiled functions are compiled into their callers (and cached with them)."""
    flags = FASTMATH if fastmath is True else (set(fastmath) if fastmath else False)

    def wrap(fn):
        dispatcher = njit(cache=True, parallel=parallel, fastmath=flags, boundscheck=False,
                          error_model=error_model)(fn)
        name = f"{fn.__module__.rsplit('.', 1)[-1]}.{fn.__name__}"
        REGISTRY[name] = dispatcher
        if parallel if entry is None else entry:
            ENTRY_POINTS.add(name)
        return dispatcher
    return wrap


# ---------------------------------------------------------------------------- register tile

#: the GEMM micro-tile: MR rows of A times NR columns of B per micro-kernel call.
#: NR = 32 floats = two 512-bit (AVX-512) or four 256-bit (AVX2) vectors per row of the tile.
MR, NR = 4, 32

if DISABLE_JIT:
    def local_tile():
        """The micro-kernel's MR*NR accumulators (plain Python: an ordinary array)."""
        return np.zeros(MR * NR, dtype=np.float32)
else:
    from llvmlite import ir
    from numba import carray, types
    from numba.core import cgutils
    from numba.extending import intrinsic

    @intrinsic
    def _alloca_tile(typingctx):
        """An ``alloca`` of MR*NR float32 in the calling function's stack frame.

        Numba has no stack arrays: ``np.empty`` allocates on the heap, and LLVM then cannot
        prove that the accumulators do not alias the packed A and B buffers, so it keeps
        loading and storing them in memory and does not vectorise. An ``alloca`` of constant
        size is different: after the loops over the tile are unrolled, LLVM's SROA pass turns
        every element into an SSA value, i.e. a *register*. (In C/Cython one writes
        ``float acc[MR][NR]`` on the stack, or uses SIMD intrinsics; Numba needs this
        ten-line LLVM-level helper instead.)"""
        size = MR * NR

        def codegen(context, builder, signature, args):
            buf = cgutils.alloca_once(builder, ir.ArrayType(ir.FloatType(), size))
            return builder.bitcast(buf, ir.PointerType(ir.FloatType()))
        return types.CPointer(types.float32)(), codegen

    @njit(inline="always", cache=True)
    def local_tile():
        """The micro-kernel's MR*NR accumulators, on the stack (inlined into the caller, so the
        ``alloca`` lives in the caller's frame)."""
        return carray(_alloca_tile(), (MR * NR,))


# ---------------------------------------------------------------------------- scratch buffers

class Workspace:
    """Reusable scratch buffers (im2col columns, packed panels), keyed by purpose, shape and dtype.

    Allocating tens of megabytes on every call costs page faults; a training loop calls the same
    layer with the same shapes again and again. Buffers are per Python thread (two threads never
    share scratch space) and the cache keeps only the ``max_entries`` most recently used."""

    def __init__(self, max_entries: int = 8):
        self._local = threading.local()
        self.max_entries = max_entries

    def get(self, tag: str, shape, dtype=np.float32) -> np.ndarray:
        cache = getattr(self._local, "cache", None)
        if cache is None:
            cache = self._local.cache = {}
        key = (tag, tuple(int(s) for s in shape), np.dtype(dtype).str)
        buf = cache.pop(key, None)
        if buf is None:
            buf = np.empty(key[1], dtype=dtype)
        cache[key] = buf                      # most recently used last
        while len(cache) > self.max_entries:
            cache.pop(next(iter(cache)))
        return buf

    def clear(self) -> None:
        self._local.cache = {}


workspace = Workspace()


def num_threads() -> int:
    """Threads Numba's parallel loops use right now (``fastnn.set_num_threads`` sets it)."""
    return numba.get_num_threads()
