/* OpenMP runtime calls with serial fallbacks.
 *
 * setup.py compiles with -fopenmp when the compiler can link OpenMP programs; the
 * compiler then defines _OPENMP. Without it these fall back to "one thread", so the
 * same .pyx builds either way (Cython's prange also degrades to a serial loop).
 */
#ifndef FASTNN_OMP_H
#define FASTNN_OMP_H

#ifdef _OPENMP
#include <omp.h>
#define FASTNN_OPENMP 1
static inline int fastnn_omp_get_max_threads(void) { return omp_get_max_threads(); }
static inline void fastnn_omp_set_num_threads(int n) { omp_set_num_threads(n); }
/* Threads that really run a parallel region asked for num_threads(n). */
static inline int fastnn_omp_team_size(int n) {
    int size = 1;
    #pragma omp parallel num_threads(n)
    {
        #pragma omp single
        size = omp_get_num_threads();
    }
    return size;
}
#else
#define FASTNN_OPENMP 0
static inline int fastnn_omp_get_max_threads(void) { return 1; }
static inline void fastnn_omp_set_num_threads(int n) { (void)n; }
static inline int fastnn_omp_team_size(int n) { (void)n; return 1; }
#endif

#endif /* FASTNN_OMP_H */
