"""Vectorisable float32 ``exp``, ``expm1``, ``tanh``, ``sigmoid`` (and a row maximum) for the
Numba kernels.

The Numba twin of ``src_cython/fastnn_math.h`` (read that file's header too): the same
algorithm, the same constants, the same accuracy (within 3 ulp of a float64 reference).

Why not ``math.exp``?
---------------------
In a Numba loop ``y[i] = math.exp(x[i])`` becomes a call of LLVM's ``llvm.exp.f32`` intrinsic,
which LLVM lowers to a call of the C library's scalar ``expf`` (and ``math.tanh`` to ``tanhf``).
LLVM can only vectorise such a call when it knows a *vector* version of the function (Intel's
SVML, or glibc's ``libmvec`` when told about it); Numba here has neither, so the whole loop stays
scalar: one library call per element, with branches inside, 5-20 ns each -- ``tanh`` of 8 M
floats was 10-20x slower than NumPy, whose ``np.tanh``/``np.exp`` are hand-vectorised C.

The functions below use nothing but ``+ - * /``, comparisons that LLVM turns into blends
(``a if c else b`` with plain values in both arms becomes a ``select``), and integer operations
on the float's bits (``np.float32(t).view(np.int32)`` is a free ``bitcast`` in Numba, which
insists on seeing the ``np.float32(...)`` around the variable). Called in a loop, they are
inlined into it and the loop vectorises like any arithmetic: 8 floats per AVX2 instruction, 16
with AVX-512 (``dispatcher.inspect_asm(sig)`` of the loop shows ``zmm`` registers and packed
``vfmadd...ps``, and no call of ``expf``).

The exp (range reduction + polynomial)
--------------------------------------
``exp(x) = 2^k * exp(r)`` with ``k = round(x / ln 2)`` and ``r = x - k ln 2``, ``|r| <= 0.347``:

1. ``k`` by the "magic number": adding ``1.5 * 2^23`` to ``x / ln 2`` (a float below ``2^22`` in
   magnitude) leaves no room for its fraction bits, so the addition itself rounds it to an
   integer, and the low bits of the sum's *bit pattern* are that integer. No float -> int
   conversion (``fptosi`` of a NaN is undefined in LLVM; a bitcast never is).
2. ``r = (x - k C1) - k C2`` with ``C1 + C2 = ln 2`` and ``C1`` having only 9 significant bits,
   so ``k C1`` is exact and nothing is lost in the subtraction (Cody and Waite's trick).
3. ``exp(r) - 1 ~= r + r^2 P(r)``, ``P`` of degree 4 with *minimax* coefficients (the largest
   relative error over the interval is as small as possible: 1.7e-8, a seventh of an ulp;
   Taylor's coefficients would be off by 3 ulp at the interval's ends), by Horner's rule --
   four fused multiply-adds.
4. ``2^k`` is built as a bit pattern: exponent field ``k + 127``, mantissa 0. It is applied in
   two halves, ``2^(k//2) * 2^(k - k//2)``, so that results in the subnormal range or beyond the
   largest float round correctly instead of wrapping around.

Inputs are clamped to ``[-105, 89]`` first (below, exp is 0 in float32; above, +inf). NaN
passes through: every comparison with NaN is false, so the clamps keep it, and ``r`` is NaN.

Fast-math
---------
These helpers are compiled with the ``contract`` flag only (fused multiply-adds), not with the
``reassoc`` of the kernels (:data:`._common.FASTMATH`): reassociation would let LLVM rewrite
``(x - k C1) - k C2`` as ``x - k (C1 + C2)`` and undo Cody-Waite. Fast-math flags belong to each
instruction, so they survive inlining into a caller compiled with other flags.

Numba's cache and this file: a kernel that calls these helpers has them compiled into its own
cached code. After editing this file, touch ``activations.py`` and ``losses.py`` (or delete
``__pycache__``), since Numba does not track calls across files.
"""
from __future__ import annotations

import math

import numpy as np

from ._common import jit

#: the fast-math flags of the helpers below: fused multiply-add, nothing else
MATH_FLAGS = {"contract"}

ONE = np.float32(1.0)
TWO = np.float32(2.0)
LOG2E = np.float32(1.44269504088896341)
LN2_HI = np.float32(0.693359375)            # 0x1.63p-1: 9 significant bits, k * LN2_HI is exact
LN2_LO = np.float32(-2.12194440e-4)         # ln 2 - LN2_HI
MAGIC = np.float32(12582912.0)              # 1.5 * 2^23
MAGIC_BITS = np.int32(0x4B400000)           # its bit pattern
EXP_MIN = np.float32(-105.0)                # exp(-105) = 2.5e-46 rounds to 0 in float32
EXP_MAX = np.float32(89.0)                  # exp(89) = 4.5e38 overflows to +inf
EXPM1_MIN = np.float32(-87.0)               # expm1(-87) = -1 in float32; keeps 2^k normal
BIAS = np.int32(127)                        # float32 exponent bias
# minimax polynomial P(r) ~= (exp(r) - 1 - r) / r^2 on [-ln2/2, ln2/2] (see fastnn_math.h)
P4 = np.float32(1.3882522471e-3)
P3 = np.float32(8.3665139973e-3)
P2 = np.float32(4.1667200625e-2)
P1 = np.float32(1.6666543484e-1)
P0 = np.float32(4.9999997020e-1)


@jit(fastmath=MATH_FLAGS, entry=False, error_model="numpy")
def expm1_reduced(r):
    """``exp(r) - 1`` for ``|r| <= ln2/2``: ``r + r^2 P(r)`` (accurate also for tiny ``r``,
    where ``exp(r) - 1`` would cancel)."""
    p = P4
    p = p * r + P3
    p = p * r + P2
    p = p * r + P1
    p = p * r + P0
    return r + r * r * p


@jit(fastmath=MATH_FLAGS, entry=False, error_model="numpy")
def exp_reduce(x):
    """``(k, r)``: ``k = round(x / ln 2)`` as an int32 and ``r = x - k ln 2``, for ``|x| < 2^21``."""
    t = x * LOG2E + MAGIC                               # rounds x / ln2 to an integer ...
    k = np.int32(np.float32(t).view(np.int32) - MAGIC_BITS)   # ... found in the low bits of t
    kf = np.float32(k)
    r = (x - kf * LN2_HI) - kf * LN2_LO
    return k, r


@jit(fastmath=MATH_FLAGS, entry=False, error_model="numpy")
def pow2(k):
    """``2^k`` for an int32 ``k`` in ``[-126, 127]``, written straight into the exponent field."""
    return np.int32((k + BIAS) << 23).view(np.float32)


@jit(fastmath=MATH_FLAGS, entry=False, error_model="numpy")
def exp_f32(x):
    """``exp(x)`` in float32, vectorisable, within 2 ulp; ``exp(-inf) = 0``, ``exp(inf) = inf``,
    NaN stays NaN."""
    x = EXP_MIN if x < EXP_MIN else x               # a NaN compares false: it stays NaN
    x = EXP_MAX if x > EXP_MAX else x
    k, r = exp_reduce(x)
    k1 = np.int32(k >> 1)                           # 2^k = 2^k1 * 2^k2, each half a normal float
    k2 = np.int32(k - k1)
    return ((ONE + expm1_reduced(r)) * pow2(k1)) * pow2(k2)


@jit(fastmath=MATH_FLAGS, entry=False, error_model="numpy")
def expm1_nonpos_f32(x):
    """``exp(x) - 1`` for ``x <= 0`` (what ELU and tanh need), accurate near 0.

    With ``s = 2^k``: ``exp(x) - 1 = s * expm1(r) + (s - 1)``; ``s - 1`` is exact, and for
    ``k = 0`` the result is the polynomial itself. Below -87 the float32 result is -1."""
    x = EXPM1_MIN if x < EXPM1_MIN else x
    k, r = exp_reduce(x)
    s = pow2(k)
    return s * expm1_reduced(r) + (s - ONE)


@jit(fastmath=MATH_FLAGS, entry=False, error_model="numpy")
def tanh_f32(x):
    """``tanh(x)`` in float32, vectorisable, within 3 ulp.

    ``tanh|x| = (1 - e^(-2|x|)) / (1 + e^(-2|x|)) = -q / (2 + q)`` with ``q = expm1(-2|x|)``:
    no cancellation near 0 (``q`` is accurate there), exactly 1 for large ``|x|`` (``q = -1``),
    one formula for every ``x``. The sign is copied back (``tanh(-0) = -0``, NaN stays NaN)."""
    q = expm1_nonpos_f32(-TWO * abs(x))
    return math.copysign(-q / (TWO + q), x)


@jit(fastmath=MATH_FLAGS, entry=False, error_model="numpy")
def sigmoid_f32(x):
    """``1 / (1 + exp(-x))`` without overflow: with ``e = exp(-|x|)`` in ``[0, 1]``,
    ``1 / (1 + e)`` for ``x >= 0`` and ``e / (1 + e)`` for ``x < 0`` -- one division either way."""
    e = exp_f32(-abs(x))
    num = ONE if x >= 0 else e
    return num / (ONE + e)


# ---------------------------------------------------------------------------- row maximum

SIGN_OFF = np.int32(0x7FFFFFFF)             # every bit but the sign


@jit(entry=False)
def order_key(v):
    """An int32 that sorts like the float32 ``v``: its bits as they are for ``v >= +0``, and
    with every bit but the sign flipped for negative ``v`` (whose bits count the wrong way).
    The map is its own inverse. +NaN sorts above +inf, -NaN below -inf."""
    i = np.float32(v).view(np.int32)
    return np.int32(i ^ ((i >> 31) & SIGN_OFF))


@jit(entry=False)
def max_f32(x):
    """The largest element of a non-empty 1-D float32 array, as a vectorised reduction.

    ``m = x[j] if x[j] > m else m`` is a *scalar* loop even with ``reassoc``: LLVM vectorises
    a floating-point max reduction only when told there are no NaNs (``nnan``), because with a
    NaN the order of the comparisons changes the result. The same maximum taken over
    :func:`order_key` is an *integer* max, which LLVM vectorises (``vpmaxsd``, 16 lanes with
    AVX-512): 6x faster on a row of 1000 logits. A +NaN in ``x`` comes out as the maximum;
    a -NaN is skipped -- for a softmax either way the row becomes NaN, as in the reference."""
    mk = order_key(x[0])
    for j in range(x.shape[0]):
        k = order_key(x[j])
        mk = k if k > mk else mk
    bits = np.int32(mk ^ ((mk >> 31) & SIGN_OFF))      # the same map back (the sign bit is kept)
    return np.int32(bits).view(np.float32)
