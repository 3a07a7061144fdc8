"""``fastnn.bench``: what each backend and each rung of the kernel ladder buys, on this machine.

    >>> from fastnn import bench
    >>> result = bench.run(kernels="gemm", variants="all", quick=True)     # doctest: +SKIP
    >>> print(result.table())                                              # doctest: +SKIP
    >>> result.save_json("bench.json"); result.plot("bench.png")           # doctest: +SKIP

The same as ``fastnn bench --kernels gemm --variants --quick --json bench.json --plot bench.png``.

=================  ===========================================================================
``runner.py``      :func:`run`: options checked, cases timed, rows with GFLOP/s, GB/s, % of peak,
                   speed-ups over ``numpy_ref`` and PyTorch
``cases.py``       the cases: kernel x shape, FLOP and bytes counted, backend and PyTorch calls
``timing.py``      warm-up, interleaved rounds, medians and spread, compile time apart
``machine.py``     CPU, versions, threads; the measured ceilings (compiled FMA probe, STREAM triad),
                   cached in ``~/.cache/fastnn``
``training.py``    samples/s of a full training step, fastnn models and their PyTorch twins
``report.py``      the tables, the JSON file (schema), ``compare`` of two runs
``plots.py``       the GEMM ladder and the roofline (matplotlib, optional)
=================  ===========================================================================

PyTorch is imported only when asked (``torch=True``), never by ``import fastnn.bench``.
"""
from __future__ import annotations

from .machine import machine_info, measure_ceilings, versions
from .report import SCHEMA_VERSION, BenchError, compare, load_json, render, render_compare, save_json
from .runner import BenchResult, run, run_training


def compare_files(path_a, path_b) -> str:
    """The per-row ratios between two ``--json`` files, as text (BenchError for a bad file)."""
    a, b = load_json(path_a), load_json(path_b)
    return render_compare(compare(a, b), str(path_a), str(path_b))


__all__ = ["run", "run_training", "BenchResult", "BenchError", "measure_ceilings", "machine_info", "versions",
           "compare", "compare_files", "load_json", "save_json", "render", "SCHEMA_VERSION"]
