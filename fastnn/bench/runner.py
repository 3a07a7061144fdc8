"""``fastnn.bench.run``: options checked, cases built, contestants timed, rows computed."""
from __future__ import annotations

import os
import sys
import time
from dataclasses import dataclass, field

from . import cases as _cases
from . import training as _training
from .machine import bandwidth_for, load_note, machine_info, measure_ceilings, peak_for, thread_info, versions
from .report import SCHEMA, SCHEMA_VERSION, BenchError, render, save_json
from .timing import interleaved

MAX_GEMM_SIZE, MAX_BATCH = 16384, 4096


# --------------------------------------------------------------------------- options

def _items(value, name: str) -> list[str] | None:
    """``"a,b"`` or ``["a", "b"]`` -> ``["a", "b"]``; None stays None."""
    if value is None:
        return None
    if isinstance(value, str):
        items = [v.strip() for v in value.split(",")]
    else:
        try:
            items = [str(v).strip() for v in value]
        except TypeError:
            raise BenchError(f"{name} must be a comma-separated string or a list, got {value!r}") from None
    if not items or any(not v for v in items):
        raise BenchError(f"{name} has an empty entry: {value!r}")
    return items


def _ints(value, name: str, maximum: int | None = None) -> list[int] | None:
    if value is None:
        return None
    if isinstance(value, int) and not isinstance(value, bool):
        value = [value]
    out = []
    for item in _items(value, name):
        try:
            n = int(item)
        except ValueError:
            raise BenchError(f"bad {name} {item!r}: {name} must be positive integers (e.g. 64,128)") from None
        if n < 1:
            raise BenchError(f"bad {name} {n}: {name} must be >= 1")
        if maximum is not None and n > maximum:
            raise BenchError(f"bad {name} {n}: at most {maximum} here (the run would take hours or exhaust memory)")
        out.append(n)
    return sorted(set(out), key=out.index)


def resolve_kernels(kernels) -> list[str]:
    """Family names (``gemm, conv, pool, act, loss, norm``, or ``all``) and kernel names -> kernel names."""
    from ..backends.contract import KERNELS
    items = _items(kernels, "kernels")
    if items is None:
        items = ["all"]
    out: list[str] = []
    for item in items:
        name = item.lower().replace("-", "_")
        name = _cases.FAMILY_ALIASES.get(name, name)
        if name == "all":
            chosen = [k for ks in _cases.DEFAULT_KERNELS.values() for k in ks]
        elif name in _cases.DEFAULT_KERNELS:
            chosen = list(_cases.DEFAULT_KERNELS[name])
        elif name in _cases.BENCHABLE:
            chosen = [name]
        elif name in KERNELS:
            raise BenchError(f"kernel {item!r} has no benchmark case; benchmarked kernels: "
                             f"{', '.join(_cases.BENCHABLE)}")
        else:
            raise BenchError(f"unknown kernel or family {item!r}; families: all, "
                             f"{', '.join(_cases.DEFAULT_KERNELS)} (or act, bn), or kernel names such as "
                             f"gemm, conv2d_forward, relu_backward")
        out += [k for k in chosen if k not in out]
    return out


def resolve_backends(names) -> tuple[list[str], bool]:
    """Backend names (``numpy`` always first: it is the baseline); True when ``torch`` was listed."""
    from .. import backends as registry
    items = _items(names, "backends")
    available = registry.available()
    if items is None:
        chosen = list(available)
        wants_torch = False
    else:
        wants_torch = "torch" in [i.lower() for i in items]
        chosen = []
        for item in items:
            name = item.lower()
            if name == "torch":
                continue
            if name == "numpy_ref":
                name = "numpy"
            if name not in registry._REGISTRY:
                raise BenchError(f"unknown backend {item!r}; choose from {', '.join(registry._REGISTRY)} (and torch)")
            if name not in available:
                reason = registry.unavailable_reasons().get(name, "not installed")
                raise BenchError(f"backend {name!r} is not available here ({reason}); available: "
                                 f"{', '.join(available)}")
            if name not in chosen:
                chosen.append(name)
    if "numpy" in chosen:
        chosen.remove("numpy")
    return ["numpy", *chosen], wants_torch


def resolve_variants(variants, backend_names) -> str | list[str] | None:
    """None (each backend's default rung), ``"all"``, or a checked list of rung names."""
    from .. import backends as registry
    if variants is None:
        return None
    items = _items(variants, "variants")
    if [i.lower() for i in items] == ["all"]:
        return "all"
    known = []
    for name in backend_names:
        be = registry.get(name)
        for v in (*be.gemm_variants, *be.conv_variants):
            if v not in known:
                known.append(v)
    for item in items:
        if item not in known:
            raise BenchError(f"unknown variant {item!r}; the backends {', '.join(backend_names)} offer: "
                             f"{', '.join(known)} (or all)")
    return items


def _variants_for(backend, case, variants) -> list:
    if case.variant_kind is None:
        return [None]
    offered = backend.gemm_variants if case.variant_kind == "gemm" else backend.conv_variants
    if variants is None or backend.name == "numpy":
        return [offered[0]]
    if variants == "all":
        return [v for v in offered if v != "blas"]     # the numpy row *is* the BLAS
    chosen = [v for v in variants if v in offered]
    return chosen or [offered[0]]


# --------------------------------------------------------------------------- result

@dataclass
class BenchResult:
    """What :func:`run` returns: ``data`` is the JSON document (see ``fastnn.bench.report``)."""
    data: dict = field(default_factory=dict)

    @property
    def rows(self) -> list[dict]:
        return self.data.get("kernels", [])

    @property
    def training(self) -> list[dict]:
        return self.data.get("training", [])

    @property
    def ceilings(self) -> dict:
        return self.data.get("ceilings", {})

    def table(self) -> str:
        return render(self.data)

    def save_json(self, path) -> None:
        save_json(self.data, path)

    def plot(self, path) -> tuple[list[str], list[str]]:
        from .plots import plot
        return plot(self.data, str(path))

    def to_dict(self) -> dict:
        return self.data

    def __str__(self) -> str:
        return self.table()


def _timing_row(t: dict) -> dict:
    if "error" in t:
        return {"error": t["error"]}
    return {k: t[k] for k in ("median_s", "min_s", "max_s", "rounds", "inner", "first_call_s", "compile_s")}


def _speedups(rows: list[dict]) -> None:
    base = next((r["median_s"] for r in rows if r["backend"] == "numpy" and r.get("median_s")), None)
    torch = next((r["median_s"] for r in rows if r["backend"] == "torch" and r.get("median_s")), None)
    for r in rows:
        if r.get("median_s"):
            r["speedup_numpy"] = base / r["median_s"] if base else None
            r["speedup_torch"] = torch / r["median_s"] if torch else None


def _import_torch(notes: list):
    try:
        import torch
    except ImportError as exc:
        notes.append(f"torch is not installed ({exc}): no PyTorch rows or column")
        return None
    return torch


# --------------------------------------------------------------------------- run

def run(kernels=None, backends=None, variants=None, sizes=None, batch=None, threads=None, quick: bool = False,
        repeat: int | None = None, torch: bool = False, train: bool = False, models=None, train_batch=None,
        ceilings: bool = True, remeasure: bool = False, progress=None, settle: float | None = None,
        min_time: float | None = None, command=None) -> BenchResult:
    """Benchmark kernels (and, with ``train=True``, training steps) on the backends.

    kernels
        families (``"gemm,conv,pool,act,loss,norm"``, ``"all"``) or kernel names; default all
        families, or none when ``train=True``.
    backends
        names of backends (default: every available one); ``numpy`` (the reference) is always
        timed as the baseline of the "vs numpy" column. ``"torch"`` in the list = ``torch=True``.
    variants
        None: each backend's default GEMM/conv rung; ``"all"``: every rung (the GEMM ladder);
        or rung names (``"naive,packed"``); rungs a backend lacks are ignored for it.
    sizes
        GEMM sizes n (n x n x n), default 128,256,512,1024 (quick: 32,64).
    batch
        batch size of the layer-shaped kernels (conv, pool, act, loss, norm), default 64 (quick: 2).
    threads
        thread count(s) for OpenMP, Numba, BLAS and torch (an int or a list: each is a run); default
        all usable cores.
    quick
        tiny sizes, 3 rounds, no settling pause: the whole run takes seconds (proves it works;
        the figures mean little).
    repeat
        interleaved timing rounds (default 5; quick 3).
    torch
        also time PyTorch's CPU kernels (imported here, lazily; a note when it is missing).
    train, models, train_batch
        training-step throughput of ``models`` (default mlp, lenet, cifar_cnn) at ``train_batch``
        (default 64,128; quick 8).
    ceilings, remeasure
        measure (or read from the cache) the machine's FLOP and bandwidth ceilings.
    progress
        a callable receiving one line of text per finished case (the CLI prints them to stderr).
    """
    from .. import backends as registry
    kernel_names = [] if (train and kernels is None) else resolve_kernels(kernels)
    backend_names, torch_listed = resolve_backends(backends)
    torch = bool(torch) or torch_listed
    variant_sel = resolve_variants(variants, backend_names)
    gemm_sizes = _ints(sizes, "sizes", MAX_GEMM_SIZE)
    explicit_sizes = gemm_sizes is not None
    gemm_sizes = gemm_sizes or list(_cases.GEMM_SIZES_QUICK if quick else _cases.GEMM_SIZES)
    batches = _ints(batch, "batch", MAX_BATCH) or list(_cases.BATCHES_QUICK if quick else _cases.BATCHES)
    thread_list = _ints(threads, "threads", 1024) or [registry.get_num_threads()]
    if repeat is None:
        repeat = 3 if quick else 5
    if isinstance(repeat, bool) or not isinstance(repeat, int) or repeat < 1:
        raise BenchError(f"repeat must be an integer >= 1, got {repeat!r}")
    model_names = []
    if train:
        model_names = [m.lower().replace("-", "_") for m in (_items(models, "models") or list(_training.DEFAULT_MODELS))]
        for m in model_names:
            if m not in _training.MODELS:
                raise BenchError(f"unknown model {m!r} for --train; choose from {', '.join(_training.MODELS)}")
    train_batches = _ints(train_batch, "train batch", MAX_BATCH) or \
        list(_training.BATCHES_QUICK if quick else _training.BATCHES)
    settle = (0.0 if quick else 0.5) if settle is None else float(settle)
    min_time = (0.002 if quick else 0.02) if min_time is None else float(min_time)
    say = progress or (lambda msg: None)

    notes: list[str] = []
    torch_mod = _import_torch(notes) if torch else None
    machine = machine_info()
    note = load_note(machine.get("loadavg"), machine["usable_cores"])
    if note:
        notes.append(note)
    data = {"schema": SCHEMA, "schema_version": SCHEMA_VERSION, "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
            "command": list(command) if command is not None else None, "machine": machine, "versions": {},
            "threads": {}, "ceilings": {},
            "config": {"kernels": kernel_names, "backends": backend_names, "variants": variant_sel,
                       "sizes": gemm_sizes, "batches": batches, "threads": thread_list, "quick": bool(quick),
                       "repeat": repeat, "torch": torch_mod is not None, "train": bool(train),
                       "models": model_names, "train_batches": train_batches if train else [],
                       "settle_max_s": settle, "min_sample_s": min_time},
            "kernels": [], "training": [], "notes": notes}
    if ceilings:
        say("measuring the machine's ceilings (FMA peak, triad bandwidth)..." if remeasure else
            "machine ceilings (cached after the first run)...")
        data["ceilings"] = measure_ceilings(remeasure=remeasure, quick=quick)
        if not str(data["ceilings"].get("method", "")).startswith("compiled"):
            notes.append("the compiled probe is unavailable: the ceilings are NumPy estimates (lower bounds)")

    from ..backends import threads as _threads
    previous = _threads._num_threads
    previous_torch = torch_mod.get_num_threads() if torch_mod is not None else None
    case_list = _cases.build_cases(kernel_names, gemm_sizes, batches) if kernel_names else []
    skipped_naive = set()
    try:
        for t in thread_list:
            registry.set_num_threads(t)
            for name in backend_names:          # load (and apply the thread count) before timing
                registry.get(name)
            if "numba" in sys.modules:          # start Numba's pool now: it resets the OpenMP default
                sys.modules["numba"].get_num_threads()
            if torch_mod is not None:           # ... which torch reads: set torch after it
                torch_mod.set_num_threads(t)
            info = thread_info(torch_mod)
            if not data["threads"]:
                data["threads"] = dict(info, runs=[])
            data["threads"]["runs"].append(info)
            for i, case in enumerate(case_list, 1):
                contestants, meta = {}, {}
                for name in backend_names:
                    be = registry.get(name)
                    for v in _variants_for(be, case, variant_sel):
                        if v == "naive" and case.kernel == "gemm" and case.size > _cases.NAIVE_MAX \
                                and not explicit_sizes:
                            skipped_naive.add(case.size)
                            continue
                        label = name + (f"/{v}" if v else "")
                        try:
                            contestants[label] = case.call(be, v)
                        except Exception as exc:        # pragma: no cover (a backend mid-edit)
                            meta[label] = {"error": f"{type(exc).__name__}: {exc}"}
                        meta.setdefault(label, {})
                        meta[label].update(backend=name, variant=v or "")
                if torch_mod is not None and case.torch_call is not None:
                    contestants["torch"] = case.torch_call(torch_mod)
                    meta["torch"] = {"backend": "torch", "variant": ""}
                timings = interleaved(contestants, rounds=repeat, min_time=min_time, settle=settle,
                                      prepare=_torch_threads(torch_mod, t))
                rows = []
                for label, m in meta.items():
                    row = {"kernel": case.kernel, "family": case.family, "shape": case.shape, "size": case.size,
                           "backend": m["backend"], "variant": m["variant"], "threads": t,
                           "flops": case.flops, "bytes": case.bytes, "intensity": case.intensity,
                           "memory_bound": case.memory_bound}
                    if case.notes:
                        row["notes"] = dict(case.notes)
                    row.update(_timing_row(timings.get(label, m)) if "error" not in m else {"error": m["error"]})
                    if row.get("median_s"):
                        med = row["median_s"]
                        row["gflops"] = case.flops / med / 1e9
                        row["gbs"] = case.bytes / med / 1e9
                        if case.memory_bound:
                            ceiling = bandwidth_for(data["ceilings"], t) if data["ceilings"] else None
                            row.update(metric="GB/s", rate=row["gbs"])
                        else:
                            ceiling = peak_for(data["ceilings"], t) if data["ceilings"] else None
                            row.update(metric="GFLOP/s", rate=row["gflops"])
                        row["pct_peak"] = 100.0 * row["rate"] / ceiling if ceiling else None
                    rows.append(row)
                _speedups(rows)
                data["kernels"] += rows
                say(f"[{i}/{len(case_list)}] {case.kernel} {case.shape} ({t} thr): " + ", ".join(
                    f"{_label(r)} {r['median_s'] * 1e3:.3g} ms" if r.get("median_s") else f"{_label(r)} error"
                    for r in rows))
            if train:
                data["training"] += _run_training(model_names, train_batches, backend_names, torch_mod, t, repeat,
                                                  settle, quick, say)
    finally:
        if previous is not None:
            registry.set_num_threads(previous)
        else:                           # back to "not set": every runtime on all cores
            registry.set_num_threads(_threads.default_num_threads())
            _threads._num_threads = None
        if torch_mod is not None and previous_torch:
            torch_mod.set_num_threads(previous_torch)
    if skipped_naive:
        notes.append(f"the naive GEMM rung was skipped at n = {', '.join(map(str, sorted(skipped_naive)))} "
                     f"(> {_cases.NAIVE_MAX}: seconds per call); give --sizes explicitly to time it anyway")
    data["versions"] = versions(torch_mod)
    try:
        machine["loadavg_end"] = [round(v, 2) for v in os.getloadavg()]
    except (OSError, AttributeError):
        machine["loadavg_end"] = None
    own = max(thread_list)              # roughly what this run adds to the load average
    if machine["loadavg_end"] and machine["loadavg_end"][0] > own + 0.75:
        notes.append(f"other work competed for the cores during the run: the 1-min load average was "
                     f"{machine['loadavg_end'][0]:.2f} at the end (this run accounts for about {own}); "
                     f"the figures of the later cases are disturbed")
    return BenchResult(data)


def _torch_threads(torch_mod, threads: int) -> dict:
    """Re-apply torch's thread count before each torch sample: Numba's OpenMP layer resets the
    OpenMP default (which torch's intra-op pool reads) when its own pool starts."""
    if torch_mod is None:
        return {}
    return {"torch": lambda: torch_mod.set_num_threads(threads) if torch_mod.get_num_threads() != threads else None}


def _label(row) -> str:
    return row["backend"] + (f"/{row['variant']}" if row.get("variant") else "")


def _run_training(models, batches, backend_names, torch_mod, threads, repeat, settle, quick, say) -> list[dict]:
    rows = []
    for model in models:
        for b in batches:
            contestants, errors = {}, {}
            for name in backend_names:
                try:
                    contestants[name] = _training.fastnn_step(model, b, name)
                except Exception as exc:        # pragma: no cover
                    errors[name] = f"{type(exc).__name__}: {exc}"
            if torch_mod is not None:
                contestants["torch"] = _training.torch_step(model, b, torch_mod)
            timings = interleaved(contestants, rounds=repeat, min_time=0.0 if quick else 0.05, settle=settle,
                                  slow=5.0, prepare=_torch_threads(torch_mod, threads))
            group = []
            for name in [*backend_names, *(["torch"] if torch_mod is not None else [])]:
                row = {"model": model, "batch": b, "backend": name, "threads": threads}
                row.update(_timing_row(timings[name]) if name in timings else {"error": errors.get(name, "?")})
                if row.get("median_s"):
                    row["samples_per_s"] = b / row["median_s"]
                group.append(row)
            _speedups(group)
            rows += group
            say(f"train {model} batch {b} ({threads} thr): " + ", ".join(
                f"{r['backend']} {r['samples_per_s']:.0f}/s" if r.get("median_s") else f"{r['backend']} error"
                for r in group))
    return rows


def run_training(models=None, batch=None, backends=None, threads=None, quick: bool = False, repeat=None,
                 torch: bool = False, progress=None) -> BenchResult:
    """Only the training-step table (``run(train=True)`` without kernels)."""
    return run(kernels=None, backends=backends, threads=threads, quick=quick, repeat=repeat, torch=torch, train=True,
               models=models, train_batch=batch, progress=progress)


__all__ = ["run", "run_training", "BenchResult", "BenchError", "resolve_kernels", "resolve_backends",
           "resolve_variants"]


if __name__ == "__main__":      # pragma: no cover
    print(run(quick=True, progress=lambda m: print(m, file=sys.stderr)).table())
