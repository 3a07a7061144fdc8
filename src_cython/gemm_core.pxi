# The packed (BLIS-style) GEMM driver, shared by _gemm.pyx and _conv.pyx.
#
# This file is textually included (`include "gemm_core.pxi"`) into both modules, so each
# gets its own copy of these C-level functions: the convolution kernels call the packed
# GEMM from inside their own `prange` loops, without going through Python.
#
#     C (+)= op(A) @ op(B)      op(A): m x k, op(B): k x n, C: m x n row-major (ldc)
#
# An operand is a pointer and two strides: element (i, p) of op(A) is A.ptr[i*A.rs + p*A.cs].
# A row-major matrix has (rs, cs) = (ld, 1), its transpose (1, ld): the packing routines
# read either layout, so a transposed operand is never copied first.
#
# The loops, outermost first (Goto & van de Geijn; BLIS names them jc, pc, ic, jr, ir):
#
#   jc: columns of C and B in blocks of NC        a kc x nc block of B is packed and then
#   pc:   the k dimension in blocks of KC         read mc times: it lives in the L3 cache
#   ic:     rows of C and A in blocks of MC       the mc x kc block of A is packed once and
#                                                 stays in the L2 cache for the whole jr loop
#   jr:       micro-panels of B (NR columns)      one kc x NR micro-panel stays in L1 while
#   ir:         micro-panels of A (MR rows)       every A micro-panel streams past it
#                 micro-kernel: MR x NR tile of C in registers, kc rank-1 updates
#
# Packing copies each block into the exact order the micro-kernel reads it (unit stride,
# zero-padded to full MR / NR), so the inner loop never touches a strided or partial tile.

from cython.parallel cimport parallel

cdef extern from "gemm_microkernel.h" nogil:
    const int MR "FASTNN_MR"
    const int NR "FASTNN_NR"
    enum: FASTNN_MR              # the same, usable as an array size
    const int HAVE_AVX2_KERNEL "FASTNN_HAVE_AVX2_KERNEL"
    ctypedef void (*ukernel_t "fastnn_ukernel_t")(Py_ssize_t kc, const float *ap, const float *bp, float *c,
                               Py_ssize_t ldc, int m, int n, int accumulate) noexcept nogil
    void ukernel_generic "fastnn_ukernel_generic"(Py_ssize_t kc, const float *ap, const float *bp,
                                                  float *c, Py_ssize_t ldc, int m, int n, int accumulate)
    void ukernel_avx2 "fastnn_ukernel_avx2"(Py_ssize_t kc, const float *ap, const float *bp,
                                            float *c, Py_ssize_t ldc, int m, int n, int accumulate)
    ctypedef void (*ukernel_rows_t "fastnn_ukernel_rows_t")(
        Py_ssize_t kc, const float *ap, const float *base, const Py_ssize_t *offs, Py_ssize_t half, float *c,
        Py_ssize_t ldc, int m, int n, int accumulate) noexcept nogil
    void ukernel_generic_rows "fastnn_ukernel_generic_rows"(
        Py_ssize_t kc, const float *ap, const float *base, const Py_ssize_t *offs, Py_ssize_t half, float *c,
        Py_ssize_t ldc, int m, int n, int accumulate)
    ctypedef void (*ukernel_arows_t "fastnn_ukernel_arows_t")(
        Py_ssize_t kc, const float *const *arow, const Py_ssize_t *pos, const float *bp, float *c,
        Py_ssize_t ldc, int m, int n, int accumulate) noexcept nogil
    void ukernel_generic_arows "fastnn_ukernel_generic_arows"(
        Py_ssize_t kc, const float *const *arow, const Py_ssize_t *pos, const float *bp, float *c,
        Py_ssize_t ldc, int m, int n, int accumulate)
    void ukernel_avx2_arows "fastnn_ukernel_avx2_arows"(
        Py_ssize_t kc, const float *const *arow, const Py_ssize_t *pos, const float *bp, float *c,
        Py_ssize_t ldc, int m, int n, int accumulate)
    void ukernel_avx2_rows "fastnn_ukernel_avx2_rows"(
        Py_ssize_t kc, const float *ap, const float *base, const Py_ssize_t *offs, Py_ssize_t half, float *c,
        Py_ssize_t ldc, int m, int n, int accumulate)
    int cpu_has_avx2_fma "fastnn_cpu_has_avx2_fma"()
    int omp_team_size "fastnn_gemm_team_size"()
    void omp_barrier "fastnn_gemm_barrier"()
    int omp_thread_num "fastnn_gemm_thread_num"()


cdef struct Operand:
    const float *ptr
    Py_ssize_t rs       # step between rows of op(X)
    Py_ssize_t cs       # step between columns of op(X)


cdef struct GemmPlan:
    Py_ssize_t m, n, k
    Py_ssize_t mc       # upper bound of the A block height (a multiple of MR)
    Py_ssize_t kc       # depth of a block (k split into equal parts of at most KC)
    Py_ssize_t nc       # width of a B block (a multiple of NR)
    Py_ssize_t a_size   # floats of one thread's A buffer
    Py_ssize_t b_size   # floats of the shared B buffer


# Block sizes: a KC x NR micro-panel of B (20 KiB at KC=320) fits in a 32 KiB L1 next to an
# A micro-panel (7.5 KiB), MC x KC of A (300 KiB) in a 0.5-1 MiB L2, KC x NC of B (5 MiB) in L3.
# Measured on an AMD Zen 4 (tools: benchmarks/bench_cython_gemm_conv.py); within a few percent
# of each other for MC 72..240 and KC 192..384. KC >= 288 keeps a 3x3x32 convolution's
# K = 288 in one block.
cdef Py_ssize_t _MC = 240
cdef Py_ssize_t _KC = 320
cdef Py_ssize_t _NC = 4080

#: the micro-kernels in use (set at import: AVX2 when the CPU has it)
cdef ukernel_t _ukernel = ukernel_generic
cdef ukernel_rows_t _ukernel_rows = ukernel_generic_rows
cdef ukernel_arows_t _ukernel_arows = ukernel_generic_arows
cdef bint _simd = False


def set_blocking(Py_ssize_t mc=240, Py_ssize_t kc=320, Py_ssize_t nc=4080):
    """Set the cache block sizes (MC, KC, NC) of the packed GEMM; returns the previous ones.

    For experiments (how do the block sizes change GFLOP/s?) and for tests, which use tiny
    blocks so that small matrices run through every loop of the driver."""
    global _MC, _KC, _NC
    if mc < 1 or kc < 1 or nc < 1:
        raise ValueError(f"block sizes must be positive, got mc={mc}, kc={kc}, nc={nc}")
    old = (_MC, _KC, _NC)
    _MC, _KC, _NC = mc, kc, nc
    return old


def get_blocking():
    """The cache block sizes (MC, KC, NC) of the packed GEMM."""
    return (_MC, _KC, _NC)


def simd_available():
    """True when this CPU can run the AVX2+FMA micro-kernel (checked at run time)."""
    return bool(HAVE_AVX2_KERNEL and cpu_has_avx2_fma())


def set_simd(bint enabled):
    """Use the AVX2+FMA micro-kernel (``True``, when the CPU has it) or the portable C one.

    Returns the previous setting. ``set_simd(False)`` is how tests cover the fallback that a
    CPU without AVX2 (or a non-x86 machine) runs."""
    global _ukernel, _ukernel_rows, _ukernel_arows, _simd
    old = _simd
    if enabled and simd_available():
        _ukernel, _ukernel_rows, _ukernel_arows, _simd = ukernel_avx2, ukernel_avx2_rows, ukernel_avx2_arows, True
    else:
        _ukernel, _ukernel_rows, _ukernel_arows, _simd = (ukernel_generic, ukernel_generic_rows,
                                                          ukernel_generic_arows, False)
    return old


def simd_enabled():
    """True when the packed GEMM runs the AVX2+FMA micro-kernel."""
    return bool(_simd)


def micro_kernel():
    """Name and tile of the micro-kernel in use, e.g. ``"avx2+fma 6x16"``."""
    return f"{'avx2+fma' if _simd else 'generic C'} {MR}x{NR}"


set_simd(True)


cdef inline Py_ssize_t _cdiv(Py_ssize_t a, Py_ssize_t b) noexcept nogil:
    return (a + b - 1) // b


cdef inline Py_ssize_t _round_up(Py_ssize_t a, Py_ssize_t b) noexcept nogil:
    return _cdiv(a, b) * b


cdef inline Py_ssize_t _min(Py_ssize_t a, Py_ssize_t b) noexcept nogil:
    return a if a < b else b


cdef inline Operand _operand(const float *ptr, Py_ssize_t ld, bint trans) noexcept nogil:
    """op(X) for a row-major X with leading dimension ld: X itself, or its transpose."""
    cdef Operand x
    x.ptr = ptr
    if trans:
        x.rs, x.cs = 1, ld
    else:
        x.rs, x.cs = ld, 1
    return x


cdef GemmPlan _plan(Py_ssize_t m, Py_ssize_t n, Py_ssize_t k) noexcept nogil:
    """Block sizes for an m x n x k product: blocks of (nearly) equal size, so that e.g.
    k = 400 runs as two blocks of 200, not 320 + 80."""
    cdef GemmPlan plan
    plan.m, plan.n, plan.k = m, n, k
    plan.kc = _cdiv(k, _cdiv(k, _KC))
    plan.nc = _round_up(_cdiv(n, _cdiv(n, _NC)), NR)
    plan.mc = _round_up(_min(_MC, m), MR)
    plan.a_size = _round_up(plan.mc * plan.kc, 16)        # 16 floats = one 64-byte cache line
    plan.b_size = _round_up(plan.nc * plan.kc, 16)
    return plan


cdef void _pack_a(Operand A, Py_ssize_t i0, Py_ssize_t mc, Py_ssize_t p0, Py_ssize_t kc,
                  float *ap) noexcept nogil:
    """Copy op(A)[i0:i0+mc, p0:p0+kc] into MR-row micro-panels, each stored column by column
    (panel t at ap + t*kc*MR, element (i, p) at [p*MR + i]), the last one zero-padded.

    As in :func:`_pack_b`, the loops follow the source's layout: a row-major A is read along
    its rows (MR rows at a time, MR streams), a transposed A along the stored rows, i.e. a
    whole column of op(A) block at a time."""
    cdef Py_ssize_t t, i, p, mr, full = mc // MR
    cdef const float *src
    cdef float *dst
    if A.rs == 1:                                   # transposed: op(A)'s columns are contiguous
        for p in range(kc):
            src = A.ptr + i0 + (p0 + p) * A.cs
            dst = ap + p * MR
            for t in range(full):
                for i in range(MR):
                    dst[t * kc * MR + i] = src[t * MR + i]
    else:                                           # row-major: MR rows side by side
        for t in range(full):
            src = A.ptr + (i0 + t * MR) * A.rs + p0 * A.cs
            dst = ap + t * kc * MR
            for p in range(kc):
                for i in range(MR):
                    dst[p * MR + i] = src[i * A.rs + p * A.cs]
    mr = mc - full * MR
    if mr > 0:                                      # the last, partial panel, zero-padded
        src = A.ptr + (i0 + full * MR) * A.rs + p0 * A.cs
        dst = ap + full * kc * MR
        for p in range(kc):
            for i in range(mr):
                dst[p * MR + i] = src[i * A.rs + p * A.cs]
            for i in range(mr, MR):
                dst[p * MR + i] = 0


cdef void _pack_b(Operand B, Py_ssize_t p0, Py_ssize_t kc, Py_ssize_t j0, Py_ssize_t nc,
                  float *bp) noexcept nogil:
    """Copy op(B)[p0:p0+kc, j0:j0+nc] into NR-column micro-panels, each stored row by row
    (panel q at bp + q*kc*NR, element (p, j) at [p*NR + j]), the last one zero-padded.

    The loops follow the layout of the *source*, so that memory is read in long unit-stride
    runs the prefetcher can follow: along rows of B when B is row-major (one row of the
    block feeds every panel in turn), along rows of the stored matrix when op(B) is a
    transpose. Reading panel by panel instead would touch kc different rows (pages) for
    every 64 bytes -- ruinous for a wide B such as a convolution's (288, 65536) columns."""
    cdef Py_ssize_t p, j, q, nr, full = nc // NR
    cdef const float *src
    cdef float *dst
    if B.cs == 1:                                   # row-major: walk each row of the block
        for p in range(kc):
            src = B.ptr + (p0 + p) * B.rs + j0
            dst = bp + p * NR
            for q in range(full):
                for j in range(NR):
                    dst[q * kc * NR + j] = src[q * NR + j]
    else:                                           # transposed: walk each stored row (a column of op(B))
        for q in range(full):
            for j in range(NR):
                src = B.ptr + p0 * B.rs + (j0 + q * NR + j) * B.cs
                dst = bp + q * kc * NR + j
                for p in range(kc):
                    dst[p * NR] = src[p * B.rs]
    nr = nc - full * NR
    if nr > 0:                                      # the last, partial panel, zero-padded
        dst = bp + full * kc * NR
        for p in range(kc):
            src = B.ptr + (p0 + p) * B.rs + (j0 + full * NR) * B.cs
            for j in range(nr):
                dst[p * NR + j] = src[j * B.cs]
            for j in range(nr, NR):
                dst[p * NR + j] = 0


cdef void _gemm_serial(const GemmPlan *plan, Operand A, Operand B, float *c, Py_ssize_t ldc,
                       Py_ssize_t m, Py_ssize_t n, bint accumulate, float *bpack, float *apack,
                       ukernel_t uk) noexcept nogil:
    """The five loops of the packed GEMM on one thread: C (m x n) (+)= op(A) (m x k) @ op(B) (k x n).

    ``bpack`` holds a KC x NC block of B, ``apack`` an MC x KC block of A (sizes from ``plan``)."""
    cdef Py_ssize_t k = plan.k
    # A blocks of equal height (a multiple of MR), at most plan.mc rows
    cdef Py_ssize_t mc_step = _round_up(_cdiv(m, _cdiv(m, plan.mc)), MR)
    cdef Py_ssize_t jb, pb, ib, q, t, jc, pc, ic, ir, nc, kc, mc, nr, n_panels
    cdef bint acc
    cdef float *cq
    cdef const float *bq
    for jb in range(_cdiv(n, plan.nc)):                        # jc loop: B block columns
        jc = jb * plan.nc
        nc = _min(plan.nc, n - jc)
        n_panels = _cdiv(nc, NR)
        for pb in range(_cdiv(k, plan.kc)):                    # pc loop: the shared dimension
            pc = pb * plan.kc
            kc = _min(plan.kc, k - pc)
            acc = accumulate or pc > 0                         # later k blocks add to C
            _pack_b(B, pc, kc, jc, nc, bpack)                  # pack the kc x nc block of B
            for ib in range(_cdiv(m, mc_step)):                # ic loop: A block rows
                ic = ib * mc_step
                mc = _min(mc_step, m - ic)
                _pack_a(A, ic, mc, pc, kc, apack)              # pack the mc x kc block of A
                for q in range(n_panels):                      # jr loop: a B micro-panel in L1
                    nr = _min(NR, nc - q * NR)
                    bq = bpack + q * kc * NR
                    cq = c + ic * ldc + jc + q * NR
                    for t in range(_cdiv(mc, MR)):             # ir loop: A micro-panels stream by
                        ir = t * MR
                        uk(kc, apack + ir * kc, bq, cq + ir * ldc, ldc,
                           <int>_min(MR, mc - ir), <int>nr, acc)


cdef void _thread_grid(Py_ssize_t m_panels, Py_ssize_t n_panels, int nt, int *tm, int *tn) noexcept nogil:
    """Split nt threads into a tm x tn grid over the micro-tiles of C, minimising the tiles of
    the busiest thread; ties go to more column blocks."""
    cdef int d
    cdef Py_ssize_t cost, best = -1
    tm[0], tn[0] = 1, nt
    for d in range(1, nt + 1):
        if nt % d:
            continue
        cost = _cdiv(m_panels, d) * _cdiv(n_panels, nt // d)
        if best < 0 or cost < best:
            best = cost
            tm[0], tn[0] = d, nt // d


cdef void _gemm_thread(int tid, int nt, const GemmPlan *plan, Operand A, Operand B, float *c,
                       Py_ssize_t ldc, bint accumulate, float *workspace, ukernel_t uk) noexcept nogil:
    """Thread ``tid`` of ``nt`` computes its own rectangle of C with the serial packed GEMM.

    The threads form a tm x tn grid over C: thread (ti, tj) owns a band of whole MR-row
    micro-panels and a band of whole NR-column micro-panels, packs the rows of A and the
    columns of B that its rectangle needs into its own buffers, and never waits for another
    thread. (The price: when tm > 1 two threads pack the same columns of B, when tn > 1 the
    same rows of A -- a few percent of the work for a large product, and nothing for the
    short-and-wide products of a convolution, which split by columns. The gain: no barriers,
    so a thread that the OS preempts delays only its own rectangle.)"""
    cdef Py_ssize_t m = plan.m, n = plan.n
    cdef Py_ssize_t m_panels = _cdiv(m, MR), n_panels = _cdiv(n, NR)
    cdef int tm, tn, ti, tj
    _thread_grid(m_panels, n_panels, nt, &tm, &tn)
    ti, tj = tid // tn, tid % tn
    cdef Py_ssize_t r0 = _min((ti * m_panels // tm) * MR, m)
    cdef Py_ssize_t r1 = _min(((ti + 1) * m_panels // tm) * MR, m)
    cdef Py_ssize_t c0 = _min((tj * n_panels // tn) * NR, n)
    cdef Py_ssize_t c1 = _min(((tj + 1) * n_panels // tn) * NR, n)
    if r1 <= r0 or c1 <= c0:
        return
    cdef Operand A_mine = A, B_mine = B
    A_mine.ptr = A.ptr + r0 * A.rs
    B_mine.ptr = B.ptr + c0 * B.cs
    cdef float *mine = workspace + tid * (plan.a_size + plan.b_size)
    _gemm_serial(plan, A_mine, B_mine, c + r0 * ldc + c0, ldc, r1 - r0, c1 - c0, accumulate,
                 mine, mine + plan.b_size, uk)


#: whether tall products share one packed B between threads (see _gemm_thread_shared_b)
cdef bint _share_b = False


def set_shared_packing(bint enabled):
    """Parallel products with rows enough for every thread: pack each block of B once, shared
    by all threads, with barriers (``True``) -- or let every thread pack what it needs on its
    own and never wait (``False``, the default). Returns the previous setting.

    Sharing packs nothing twice, so on an idle machine it saves a few percent of a large
    product; but at each barrier the threads wait for the slowest, and spin while they wait.
    On the 2-core development machine, shared with other jobs, the independent threads were
    faster (1024^3: 26-27 ms against 28-30 ms, and ~20 % less CPU time), hence the default."""
    global _share_b
    old, _share_b = _share_b, enabled
    return bool(old)


cdef void _gemm_thread_shared_b(int tid, int nt, const GemmPlan *plan, Operand A, Operand B,
                                float *c, Py_ssize_t ldc, bint accumulate, float *workspace,
                                ukernel_t uk) noexcept nogil:
    """Thread ``tid`` of ``nt`` when C is split by rows only: every thread needs all of B, so
    the threads pack each KC x NC block of B *together* (each a contiguous range of its
    micro-panels) into one shared buffer, meet at a barrier, and then each packs its own rows
    of A and runs its tiles. Nothing is packed twice; the price is two barriers per block of
    B (a thread that the OS preempts holds the others up there), so this is used for tall
    products, where the blocks of B are few and large."""
    cdef Py_ssize_t m = plan.m, n = plan.n, k = plan.k
    cdef Py_ssize_t m_panels = _cdiv(m, MR)
    cdef Py_ssize_t r0 = _min((tid * m_panels // nt) * MR, m)
    cdef Py_ssize_t r1 = _min(((tid + 1) * m_panels // nt) * MR, m)
    cdef Py_ssize_t mc_step = plan.mc
    if r1 > r0:
        mc_step = _round_up(_cdiv(r1 - r0, _cdiv(r1 - r0, plan.mc)), MR)
    cdef float *bpack = workspace
    cdef float *apack = workspace + plan.b_size + tid * plan.a_size
    cdef Py_ssize_t jb, pb, ib, q, t, q0, q1, jc, pc, ic, ir, nc, kc, mc, nr, n_panels
    cdef bint acc
    cdef float *cq
    cdef const float *bq
    for jb in range(_cdiv(n, plan.nc)):                        # jc loop
        jc = jb * plan.nc
        nc = _min(plan.nc, n - jc)
        n_panels = _cdiv(nc, NR)
        for pb in range(_cdiv(k, plan.kc)):                    # pc loop
            pc = pb * plan.kc
            kc = _min(plan.kc, k - pc)
            acc = accumulate or pc > 0
            omp_barrier()                                      # all done with the previous block
            q0 = tid * n_panels // nt                          # my share of the packing
            q1 = (tid + 1) * n_panels // nt
            if q1 > q0:
                _pack_b(B, pc, kc, jc + q0 * NR, _min(nc, q1 * NR) - q0 * NR, bpack + q0 * kc * NR)
            omp_barrier()                                      # the whole block is packed
            for ib in range(_cdiv(r1 - r0, mc_step)):           # ic loop over my rows
                ic = r0 + ib * mc_step
                mc = _min(mc_step, r1 - ic)
                _pack_a(A, ic, mc, pc, kc, apack)
                for q in range(n_panels):                      # jr loop
                    nr = _min(NR, nc - q * NR)
                    bq = bpack + q * kc * NR
                    cq = c + ic * ldc + jc + q * NR
                    for t in range(_cdiv(mc, MR)):             # ir loop
                        ir = t * MR
                        uk(kc, apack + ir * kc, bq, cq + ir * ldc, ldc,
                           <int>_min(MR, mc - ir), <int>nr, acc)


cdef void _gemm_packed_run(const GemmPlan *plan, Operand A, Operand B, float *c, Py_ssize_t ldc,
                           bint accumulate, float *workspace, int num_threads) noexcept nogil:
    """C (+)= op(A) @ op(B) on ``num_threads`` threads, C row-major with leading dimension ldc.

    ``workspace`` holds ``_gemm_workspace_size(plan, num_threads)`` floats, 64-byte aligned:
    one B block and one A block per thread. With num_threads == 1 no parallel region is
    opened, so this may be called from inside a parallel loop (each thread with its own
    workspace)."""
    cdef ukernel_t uk = _ukernel
    cdef int tid = 0, nt = 1
    if num_threads <= 1:
        _gemm_serial(plan, A, B, c, ldc, plan.m, plan.n, accumulate, workspace,
                     workspace + plan.b_size, uk)
        return
    cdef bint tall = _share_b and _cdiv(plan.m, MR) >= 4 * num_threads   # rows for every thread
    with parallel(num_threads=num_threads):
        tid = omp_thread_num()
        nt = omp_team_size()
        if tall:
            _gemm_thread_shared_b(tid, nt, plan, A, B, c, ldc, accumulate, workspace, uk)
        else:
            _gemm_thread(tid, nt, plan, A, B, c, ldc, accumulate, workspace, uk)


cdef inline Py_ssize_t _gemm_workspace_size(const GemmPlan *plan, int num_threads) noexcept nogil:
    return num_threads * (plan.a_size + plan.b_size)


# ------------------------------------------------------------------ the workspace
# Packing buffers (and, in _conv, column buffers) live in one module-level float32 array that
# only ever grows: training calls the same shapes every step, so after the first step no call
# allocates. A lock keeps two Python threads from sharing it while the GIL is released.

import threading as _threading
import numpy as _np

_workspace_lock = _threading.Lock()
cdef object _ws_array = None
cdef float *_ws_ptr = NULL
cdef Py_ssize_t _ws_size = 0


cdef float *_workspace(Py_ssize_t nfloats) except NULL:
    """A 64-byte aligned buffer of at least ``nfloats`` floats (contents undefined).
    Call with ``_workspace_lock`` held, and keep holding it while the buffer is used."""
    global _ws_array, _ws_ptr, _ws_size
    cdef float[::1] view
    cdef size_t addr
    if nfloats > _ws_size:
        size = max(nfloats, _ws_size + _ws_size // 2)      # grow by 1.5x at least
        arr = _np.empty(size + 16, dtype=_np.float32)
        view = arr
        addr = <size_t>&view[0]
        _ws_ptr = <float *>((addr + 63) & ~(<size_t>63))
        _ws_array, _ws_size = arr, size
    return _ws_ptr


def workspace_floats():
    """Floats held by this module's workspace (it grows to the largest call seen, never shrinks)."""
    return _ws_size


def release_workspace():
    """Free the workspace (the next call allocates it again)."""
    global _ws_array, _ws_ptr, _ws_size
    with _workspace_lock:
        _ws_array, _ws_ptr, _ws_size = None, NULL, 0
