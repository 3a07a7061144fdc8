"""Tables, the JSON file, and the comparison of two runs.

JSON layout (``schema_version`` 1)::

    {"schema": "fastnn-bench", "schema_version": 1, "created": ..., "command": [...],
     "machine": {cpu_model, simd, logical_cores, usable_cores, clock{current_mhz, max_mhz...}, loadavg, os},
     "versions": {fastnn, python, numpy, blas, numba, cython, compiler, torch},
     "threads": {fastnn, blas, openmp, numba, torch, omp_num_threads_env},
     "ceilings": {peak_gflops_1, peak_gflops_all, bandwidth_gbs_1, bandwidth_gbs_all, method, isa, ...},
     "config": {kernels, backends, variants, sizes, batches, threads, quick, repeat, torch, ...},
     "kernels": [row, ...], "training": [row, ...], "notes": [...]}

A kernel row: ``kernel, family, shape, size, backend, variant, threads, median_s, min_s, max_s,
rounds, inner, first_call_s, compile_s, flops, bytes, intensity, memory_bound, gflops, gbs,
metric ("GFLOP/s" or "GB/s"), rate (in that metric), pct_peak, speedup_numpy, speedup_torch``
(``error`` instead of the timings when the contestant raised). A training row: ``model, batch,
backend, threads, median_s, min_s, max_s, rounds, first_call_s, compile_s, samples_per_s,
speedup_numpy, speedup_torch``.
"""
from __future__ import annotations

import json
import math

SCHEMA, SCHEMA_VERSION = "fastnn-bench", 1


class BenchError(ValueError):
    """A bad benchmark option or an unreadable result file; the message says which and why."""


# --------------------------------------------------------------------------- formatting

def fmt_time(seconds) -> str:
    if seconds is None or not math.isfinite(seconds):
        return "-"
    for unit, scale in (("s", 1.0), ("ms", 1e-3), ("us", 1e-6)):
        if seconds >= scale:
            return f"{seconds / scale:.3g} {unit}"
    return f"{seconds / 1e-9:.3g} ns"


def _in_unit(seconds, like) -> str:
    """``seconds`` in the unit ``fmt_time`` chose for ``like`` (for the min-max spread)."""
    for unit, scale in (("s", 1.0), ("ms", 1e-3), ("us", 1e-6), ("ns", 1e-9)):
        if like >= scale or unit == "ns":
            return f"{seconds / scale:.3g}"
    return "-"


def fmt_spread(row) -> str:
    if row.get("median_s") is None:
        return ""
    return f"[{_in_unit(row['min_s'], row['median_s'])}-{_in_unit(row['max_s'], row['median_s'])}]"


def fmt_x(v) -> str:
    return "-" if v is None else f"{v:.2f}x" if v < 10 else f"{v:.1f}x"


def fmt_rate(v) -> str:
    return "-" if v is None else f"{v:.3g}" if v < 100 else f"{v:.0f}"


def _label(row) -> str:
    return row["backend"] + (f"/{row['variant']}" if row.get("variant") else "")


def _table(headers, rows, align) -> str:
    widths = [max(len(h), *(len(r[i]) for r in rows)) if rows else len(h) for i, h in enumerate(headers)]
    def line(cells):
        return "  ".join(c.ljust(w) if a == "<" else c.rjust(w) for c, w, a in zip(cells, widths, align)).rstrip()
    return "\n".join([line(headers), line(["-" * w for w in widths])] + [line(r) for r in rows])


def kernel_table(rows) -> str:
    headers = ["kernel", "shape", "backend/variant", "thr", "median", "[min-max]", "rate", "unit", "%peak",
               "vs numpy", "vs torch", "compile"]
    out = []
    for r in rows:
        if r.get("error"):
            out.append([r["kernel"], r["shape"], _label(r), str(r["threads"]), "error", r["error"][:60], "", "", "",
                        "", "", ""])
            continue
        pct = r.get("pct_peak")
        comp = r.get("compile_s")
        out.append([r["kernel"], r["shape"], _label(r), str(r["threads"]), fmt_time(r["median_s"]), fmt_spread(r),
                    fmt_rate(r.get("rate")), r.get("metric", ""), "-" if pct is None else f"{pct:.0f}%",
                    fmt_x(r.get("speedup_numpy")), fmt_x(r.get("speedup_torch")),
                    fmt_time(comp) if comp is not None and comp >= 1e-3 else "-"])
    return _table(headers, out, "<<<>><><>>>>")


def training_table(rows) -> str:
    headers = ["model", "batch", "backend", "thr", "step median", "[min-max]", "samples/s", "vs numpy", "vs torch",
               "first step"]
    out = []
    for r in rows:
        if r.get("error"):
            out.append([r["model"], str(r["batch"]), r["backend"], str(r["threads"]), "error", r["error"][:60], "",
                        "", "", ""])
            continue
        out.append([r["model"], str(r["batch"]), r["backend"], str(r["threads"]), fmt_time(r["median_s"]),
                    fmt_spread(r), f"{r['samples_per_s']:.0f}", fmt_x(r.get("speedup_numpy")),
                    fmt_x(r.get("speedup_torch")), fmt_time(r.get("first_call_s"))])
    return _table(headers, out, "<><>><>>>>")


def header(data: dict) -> str:
    from .machine import describe_ceilings
    m, v, t = data.get("machine", {}), data.get("versions", {}), data.get("threads", {})
    clock = m.get("clock", {})
    mhz = f", {clock['current_mhz']:.0f} MHz" if clock.get("current_mhz") else ""
    lines = [f"fastnn bench: {m.get('cpu_model', '?')}, {m.get('usable_cores', '?')} cores{mhz}, "
             f"SIMD {' '.join(m.get('simd') or []) or '?'}",
             "versions: " + ", ".join(f"{k} {v[k]}" for k in ("fastnn", "numpy", "blas", "numba", "cython", "torch")
                                      if v.get(k)),
             "threads: " + ", ".join(f"{k} {t[k]}" for k in ("fastnn", "openmp", "numba", "blas", "torch")
                                     if t.get(k) is not None)]
    if data.get("ceilings"):
        lines.append(describe_ceilings(data["ceilings"]))
    cfg = data.get("config", {})
    if cfg:
        lines.append(f"timing: warm-up, then {cfg.get('repeat')} interleaved rounds per case; median and "
                     f"[min-max] per call{' (quick mode)' if cfg.get('quick') else ''}; %peak = of the FLOP peak "
                     f"(GFLOP/s rows) or of the triad bandwidth (GB/s rows) at the row's thread count")
    return "\n".join(lines)


def render(data: dict) -> str:
    parts = [header(data)]
    for note in data.get("notes", []):
        parts.append(f"note: {note}")
    if data.get("kernels"):
        parts.append("")
        parts.append(kernel_table(data["kernels"]))
    if data.get("training"):
        parts.append("")
        parts.append("training step (forward + backward + SGD momentum), samples/s:")
        parts.append(training_table(data["training"]))
    return "\n".join(parts)


# --------------------------------------------------------------------------- JSON

def _clean(obj):
    """JSON-safe: NaN and infinity become null."""
    if isinstance(obj, float):
        return obj if math.isfinite(obj) else None
    if isinstance(obj, dict):
        return {str(k): _clean(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_clean(v) for v in obj]
    return obj


def save_json(data: dict, path) -> None:
    """Write ``data`` to ``path`` atomically (a crash never leaves half a file)."""
    from ..serialization import atomic_write_bytes
    atomic_write_bytes(str(path), (json.dumps(_clean(data), indent=1) + "\n").encode())


def load_json(path) -> dict:
    """Read a result file written by ``fastnn bench --json``; BenchError when it is not one."""
    try:
        with open(path, encoding="utf-8") as f:
            data = json.load(f)
    except FileNotFoundError:
        raise BenchError(f"{path}: no such file") from None
    except OSError as exc:
        raise BenchError(f"{path}: cannot read it ({exc.strerror or exc})") from None
    except (ValueError, UnicodeDecodeError) as exc:
        raise BenchError(f"{path}: not a JSON file ({exc})") from None
    if not isinstance(data, dict) or data.get("schema") != SCHEMA:
        raise BenchError(f"{path}: not a fastnn bench result (no \"schema\": \"{SCHEMA}\" field)")
    version = data.get("schema_version")
    if not isinstance(version, int) or version > SCHEMA_VERSION:
        raise BenchError(f"{path}: schema_version {version!r} is not supported (this fastnn reads up to "
                         f"{SCHEMA_VERSION})")
    for key in ("kernels", "training"):
        if not isinstance(data.get(key, []), list):
            raise BenchError(f"{path}: {key!r} must be a list of rows")
    return data


# --------------------------------------------------------------------------- compare

def _kernel_key(r):
    return (r.get("kernel"), r.get("shape"), r.get("backend"), r.get("variant") or "", r.get("threads"))


def _train_key(r):
    return (r.get("model"), r.get("batch"), r.get("backend"), r.get("threads"))


def compare(a: dict, b: dict) -> dict:
    """Rows present (and timed) in both runs, matched by kernel/shape/backend/variant/threads (training:
    model/batch/backend/threads), with ``ratio`` = B's median time / A's (below 1: B is faster) and
    ``speedup`` = A / B. Also the rows only one run has, and the geometric mean speed-up."""
    out = {"kernels": [], "training": [], "only_a": 0, "only_b": 0}
    for key, keyfn in (("kernels", _kernel_key), ("training", _train_key)):
        rows_a = {keyfn(r): r for r in a.get(key, []) if isinstance(r, dict) and r.get("median_s")}
        rows_b = {keyfn(r): r for r in b.get(key, []) if isinstance(r, dict) and r.get("median_s")}
        for k, ra in rows_a.items():
            rb = rows_b.get(k)
            if rb is None:
                continue
            ratio = rb["median_s"] / ra["median_s"]
            out[key].append({"key": list(k), "a_median_s": ra["median_s"], "b_median_s": rb["median_s"],
                             "ratio": ratio, "speedup": 1.0 / ratio})
        out["only_a"] += len(set(rows_a) - set(rows_b))
        out["only_b"] += len(set(rows_b) - set(rows_a))
    speedups = [r["speedup"] for key in ("kernels", "training") for r in out[key]]
    out["geomean_speedup"] = math.exp(sum(map(math.log, speedups)) / len(speedups)) if speedups else None
    return out


def render_compare(result: dict, name_a: str = "A", name_b: str = "B") -> str:
    parts = [f"A = {name_a}\nB = {name_b}\nratio = B median time / A median time (< 1: B is faster); "
             f"speed-up = A / B"]
    if result["kernels"]:
        rows = [[*(str(x) for x in (r["key"][0], r["key"][1],
                                    r["key"][2] + (f"/{r['key'][3]}" if r["key"][3] else ""), r["key"][4])),
                 fmt_time(r["a_median_s"]), fmt_time(r["b_median_s"]), f"{r['ratio']:.3f}", fmt_x(r["speedup"])]
                for r in result["kernels"]]
        parts += ["", _table(["kernel", "shape", "backend/variant", "thr", "A median", "B median", "ratio",
                              "speed-up"], rows, "<<<>>>>>")]
    if result["training"]:
        rows = [[str(r["key"][0]), str(r["key"][1]), str(r["key"][2]), str(r["key"][3]), fmt_time(r["a_median_s"]),
                 fmt_time(r["b_median_s"]), f"{r['ratio']:.3f}", fmt_x(r["speedup"])] for r in result["training"]]
        parts += ["", _table(["model", "batch", "backend", "thr", "A step", "B step", "ratio", "speed-up"], rows,
                             "<><>>>>>")]
    n = len(result["kernels"]) + len(result["training"])
    if n == 0:
        parts.append("\nno row appears (timed) in both runs")
    else:
        parts.append(f"\n{n} matched rows; geometric mean speed-up of B over A: {result['geomean_speedup']:.3f}x")
    if result["only_a"] or result["only_b"]:
        parts.append(f"unmatched: {result['only_a']} rows only in A, {result['only_b']} only in B")
    return "\n".join(parts)


__all__ = ["BenchError", "SCHEMA", "SCHEMA_VERSION", "render", "kernel_table", "training_table", "save_json",
           "load_json", "compare", "render_compare"]
