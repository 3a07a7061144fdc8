# cython: language_level=3
"""The OpenMP runtime as seen by the Cython kernels.

The kernels take their thread count as an argument (``num_threads``), which the Python
face (``fastnn/backends/cython_kernels.py``) keeps; this module reports whether OpenMP is
compiled in and talks to the runtime's own setting. When the extensions were built
without OpenMP everything reports one thread and setting is a no-op.
"""

cdef extern from "fastnn_omp.h":
    int FASTNN_OPENMP
    int fastnn_omp_get_max_threads() nogil
    void fastnn_omp_set_num_threads(int n) nogil
    int fastnn_omp_team_size(int n) nogil


def openmp_enabled():
    """True when the Cython kernels were compiled with OpenMP (else they run serially)."""
    return bool(FASTNN_OPENMP)


def set_num_threads(int n):
    """OpenMP's default team size for this thread (``omp_set_num_threads``).

    Shared with every library in the process that uses the same OpenMP runtime."""
    if n < 1:
        raise ValueError(f"set_num_threads needs a positive int, got {n}")
    fastnn_omp_set_num_threads(n)


def get_max_threads():
    """Threads a parallel region without ``num_threads`` would use now (``omp_get_max_threads``)."""
    return fastnn_omp_get_max_threads()


def team_size(int num_threads):
    """Threads that actually run a parallel region asked for ``num_threads`` (1 without OpenMP)."""
    if num_threads < 1:
        raise ValueError(f"team_size needs a positive int, got {num_threads}")
    cdef int size
    with nogil:
        size = fastnn_omp_team_size(num_threads)
    return size
