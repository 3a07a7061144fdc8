"""GEMM in Numba, one rung of the optimisation ladder per function: ``C = op(A) @ op(B)``.

Read the rungs in order; each docstring says what changed from the rung below and why it is
faster. The same ladder exists in the Cython backend (``src_cython/``) under the same names,
so the two roads to compiled speed can be compared line by line and measured side by side
(``pytest benchmarks/bench_numba.py --benchmark-only``; ``docs/numba.md`` has measured GFLOP/s).

=============  ================================================================================
rung           idea
=============  ================================================================================
``naive``      textbook ``i, j, p`` loops with a scalar accumulator
``reordered``  ``i, p, j``: the inner loop walks rows of B and C with unit stride -> SIMD
``tiled``      cache blocking: a block of B is reused from L1/L2 by many rows of A
``packed``     A and B copied into contiguous panels + a 4x32 register-blocked micro-kernel
``parallel``   ``packed`` with the blocks of C spread over the cores (``prange``)
``blas``       ``np.matmul`` -> OpenBLAS: the yardstick (hand-written assembly kernels)
=============  ================================================================================

The three first rungs take A as (M, K) and B as (K, N), C-contiguous; the transposed layouts
are first copied by :func:`transpose` (a blocked, parallel transpose). ``packed`` and
``parallel`` read the transposed layouts directly while they pack, at no extra cost.

Where Numba needs a different trick than C/Cython
-------------------------------------------------
* There are no SIMD intrinsics: vectorisation is entirely LLVM's loop and SLP vectorisers'
  decision. They vectorise a loop when its inner index is unit-stride, the trip count is
  known or checkable, and (for reductions) fast-math allows reassociation.
* ``prange`` parallelises one loop per region (nested ``prange`` runs serially inside), so the
  parallel rung puts it on the loop over blocks of C, never on an inner loop.
* Python's negative indices: ``a[i]`` with ``i < 0`` means ``a[len(a) + i]``, so Numba guards
  every index it cannot prove non-negative with a compare-and-select, and that alone can stop
  LLVM from vectorising a loop. Inner loops therefore index *views that start where the loop
  starts* with a counter from ``range(n)`` (see :func:`micro_kernel`, :func:`gemm_tiled`).
* Numba has no stack arrays, and accumulators in a heap array stay in memory (LLVM cannot prove
  they do not alias A or B). The micro-kernel therefore takes its tile from
  :func:`~._common.local_tile`, an ``alloca`` that LLVM promotes to registers, and the MR = 4
  rows of the tile are written out by hand so that, after LLVM fully unrolls the NR = 32 loop,
  every accumulator has a constant address. (Measured on an AVX-512 Zen 4 core: ~6 GFLOP/s
  with a heap tile, ~80-100 GFLOP/s with the stack tile.)
"""
from __future__ import annotations

import numpy as np
from numba import prange

from ._common import MR, NR, jit, local_tile, num_threads

#: cache blocking of the packed rungs: a KC x NR panel of B (48 KB) stays in L1/L2 while the
#: MC x KC block of A (192 KB) sits in L2, and the KC x NC block of B (up to 6 MB) in L3.
#: K is cut into equal blocks of at most KC (K = 400 -> 2 x 200, not 384 + 16).
KC, MC, NC = 384, 128, 4096
#: blocks of the ``tiled`` rung: TI rows of A, a TP x TJ block of B (512 KB, L2), a TI x TJ strip of C (16 KB, L1)
TI, TP, TJ = 8, 256, 512
#: below this many multiply-adds ``parallel`` runs on one thread (waking threads costs ~10 us)
PARALLEL_MIN_WORK = 1 << 20


# ============================================================================ rung 0: helpers

@jit(parallel=True)
def transpose(a):
    """A C-contiguous copy of ``a.T``, by 32 x 32 blocks (one block of the source and one of
    the destination fit in L1, so both are read and written a cache line at a time)."""
    m, n = a.shape
    out = np.empty((n, m), dtype=a.dtype)
    nbi = (m + 31) // 32
    nbj = (n + 31) // 32
    for blk in prange(nbi * nbj):
        i0 = (blk // nbj) * 32
        j0 = (blk % nbj) * 32
        for i in range(i0, min(i0 + 32, m)):
            for j in range(j0, min(j0 + 32, n)):
                out[j, i] = a[i, j]
    return out


# ============================================================================ rung 1: naive

@jit(fastmath=False, entry=True)
def gemm_naive(a, b, c):
    """Rung 1, the textbook: ``c[i, j] = sum_p a[i, p] * b[p, j]``, loops ``i, j, p``.

    Correct and slow. The inner loop walks *down a column* of B: consecutive ``p`` are ``N``
    floats apart in memory, so every multiply-add touches a new 64-byte cache line and uses
    4 bytes of it. The accumulator ``s`` is one scalar chain: each add waits for the previous
    one (4 cycles of FMA latency), and without fast-math LLVM may not reorder the sum, so it
    cannot vectorise it either. Compiled without ``fastmath`` on purpose: this is the
    baseline of what a compiler does with loops written as in a textbook."""
    m, k = a.shape
    n = b.shape[1]
    for i in range(m):
        for j in range(n):
            s = np.float32(0.0)
            for p in range(k):
                s += a[i, p] * b[p, j]
            c[i, j] = s


# ============================================================================ rung 2: reordered

@jit(entry=True)
def gemm_reordered(a, b, c):
    """Rung 2, loop order ``i, p, j``: ``c[i, :] += a[i, p] * b[p, :]``.

    Same arithmetic, different order. Now the innermost loop runs along a *row* of B and a
    row of C, both unit-stride: every byte of every cache line fetched is used, the hardware
    prefetcher sees a plain stream, and LLVM vectorises the loop (8 floats per AVX2
    instruction, 16 with AVX-512, fused multiply-add thanks to ``fastmath``'s ``contract``).
    No reduction is reordered, so no reassociation is even needed.

    What remains slow: for each ``(i, p)`` a whole row of B (N floats) is streamed again, and
    the row of C is loaded and stored once per ``p``. For N = 1024 that row set no longer fits
    in L1, so the kernel runs at the speed of L2/L3, not of the FMA units."""
    m, k = a.shape
    n = b.shape[1]
    for i in range(m):
        for j in range(n):
            c[i, j] = 0.0
        for p in range(k):
            aip = a[i, p]
            for j in range(n):
                c[i, j] += aip * b[p, j]


# ============================================================================ rung 3: tiled

@jit(entry=True)
def gemm_tiled(a, b, c):
    """Rung 3, cache blocking: the ``i, p, j`` loops of rung 2, run block by block.

    The ``TP x TJ`` block of B (256 x 512 floats = 512 KB, in L2) is reused by ``TI`` = 8 rows
    of A before the next block is touched, and the ``TI x TJ`` strip of C (16 KB) stays in L1
    while the ``p`` loop runs over it: every float of B now comes from memory about ``M / TI``
    times instead of ``M`` times. The inner loop is still rung 2's vectorised
    ``c[i, j0:j1] += a[i, p] * b[p, j0:j1]``.

    Measured honestly: on a Zen 4 core (1 MB L2, aggressive prefetchers) this rung is *not*
    faster than rung 2 (about 0.85-0.9x at 256..1024). Both are limited by the same thing --
    the row of C is loaded and stored once per multiply-add vector, from L1 -- and the blocks
    add loop overhead. Cache blocking pays once the arithmetic itself stops touching memory,
    which is what rung 4's register tile does; on CPUs with small caches, where rung 2's
    stream of B falls out of L2, tiling alone helps more."""
    m, k = a.shape
    n = b.shape[1]
    for i in range(m):
        for j in range(n):
            c[i, j] = 0.0
    for i0 in range(0, m, TI):
        i1 = min(i0 + TI, m)
        for p0 in range(0, k, TP):
            p1 = min(p0 + TP, k)
            for j0 in range(0, n, TJ):
                j1 = min(j0 + TJ, n)
                for i in range(i0, i1):
                    crow = c[i, j0:j1]          # views: the inner index starts at 0 (see
                    for p in range(p0, p1):     # micro_kernel on Numba's negative-index check)
                        aip = a[i, p]
                        brow = b[p, j0:j1]
                        for j in range(crow.shape[0]):
                            crow[j] += aip * brow[j]


# ============================================================================ rung 4: packed

@jit()
def pack_a(a, trans_a, i0, mc, p0, kc, ap):
    """Copy the ``mc x kc`` block of op(A) at ``(i0, p0)`` into ``ap`` as MR-row panels.

    Panel ``q`` (rows ``i0 + q*MR ...``) occupies ``ap[q*kc*MR : (q+1)*kc*MR]`` with element
    ``(p, r)`` at ``p*MR + r``: exactly the order in which the micro-kernel reads A, so it
    reads one contiguous stream. Rows past ``mc`` are zero (the edge tile computes zeros and
    needs no special case). With ``trans_a`` the stored array is (K, M) and the panel is read
    from its rows -- the transpose costs nothing extra. (Rows are taken as views so that the
    copy loops index from 0; see :func:`micro_kernel` on Numba's negative-index check.)"""
    for q in range((mc + MR - 1) // MR):
        panel = ap[q * kc * MR:(q + 1) * kc * MR]
        rows = min(MR, mc - q * MR)
        if trans_a:
            for p in range(kc):
                src = a[p0 + p, i0 + q * MR:i0 + q * MR + rows]
                dst = panel[p * MR:(p + 1) * MR]
                for r in range(rows):
                    dst[r] = src[r]
                for r in range(rows, MR):
                    dst[r] = 0.0
        else:
            for r in range(rows):
                src = a[i0 + q * MR + r, p0:p0 + kc]
                for p in range(kc):
                    panel[p * MR + r] = src[p]
            for r in range(rows, MR):
                for p in range(kc):
                    panel[p * MR + r] = 0.0


@jit()
def pack_b_panel(b, trans_b, p0, kc, j0, nc, q, bp):
    """Copy NR-column panel ``q`` of the ``kc x nc`` block of op(B) at ``(p0, j0)`` into
    ``bp[q*kc*NR : (q+1)*kc*NR]``, element ``(p, j)`` at ``p*NR + j``, zero past ``nc``."""
    panel = bp[q * kc * NR:(q + 1) * kc * NR]
    cols = min(NR, nc - q * NR)
    jq = j0 + q * NR
    if trans_b:
        for j in range(cols):
            src = b[jq + j, p0:p0 + kc]         # B is stored (N, K): read along its rows
            for p in range(kc):
                panel[p * NR + j] = src[p]
        for j in range(cols, NR):
            for p in range(kc):
                panel[p * NR + j] = 0.0
    else:
        for p in range(kc):
            src = b[p0 + p, jq:jq + cols]
            dst = panel[p * NR:(p + 1) * NR]
            for j in range(cols):
                dst[j] = src[j]
            for j in range(cols, NR):
                dst[j] = 0.0


@jit()
def micro_kernel(kc, ap, bp, c, i0, j0, mr, nr, overwrite):
    """The register-blocked heart of the packed GEMM: a 4 x 32 tile of C from one A panel
    ``ap`` (``kc x 4``) and one B panel ``bp`` (``kc x 32``), written at ``c[i0:i0+mr, j0:j0+nr]``.

    For each ``p``: 4 floats of A are broadcast, 32 floats of B are loaded (2 AVX-512
    vectors), and 4 x 32 = 128 multiply-adds are made into accumulators that live in
    *registers* for the whole ``p`` loop -- 8 zmm registers, against 2 vector loads and 4
    broadcasts per 8 FMA instructions. C is touched once per tile at the end, not once per
    ``p``, which is what rungs 2-3 could not avoid.

    Numba specifics:

    * the tile comes from :func:`local_tile` (a stack ``alloca``; a heap array would stay in
      memory), and the four rows are spelt out so that once LLVM unrolls the ``j`` loop every
      accumulator has a constant address and becomes a register;
    * ``ap`` and ``bp`` are *views starting at the panel* and every index is built from loop
      counters that start at 0. Numba wraps negative indices (``a[-1]`` is the last element):
      an index like ``offset + j`` with an ``offset`` argument might be negative as far as
      LLVM knows, so each access gets a compare-and-select and the loop no longer vectorises.
      Counters from ``range(n)`` are provably >= 0, so the check disappears. (C has no
      wraparound and never needed this.)"""
    acc = local_tile()
    for t in range(MR * NR):
        acc[t] = 0.0
    for p in range(kc):
        a0 = ap[p * MR]
        a1 = ap[p * MR + 1]
        a2 = ap[p * MR + 2]
        a3 = ap[p * MR + 3]
        for j in range(NR):
            bj = bp[p * NR + j]
            acc[j] += a0 * bj
            acc[NR + j] += a1 * bj
            acc[2 * NR + j] += a2 * bj
            acc[3 * NR + j] += a3 * bj
    for r in range(mr):
        crow = c[i0 + r, j0:j0 + nr]
        if overwrite:
            for j in range(nr):
                crow[j] = acc[r * NR + j]
        else:
            for j in range(nr):
                crow[j] += acc[r * NR + j]


@jit()
def micro_kernel_rows(kc, r0, r1, r2, r3, bp, c, i0, j0, mr, nr, overwrite):
    """:func:`micro_kernel` with the four rows of A given as four separate 1-D views
    ``r0 .. r3`` (each at least ``kc`` long) instead of one interleaved packed panel.

    Same registers and FMAs; A is read as four streams of broadcasts instead of one. The point
    is that A needs no packing when its rows already exist contiguously somewhere -- the weight
    gradient of a stride-1 convolution takes them as shifted views of the padded image
    (``conv.py``). Rows past ``mr`` may be any valid view (they are computed, never stored)."""
    acc = local_tile()
    for t in range(MR * NR):
        acc[t] = 0.0
    for p in range(kc):
        a0 = r0[p]
        a1 = r1[p]
        a2 = r2[p]
        a3 = r3[p]
        for j in range(NR):
            bj = bp[p * NR + j]
            acc[j] += a0 * bj
            acc[NR + j] += a1 * bj
            acc[2 * NR + j] += a2 * bj
            acc[3 * NR + j] += a3 * bj
    for r in range(mr):
        crow = c[i0 + r, j0:j0 + nr]
        if overwrite:
            for j in range(nr):
                crow[j] = acc[r * NR + j]
        else:
            for j in range(nr):
                crow[j] += acc[r * NR + j]


@jit()
def macro_kernel(ap, bp, c, ic, mc, jc, nc, kc, q0, q1, overwrite):
    """All micro-tiles of one packed ``mc x kc`` A block times B panels ``q0 .. q1-1``.

    The B panel (``kc x NR``, up to 48 KB) is the outer loop, so it stays in L1/L2 while every A panel
    of the block (from L2) passes over it."""
    pa = kc * MR
    pb = kc * NR
    for q in range(q0, q1):
        bpanel = bp[q * pb:(q + 1) * pb]
        for t in range((mc + MR - 1) // MR):
            micro_kernel(kc, ap[t * pa:(t + 1) * pa], bpanel, c, ic + t * MR, jc + q * NR,
                         min(MR, mc - t * MR), min(NR, nc - q * NR), overwrite)


@jit()
def gemm_packed_block(a, b, c, trans_a, trans_b, accumulate, ap, bp, i0, i1, j0, j1):
    """``c[i0:i1, j0:j1] (+)= (op(a) @ op(b))[i0:i1, j0:j1]`` by the packed algorithm on one
    thread, with caller-provided packing buffers ``ap`` (>= min(MC, rows) * min(KC, K) floats)
    and ``bp`` (>= min(NC, cols rounded up to NR) * min(KC, K)).

    The five loops of the BLIS algorithm: ``jc`` (NC columns of C) > ``pc`` (KC of the inner
    dimension: pack that B block) > ``ic`` (MC rows: pack that A block) > ``q`` (one NR-column
    B panel) > ``t`` (one MR-row A panel) -> micro-kernel."""
    k = a.shape[0] if trans_a else a.shape[1]
    kblock = (k + (k + KC - 1) // KC - 1) // ((k + KC - 1) // KC)    # K split evenly, <= KC
    for jc in range(j0, j1, NC):
        nc = min(NC, j1 - jc)
        npanels = (nc + NR - 1) // NR
        for pc in range(0, k, kblock):
            kc = min(kblock, k - pc)
            overwrite = pc == 0 and not accumulate
            for q in range(npanels):
                pack_b_panel(b, trans_b, pc, kc, jc, nc, q, bp)
            for ic in range(i0, i1, MC):
                mc = min(MC, i1 - ic)
                pack_a(a, trans_a, ic, mc, pc, kc, ap)
                macro_kernel(ap, bp, c, ic, mc, jc, nc, kc, 0, npanels, overwrite)


@jit()
def gemm_packed_into(a, b, c, trans_a, trans_b, accumulate, ap, bp):
    """``c (+)= op(a) @ op(b)`` on one thread with caller-provided packing buffers.

    This is the GEMM the convolution kernels call once per sample inside their own ``prange``
    (see ``conv.py``); ``accumulate=True`` adds to ``c`` (used to fuse the bias)."""
    gemm_packed_block(a, b, c, trans_a, trans_b, accumulate, ap, bp, 0, c.shape[0], 0, c.shape[1])


@jit(entry=True)
def gemm_packed(a, b, c, trans_a, trans_b):
    """Rung 4, packing + a register-blocked micro-kernel (the BLIS/GotoBLAS algorithm).

    Changed from rung 3:

    * **packing**: before use, each ``KC x NC`` block of B and ``MC x KC`` block of A is copied
      into a contiguous buffer in exactly the order the micro-kernel reads it
      (:func:`pack_b_panel`, :func:`pack_a`). The copy costs O(MK + KN) but every later read
      is a unit-stride stream with no TLB misses and no cache-set conflicts, whatever the
      leading dimensions. Transposed inputs are handled by the packing too.
    * **register blocking**: :func:`micro_kernel` keeps a 4 x 32 tile of C in registers for a
      whole ``KC`` loop, so per 128 multiply-adds it loads only 36 floats and stores none;
      rungs 2-3 loaded and stored C for every multiply-add vector.
    * the blocks are sized for the caches (``KC, MC, NC`` above).

    Edge tiles (sizes not multiples of 4 or 32) are zero-padded by the packing, so the
    micro-kernel is always the fast one and only the write-back is partial."""
    m = c.shape[0]
    n = c.shape[1]
    k = a.shape[0] if trans_a else a.shape[1]
    ap = np.empty(min(MC, ((m + MR - 1) // MR) * MR) * min(KC, k), dtype=c.dtype)
    bp = np.empty(min(NC, ((n + NR - 1) // NR) * NR) * min(KC, k), dtype=c.dtype)
    gemm_packed_block(a, b, c, trans_a, trans_b, False, ap, bp, 0, m, 0, n)


# ============================================================================ rung 5: parallel

def thread_grid(m, n, nthreads):
    """Split C into ``mt x nt`` blocks, one per thread: the factorisation of ``nthreads`` whose
    blocks are closest to square (each block packs its own rows of A and columns of B, and
    square blocks pack the least), never more blocks than MR-row / NR-column tiles."""
    best_mt, best_nt, best = 1, 1, -1.0
    for mt in range(1, nthreads + 1):
        if nthreads % mt:
            continue
        nt = nthreads // mt
        if mt > (m + MR - 1) // MR or nt > (n + NR - 1) // NR:
            continue
        rows = m / mt
        cols = n / nt
        score = min(rows, cols) / max(rows, cols)
        if score > best:
            best_mt, best_nt, best = mt, nt, score
    return best_mt, best_nt


@jit(parallel=True)
def gemm_parallel(a, b, c, trans_a, trans_b, mt, nt):
    """Rung 5, rung 4 on every core: C is cut into ``mt x nt`` blocks (one per thread, from
    :func:`thread_grid`) and ``prange`` runs :func:`gemm_packed_block` on each, with its own
    packing buffers.

    One parallel region per call: the threads meet once, at the end. (A first version packed
    each B block together and then shared out the A blocks -- BLIS's way, less packing -- but
    needed two regions, i.e. two thread barriers, per KC block; on a loaded 2-core machine a
    barrier waits for a thread the OS has descheduled, and that version ran *slower* than one
    thread.) Packing is duplicated across blocks (each block packs its rows of A and its
    columns of B): O(MK*nt + KN*mt) copies against O(MNK) multiply-adds.

    Tiles are aligned to MR/NR and each tile sums over ``p`` in the same order as rung 4, so
    the result is *bitwise identical* to ``packed`` for any number of threads.

    Numba specifics: ``prange`` sits on the outermost loop (nested ``prange`` would run
    serially); ``parallel=True`` hands the region to the ``omp``/``tbb``/``workqueue``
    threading layer. The grid is computed in Python: ``numba.get_num_threads()`` inside a
    kernel would make it uncacheable (it embeds a C pointer)."""
    m = c.shape[0]
    n = c.shape[1]
    k = a.shape[0] if trans_a else a.shape[1]
    mtiles = (m + MR - 1) // MR
    ntiles = (n + NR - 1) // NR
    rows = ((mtiles + mt - 1) // mt) * MR
    cols = ((ntiles + nt - 1) // nt) * NR
    ap = np.empty((mt * nt, min(MC, rows) * min(KC, k)), dtype=c.dtype)
    bp = np.empty((mt * nt, min(NC, cols) * min(KC, k)), dtype=c.dtype)
    for task in prange(mt * nt):
        ti = task // nt
        tj = task - ti * nt
        i0 = min(m, ((ti * mtiles) // mt) * MR)
        i1 = min(m, (((ti + 1) * mtiles) // mt) * MR)
        j0 = min(n, ((tj * ntiles) // nt) * NR)
        j1 = min(n, (((tj + 1) * ntiles) // nt) * NR)
        if i1 > i0 and j1 > j0:
            gemm_packed_block(a, b, c, trans_a, trans_b, False, ap[task], bp[task], i0, i1, j0, j1)


# ============================================================================ dispatch

def blas(a, b, trans_a, trans_b, out):
    """The yardstick: ``np.matmul``, i.e. OpenBLAS's hand-tuned assembly kernels (not Numba)."""
    a = a.T if trans_a else a
    b = b.T if trans_b else b
    if out is None:
        return np.matmul(a, b)
    np.matmul(a, b, out=out)
    return out


#: rung name -> compiled kernel; the three first take normalised (M,K) and (K,N) inputs
_SIMPLE = {"naive": gemm_naive, "reordered": gemm_reordered, "tiled": gemm_tiled}
VARIANTS = ("parallel", "packed", "tiled", "reordered", "naive", "blas")


def gemm(a, b, trans_a, trans_b, out, variant):
    """The backend's ``_gemm``: ``op(a) @ op(b)`` with the named rung, into ``out`` if given."""
    if variant == "blas":
        return blas(a, b, trans_a, trans_b, out)
    m = a.shape[1] if trans_a else a.shape[0]
    n = b.shape[0] if trans_b else b.shape[1]
    c = out
    if c is None or np.may_share_memory(c, a) or np.may_share_memory(c, b):
        c = np.empty((m, n), dtype=a.dtype)
    if variant == "parallel":
        k = a.shape[0] if trans_a else a.shape[1]
        threads = num_threads()
        if threads == 1 or m * n * k < PARALLEL_MIN_WORK:
            gemm_packed(a, b, c, trans_a, trans_b)
        else:
            gemm_parallel(a, b, c, trans_a, trans_b, *thread_grid(m, n, threads))
    elif variant == "packed":
        gemm_packed(a, b, c, trans_a, trans_b)
    elif variant in _SIMPLE:
        _SIMPLE[variant](transpose(a) if trans_a else a, transpose(b) if trans_b else b, c)
    else:
        raise ValueError(f"unknown gemm variant {variant!r}; choose one of {', '.join(VARIANTS)}")
    if out is not None and c is not out:
        out[...] = c
        return out
    return c
