"""Compiled extension modules of the Cython backend.

The modules here (``_activation``, ``_openmp``, ...) are built by ``setup.py`` from the
sources in ``src_cython/`` (one ``.pyx`` per kernel family); they are build output, never
hand-edited. Build them in place with ``pip install -e .``. The Python face that calls
them is ``fastnn/backends/cython_kernels.py``.
"""
