"""`fastnn bench` and `fastnn.bench`: the CLI on tiny quick configurations (table, JSON schema,
plots), the machine ceilings (compiled probe, NumPy fallback, cache), `--compare` on known
inputs, the timing rules, clear errors for bad options, and the pytest-benchmark suites in
quick mode. Nothing here asserts anything about speed beyond plausibility bounds."""
from __future__ import annotations

import json
import os
import subprocess
import sys

import numpy as np
import pytest

from conftest import require_torch

from fastnn import backends
from fastnn.bench import BenchError, compare, load_json, machine, run
from fastnn.bench.report import SCHEMA, SCHEMA_VERSION
from fastnn.bench.timing import interleaved
from fastnn.cli import main

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
COLUMNS = ("kernel", "shape", "backend/variant", "thr", "median", "[min-max]", "rate", "unit", "%peak", "vs numpy",
           "vs torch", "compile")


@pytest.fixture(autouse=True)
def _cache_dir(tmp_path, monkeypatch):
    """Ceilings are cached in a temporary folder, never in the user's ~/.cache."""
    monkeypatch.setenv("FASTNN_CACHE_DIR", str(tmp_path / "cache"))


def _compiled_backends() -> str:
    """numpy plus cython when it is built (numba is left out: its first calls compile)."""
    return ",".join(["numpy"] + (["cython"] if "cython" in backends.available() else []))


def _have_probe() -> bool:
    try:
        from fastnn._cython import _probe  # noqa: F401
    except ImportError:
        return False
    return True


# --------------------------------------------------------------------------- the CLI

def test_cli_quick_table_json_and_plots(tmp_path, capsys):
    out_json, out_png = tmp_path / "run.json", tmp_path / "ladder.png"
    code = main(["bench", "--quick", "--quiet", "--kernels", "gemm,act,norm", "--backends", _compiled_backends(),
                 "--variants", "--json", str(out_json), "--plot", str(out_png)])
    assert code == 0
    text = capsys.readouterr().out
    header_line = next(line for line in text.splitlines() if line.startswith("kernel "))
    for column in COLUMNS:
        assert column in header_line
    assert "ceilings: peak float32" in text and "GFLOP/s" in text and "GB/s" in text
    assert "gemm" in text and "relu_forward" in text and "batchnorm_forward" in text

    data = json.loads(out_json.read_text())
    assert data["schema"] == SCHEMA and data["schema_version"] == SCHEMA_VERSION
    for key in ("created", "machine", "versions", "threads", "ceilings", "config", "kernels", "training", "notes"):
        assert key in data
    for key in ("cpu_model", "simd", "logical_cores", "usable_cores", "clock"):
        assert key in data["machine"]
    for key in ("fastnn", "python", "numpy", "blas", "numba", "cython", "compiler", "torch"):
        assert key in data["versions"]
    assert data["threads"]["fastnn"] >= 1
    for key in ("peak_gflops_1", "peak_gflops_all", "bandwidth_gbs_1", "bandwidth_gbs_all", "method"):
        assert key in data["ceilings"]
    assert data["ceilings"]["peak_gflops_1"] > 0 and data["ceilings"]["bandwidth_gbs_1"] > 0
    rows = data["kernels"]
    assert {r["kernel"] for r in rows} >= {"gemm", "relu_forward", "batchnorm_backward"}
    assert {r["size"] for r in rows if r["kernel"] == "gemm"} == {32, 64}
    for r in rows:
        assert "error" not in r, r
        assert 0 < r["min_s"] <= r["median_s"] <= r["max_s"]
        assert r["rounds"] >= 1 and r["first_call_s"] > 0 and r["compile_s"] >= 0
        assert r["flops"] > 0 and r["bytes"] > 0 and r["rate"] > 0 and r["pct_peak"] > 0
        assert r["metric"] == ("GB/s" if r["memory_bound"] else "GFLOP/s")
        assert r["speedup_numpy"] > 0
    assert all(r["speedup_numpy"] == pytest.approx(1.0) for r in rows if r["backend"] == "numpy")
    if "cython" in backends.available():           # --variants alone = every rung of the ladder
        rungs = {r["variant"] for r in rows if r["kernel"] == "gemm" and r["backend"] == "cython"}
        assert {"naive", "packed", "parallel"} <= rungs and "blas" not in rungs

    try:
        import matplotlib  # noqa: F401
    except ImportError:
        assert "matplotlib is not installed" in text
        return
    for path in (out_png, tmp_path / "ladder-roofline.png"):
        assert path.read_bytes()[:8] == PNG_MAGIC
        assert f"wrote {path}" in text


def test_cli_train_quick(tmp_path, capsys):
    out_json = tmp_path / "train.json"
    argv = ["bench", "--train", "--quick", "--quiet", "--models", "mlp", "--train-batch", "4", "--backends",
            _compiled_backends(), "--repeat", "2", "--json", str(out_json)]
    try:
        import torch  # noqa: F401
        argv.append("--torch")
        has_torch = True
    except ImportError:
        has_torch = False
    assert main(argv) == 0
    text = capsys.readouterr().out
    assert "samples/s" in text and "mlp" in text
    data = json.loads(out_json.read_text())
    assert data["kernels"] == []                  # --train alone times training steps only
    rows = data["training"]
    assert {r["backend"] for r in rows} >= {"numpy"} | ({"torch"} if has_torch else set())
    for r in rows:
        assert r["model"] == "mlp" and r["batch"] == 4
        assert r["samples_per_s"] > 0 and r["median_s"] > 0 and r["speedup_numpy"] > 0
        if has_torch:
            assert r["speedup_torch"] > 0


def test_torch_twins_match_the_models():
    torch = require_torch()
    from fastnn.bench.training import MODELS, parameter_count, torch_twin
    from fastnn.models import get_model
    for name in MODELS:
        assert parameter_count(name) == parameter_count(name, torch), name
        for channels in (1, 3):             # the twins train_results.py builds for MNIST and CIFAR-10
            if name == "mlp" and channels == 3:
                continue                    # fastnn's MLP takes 28x28 images only by default
            ours = [tuple(p.shape) for p in get_model(name, in_channels=channels).parameters()]
            theirs = [tuple(p.shape) for p in torch_twin(name, torch, in_channels=channels).parameters()]
            assert ours == theirs, (name, channels)


def test_library_never_imports_torch():
    code = ("import sys, fastnn, fastnn.cli, fastnn.bench\n"
            "from fastnn.bench import run\n"
            "r = run(kernels='relu_forward', backends='numpy', quick=True, ceilings=False, repeat=1)\n"
            "assert r.rows and 'torch' not in sys.modules, sorted(m for m in sys.modules if 'torch' in m)\n")
    proc = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr


def test_api_run_variants_and_naive_cap():
    pytest.importorskip("fastnn._cython._gemm")
    result = run(kernels="gemm", backends="cython", variants="naive,packed", sizes=[16], ceilings=False, repeat=2,
                 quick=True)
    got = {(r["backend"], r["variant"]) for r in result.rows}
    assert got == {("numpy", "blas"), ("cython", "naive"), ("cython", "packed")}
    assert "gemm" in result.table()
    # above NAIVE_MAX the naive rung is skipped (with a note) unless sizes were given explicitly
    from fastnn.bench import cases
    big = cases.NAIVE_MAX * 2
    old = cases.GEMM_SIZES_QUICK
    try:
        cases.GEMM_SIZES_QUICK = (big,)
        result = run(kernels="gemm", backends="cython", variants="naive", ceilings=False, repeat=1, quick=True)
    finally:
        cases.GEMM_SIZES_QUICK = old
    assert not [r for r in result.rows if r["variant"] == "naive"]
    assert any("naive GEMM rung was skipped" in n for n in result.data["notes"])


# --------------------------------------------------------------------------- ceilings

@pytest.mark.skipif(not _have_probe(), reason="the compiled probe (fastnn._cython._probe) is not built")
def test_probe_is_plausible():
    from fastnn._cython import _probe
    assert "generic" in _probe.isas()
    flop, seconds, team = _probe.fma_peak(10_000, "generic", 1)
    assert team == 1 and seconds > 0 and flop == 10_000 * _probe.flops_per_iteration("generic")
    with pytest.raises(ValueError, match="unknown isa"):
        _probe.fma_peak(10, "sse9", 1)
    n = 1 << 16
    a, b, c = (np.empty(n, np.float32) for _ in range(3))
    _probe.first_touch(a, b, c, 2)
    assert _probe.triad(a, b, c, 3.0, 2, 2) > 0
    np.testing.assert_array_equal(a, b + np.float32(3.0) * c)

    ceil = machine.measure_ceilings(quick=True, cache=False)
    assert ceil["method"].startswith("compiled probe") and not ceil["cached"]
    assert 1 <= ceil["peak_gflops_1"] <= 10_000
    assert 1 <= ceil["peak_gflops_all"] <= 10_000 * ceil["cores"]
    # generous: on a loaded machine the all-core run loses much of a core to the neighbours
    # (it is re-measured when it comes out below one thread's figure, and peak_for never uses less)
    assert ceil["peak_gflops_all"] >= 0.25 * ceil["peak_gflops_1"]
    assert machine.peak_for(ceil, ceil["cores"]) >= ceil["peak_gflops_1"]
    assert 0.5 <= ceil["bandwidth_gbs_1"] <= 1000 and 0.1 <= ceil["bandwidth_gbs_all"] <= 1000
    assert set(ceil["peak_gflops_by_isa_1thread"]) == set(_probe.isas())


def test_numpy_estimate_when_the_probe_is_missing():
    ceil = machine.measure_ceilings(quick=True, cache=False, use_probe=False)
    assert ceil["method"].startswith("NumPy estimate")
    assert ceil["peak_gflops_1"] > 0 and ceil["bandwidth_gbs_1"] > 0
    assert "NumPy estimate" in machine.describe_ceilings(ceil)


def test_ceilings_are_cached_per_machine(tmp_path, monkeypatch):
    calls = []

    def fake_measure(quick=False, use_probe=True):
        calls.append(quick)
        return {"peak_gflops_1": 10.0 + len(calls), "peak_gflops_all": 20.0, "bandwidth_gbs_1": 5.0,
                "bandwidth_gbs_all": 8.0, "cores": 2, "threads_all": 2, "quick": quick,
                "method": "compiled probe (fake)", "key": machine.cache_key()}
    monkeypatch.setattr(machine, "_measure", fake_measure)
    first = machine.measure_ceilings(quick=True)
    assert not first["cached"] and calls == [True]
    path = tmp_path / "cache" / machine.CACHE_FILE
    assert machine.cache_key() in json.loads(path.read_text())
    again = machine.measure_ceilings(quick=True)
    assert again["cached"] and again["peak_gflops_1"] == first["peak_gflops_1"] and calls == [True]
    full = machine.measure_ceilings(quick=False)            # a quick figure is not good enough for a full run
    assert not full["cached"] and calls == [True, False]
    assert machine.measure_ceilings(quick=False)["cached"]
    remeasured = machine.measure_ceilings(remeasure=True)
    assert not remeasured["cached"] and len(calls) == 3
    assert machine.peak_for(remeasured, 1) == remeasured["peak_gflops_1"]
    assert machine.peak_for(remeasured, 2) == 20.0 and machine.bandwidth_for(remeasured, 2) == 8.0


# --------------------------------------------------------------------------- compare

def _result(rows, training=()):
    return {"schema": SCHEMA, "schema_version": SCHEMA_VERSION, "kernels": list(rows), "training": list(training)}


def _row(backend, median, variant="", kernel="gemm", shape="64x64x64", threads=2):
    return {"kernel": kernel, "shape": shape, "backend": backend, "variant": variant, "threads": threads,
            "median_s": median}


def test_compare_ratios_from_known_inputs(tmp_path, capsys):
    a = _result([_row("numpy", 2e-3, "blas"), _row("cython", 1e-3, "packed"), _row("numba", 4e-3, "parallel"),
                 _row("cython", 1e-3, "packed", threads=1)],
                [{"model": "mlp", "batch": 64, "backend": "numpy", "threads": 2, "median_s": 0.010}])
    b = _result([_row("numpy", 1e-3, "blas"), _row("cython", 2e-3, "packed"), _row("numba", 1e-3, "tiled")],
                [{"model": "mlp", "batch": 64, "backend": "numpy", "threads": 2, "median_s": 0.005}])
    result = compare(a, b)
    got = {tuple(r["key"][2:4]): (r["ratio"], r["speedup"]) for r in result["kernels"]}
    assert got == {("numpy", "blas"): (0.5, 2.0), ("cython", "packed"): (2.0, 0.5)}
    assert result["training"][0]["ratio"] == pytest.approx(0.5)
    assert result["only_a"] == 2 and result["only_b"] == 1      # numba/parallel, cython 1 thread | numba/tiled
    assert result["geomean_speedup"] == pytest.approx((2.0 * 0.5 * 2.0) ** (1 / 3))

    pa, pb = tmp_path / "a.json", tmp_path / "b.json"
    pa.write_text(json.dumps(a))
    pb.write_text(json.dumps(b))
    assert main(["bench", "--compare", str(pa), str(pb)]) == 0
    text = capsys.readouterr().out
    assert "0.500" in text and "2.000" in text and "2.00x" in text and "0.50x" in text
    assert "3 matched rows" in text and "2 rows only in A, 1 only in B" in text


def test_compare_bad_files(tmp_path, capsys):
    good = tmp_path / "good.json"
    good.write_text(json.dumps(_result([_row("numpy", 1e-3)])))
    bad_json = tmp_path / "bad.json"
    bad_json.write_text("{not json")
    foreign = tmp_path / "foreign.json"
    foreign.write_text(json.dumps({"hello": 1}))
    future = tmp_path / "future.json"
    future.write_text(json.dumps({**_result([]), "schema_version": SCHEMA_VERSION + 1}))
    for path, message in ((tmp_path / "missing.json", "no such file"), (bad_json, "not a JSON file"),
                          (foreign, "not a fastnn bench result"), (future, "is not supported")):
        assert main(["bench", "--compare", str(good), str(path)]) == 2
        err = capsys.readouterr().err
        assert "fastnn bench: error:" in err and message in err and str(path) in err
        with pytest.raises(BenchError):
            load_json(path)


# --------------------------------------------------------------------------- bad options

@pytest.mark.parametrize("argv, message", [
    (["--kernels", "fft"], "unknown kernel or family 'fft'"),
    (["--kernels", "col2im"], "has no benchmark case"),
    (["--kernels", "gemm,"], "empty entry"),
    (["--backends", "cuda"], "unknown backend 'cuda'"),
    (["--variants", "fastest"], "unknown variant 'fastest'"),
    (["--sizes", "abc"], "bad sizes 'abc'"),
    (["--sizes", "0"], "sizes must be >= 1"),
    (["--sizes", "100000"], "at most"),
    (["--batch", "-3"], "batch must be >= 1"),
    (["--threads", "0"], "threads must be >= 1"),
    (["--threads", "two"], "bad threads 'two'"),
    (["--repeat", "0"], "repeat must be an integer >= 1"),
    (["--train", "--models", "vgg"], "unknown model 'vgg'"),
    (["--json", "/nonexistent-folder/x.json"], "does not exist"),
])
def test_bad_options_fail_clearly(argv, message, capsys):
    assert main(["bench", "--quiet", *argv]) == 2
    err = capsys.readouterr().err
    assert err.startswith("fastnn bench: error:") and message in err


def test_bad_option_types_exit_nonzero(capsys):
    with pytest.raises(SystemExit) as info:
        main(["bench", "--repeat", "many"])
    assert info.value.code == 2
    assert "--repeat" in capsys.readouterr().err


def test_api_raises_bench_error():
    with pytest.raises(BenchError, match="unknown backend"):
        run(backends=["numpy", "gpu"])
    with pytest.raises(BenchError, match="threads must be >= 1"):
        run(threads=0)


# --------------------------------------------------------------------------- timing rules

def test_interleaved_rotates_the_order_and_survives_a_broken_contestant():
    order = []

    def make(name):
        return lambda: order.append(name)

    def broken():
        raise RuntimeError("kernel exploded")
    res = interleaved({"A": make("A"), "B": make("B"), "C": make("C"), "X": broken}, rounds=3, min_time=0.0)
    assert res["X"] == {"error": "RuntimeError: kernel exploded"}
    timed = order[6:]           # after the warm-up (first call + one warm call each)
    assert timed == ["A", "B", "C", "B", "C", "A", "C", "A", "B"]
    for name in "ABC":
        r = res[name]
        assert r["rounds"] == 3 and r["min_s"] <= r["median_s"] <= r["max_s"] and r["compile_s"] >= 0


def test_interleaved_compile_time_is_first_call_minus_median():
    ticks = iter([0.0, 5.0,                 # first call: 5 s (a "compile")
                  5.0, 6.0,                 # warm call: 1 s
                  6.0, 7.0, 7.0, 8.0, 8.0, 9.0])
    res = interleaved({"A": lambda: None}, rounds=3, min_time=0.5, slow=10.0, clock=lambda: next(ticks))
    assert res["A"]["median_s"] == pytest.approx(1.0) and res["A"]["compile_s"] == pytest.approx(4.0)


# --------------------------------------------------------------------------- the pytest-benchmark suites

def test_benchmark_suites_run_in_quick_mode():
    pytest.importorskip("pytest_benchmark")
    env = {**os.environ, "FASTNN_BENCH_QUICK": "1"}
    proc = subprocess.run([sys.executable, "-m", "pytest", "benchmarks/", "--benchmark-only", "-q",
                           "-p", "no:cacheprovider"], cwd=REPO, env=env, capture_output=True, text=True,
                          timeout=600)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
