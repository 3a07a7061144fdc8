"""Public PyTorch tutorial programs, run with torch and then with fastnn.

fastnn promises that a program from a PyTorch tutorial runs after only its import lines
change. ``tests/programs/`` holds introductory programs copied from the PyTorch tutorials
and from ``pytorch/examples``. Each one is plain PyTorch code. The only changes are a
fixed seed, local data paths with ``download=False``, and a shorter budget, and each
file's header lists them. Each test below:

1. rewrites the program's imports, and nothing else, with :func:`rewrite_imports`
   (``import torch`` -> ``import fastnn as torch``, ``torchvision`` -> ``fastnn.vision``,
   ...);
2. runs the original with PyTorch in a subprocess, when that can run here (torchvision
   is not installed);
3. runs the rewritten program in a subprocess. It must exit with status 0;
4. compares what the two runs print, following that program's row in :data:`PROGRAMS`.

The comparison looks at the numbers (and ``True``/``False``/``None``) printed, as a
token stream, and ignores the surrounding text. A fastnn tensor need not print exactly
like a torch one, but it must print the same values. Each row decides, section by
section, what an honest comparison is:

* ``Same``: values that do not depend on the random stream (structure, shapes,
  deterministic arithmetic) match torch to float32 round-off;
* ``Near`` / ``Ratio`` / ``Decreases``: for results of random initialisations. fastnn's
  generator is not torch's, so the runs start from different weights. The tolerances
  come from torch's own seed-to-seed spread, measured over several seeds and noted in
  each row;
* ``Halves`` / ``AllEqual`` / ``Proportional``: relations within one run, for random
  values the tutorial makes a point about (re-seeding repeats a draw, ``out=`` writes
  into its argument, a clone equals its source, ``m3 == 3 * m1`` ...);
* ``Names``: strings torch prints as part of the lesson (the ``grad_fn`` walk);
* ``InRange`` / ``Expect``: for programs whose torch side cannot run here (they need
  torchvision). The stated thresholds were measured once with torch and a minimal
  local torchvision stand-in, and each row notes the values.

The programs' outputs need no torch-like text around the numbers. They do need the
labels that the programs print themselves, which some sections use as anchors.

Environment: ``FASTNN_DATA`` (else ``<repo>/../shared/data``, else fastnn's default
root) must hold ``mnist/`` and ``cifar-10/`` for the programs that use data. Without
the data those programs skip, or fail when ``FASTNN_REQUIRE_DATA=1``. Both sides run
with ``FASTNN_PROGRAMS_THREADS`` threads (default 1). On a shared, loaded 2-core
machine, 2 OpenMP threads per process made torch up to 10x slower.
"""
from __future__ import annotations

import math
import os
import re
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from conftest import require_torch

TESTS_DIR = Path(__file__).resolve().parent
PROGRAMS_DIR = TESTS_DIR / "programs"
REPO_ROOT = TESTS_DIR.parent
TIMEOUT_S = float(os.environ.get("FASTNN_PROGRAMS_TIMEOUT", "600"))


# ---------------------------------------------------------------------------------------
# The import rewrite: import lines only, and every form a program uses is listed here
# ---------------------------------------------------------------------------------------

#: top-level package renames, tried in order (longest first)
MODULE_RENAMES = (("torchvision", "fastnn.vision"), ("torch", "fastnn"))

_IMPORT = re.compile(r"^(?P<indent>[ \t]*)import[ \t]+(?P<mod>[\w.]+)(?:[ \t]+as[ \t]+(?P<alias>\w+))?"
                     r"(?P<tail>[ \t]*(?:#.*)?)$")
_FROM = re.compile(r"^(?P<indent>[ \t]*)from[ \t]+(?P<mod>[\w.]+)[ \t]+import[ \t]+(?P<names>.*)$")
_ANY_IMPORT = re.compile(r"^[ \t]*(?:import|from)[ \t]+(?P<mods>.*)$")


def _renamed(module: str) -> str | None:
    for old, new in MODULE_RENAMES:
        if module == old or module.startswith(old + "."):
            return new + module[len(old):]
    return None


def rewrite_imports(source: str) -> str:
    """``source`` with its torch/torchvision imports pointed at fastnn; other lines untouched.

    ``import torch``               -> ``import fastnn as torch``
    ``import torchvision``         -> ``import fastnn.vision as torchvision``
    ``import torch.nn as nn``      -> ``import fastnn.nn as nn`` (any ``import a.b as c``)
    ``from torch import nn``       -> ``from fastnn import nn``
    ``from torch.utils.data import DataLoader`` -> ``from fastnn.utils.data import DataLoader``
    ``from torchvision import datasets``        -> ``from fastnn.vision import datasets``

    Any other import of torch (``import torch.nn`` without ``as``, ``import torch, math``)
    raises ``ValueError``, because it cannot be rewritten on one line without changing
    what the program binds.
    """
    out = []
    for line in source.splitlines(keepends=True):
        body = line.rstrip("\r\n")
        newline = line[len(body):]
        m = _IMPORT.match(body)
        if m and _renamed(m["mod"]) is not None:
            mod, alias = m["mod"], m["alias"]
            if alias is None and "." in mod:
                raise ValueError(f"cannot rewrite {body.strip()!r}: 'import a.b' without 'as'")
            alias = alias or mod
            body = f"{m['indent']}import {_renamed(mod)} as {alias}{m['tail']}"
        else:
            m = _FROM.match(body)
            if m and _renamed(m["mod"]) is not None:
                body = f"{m['indent']}from {_renamed(m['mod'])} import {m['names']}"
            else:
                a = _ANY_IMPORT.match(body)
                if a and re.search(r"\btorch(vision)?\b", a["mods"].split("#")[0]) and \
                        not a["mods"].startswith("__future__"):
                    raise ValueError(f"cannot rewrite import line {body.strip()!r}")
        out.append(body + newline)
    return "".join(out)


# ---------------------------------------------------------------------------------------
# Running a program
# ---------------------------------------------------------------------------------------

def data_root() -> Path | None:
    """The first candidate data root holding both the MNIST and the CIFAR-10 files."""
    candidates = [os.environ.get("FASTNN_DATA"), str(REPO_ROOT.parent / "shared" / "data")]
    try:
        from fastnn.data import data_root as fastnn_data_root
        candidates.append(str(fastnn_data_root()))
    except Exception:  # pragma: no cover - fastnn.data itself broken
        pass
    for c in candidates:
        if c and (Path(c) / "mnist" / "train-images-idx3-ubyte.gz").is_file() \
                and (Path(c) / "cifar-10" / "data_batch_1.bin").is_file():
            return Path(c)
    return None


#: a stand-in torchvision for the torch side of programs that import torchvision but
#: never use it (see Program.torch_side == "stub"): any use fails loudly.
_TORCHVISION_STUB = '''\
"""Not torchvision: a stub for programs that import torchvision but never use it."""
import types as _types


class _Unavailable(_types.ModuleType):
    def __getattr__(self, name):
        raise ImportError(f"torchvision is not installed; {self.__name__}.{name} was used")


datasets = _Unavailable("torchvision.datasets")
transforms = _Unavailable("torchvision.transforms")
'''


@dataclass
class Run:
    returncode: int
    stdout: str
    stderr: str
    seconds: float

    def first_error(self) -> str:
        """The exception line of the traceback (or the last stderr line)."""
        lines = [ln for ln in self.stderr.strip().splitlines() if ln.strip()]
        for ln in reversed(lines):
            if re.match(r"^[A-Za-z_][\w.]*(Error|Exception|Exit|Interrupt)\b", ln) or ln.startswith("Traceback"):
                return ln
        return lines[-1] if lines else f"exit status {self.returncode}, no stderr"


def run_program(source: str, name: str, workdir: Path, *, data: Path | None,
                extra_path: Path | None = None) -> Run:
    workdir.mkdir(parents=True, exist_ok=True)
    script = workdir / f"{name}.py"
    script.write_text(source)
    threads = os.environ.get("FASTNN_PROGRAMS_THREADS", "1")
    env = dict(os.environ)
    env.update({"MPLBACKEND": "Agg", "PYTHONHASHSEED": "0", "OMP_NUM_THREADS": threads,
                "MKL_NUM_THREADS": threads, "OPENBLAS_NUM_THREADS": threads,
                "NUMBA_NUM_THREADS": threads, "PYTHONDONTWRITEBYTECODE": "1"})
    if data is not None:
        env["FASTNN_DATA"] = str(data)
    path = [str(REPO_ROOT)] + ([str(extra_path)] if extra_path else [])
    env["PYTHONPATH"] = os.pathsep.join(path + [p for p in [os.environ.get("PYTHONPATH")] if p])
    start = time.perf_counter()
    try:
        proc = subprocess.run([sys.executable, script.name], cwd=workdir, env=env, capture_output=True,
                              text=True, timeout=TIMEOUT_S)
    except subprocess.TimeoutExpired as exc:
        out = exc.stdout.decode() if isinstance(exc.stdout, bytes) else (exc.stdout or "")
        return Run(-1, out, f"TimeoutExpired: no exit after {TIMEOUT_S:.0f} s", TIMEOUT_S)
    return Run(proc.returncode, proc.stdout, proc.stderr, time.perf_counter() - start)


# ---------------------------------------------------------------------------------------
# What is compared: tokens of the printed output
# ---------------------------------------------------------------------------------------

_HEX = re.compile(r"0x[0-9a-fA-F]+")
_TOKEN = re.compile(r"(?<![\w.])(?:[-+]?(?:\d+\.\d*|\.\d+|\d+)(?:[eE][-+]?\d+)?|[-+]?inf|nan|True|False|None)(?![\w])")


def tokens(text: str) -> list:
    """The numbers, booleans and Nones printed in ``text``, in order (addresses removed)."""
    out = []
    for t in _TOKEN.findall(_HEX.sub(" ", text)):
        out.append({"True": True, "False": False, "None": None}[t] if t in ("True", "False", "None") else float(t))
    return out


def section(text: str, start: str | None, end: str | None) -> str | None:
    """``text`` after the first match of regex ``start`` up to the next match of ``end``."""
    i = 0
    if start is not None:
        m = re.search(start, text, re.M)
        if m is None:
            return None
        i = m.end()
    j = len(text)
    if end is not None:
        m = re.search(end, text[i:], re.M)
        if m is None:
            return None
        j = i + m.start()
    return text[i:j]


def _close(a, b, rtol, atol) -> bool:
    if isinstance(a, bool) or isinstance(b, bool) or a is None or b is None:
        return a == b and type(a) is type(b)
    if math.isnan(a) or math.isnan(b):
        return math.isnan(a) and math.isnan(b)
    return abs(a - b) <= atol + rtol * abs(b)


@dataclass
class Same:
    """Same tokens as torch, within float32 round-off (deterministic values)."""
    rtol: float = 2e-4
    atol: float = 1e-5
    needs_torch = True

    def __call__(self, got, ref):
        if len(got) != len(ref):
            return [f"{len(got)} values, torch printed {len(ref)}: {got[:12]} vs {ref[:12]}"]
        bad = [(i, g, r) for i, (g, r) in enumerate(zip(got, ref)) if not _close(g, r, self.rtol, self.atol)]
        return [f"value #{i}: {g} != torch {r} (rtol={self.rtol}, atol={self.atol})" for i, g, r in bad[:6]]


@dataclass
class Near(Same):
    """Same count as torch, values within a loose tolerance (results of different random draws)."""
    rtol: float = 0.1
    atol: float = 0.0


@dataclass
class SameCount:
    """As many values as torch printed (e.g. a random tensor of the same shape)."""
    needs_torch = True

    def __call__(self, got, ref):
        return [] if len(got) == len(ref) else [f"{len(got)} values, torch printed {len(ref)}"]


@dataclass
class Ratio:
    """last/first of the values falls by the same factor as torch's, within ``tol`` in log10."""
    tol: float = 0.5
    needs_torch = True

    def __call__(self, got, ref):
        if len(got) < 2 or len(ref) < 2:
            return [f"need >= 2 values, got {len(got)} (torch {len(ref)})"]
        if not (got[0] > 0 and got[-1] > 0):
            return [f"non-positive values {got[0]}, {got[-1]}"]
        g, r = math.log10(got[-1] / got[0]), math.log10(ref[-1] / ref[0])
        return [] if abs(g - r) <= self.tol else \
            [f"fell by 10^{g:.2f} ({got[0]:.4g} -> {got[-1]:.4g}); torch by 10^{r:.2f} "
             f"({ref[0]:.4g} -> {ref[-1]:.4g}); tolerance 10^{self.tol}"]


@dataclass
class InRange:
    """Every value (exactly ``count`` of them, if given) lies in [lo, hi]. When torch ran,
    its values must lie there too: that checks the stated range itself."""
    lo: float = -math.inf
    hi: float = math.inf
    count: int | None = None
    needs_torch = False
    also_torch = True

    def __call__(self, got, ref=None):
        problems = []
        if self.count is not None and len(got) != self.count:
            problems.append(f"{len(got)} values, expected {self.count}")
        if not got:
            problems.append("no values")
        problems += [f"value #{i} = {g} outside [{self.lo}, {self.hi}]"
                     for i, g in enumerate(got) if g is None or isinstance(g, bool) or
                     not (self.lo <= g <= self.hi)][:6]
        return problems


@dataclass
class Decreases:
    """Each value is below the previous one by at least ``by`` (e.g. test losses per epoch)."""
    by: float = 0.0
    needs_torch = False

    def __call__(self, got, ref=None):
        if len(got) < 2:
            return [f"need >= 2 values, got {got}"]
        return [f"{a} -> {b}: did not fall by {self.by}" for a, b in zip(got, got[1:]) if not b <= a - self.by]


@dataclass
class Expect:
    """Exactly these values (deterministic output of a program without a torch run)."""
    values: list
    rtol: float = 1e-4
    atol: float = 1e-6
    needs_torch = False

    def __call__(self, got, ref=None):
        return Same(self.rtol, self.atol)(got, self.values)


@dataclass
class AllEqual:
    """The picked values are all equal to each other (a relation within one run)."""
    rtol: float = 1e-5
    atol: float = 1e-7
    needs_torch = False

    def __call__(self, got, ref=None):
        if len(got) < 2:
            return [f"need >= 2 values, got {got}"]
        return [f"{g} != {got[0]}" for g in got[1:] if not _close(g, got[0], self.rtol, self.atol)]


@dataclass
class Halves:
    """The picked values split in two halves, and the second half equals ``factor`` times the
    first (``equal=True``), or differs from it somewhere (``equal=False``): a relation within
    one run, e.g. ``random1 == random3`` after re-seeding, ``m3 == 3 * m1``, or an ``out=``
    tensor that must have changed."""
    equal: bool = True
    factor: float = 1.0
    rtol: float = 2e-4
    atol: float = 1e-4
    needs_torch = False

    def __call__(self, got, ref=None):
        n = len(got) // 2
        if len(got) % 2 or n == 0:
            return [f"need two equal halves, got {len(got)} values"]
        a, b = got[:n], got[n:]
        same = all(_close(y, self.factor * x if isinstance(x, float) else x, self.rtol, self.atol)
                   for x, y in zip(a, b))
        if self.equal and not same:
            return [f"second half {b} != {self.factor} x first half {a}"]
        if not self.equal and same:
            return [f"second half {b} equals the first {a}; it should differ"]
        return []


@dataclass
class Proportional:
    """The values are one common factor times ``values`` (e.g. x.grad = 2^k v)."""
    values: list
    rtol: float = 1e-3
    needs_torch = False

    def __call__(self, got, ref=None):
        if len(got) != len(self.values) or not got[0]:
            return [f"{got} is not proportional to {self.values}"]
        k = got[0] / self.values[0]
        return [] if all(_close(g, k * v, self.rtol, 0.0) for g, v in zip(got, self.values)) else \
            [f"{got} is not proportional to {self.values}"]


@dataclass
class Names:
    """The same strings as torch (``Check.grep`` with one group, e.g. printed grad_fn names)."""
    needs_torch = True
    strings = True

    def __call__(self, got, ref):
        return [] if got == ref else [f"{got} != torch {ref}"]


@dataclass
class Contains:
    """fastnn's output (or section) matches this regex (deterministic text)."""
    pattern: str
    needs_torch = False
    strings = True

    def __call__(self, got, ref=None):
        text = "\n".join(got)
        return [] if re.search(self.pattern, text, re.M) else [f"no match for {self.pattern!r}"]


@dataclass
class Check:
    what: str
    rule: object
    start: str | None = None          # regex; the section starts after its first match
    end: str | None = None            # regex; ... and ends at the next match of this
    grep: str | None = None           # regex; only the text of its matches in the section counts
    pick: object = None               # which tokens: None (all), an int, a slice or a list of ints

    def values(self, text: str):
        s = section(text, self.start, self.end)
        if s is None:
            return None
        if getattr(self.rule, "strings", False):
            if self.grep is None:
                return [s]
            return [m if isinstance(m, str) else m[0] for m in re.findall(self.grep, s, re.M)]
        if self.grep is not None:
            s = "\n".join(m.group(0) for m in re.finditer(self.grep, s, re.M))
        t = tokens(s)
        if self.pick is None:
            return t
        if isinstance(self.pick, int):
            return [t[self.pick]] if -len(t) <= self.pick < len(t) else []
        if isinstance(self.pick, list):
            return [t[i] for i in self.pick if -len(t) <= i < len(t)]
        return t[self.pick]


@dataclass
class Program:
    name: str
    checks: list
    torch_side: str = "torch"   # "torch": run as-is; "stub": torchvision imported but unused;
                                # "none": needs torchvision, which is not installed here
    data: bool = False          # needs the MNIST / CIFAR-10 files
    note: str = ""
    marks: list = field(default_factory=list)


def compare(program: Program, out: str, ref: str | None) -> list[str]:
    problems = []
    for c in program.checks:
        got = c.values(out)
        if got is None:
            problems.append(f"[{c.what}] section {c.start!r}..{c.end!r} not found in fastnn's output")
            continue
        want = None
        if getattr(c.rule, "needs_torch", False) or (ref is not None and getattr(c.rule, "also_torch", False)):
            assert ref is not None, f"{program.name}: rule {c.rule} needs the torch run"
            want = c.values(ref)
            assert want is not None, f"{program.name}: section {c.start!r}..{c.end!r} not in torch's output"
        if getattr(c.rule, "also_torch", False) and want is not None:
            bad = c.rule(want)
            assert not bad, f"{program.name}: [{c.what}] torch's own values break the stated range: {bad}"
            want = None
        problems += [f"[{c.what}] {p}" for p in (c.rule(got, want) if want is not None else c.rule(got))]
    return problems


# ---------------------------------------------------------------------------------------
# The table: one row per program, with what an honest comparison is for it
# ---------------------------------------------------------------------------------------

PROGRAMS: list[Program] = []   # filled in below


def _row(*args, **kwargs):
    PROGRAMS.append(Program(*args, **kwargs))


# ---- "Learning PyTorch with Examples": the sin(x) polynomial fits ---------------------
#
# The fits start from random weights, which fastnn draws from its own generator. So
# the per-step losses cannot match torch's. Gradient descent on this least-squares
# problem is linear, though, so the result after 2000 steps can be computed exactly
# for any start. Over 10^6 starts a, b, c, d ~ N(0, 1) (torch.randn), the final loss
# is 8.82 (the least-squares optimum) at best, above 22.4 for only 0.01% of starts,
# and above 25 for 0.002%. b lies in [0.784, 0.902] and d in [-0.0998, -0.0830] for
# 99.98% of starts. Over 200,000 starts from nn.Linear(3, 1)'s U(-1/sqrt(3), 1/sqrt(3))
# initialisation, the final loss lies in [8.83, 9.78], b in [0.8328, 0.8535] and d in
# [-0.0929, -0.0899]. torch's printed losses also fall at every report. Each row checks
# the printed step numbers (exact), that the loss falls at every report, and that the
# final loss, b and d lie in these ranges for fastnn as well as for torch.

def _poly_checks(*, loss_band, b_band, d_band, result_b=1, result_d=4):
    return [
        Check("step numbers", Same(), end=r"^Result", pick=slice(0, None, 2)),
        Check("loss falls at every report", Decreases(), end=r"^Result", pick=slice(1, None, 2)),
        Check("final loss (t=1999)", InRange(*loss_band, count=1), end=r"^Result", pick=-1),
        Check("fitted b (x coefficient)", InRange(*b_band, count=1), start=r"^Result", pick=result_b),
        Check("fitted d (x^3 coefficient)", InRange(*d_band, count=1), start=r"^Result", pick=result_d),
    ]


_RANDN_POLY = dict(loss_band=(8.8, 25.0), b_band=(0.78, 0.905), d_band=(-0.100, -0.083))
_LINEAR_POLY = dict(loss_band=(8.8, 10.0), b_band=(0.830, 0.856), d_band=(-0.0932, -0.0897))

_row("polynomial_tensor", _poly_checks(**_RANDN_POLY),
     note="tensors and hand-written gradients; random start (see the comment above)")
_row("polynomial_autograd", _poly_checks(**_RANDN_POLY),
     note="autograd, torch.accelerator, torch.set_default_device; random start")
_row("polynomial_custom_function", [
    Check("every printed number (the start is torch.full: deterministic)", Same(rtol=1e-4, atol=1e-6)),
], note="custom autograd.Function (LegendrePolynomial3); fully deterministic, compared number for number "
        "(rtol 1e-4: float32 sums of 2000 terms in a different order; a and c end near 0, hence atol)")
_row("polynomial_nn", _poly_checks(**_LINEAR_POLY), note="nn.Sequential(Linear, Flatten(0, 1)), MSELoss(sum)")
_row("polynomial_optim", _poly_checks(**_LINEAR_POLY), note="as polynomial_nn with optim.SGD")
_row("polynomial_module", _poly_checks(**_RANDN_POLY), note="custom nn.Module with nn.Parameter(torch.randn(()))")

# DynamicNet draws 4 or 5 orders with Python's random, seeded identically on both sides,
# so only the initial weights differ. Over torch seeds 0..4 the loss fell from t=1999 to
# t=7999 by 10^-0.93, -0.91, -0.81, -0.91, -0.92, so the tolerance is 10^0.3 around torch.
_row("dynamic_net", [
    Check("step numbers", Same(), end=r"^Result", pick=slice(0, None, 2)),
    Check("loss falls at every report", Decreases(), end=r"^Result", pick=slice(1, None, 2)),
    Check("loss falls by torch's factor (t=1999 -> 7999)", Ratio(tol=0.3), end=r"^Result", pick=slice(1, None, 2)),
], note="control flow + weight sharing, SGD momentum; random start")


# ---- "Learn the Basics" / "60 Minute Blitz": tensors, autograd, nn --------------------

_row("tensors_tutorial", [
    Check("ones_like of an int tensor", Same(), end=r"Random Tensor"),
    Check("rand_like(dtype=float): 2x2 in [0, 1)", InRange(0.0, 1.0, count=4),
          start=r"Random Tensor:", end=r"Random Tensor:"),
    Check("rand((2, 3)): 6 values in [0, 1)", InRange(0.0, 1.0, count=6),
          start=r"Random Tensor:[\s\S]*?Random Tensor:", end=r"Ones Tensor"),
    Check("everything after the random tensors (shapes, indexing, cat, add_, NumPy bridge)", Same(),
          start=r"\nOnes Tensor:"),
], note="random tensors checked for shape and range, every other printed number exactly")

_row("autograd_basics", [
    Check("grad_fn names printed", Names(), grep=r"Gradient function for \w+ = <(\w+)"),
    Check("w.grad (5x3) and b.grad (3): 18 values in (0, 1/3)", InRange(0.0, 1 / 3, count=18),
          start=r"Gradient function for loss[^\n]*\n", end=r"^(True|False)$"),
    Check("w.grad rows equal b.grad (x is ones)", AllEqual(rtol=1e-6),
          start=r"Gradient function for loss[^\n]*\n", end=r"^(True|False)$", pick=[0, 3, 6, 9, 12, 15]),
    Check("requires_grad flags and the Jacobian-product gradients (deterministic)", Same(),
          start=r"\n(?=(True|False)\n)"),
], note="w, b are random: their gradients are checked for range and structure; the rest exactly")

_row("autograd_gentle_intro", [
    Check("gradient checks and requires_grad flags", Expect([True, True, True, True, False, True])),
], torch_side="none", note="needs torchvision.models.resnet18; the printed values are deterministic")

_row("neural_networks_tutorial", [
    Check("print(net): layer sizes", Same(), end=r"^\d+$"),
    Check("len(params), conv1.weight.size()", Same(), start=r"^\)$", grep=r"^\d+$|Size\(\[[\d, ]*\]\)"),
    Check("net(input): 10 outputs of a random LeNet", InRange(-1.0, 1.0, count=10),
          grep=r"^tensor\(\[\[[^\]]*\]\]", pick=slice(None)),
    # MSE against arange(1, 11) is mean(t^2) = 38.5, shifted by -2 mean(out t) + mean(out^2)
    # with |out| <~ 0.2: torch seeds 0..4 printed 38.15, 38.66, 38.68, 38.11, 38.31.
    Check("MSE loss vs arange(1, 11)", InRange(36.0, 41.0, count=1), grep=r"^tensor\([-\d.e+]+"),
    Check("grad_fn chain printed (MSELoss -> Linear -> ...)", Names(), grep=r"^<(\w+) object at"),
    Check("conv1.bias.grad before backward", Same(), start=r"before backward", end=r"conv1.bias.grad after"),
    Check("conv1.bias.grad after backward: 6 values", InRange(-1.0, 1.0, count=6), start=r"after backward"),
], note="LeNet on one random input: structure exactly, random values by count and range")

def _r(a, b):
    return list(range(a, b + 1))


# "Introduction to PyTorch Tensors" prints ~600 numbers, random ones among deterministic
# ones. The token indices below come from torch's run (section by section); the random
# values are checked by count, range and the relations the tutorial itself points out
# (re-seeding repeats a draw, m3 == 3 * m1, an out= tensor changes, a clone is equal ...).
_TD_HEAD = dict(end=r"^Common functions:")
_TD_TAIL = dict(start=r"^Before:")      # local index = torch's global index - 388
_row("tensors_deeper_tutorial", [
    Check("creation: same number of values printed (empty tensors included)", SameCount(), **_TD_HEAD),
    Check("zeros/ones, shapes, *_like, constants, dtypes, arithmetic (deterministic)", Same(), **_TD_HEAD,
          pick=_r(12, 23) + _r(54, 56) + _r(69, 71) + _r(84, 116) + _r(129, 152) + _r(165, 196)),
    Check("manual_seed(1729) repeats the draws: random1, random2 == random3, random4", Halves(), **_TD_HEAD,
          pick=_r(30, 53)),
    Check("torch.rand values in [0, 1)", InRange(0.0, 1.0), **_TD_HEAD, pick=_r(24, 53) + _r(117, 128)),
    Check("rand(float64) * 20 and its .to(int32) in [0, 20)", InRange(0.0, 20.0, count=12), **_TD_HEAD,
          pick=_r(153, 164)),
    Check("broadcast: doubled == 2 * rand", Halves(factor=2.0), **_TD_HEAD, pick=_r(197, 212)),
    Check("abs/ceil/floor/clamp of rand * 2 - 1", InRange(-1.0, 1.0, count=32), start=r"^Common functions:",
          end=r"^Sine and arcsine"),
    Check("sin/asin, bitwise_xor, eq, max/mean/std/prod, unique (deterministic)", Same(),
          start=r"^Sine and arcsine", end=r"^Vectors & Matrices"),
    Check("cross(v2, v1)", Same(), start=r"^Vectors & Matrices", pick=_r(0, 2)),
    Check("m3 == 3 * m1", Halves(factor=3.0), start=r"^Vectors & Matrices", pick=_r(3, 10)),
    Check("svd(m3): U, S, V", SameCount(), start=r"^Vectors & Matrices", end=r"^a:$", pick=slice(11, None)),
    Check("sin vs in-place sin_", Same(), start=r"^a:$", end=r"^Before:"),
    Check("ones; zeros; a[0][1] = 561 through an alias; eq of a clone; ones", Same(), **_TD_TAIL,
          pick=_r(0, 3) + _r(28, 31) + _r(40, 51)),
    Check("a.add_(b) returns a", Halves(), **_TD_TAIL, pick=_r(8, 15)),
    Check("b unchanged by a.add_(b)", Halves(), **_TD_TAIL, pick=_r(4, 7) + _r(16, 19)),
    Check("b.mul_(b) returns b", Halves(), **_TD_TAIL, pick=_r(20, 27)),
    Check("torch.rand(2, 2, out=c) writes into c", Halves(equal=False), **_TD_TAIL, pick=_r(32, 39)),
    Check("clone() and detach().clone() equal the source", Halves(), **_TD_TAIL,
          pick=_r(52, 55) + _r(52, 55) + _r(57, 60) + _r(61, 64)),
    Check("requires_grad=True shown on a, before and after", Same(), **_TD_TAIL, pick=[56, 69]),
    Check("shapes: unsqueeze/squeeze/reshape/unsqueeze_", Same(), **_TD_TAIL,
          pick=_r(74, 80) + _r(82, 83) + [104] + _r(125, 130) + _r(155, 166)),
    Check("squeeze(0) keeps the values", Halves(), **_TD_TAIL, pick=_r(84, 103) + _r(105, 124)),
    Check("NumPy bridge: ones, from_numpy, shared memory (23, 17)", Same(), **_TD_TAIL,
          pick=_r(167, 178) + _r(191, 196) + [201]),
    Check(".numpy() shows the tensor's values", Halves(rtol=1e-3), **_TD_TAIL, pick=_r(179, 190)),
], note="seeded with torch.manual_seed(1729) by the tutorial itself; fastnn's draws differ, so random "
        "values are checked by count, range and relation")


# "The Fundamentals of Autograd": deterministic up to the grad_fn walk; a random TinyModel
# (relations between its printed weights and gradients); the profiler table (not compared:
# timings); x.grad of the doubling loop is 2^k (0.1, 1, 1e-4).
_AF_MODEL = dict(start=r"^a:$")        # local index = torch's global index - 109
_row("autograd_fundamentals", [
    Check("linspace, sin, 2*sin, +1, sum", Same(), end=r"^d:$"),
    Check("grad_fn walk: names", Names(), start=r"^d:$", end=r"^a:$", grep=r"<(\w+) object at"),
    Check("grad_fn walk: next_functions indices and Nones", Same(), start=r"^d:$", end=r"^a:$"),
    Check("a.grad_fn is None; a.grad == 2 cos(a)", Same(), **_AF_MODEL, pick=_r(0, 25)),
    Check("layer2.weight.grad is None before backward()", Same(), **_AF_MODEL, pick=[36]),
    Check("backward() leaves the weights alone", Halves(), **_AF_MODEL, pick=_r(26, 35) + _r(38, 47)),
    Check("optimizer.step() changes the weights", Halves(equal=False), **_AF_MODEL, pick=_r(26, 35) + _r(58, 67)),
    Check("step() leaves the grads alone", Halves(), **_AF_MODEL, pick=_r(48, 57) + _r(68, 77)),
    Check("5 more backward() calls accumulate", Halves(equal=False), **_AF_MODEL, pick=_r(78, 87) + _r(88, 97)),
    Check("zero_grad(set_to_none=False) zeroes; requires_grad / no_grad / decorator results", Same(),
          **_AF_MODEL, pick=_r(98, 156) + [162]),
    Check("x.detach() has x's values", Halves(), **_AF_MODEL, pick=_r(157, 161) + _r(163, 167)),
    Check("doubling loop: x.grad = 2^k (0.1, 1, 1e-4)", Proportional([0.1, 1.0, 0.0001]), pick=_r(-11, -9)),
    Check("inputs drawn with torch.rand", InRange(0.0, 1.0, count=8), pick=slice(-8, None)),
], note="grad_fn walk compared by name and structure; TinyModel by relations; profiler table not compared",
   marks=[pytest.mark.xfail(strict=True, raises=AssertionError,
                            reason="y.data.norm() at line 210: fastnn's Tensor.data is the NumPy array, not a "
                                   "Tensor (docs/pytorch-compat.md); everything before that line matches torch")])


_BUILDMODEL_REPR = """NeuralNetwork(
  (flatten): Flatten(start_dim=1, end_dim=-1)
  (linear_relu_stack): Sequential(
    (0): Linear(in_features=784, out_features=512, bias=True)
    (1): ReLU()
    (2): Linear(in_features=512, out_features=512, bias=True)
    (3): ReLU()
    (4): Linear(in_features=512, out_features=10, bias=True)
  )
)"""
_row("buildmodel_tutorial", [
    Check("print(model)", Same(), end=r"^Predicted class"),
    Check("predicted class of a random image", InRange(0, 9, count=1), grep=r"^Predicted class: .*$"),
    Check("input/flatten/linear sizes", Same(), start=r"^Predicted class:[^\n]*\n", end=r"^Before ReLU"),
    Check("hidden1 before ReLU: 3x20 values", SameCount(), start=r"^Before ReLU", end=r"^After ReLU"),
    Check("hidden1 after ReLU: 3x20 values >= 0", InRange(0.0, math.inf, count=60),
          start=r"^After ReLU", end=r"^Model structure"),
    Check("print(model) again", Same(), start=r"^Model structure", end=r"^Layer"),
    Check("named_parameters: sizes", Same(), grep=r"Size: \S*Size\(\[[\d, ]*\]\)"),
], torch_side="stub", note="imports torchvision.datasets/transforms without using them: the torch side runs "
                            "with a stub torchvision whose every use raises")


# ---- "What is torch.nn really?" (MNIST, refactored step by step) ---------------------
#
# Tokens after the summarised print of x_train (section starts at the "Size([5000, 784])"):
#   0-1 x_train.shape, 2-3 y min/max, 4-13 preds[0], 14-15 preds.shape, 16 initial nll loss,
#   17 initial accuracy, 18/19 loss/accuracy after the hand-written loop, 20/21 the same
#   with F.cross_entropy, 22/23 Mnist_Logistic before/after fit(), 24/25 with nn.Linear,
#   26/27 with optim, 28 TensorDataset, 29 DataLoader, 30-33 validation (epoch, loss) x 2,
#   34-37 fit(), 38-41 CNN, 42-45 nn.Sequential CNN, 46-49 AdaptiveAvgPool2d CNN,
#   50 cuda.is_available(), 51-54 fit() continued after .to(dev).
# torch, seeds 0..3: initial losses 2.15-2.50; last-batch losses after training 0.0526-0.0552
# (the last batch holds 8 easy digits; accuracy 1.0 each time); logistic validation losses
# 0.44-1.07; CNN validation losses 1.96-2.30 after epoch 1 and 1.18-2.07 after epoch 2, and
# 0.89-1.39 for the continued run; every validation loss fell from epoch 0 to 1.
_NN = r"Size(?=\(\[5000, 784\]\))"
_row("nn_tutorial", [
    Check("x_train.shape as printed by NumPy", Same(), end=r"\n"),
    Check("shapes, label range, preds.shape, epoch numbers, cuda.is_available()", Same(), start=_NN,
          pick=[0, 1, 2, 3, 14, 15, 30, 32, 34, 36, 38, 40, 42, 44, 46, 48, 50, 51, 53]),
    Check("log-softmax of a random linear model: 10 values < 0", InRange(-6.0, 0.0, count=10), start=_NN,
          pick=slice(4, 14)),
    Check("initial losses of random models (~ln 10)", InRange(2.0, 2.7, count=4), start=_NN, pick=[16, 22, 24, 26]),
    Check("last-batch losses after each training variant", Near(rtol=0.15), start=_NN,
          pick=[18, 20, 23, 25, 27, 28, 29]),
    Check("last-batch accuracies after training", Same(), start=_NN, pick=[19, 21]),
    Check("F.cross_entropy == hand-written log_softmax + nll on the same weights", AllEqual(rtol=1e-5),
          start=_NN, pick=[18, 20]),
    Check("validation loss falls, logistic (x2)", Decreases(), start=_NN, pick=[31, 33]),
    Check("validation loss falls, fit()", Decreases(), start=_NN, pick=[35, 37]),
    Check("logistic validation losses", InRange(0.3, 1.3, count=4), start=_NN, pick=[31, 33, 35, 37]),
    Check("validation loss falls, CNN", Decreases(), start=_NN, pick=[39, 41]),
    Check("validation loss falls, Sequential CNN", Decreases(), start=_NN, pick=[43, 45]),
    Check("validation loss falls, AdaptiveAvgPool2d CNN", Decreases(), start=_NN, pick=[47, 49]),
    Check("validation loss falls, continued on dev", Decreases(), start=_NN, pick=[52, 54]),
    Check("CNN validation losses", InRange(0.5, 2.4, count=8), start=_NN, pick=[39, 41, 43, 45, 47, 49, 52, 54]),
], data=True, note="random starts: structure exactly; losses against torch's seed-to-seed spread")


# ---- Programs that need torchvision: fastnn side only, against stated thresholds -------
#
# Measured once with torch 2.13 (1 thread) and a minimal local torchvision stand-in
# (datasets and ToTensor/Normalize, reading the same files), seeds 0..3:
#   quickstart (1 epoch):  test accuracy 25.4-46.8%, avg loss 2.261-2.267
#   optimization (2 ep.):  accuracy 17.5-33.7% then 23.9-40.7%; avg loss 2.279-2.284 then 2.256-2.262
#   cifar10:               running loss 2.30 -> 1.74-1.78; accuracy 36-38%
#   mnist_example:         test loss 0.259-0.283 then 0.183-0.204; 1835-1851 then 1864-1885 of 2000

_QS_REPR = _BUILDMODEL_REPR
_row("quickstart_tutorial", [
    Check("batch shapes", Expect([64, 1, 28, 28, 64]), end=r"^Using"),
    Check("print(model)", Expect(tokens(_QS_REPR)), start=r"^Using[^\n]*\n", end=r"^Epoch"),
    Check("epoch number and progress counters", Expect([1] + [v for k in range(10) for v in (64 + 6400 * k, 60000)]),
          grep=r"^Epoch \d+|\[ *\d+/ *\d+\]"),
    Check("training losses printed", InRange(2.2, 2.35, count=10), grep=r"^loss: \S+"),
    Check("test accuracy after 1 epoch (%)", InRange(15.0, 65.0, count=1), grep=r"Accuracy: \S+%"),
    Check("test avg loss after 1 epoch", InRange(2.20, 2.29, count=1), grep=r"Avg loss: \S+"),
    Check("label of test_data[0] (a 7, named with Fashion-MNIST's classes)", Contains(r'Actual: "Sneaker"')),
], torch_side="none", data=True, note="needs torchvision; MNIST stands in for Fashion-MNIST")

_OPT_COUNTERS = [v for k in range(5) for v in (64 + 6400 * k, 30000)]   # [current/size] of 5 reports
_row("optimization_tutorial", [
    Check("epoch numbers and progress counters", Expect([1] + _OPT_COUNTERS + [2] + _OPT_COUNTERS),
          grep=r"^Epoch \d+|\[ *\d+/ *\d+\]"),
    Check("training losses printed", InRange(2.2, 2.35, count=10), grep=r"^loss: \S+"),
    Check("test avg loss falls each epoch", Decreases(by=0.005), grep=r"Avg loss: \S+"),
    Check("test avg loss after 2 epochs", InRange(2.22, 2.28, count=1), grep=r"Avg loss: \S+", pick=-1),
    Check("test accuracy after 2 epochs (%)", InRange(15.0, 60.0, count=1), grep=r"Accuracy: \S+%", pick=-1),
], torch_side="none", data=True, note="needs torchvision; MNIST stands in for Fashion-MNIST")

_row("cifar10_tutorial", [
    Check("(epoch, mini-batch) counters", Expect([1, 500, 1, 1000, 1, 1500, 1, 2000, 2, 500, 2, 1000, 2, 1500, 2, 2000]),
          grep=r"^\[ *\d+, *\d+\]"),
    Check("first running loss (~ln 10)", InRange(2.25, 2.32, count=1), grep=r"\] loss: \S+", pick=0),
    Check("last running loss", InRange(1.5, 1.95, count=1), grep=r"\] loss: \S+", pick=-1),
    Check("ground truth of the first 4 test images", Contains(r"^GroundTruth:\s+cat\s+ship\s+ship\s+plane\s*$")),
    Check("test accuracy (%)", InRange(28.0, 50.0, count=1), start=r"test images:", end=r"$"),
    Check("per-class accuracies (%)", InRange(0.0, 100.0, count=10), grep=r"^Accuracy for class: .*$"),
], torch_side="none", data=True, note="needs torchvision (CIFAR10, transforms, utils.make_grid)")

_row("mnist_example", [
    Check("epoch numbers", Expect([1] * 5 + [2] * 5), grep=r"^Train Epoch: .*$", pick=slice(0, None, 5)),
    Check("samples seen", Expect([0, 640, 1280, 1920, 2560] * 2), grep=r"^Train Epoch: .*$", pick=slice(1, None, 5)),
    Check("dataset size", Expect([3200] * 10), grep=r"^Train Epoch: .*$", pick=slice(2, None, 5)),
    Check("percent done", Expect([0, 20, 40, 60, 80] * 2), grep=r"^Train Epoch: .*$", pick=slice(3, None, 5)),
    Check("first training loss (~ln 10)", InRange(2.1, 2.5, count=1), grep=r"^Train Epoch: .*$", pick=4),
    Check("last training loss", InRange(0.0, 0.6, count=1), grep=r"^Train Epoch: .*$", pick=-1),
    Check("test loss falls", Decreases(), grep=r"Average loss: \S+"),
    Check("test loss after 2 epochs", InRange(0.12, 0.30, count=1), grep=r"Average loss: \S+", pick=-1),
    Check("correct of 2000 after 2 epochs", InRange(1800, 2000, count=1), grep=r"Accuracy: \d+/", pick=-1),
], torch_side="none", data=True, note="needs torchvision; Adadelta + StepLR")


# ---------------------------------------------------------------------------------------
# The tests
# ---------------------------------------------------------------------------------------

def test_every_program_has_a_row():
    files = sorted(p.stem for p in PROGRAMS_DIR.glob("*.py"))
    assert files == sorted(p.name for p in PROGRAMS)


def test_rewrite_imports_touches_import_lines_only():
    src = ("import math\nimport torch\nimport torch.nn as nn\nfrom torch import nn, optim\n"
           "from torch.utils.data import DataLoader  # note\nimport torchvision\n"
           "import torchvision.transforms as transforms\nfrom torchvision.models import resnet18\n"
           "x = torch.tensor([1])  # import torch\n    import torch\n")
    assert rewrite_imports(src) == (
        "import math\nimport fastnn as torch\nimport fastnn.nn as nn\nfrom fastnn import nn, optim\n"
        "from fastnn.utils.data import DataLoader  # note\nimport fastnn.vision as torchvision\n"
        "import fastnn.vision.transforms as transforms\nfrom fastnn.vision.models import resnet18\n"
        "x = torch.tensor([1])  # import torch\n    import fastnn as torch\n")
    for bad in ("import torch.nn\n", "import torch, math\n", "import math, torch\n"):
        with pytest.raises(ValueError):
            rewrite_imports(bad)


@pytest.mark.parametrize("name", [p.name for p in PROGRAMS])
def test_every_program_rewrites_on_import_lines_only(name):
    src = (PROGRAMS_DIR / f"{name}.py").read_text()
    new = rewrite_imports(src)
    changed = [(a, b) for a, b in zip(src.splitlines(), new.splitlines()) if a != b]
    assert len(src.splitlines()) == len(new.splitlines()) and changed
    for a, b in changed:
        assert re.match(r"\s*(import|from)\s", a) and re.match(r"\s*(import|from)\s", b), (a, b)
    assert not re.search(r"^\s*(import|from)\s+torch(vision)?\b", new, re.M)


def _program(name: str) -> Program:
    return next(p for p in PROGRAMS if p.name == name)


@pytest.mark.slow
@pytest.mark.parametrize("name", [pytest.param(p.name, marks=p.marks, id=p.name) for p in PROGRAMS])
def test_program_runs_on_fastnn_like_on_torch(name, tmp_path):
    program = _program(name)
    data = None
    if program.data:
        data = data_root()
        if data is None:
            if os.environ.get("FASTNN_REQUIRE_DATA") == "1":
                pytest.fail("FASTNN_REQUIRE_DATA=1 but no data root holds mnist/ and cifar-10/")
            pytest.skip("MNIST / CIFAR-10 files not found (set FASTNN_DATA)")
    source = (PROGRAMS_DIR / f"{name}.py").read_text()

    ref = None
    if program.torch_side in ("torch", "stub"):
        require_torch()
        stub = None
        if program.torch_side == "stub":
            stub = tmp_path / "stub"
            (stub / "torchvision").mkdir(parents=True)
            (stub / "torchvision" / "__init__.py").write_text(_TORCHVISION_STUB)
        torch_run = run_program(source, name, tmp_path / "torch", data=data, extra_path=stub)
        assert torch_run.returncode == 0, (
            f"the original program fails under PyTorch itself ({torch_run.first_error()}):\n{torch_run.stderr[-3000:]}")
        ref = torch_run.stdout
        print(f"[{name}] torch: {torch_run.seconds:.1f} s")

    run = run_program(rewrite_imports(source), name, tmp_path / "fastnn", data=data)
    print(f"[{name}] fastnn: {run.seconds:.1f} s, exit status {run.returncode}")
    assert run.returncode == 0, (
        f"{name} fails on fastnn after {run.seconds:.1f} s: {run.first_error()}\n"
        f"--- stderr (tail) ---\n{run.stderr[-3000:]}\n--- stdout (tail) ---\n{run.stdout[-1500:]}")

    problems = compare(program, run.stdout, ref)
    assert not problems, (
        f"{name} runs on fastnn ({run.seconds:.1f} s) but prints different results:\n  "
        + "\n  ".join(problems)
        + f"\n--- fastnn stdout ---\n{run.stdout[-4000:]}"
        + (f"\n--- torch stdout ---\n{ref[-4000:]}" if ref is not None else ""))
