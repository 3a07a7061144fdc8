"""The two pictures of ``fastnn bench --plot FILE`` (matplotlib, optional).

``FILE``                 **the GEMM ladder**: GFLOP/s against the matrix size n, one line per
                         rung (backend/variant) of each compiled backend, NumPy's BLAS (and
                         PyTorch) as reference lines, the measured FLOP peak as a horizontal line;
                         one panel per thread count when several were run.
``FILE-roofline.<ext>``  **the roofline**: every timed kernel placed by its arithmetic intensity
                         (FLOP per byte it must move) and its achieved GFLOP/s, log-log, under
                         the two measured ceilings ``min(peak, bandwidth x intensity)``. A point
                         near the slanted roof is memory-bound and as fast as memory allows; a
                         point near the flat roof is compute-bound and close to peak; a point far
                         below both has headroom (overheads, poor vectorisation, cache misses).

The format follows FILE's extension (``.png`` when it has none; ``.svg`` and ``.pdf`` work).
Figures are drawn with matplotlib's object API (no ``pyplot``): nothing global changes in the
caller's process, and no display is needed.
"""
from __future__ import annotations

import io
import os

from .machine import bandwidth_for, peak_for

COLORS = {"numpy": "#555555", "cython": "#1f77b4", "numba": "#d62728", "torch": "#ff7f0e"}
#: the rungs of the GEMM ladder, bottom to top (docs/ladder.md)
LADDER = ("naive", "reordered", "tiled", "packed", "parallel")
MARKERS = {"gemm": "o", "conv": "s", "pool": "v", "activation": "^", "loss": "D", "norm": "P"}


def have_matplotlib() -> bool:
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        return False
    return True


def plot_paths(path: str) -> tuple[str, str]:
    root, ext = os.path.splitext(str(path))
    ext = ext or ".png"
    return root + ext, root + "-roofline" + ext


def _figure(width=7.5, height=5.0):
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    fig = Figure(figsize=(width, height), dpi=110)
    FigureCanvasAgg(fig)
    return fig


def _save(fig, path: str) -> None:
    from ..serialization import atomic_write_bytes
    buf = io.BytesIO()
    fmt = os.path.splitext(path)[1].lstrip(".").lower() or "png"
    fig.savefig(buf, format=fmt, bbox_inches="tight")
    atomic_write_bytes(path, buf.getvalue())


def _ok(rows):
    return [r for r in rows if not r.get("error") and r.get("median_s")]


def _rung(label: str) -> str:
    return label.split("/", 1)[1] if "/" in label else ""


def ladder(data: dict, path: str) -> bool:
    """Draw the GEMM ladder into ``path`` (one panel per thread count); False without GEMM rows."""
    import matplotlib
    from matplotlib.ticker import FuncFormatter
    rows = [r for r in _ok(data.get("kernels", [])) if r["kernel"] == "gemm"]
    if not rows:
        return False
    threads = sorted({r["threads"] for r in rows})
    sizes = sorted({r["size"] for r in rows})
    ceilings = data.get("ceilings") or {}
    styles = {"numpy": dict(ls="--", lw=2.0), "torch": dict(ls=":", lw=2.0)}
    shades = {"cython": "Blues", "numba": "Reds"}
    fig = _figure(6.5 * len(threads) if len(threads) > 1 else 7.5, 5.0)
    first = None
    for panel, t in enumerate(threads, 1):
        ax = fig.add_subplot(1, len(threads), panel, sharey=first)
        first = first or ax
        lines: dict = {}
        for r in rows:
            if r["threads"] == t:
                label = r["backend"] + (f"/{r['variant']}" if r.get("variant") else "")
                lines.setdefault((r["backend"], label), []).append((r["size"], r["gflops"]))

        def order(item):
            (backend, label), _ = item
            rung = _rung(label)
            return (backend in ("numpy", "torch"), backend, LADDER.index(rung) if rung in LADDER else len(LADDER),
                    label)
        for (backend, label), pts in sorted(lines.items(), key=order):
            pts.sort()
            rung = _rung(label)
            if backend in ("numpy", "torch"):
                color, marker = COLORS[backend], "o"
                label += " (BLAS)" if backend == "numpy" else ""
            else:       # one colour family per backend, darker = higher rung
                step = LADDER.index(rung) if rung in LADDER else len(LADDER)
                color = matplotlib.colormaps[shades.get(backend, "Greens")](0.35 + 0.6 * step / len(LADDER))
                marker = "os^Dv*"[min(step, 5)]
            ax.plot([p[0] for p in pts], [p[1] for p in pts], marker=marker, ms=4, label=label, color=color,
                    **styles.get(backend, dict(ls="-", lw=1.3)))
        peak = peak_for(ceilings, t)
        if peak:
            ax.axhline(peak, color="black", lw=1.0, ls="-.")
            ax.annotate(f"measured peak {peak:.0f} GFLOP/s", (0.01, peak), xycoords=("axes fraction", "data"),
                        va="bottom", fontsize=8)
        ax.set_xscale("log", base=2)
        ax.set_yscale("log")
        ax.set_xticks(sizes)
        ax.set_xticklabels([str(s) for s in sizes])
        ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))
        ax.yaxis.set_minor_formatter(FuncFormatter(lambda v, _: ""))
        ax.set_xlabel("n (n x n x n float32 product)")
        if panel == 1:
            ax.set_ylabel("GFLOP/s")
        ax.set_title(f"GEMM ladder, {t} thread{'s' if t > 1 else ''} -- "
                     f"{data.get('machine', {}).get('cpu_model', '?')}", fontsize=10)
        ax.grid(True, which="both", alpha=0.3)
        ax.legend(fontsize=7, ncol=3, loc="upper center", bbox_to_anchor=(0.5, -0.13))   # below: never on a line
    _save(fig, path)
    return True


def roofline(data: dict, path: str) -> bool:
    """Draw the roofline into ``path``; False when no kernel row has FLOP to place."""
    import numpy as np
    rows = [r for r in _ok(data.get("kernels", [])) if r.get("flops") and r.get("bytes")]
    if not rows:
        return False
    ceilings = data.get("ceilings") or {}
    threads = max(r["threads"] for r in rows)
    fig = _figure(8.0, 5.5)
    ax = fig.add_subplot(1, 1, 1)
    xs = [r["intensity"] for r in rows]
    ys = [r["gflops"] for r in rows]
    lo, hi = min(xs) / 3, max(xs) * 3
    for t, style in ((threads, dict(color="black", lw=1.8)), (1, dict(color="gray", lw=1.0, ls="--"))):
        peak, bw = peak_for(ceilings, t), bandwidth_for(ceilings, t)
        if not peak or not bw:
            continue
        ridge = peak / bw
        grid = np.logspace(np.log10(min(lo, ridge / 3)), np.log10(max(hi, ridge * 3)), 200)
        ax.plot(grid, np.minimum(peak, bw * grid), label=f"roof, {t} thread{'s' if t > 1 else ''}: "
                f"{peak:.0f} GFLOP/s, {bw:.1f} GB/s", **style)
        if t == threads:
            ax.annotate(f"ridge {ridge:.1f} FLOP/B", (ridge, peak), fontsize=7, xytext=(4, 4),
                        textcoords="offset points")
        if threads == 1:
            break
    seen_b, seen_f = set(), set()
    for r in rows:
        ax.scatter(r["intensity"], r["gflops"], color=COLORS.get(r["backend"], "#2ca02c"),
                   marker=MARKERS.get(r["family"], "o"), s=28, alpha=0.8, edgecolors="none")
        seen_b.add(r["backend"])
        seen_f.add(r["family"])
    from matplotlib.lines import Line2D
    handles = [Line2D([], [], color=COLORS.get(b, "#2ca02c"), marker="o", ls="", label=b) for b in sorted(seen_b)]
    handles += [Line2D([], [], color="black", marker=MARKERS.get(f, "o"), ls="", label=f, markerfacecolor="none")
                for f in sorted(seen_f)]
    first = ax.legend(fontsize=7, loc="upper left")
    ax.add_artist(first)
    ax.legend(handles=handles, fontsize=7, loc="lower right", ncol=2)
    ax.set_xscale("log")
    ax.set_yscale("log")
    from matplotlib.ticker import FuncFormatter
    for axis in (ax.xaxis, ax.yaxis):
        axis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))
    ax.set_ylim(min(ys) / 3, max(max(ys), peak_for(ceilings, threads) or 0) * 2)
    ax.set_xlabel("arithmetic intensity (FLOP per byte moved, compulsory traffic)")
    ax.set_ylabel("achieved GFLOP/s")
    ax.set_title("roofline: each point one kernel x shape x backend", fontsize=10)
    ax.grid(True, which="both", alpha=0.3)
    _save(fig, path)
    return True


def plot(data: dict, path: str) -> tuple[list[str], list[str]]:
    """Write the ladder and the roofline next to ``path``; returns (files written, notes)."""
    if not have_matplotlib():
        return [], ["matplotlib is not installed: no plots written (pip install 'fastnn[plot]' or matplotlib)"]
    ladder_path, roof_path = plot_paths(path)
    written, notes = [], []
    if ladder(data, ladder_path):
        written.append(ladder_path)
    else:
        notes.append(f"no GEMM rows: the ladder plot ({ladder_path}) needs --kernels gemm")
    if roofline(data, roof_path):
        written.append(roof_path)
    else:
        notes.append(f"no kernel rows with FLOP: the roofline ({roof_path}) was not drawn")
    return written, notes


__all__ = ["plot", "ladder", "roofline", "plot_paths", "have_matplotlib"]
