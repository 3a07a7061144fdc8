# cython: language_level=3
"""The GEMM ladder: ``C = op(A) @ op(B)`` in float32, one rung per optimisation.

Read the rungs in order; each docstring says what changed from the rung below and why
that makes it faster. ``gemm(a, b, trans_a, trans_b, c, variant, num_threads)`` runs one by
name. The Python face (``fastnn/backends/cython_kernels.py``) calls it after
``contract.py`` validated the arguments: ``a`` and ``b`` are C-contiguous float32, ``c`` is a
C-contiguous float32 output of shape (M, N). ``op`` transposes when its flag is set; the
kernels read the transposed layout through strides, no transposed copy is ever made.

=========  ====================================================================
rung       idea
=========  ====================================================================
naive      textbook i-j-k triple loop, one dot product per element of C
reordered  i-k-j order: the inner loop walks rows of B and C with unit stride
tiled      the reordered loops over cache-sized blocks of B
packed     BLIS: packed panels + a 6x16 register-blocked SIMD micro-kernel
parallel   the packed kernel with its tiles split across OpenMP threads
=========  ====================================================================

(The ``blas`` rung, NumPy's BLAS, lives in the Python face.)

Machine facts the docstrings refer to: a cache line is 64 bytes (16 floats); an AVX2
register holds 8 floats and a fused multiply-add (FMA) does 8 multiply-adds per
instruction, two per cycle on recent cores; L1 is 32-48 KiB per core, L2 0.5-2 MiB per
core, L3 several MiB shared.
"""
include "gemm_core.pxi"

#: every rung of this module, slowest first
VARIANTS = ("naive", "reordered", "tiled", "packed", "parallel")

#: below this many multiply-adds the parallel rung runs on one thread (waking a team costs
#: a few microseconds, more than a small product takes)
PARALLEL_MIN_FLOPS = 1 << 20
cdef Py_ssize_t _PARALLEL_MIN_FLOPS = PARALLEL_MIN_FLOPS


def set_parallel_min_flops(Py_ssize_t n):
    """Set the size (multiply-adds) below which the parallel rung stays on one thread;
    returns the previous value. Tests set 0 so that tiny products run on every thread."""
    global _PARALLEL_MIN_FLOPS
    old, _PARALLEL_MIN_FLOPS = _PARALLEL_MIN_FLOPS, n
    return old

cdef tuple _dims(const float[:, ::1] a, const float[:, ::1] b, float[:, ::1] c, bint trans_a, bint trans_b):
    """(m, n, k) of ``c = op(a) @ op(b)``, or ValueError. The rungs below run without bounds
    checks; the backend's contract validates its calls, this guards direct calls."""
    m, k = (a.shape[1], a.shape[0]) if trans_a else (a.shape[0], a.shape[1])
    k2, n = (b.shape[1], b.shape[0]) if trans_b else (b.shape[0], b.shape[1])
    if k != k2 or c.shape[0] != m or c.shape[1] != n or m == 0 or n == 0 or k == 0:
        raise ValueError(f"gemm: op(a) is {m}x{k}, op(b) is {k2}x{n} and c is {c.shape[0]}x{c.shape[1]}; "
                         f"need op(a) m x k, op(b) k x n and c m x n, all non-empty")
    return m, n, k


# tiled: a TK x TN block of B (128 KiB) stays in L2 while every row of A passes over it
cdef enum:
    TK = 128
    TN = 256


# --------------------------------------------------------------------------- rung 1: naive

cdef void _naive(Operand A, Operand B, float *c, Py_ssize_t ldc,
                 Py_ssize_t m, Py_ssize_t n, Py_ssize_t k) noexcept nogil:
    cdef Py_ssize_t i, j, p
    cdef float s
    for i in range(m):
        for j in range(n):
            s = 0
            for p in range(k):
                s = s + A.ptr[i * A.rs + p * A.cs] * B.ptr[p * B.rs + j * B.cs]
            c[i * ldc + j] = s


def gemm_naive(const float[:, ::1] a, const float[:, ::1] b, float[:, ::1] c,
               bint trans_a=False, bint trans_b=False):
    """Rung 1 -- naive: the textbook triple loop ``c[i,j] = sum_p a[i,p] * b[p,j]``.

    The inner loop is a dot product: it walks a row of A (unit stride, fine) and a *column*
    of B, jumping N floats at every step. Each step touches a new cache line of B, uses 4
    bytes of its 64 and the line is evicted long before its neighbours are needed, so most
    of the time goes to waiting for memory. The running sum is one scalar: the compiler may
    not reorder float additions, so it cannot split the sum over SIMD lanes either.
    Baseline: ~1 GFLOP/s and falling as the matrices outgrow the caches."""
    cdef Py_ssize_t m, n, k
    m, n, k = _dims(a, b, c, trans_a, trans_b)
    cdef Operand A = _operand(&a[0, 0], a.shape[1], trans_a)
    cdef Operand B = _operand(&b[0, 0], b.shape[1], trans_b)
    with nogil:
        _naive(A, B, &c[0, 0], n, m, n, k)


# --------------------------------------------------------------------------- rung 2: reordered

cdef inline void _axpy_row(float *ci, float aip, Operand B, Py_ssize_t p, Py_ssize_t j0,
                           Py_ssize_t j1) noexcept nogil:
    """ci[j] += aip * op(B)[p, j] for j in [j0, j1): the inner loop of rungs 2 and 3."""
    cdef Py_ssize_t j
    cdef const float *bp = B.ptr + p * B.rs
    if B.cs == 1:                     # unit stride: the compiler vectorises this loop
        for j in range(j0, j1):
            ci[j] = ci[j] + aip * bp[j]
    else:                             # transposed B: strided, scalar (packing fixes that)
        for j in range(j0, j1):
            ci[j] = ci[j] + aip * bp[j * B.cs]


cdef void _reordered(Operand A, Operand B, float *c, Py_ssize_t ldc,
                     Py_ssize_t m, Py_ssize_t n, Py_ssize_t k) noexcept nogil:
    cdef Py_ssize_t i, j, p
    for i in range(m):
        for j in range(n):
            c[i * ldc + j] = 0
        for p in range(k):
            _axpy_row(c + i * ldc, A.ptr[i * A.rs + p * A.cs], B, p, 0, n)


def gemm_reordered(const float[:, ::1] a, const float[:, ::1] b, float[:, ::1] c,
                   bint trans_a=False, bint trans_b=False):
    """Rung 2 -- reordered: the same arithmetic in i-k-j order.

    Changed: the loops over j and p are swapped. For fixed (i, p) the inner loop is now
    ``c[i, :] += a[i, p] * b[p, :]``: it walks a row of B and a row of C with unit stride, so
    every byte of every cache line fetched is used, and the hardware prefetcher sees a
    plain stream. And because each j is independent (no running sum), the compiler turns
    the loop into SIMD instructions, 4 (SSE) or 8 (AVX) floats at a time.
    Still slow: for every row i the whole of B streams through the caches again, and each
    multiply-add loads and stores c[i, j] (2 memory accesses per 2 flops)."""
    cdef Py_ssize_t m, n, k
    m, n, k = _dims(a, b, c, trans_a, trans_b)
    cdef Operand A = _operand(&a[0, 0], a.shape[1], trans_a)
    cdef Operand B = _operand(&b[0, 0], b.shape[1], trans_b)
    with nogil:
        _reordered(A, B, &c[0, 0], n, m, n, k)


# --------------------------------------------------------------------------- rung 3: tiled

cdef void _tiled(Operand A, Operand B, float *c, Py_ssize_t ldc,
                 Py_ssize_t m, Py_ssize_t n, Py_ssize_t k) noexcept nogil:
    cdef Py_ssize_t i, j, p, jb, pb, jj, pp, j1, p1
    for i in range(m):
        for j in range(n):
            c[i * ldc + j] = 0
    for jb in range(_cdiv(n, TN)):             # a block of columns of B and C ...
        jj, j1 = jb * TN, _min(jb * TN + TN, n)
        for pb in range(_cdiv(k, TK)):         # ... and of rows of B: TK x TN floats, in L2
            pp, p1 = pb * TK, _min(pb * TK + TK, k)
            for i in range(m):                 # every row of A passes over the block
                for p in range(pp, p1):
                    _axpy_row(c + i * ldc, A.ptr[i * A.rs + p * A.cs], B, p, jj, j1)


def gemm_tiled(const float[:, ::1] a, const float[:, ::1] b, float[:, ::1] c,
               bint trans_a=False, bint trans_b=False):
    """Rung 3 -- tiled (cache blocking): the reordered loops, one block of B at a time.

    Changed: the j and p loops are cut into blocks of TN=256 columns and TK=128 rows. A
    TK x TN block of B is 128 KiB: it stays in the L2 cache while *every* row of A is
    multiplied into it, so B is read from main memory (or L3) once per block instead of
    once per row of A; and the TN-float segment of the row of C being updated (1 KiB)
    stays in L1 for all TK steps of p. Same instructions as rung 2, fewer cache misses.
    Still limited: every multiply-add still loads and stores an element of C (from L1),
    and the loads of B come from L2; the FMA units wait on the load/store ports."""
    cdef Py_ssize_t m, n, k
    m, n, k = _dims(a, b, c, trans_a, trans_b)
    cdef Operand A = _operand(&a[0, 0], a.shape[1], trans_a)
    cdef Operand B = _operand(&b[0, 0], b.shape[1], trans_b)
    with nogil:
        _tiled(A, B, &c[0, 0], n, m, n, k)


# --------------------------------------------------------------------------- rungs 4 and 5

cdef _run_packed(const float[:, ::1] a, const float[:, ::1] b, float[:, ::1] c,
                 bint trans_a, bint trans_b, int num_threads):
    cdef Py_ssize_t m, n, k
    m, n, k = _dims(a, b, c, trans_a, trans_b)
    cdef Operand A = _operand(&a[0, 0], a.shape[1], trans_a)
    cdef Operand B = _operand(&b[0, 0], b.shape[1], trans_b)
    cdef GemmPlan plan = _plan(m, n, k)
    cdef float *ws
    if num_threads > 1 and m * n * k < _PARALLEL_MIN_FLOPS:
        num_threads = 1
    with _workspace_lock:
        ws = _workspace(_gemm_workspace_size(&plan, num_threads))
        with nogil:
            _gemm_packed_run(&plan, A, B, &c[0, 0], n, False, ws, num_threads)


def gemm_packed(const float[:, ::1] a, const float[:, ::1] b, float[:, ::1] c,
                bint trans_a=False, bint trans_b=False):
    """Rung 4 -- packed (BLIS-style, one core): packing + a register-blocked SIMD micro-kernel.

    Changed, two things:

    1. *Register blocking.* The work is done by a micro-kernel that computes a 6 x 16 tile
       of C entirely in registers: 12 AVX2 registers of 8 floats. At each of kc steps it
       loads 16 floats of B (2 registers) and broadcasts 6 floats of A, and does 12 FMAs =
       96 multiply-adds. Rung 3 did 1 load and 1 store of C per multiply-add; here C is
       touched once per kc (~256) steps, and each loaded float is used 6 or 16 times. Now
       the FMA units, not the memory ports, are the limit.
    2. *Packing.* Before the micro-kernels run, an MC x KC block of A and a KC x NC block
       of B are copied into the order the micro-kernel reads them: A in panels of 6 rows
       stored column by column, B in panels of 16 columns stored row by row, zero-padded
       at the edges. The micro-kernel then reads both with unit stride from a block
       that fits its cache level (B panel: L1, A block: L2, B block: L3), whatever the
       layout of the original (this is also where trans_a / trans_b are absorbed), and
       never deals with a partial tile. Copying costs O(MK + KN) per block; the block is
       reused O(N) or O(M) times.

    The AVX2 kernel is chosen at run time (``simd_enabled()``); a portable C kernel with the
    same 6 x 16 tile runs on other CPUs (``set_simd(False)`` forces it). Typically 10-20x
    rung 3 on one core, within reach of the BLAS."""
    _run_packed(a, b, c, trans_a, trans_b, 1)


def gemm_parallel(const float[:, ::1] a, const float[:, ::1] b, float[:, ::1] c,
                  bint trans_a=False, bint trans_b=False, int num_threads=1):
    """Rung 5 -- parallel: the packed kernel on every core, each thread on its own part of C.

    Changed: C is cut into one rectangle per thread -- whole micro-panels, along the rows or
    the columns or both, whichever gives the busiest thread the fewest 6x16 tiles: the
    columns for a short-and-wide product such as a convolution's 32 x 65536 output, either
    for a square one. Each thread runs rung 4 on its rectangle with its own packing buffers:
    T cores give T times the FMA throughput, and the threads never wait for each other (no
    barriers, no shared buffers, no locks; every tile of C has one owner). The price is that
    the operand both rectangles need (all of A for a column split) is packed once per thread
    -- a few percent of a large product. Products under PARALLEL_MIN_FLOPS multiply-adds
    stay on one thread (waking a team costs microseconds)."""
    _run_packed(a, b, c, trans_a, trans_b, num_threads)


# --------------------------------------------------------------------------- dispatch

def gemm(const float[:, ::1] a, const float[:, ::1] b, bint trans_a, bint trans_b,
         float[:, ::1] c, str variant, int num_threads):
    """``c[...] = op(a) @ op(b)`` with the rung named ``variant`` (see VARIANTS)."""
    if variant == "parallel":
        _run_packed(a, b, c, trans_a, trans_b, num_threads)
    elif variant == "packed":
        _run_packed(a, b, c, trans_a, trans_b, 1)
    elif variant == "tiled":
        gemm_tiled(a, b, c, trans_a, trans_b)
    elif variant == "reordered":
        gemm_reordered(a, b, c, trans_a, trans_b)
    elif variant == "naive":
        gemm_naive(a, b, c, trans_a, trans_b)
    else:
        raise ValueError(f"unknown gemm variant {variant!r}; choose one of {', '.join(VARIANTS)}")
