#!/usr/bin/env python
"""The PyTorch coverage table: which PyTorch names fastnn has, with the same signature or not.

    python scripts/pytorch_compat.py           # (re)write docs/pytorch-compat.md
    python scripts/pytorch_compat.py --check   # exit 1 if the committed doc is stale

It introspects torch (when installed) and fastnn over the names declared in
``scripts/pytorch_compat_names.py`` and gives each a status:

* ``same``: fastnn has it, and where both signatures can be read they agree under RULE below;
* ``differs``: fastnn has it, but the signatures disagree (the note says where, first
  mismatch only) or a hand-written note in ``NOTES`` says how it behaves differently;
* ``missing``: fastnn does not have it (``fastnn.utils`` or ``fastnn.vision`` not existing yet
  counts as missing);
* ``n/a on CPU``: declared in ``NA_ON_CPU``: it raises on a CPU-only PyTorch too.

Signatures come, in this order, from: a declaration in ``TORCH_SIGNATURES`` (all torchvision
names: torchvision is never introspected); ``inspect.signature``; for a class whose signature is
``(*args, **kwargs)``, the ``typing.get_overloads`` of its ``__init__``; and for torch builtins,
which have no ``inspect.signature``, the signature lines of the docstring (its first line and
its ``.. function::`` lines, e.g. ``sum(input, dim, keepdim=False, *, dtype=None) -> Tensor``;
with several overloads, fastnn has to match one of those taking the most positional
arguments). When none can be read, only existence is checked.

torch and fastnn are imported lazily, inside the functions, so importing this module (as the
tests do) costs nothing. ``Comparer`` takes any root objects, so the classification can be
tested on small fake modules.
"""
from __future__ import annotations

import argparse
import ast
import difflib
import importlib
import inspect
import os
import re
import sys
import types
import typing
import warnings
from dataclasses import dataclass

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
DOC = os.path.join(ROOT, "docs", "pytorch-compat.md")

SAME, DIFFERS, MISSING, NA = "same", "differs", "missing", "n/a on CPU"
STATUSES = (SAME, DIFFERS, MISSING, NA)

# torch prefix -> fastnn prefix, most specific first
MAPPING = [
    ("torchvision.", "fastnn.vision."),
    ("torch.utils.data.", "fastnn.utils.data."),
    ("torch.Tensor.", "fastnn.Tensor."),
    ("torch.", "fastnn."),
]

# The rule's parameter classes (stated in the doc header by RULE).
SILENT = ("out", "layout", "memory_format", "foreach", "fused", "capturable", "differentiable")
KEYWORD_STYLE = ("out", "dtype", "device", "layout", "pin_memory", "memory_format",
                 "foreach", "fused", "capturable", "differentiable")
FIRST_POSITIONAL = ("dtype", "device")
DEPRECATED = ("size_average", "reduce")

def _names(names) -> str:
    return ", ".join(f"`{n}`" for n in names)


RULE = f"""\
Signatures are read with `inspect.signature`; for a class whose signature is `(*args, **kwargs)`,
from the `typing.get_overloads` of its `__init__`; for torch builtins, which have none, from the
signature lines of the docstring (its first line and its `.. function::` lines); for torchvision
and a few torch names, from a declaration in `scripts/pytorch_compat_names.py`. A name is `same`
when fastnn has it and, where both signatures can be read, fastnn accepts the calls torch's
signature allows, by position and by name:

1. torch's positional parameters (those before `*`) must be fastnn's, in the same order, with
   the same names; a torch default must be a fastnn default too, of equal value when torch's is
   plain data (None, a number, a string, a tuple). A parameter with a default followed by a
   required one (`randint(low=0, high, size)`) is an overload in disguise: only its name is
   compared. A `*size`-style parameter must be `*args` in fastnn too.
2. Not compared: private parameters (`_stacklevel`) and deprecated ones ({_names(DEPRECATED)}),
   on either side (fastnn's must have defaults), and torch's `**kwargs`. A fastnn `**kwargs`
   accepts any keyword.
3. {_names(KEYWORD_STYLE)} are taken as keyword-only wherever torch puts them, and so are the
   parameters after them (nobody passes those by position), except {_names(FIRST_POSITIONAL)}
   as the first parameter (`x.to(dtype)`, `model.to(device)`).
4. torch's keyword-only parameters that fastnn does not accept do **not** make a name `differs`:
   the note lists them ("lacks keyword-only"), except {_names(SILENT)}, which only choose an
   output buffer, a memory layout or an optimizer's implementation. Those fastnn accepts must
   have the same default.
5. fastnn may have more parameters than torch if they have defaults.
6. A property in torch must not be a method in fastnn (`x.shape`, not `x.shape()`), and what
   torch calls must be callable.
7. When a torch docstring states several overloads, fastnn must match one of those taking the
   most positional arguments (`max(input, dim, keepdim=False)`, not `max(input)`).

The first mismatch is reported. "signature not compared" means one side's signature cannot be
read: only existence was checked."""


# ----------------------------------------------------------------------------- signatures

POS, VAR_POS, KW, VAR_KW = "positional", "*args", "keyword", "**kwargs"


class _NoDefault:
    def __repr__(self):
        return "<required>"


NO_DEFAULT = _NoDefault()


@dataclass(frozen=True)
class Text:
    """A default written in a docstring that is not a Python literal (``torch.strided``)."""
    text: str

    def __repr__(self):
        return self.text


@dataclass(frozen=True)
class Param:
    name: str
    kind: str = POS
    default: object = NO_DEFAULT
    positional_only: bool = False

    @property
    def has_default(self) -> bool:
        return self.default is not NO_DEFAULT


def from_inspect(sig: inspect.Signature, drop_first: bool = False) -> list[Param]:
    params = list(sig.parameters.values())
    if drop_first and params and params[0].kind in (params[0].POSITIONAL_ONLY, params[0].POSITIONAL_OR_KEYWORD):
        params = params[1:]
    out = []
    for p in params:
        default = NO_DEFAULT if p.default is p.empty else p.default
        if p.kind == p.VAR_POSITIONAL:
            out.append(Param(p.name, VAR_POS))
        elif p.kind == p.VAR_KEYWORD:
            out.append(Param(p.name, VAR_KW))
        elif p.kind == p.KEYWORD_ONLY:
            out.append(Param(p.name, KW, default))
        else:
            out.append(Param(p.name, POS, default, p.kind == p.POSITIONAL_ONLY))
    return out


def _split_top(text: str, sep: str) -> list[str]:
    """``text`` split at ``sep`` outside brackets and quotes."""
    parts, depth, quote, cur = [], 0, None, []
    for ch in text:
        if quote:
            if ch == quote:
                quote = None
        elif ch in "'\"":
            quote = ch
        elif ch in "([{":
            depth += 1
        elif ch in ")]}":
            depth -= 1
        elif ch == sep and depth == 0:
            parts.append("".join(cur))
            cur = []
            continue
        cur.append(ch)
    parts.append("".join(cur))
    return parts


def _literal(text: str):
    try:
        return ast.literal_eval(text)
    except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
        return Text(text)


_SIG_HEAD = re.compile(r"^\s*(?:\.\.\s+(?:function|method)::\s+)?([A-Za-z_][\w.]*)\(")


def parse_signature(text: str) -> list[Param] | None:
    """The parameters of a docstring-style signature ``name(a, b=1, *, c=None) -> T``, or None
    when ``text`` is not one."""
    text = text.replace("\\*", "*").replace("\\", "")
    m = _SIG_HEAD.match(text)
    if not m:
        return None
    start = m.end()
    depth, quote, end = 1, None, None
    for i in range(start, len(text)):
        ch = text[i]
        if quote:
            if ch == quote:
                quote = None
        elif ch in "'\"":
            quote = ch
        elif ch in "([{":
            depth += 1
        elif ch in ")]}":
            depth -= 1
            if depth == 0:
                end = i
                break
    if end is None:
        return None
    rest = text[end + 1:].strip()
    if rest and not rest.startswith("->"):
        return None
    inner = text[start:end].strip()
    if not inner:
        return []
    params: list[Param] = []
    keyword = False
    for raw in _split_top(inner, ","):
        item = " ".join(raw.split())
        if not item:
            continue
        if item == "*":
            keyword = True
            continue
        if item == "/":
            params = [Param(p.name, p.kind, p.default, True) if p.kind == POS else p for p in params]
            continue
        if item.startswith("**"):
            params.append(Param(item[2:].split(":")[0].strip(), VAR_KW))
            continue
        if item.startswith("*"):
            params.append(Param(item[1:].split(":")[0].strip(), VAR_POS))
            keyword = True
            continue
        head, *default = _split_top(item, "=")
        name = _split_top(head, ":")[0].strip()
        if not name.isidentifier():
            return None
        value = _literal("=".join(default).strip()) if default else NO_DEFAULT
        params.append(Param(name, KW if keyword else POS, value))
    return params


def doc_signatures(doc: str | None) -> list[list[Param]]:
    """Every signature a torch docstring states: its first line and its ``.. function::``
    lines (a signature that runs over several lines is joined first)."""
    if not doc:
        return []
    lines = doc.strip().splitlines()
    found = []
    for i, line in enumerate(lines):
        if i > 0 and not re.match(r"^\s*\.\.\s+(function|method)::", line):
            continue
        text = line
        j = i
        while text.count("(") > text.count(")") and j + 1 < len(lines) and j - i < 10:
            j += 1
            text += " " + lines[j].strip()
        sig = parse_signature(text)
        if sig is not None:
            found.append(sig)
    return found


def _readable(params: list[Param] | None) -> bool:
    """False for ``(*args, **kwargs)``-style signatures (only variadic parameters), which say
    nothing; ``()`` is readable."""
    if params is None:
        return False
    return not params or any(p.kind in (POS, KW) for p in params)


def _plain(value) -> bool:
    if value is None or isinstance(value, (bool, int, float, str)):
        return True
    if isinstance(value, (tuple, list)):
        return all(_plain(v) for v in value)
    return False


def _equal(a, b) -> bool:
    try:
        return bool(a == b)
    except Exception:  # noqa: BLE001  (arrays, tensors: ambiguous truth values)
        return False


def fmt(value) -> str:
    """A default, written deterministically (no addresses, no paths)."""
    if inspect.ismodule(value):
        return f"<module {value.__name__}>"
    if isinstance(value, type):
        return f"<class {value.__module__}.{value.__qualname__}>"
    text = re.sub(r" at 0x[0-9a-fA-F]+", "", repr(value))
    return text if len(text) <= 40 else text[:37] + "..."


def _code(name: str) -> str:
    return f"`{name}`"


def _ignored(p: Param) -> bool:
    """Not compared: private and deprecated parameters, and ``**kwargs``."""
    return p.name.startswith("_") or p.name in DEPRECATED or p.kind == VAR_KW


def compare(torch_params: list[Param], fastnn_params: list[Param]) -> tuple[str | None, list[str]]:
    """``(first mismatch or None, torch keyword-only names fastnn does not accept)``."""
    t_pos, t_kw, t_var = [], [], None
    for p in torch_params:
        if _ignored(p):
            continue
        if p.kind == VAR_POS:
            t_var = p
        elif p.kind == KW or t_kw or (p.name in KEYWORD_STYLE and (t_pos or p.name not in FIRST_POSITIONAL)):
            t_kw.append(Param(p.name, KW, p.default))
        else:
            t_pos.append(p)
    fastnn_params = [p for p in fastnn_params if not (_ignored(p) and p.has_default)]
    f_pos = [p for p in fastnn_params if p.kind == POS]
    f_kw = [p for p in fastnn_params if p.kind == KW]
    f_var = next((p for p in fastnn_params if p.kind == VAR_POS), None)
    f_varkw = any(p.kind == VAR_KW for p in fastnn_params)
    by_name = {p.name: p for p in f_pos + f_kw if not p.positional_only}

    def default_mismatch(tp: Param, fp: Param, overload: bool) -> str | None:
        if overload or not tp.has_default:
            return None
        if not fp.has_default:
            return f"{_code(tp.name)} is required in fastnn (torch default {fmt(tp.default)})"
        if _plain(tp.default) and not _equal(tp.default, fp.default):
            return f"{_code(tp.name)} defaults to {fmt(tp.default)} in torch, {fmt(fp.default)} in fastnn"
        return None

    for i, tp in enumerate(t_pos):
        overload = tp.has_default and any(not q.has_default for q in t_pos[i + 1:])
        if i < len(f_pos):
            fp = f_pos[i]
            if tp.name != fp.name and not tp.positional_only:
                return (f"parameter {i + 1} is {_code(tp.name)} in torch, {_code(fp.name)} in fastnn", [])
            if fp.positional_only and not tp.positional_only:
                return (f"{_code(tp.name)} is positional-only in fastnn", [])
            msg = default_mismatch(tp, fp, overload)
            if msg:
                return (msg, [])
        elif f_var is not None:
            return (f"{_code(tp.name)} is taken by {_code('*' + f_var.name)} in fastnn (not by name)", [])
        elif tp.name in by_name:
            return (f"{_code(tp.name)} is keyword-only in fastnn", [])
        else:
            return (f"fastnn lacks parameter {_code(tp.name)}", [])
    if t_var is not None:
        if len(f_pos) > len(t_pos):
            extra = f_pos[len(t_pos)]
            return (f"torch takes {_code('*' + t_var.name)}, fastnn {_code(extra.name)}", [])
        if f_var is None:
            return (f"fastnn does not take {_code('*' + t_var.name)}", [])
    for fp in f_pos[len(t_pos):]:
        if not fp.has_default:
            return (f"fastnn requires an extra parameter {_code(fp.name)}", [])
    t_names = {p.name for p in torch_params}
    for fp in f_kw:
        if not fp.has_default and fp.name not in t_names:
            return (f"fastnn requires an extra keyword {_code(fp.name)}", [])
    lacking = []
    for tp in t_kw:
        fp = by_name.get(tp.name)
        if fp is None:
            if not f_varkw and tp.name not in SILENT:
                lacking.append(tp.name)
            continue
        msg = default_mismatch(tp, fp, False)
        if msg:
            return (msg, [])
    return (None, lacking)


# ----------------------------------------------------------------------------- resolving names

def torch_to_fastnn(name: str) -> str:
    for src, dst in MAPPING:
        if name.startswith(src):
            return dst + name[len(src):]
    raise ValueError(f"no mapping for {name!r}")


@dataclass
class Found:
    """What a dotted path led to."""
    obj: object = None
    exists: bool = False
    parent: object = None          # the object it was an attribute of
    member: bool = False           # the parent is a class
    static: object = None          # inspect.getattr_static(parent, name), for members
    instance_only: bool = False    # found on an instance only (an attribute)
    problem: str = ""              # why it was not found, when that is worth saying


_DATA_DESCRIPTORS = (property, types.GetSetDescriptorType, types.MemberDescriptorType)


class Comparer:
    """Classifies declared names. ``roots`` maps a root name (``"torch"``, ``"fastnn"``) to
    its module, or to None when it is not installed; ``data`` is the declarations module
    (``pytorch_compat_names``) or any object with the same attributes."""

    def __init__(self, roots: dict, data):
        self.roots = roots
        self.data = data
        self._instances: dict = {}

    # -- resolution
    def resolve(self, path: str) -> Found:
        root, *parts = path.split(".")
        obj = self.roots.get(root)
        if obj is None:
            return Found(problem=f"{root} not installed")
        done = [root]
        parent = None
        for k, part in enumerate(parts):
            parent = obj
            if inspect.ismodule(obj):
                try:
                    obj = getattr(obj, part)
                except AttributeError:
                    if not hasattr(obj, "__path__"):
                        return Found()
                    target = ".".join(done + [part])
                    try:
                        obj = importlib.import_module(target)
                    except ModuleNotFoundError as exc:
                        if exc.name and (exc.name == target or target.startswith(exc.name + ".")):
                            return Found()
                        return Found(problem=f"importing {target} failed ({type(exc).__name__})")
                    except Exception as exc:  # noqa: BLE001  (a broken module is reported, not raised)
                        return Found(problem=f"importing {target} failed ({type(exc).__name__})")
            else:
                try:
                    obj = getattr(obj, part)
                except AttributeError:
                    last = k == len(parts) - 1
                    inst = self._instance(root, done[1:]) if inspect.isclass(obj) and last else None
                    if inst is not None and hasattr(inst, part):
                        return Found(getattr(inst, part), True, parent, True, None, True)
                    return Found()
                except Exception as exc:  # noqa: BLE001
                    return Found(problem=f"getting {part} raised {type(exc).__name__}")
            done.append(part)
        member = inspect.isclass(parent)
        static = None
        if member:
            try:
                static = inspect.getattr_static(parent, parts[-1])
            except AttributeError:
                static = None
        return Found(obj, True, parent, member, static)

    def _instance(self, root: str, class_parts: list[str]):
        key = (root, ".".join(class_parts))
        if key not in self._instances:
            expr = getattr(self.data, "INSTANCES", {}).get(key[1])
            inst = None
            if expr is not None:
                try:
                    inst = eval(expr, {"lib": self.roots[root]})  # noqa: S307  (declared in this repo)
                except Exception:  # noqa: BLE001
                    inst = None
            self._instances[key] = inst
        return self._instances[key]

    # -- kinds and signatures
    @staticmethod
    def is_attribute(found: Found) -> bool:
        """A value, not something one calls (a property, a dtype, a flag)."""
        if found.member and isinstance(found.static, _DATA_DESCRIPTORS):
            return True
        return not callable(found.obj)

    @staticmethod
    def is_method(found: Found) -> bool:
        return found.member and not isinstance(found.static, _DATA_DESCRIPTORS) and callable(found.obj)

    @staticmethod
    def _drop_first(found: Found) -> bool:
        return (found.member and not inspect.isclass(found.obj)
                and not isinstance(found.static, (staticmethod, classmethod))
                and not inspect.ismethod(found.obj))

    def signatures(self, found: Found | None, declared: str | None = None,
                   use_doc: bool = True) -> list[list[Param]]:
        """The readable signatures of ``found`` (several for overloaded torch builtins)."""
        if declared is not None:
            sig = parse_signature(declared)
            return [sig] if sig is not None else []
        obj = found.obj
        try:
            sig = from_inspect(inspect.signature(obj), self._drop_first(found))
        except (ValueError, TypeError):
            sig = None
        if _readable(sig):
            return [sig]
        if inspect.isclass(obj):
            try:
                overloads = typing.get_overloads(obj.__init__)
            except Exception:  # noqa: BLE001
                overloads = []
            sigs = [from_inspect(inspect.signature(f), True) for f in overloads]
            sigs = [s for s in sigs if _readable(s)]
            if sigs:
                return sigs
        if use_doc:
            return [s for s in doc_signatures(getattr(obj, "__doc__", None)) if _readable(s)]
        return []

    # -- the verdict
    def classify(self, torch_name: str) -> tuple[str, str]:
        """``(status, note)`` for one declared torch name."""
        data = self.data
        fastnn_name = torch_to_fastnn(torch_name)
        hand = getattr(data, "NOTES", {}).get(torch_name, "")
        na = getattr(data, "NA_ON_CPU", {}).get(torch_name)
        if na is not None:
            return NA, f"{na[0]}: raises on a CPU-only torch too"
        f = self.resolve(fastnn_name)
        if not f.exists:
            return MISSING, _join(f.problem, hand)
        declared = getattr(data, "TORCH_SIGNATURES", {}).get(torch_name)
        note = ""
        t = None
        if declared is None:
            t = self.resolve(torch_name)
            if not t.exists:
                note = ("torch not installed: signature not compared" if t.problem.endswith("not installed")
                        else "not found in torch")
        if t is not None and t.exists and self.is_attribute(t):
            if self.is_method(f):
                return DIFFERS, _join(f"an attribute in torch, a method in fastnn (`{fastnn_name}()`)", hand)
        elif declared is not None or (t is not None and t.exists):
            if self.is_attribute(f):
                return DIFFERS, _join("callable in torch, an attribute in fastnn", hand)
            t_sigs = self.signatures(t, declared)
            f_sigs = self.signatures(f, use_doc=False)
            if not t_sigs or not f_sigs:
                note = "signature not compared"
            else:
                mismatch, lacking = self._best(t_sigs, f_sigs[0])
                if mismatch:
                    return DIFFERS, _join(mismatch, hand)
                if lacking:
                    note = "lacks keyword-only " + ", ".join(_code(n) for n in lacking)
        if hand:
            return DIFFERS, _join(note, hand)
        return SAME, note

    @staticmethod
    def _best(t_sigs: list[list[Param]], f_sig: list[Param]) -> tuple[str | None, list[str]]:
        """Compare with the torch overloads taking the most positional arguments: the first
        one fastnn matches, or else the first one's mismatch."""
        def npos(sig):
            n = 0
            for p in sig:
                if _ignored(p) or p.kind not in (POS, VAR_POS):
                    continue
                if p.name in KEYWORD_STYLE and (n or p.name not in FIRST_POSITIONAL):
                    break
                n += 1
            return n
        most = max(npos(s) for s in t_sigs)
        results = [compare(s, f_sig) for s in t_sigs if npos(s) == most]
        for r in results:
            if r[0] is None:
                return r
        return results[0]


def _join(*parts: str) -> str:
    return "; ".join(p for p in parts if p)


# ----------------------------------------------------------------------------- the table

@dataclass
class Row:
    group: str
    name: str          # the torch name
    fastnn: str
    status: str
    note: str


def declared_names(data=None) -> list[tuple[str, str]]:
    """``(group title, torch name)`` for every declared name, in declaration order."""
    data = data or load_names()
    return [(title, prefix + n) for title, prefix, names in data.GROUPS for n in names.split()]


def load_names():
    if HERE not in sys.path:
        sys.path.insert(0, HERE)
    import pytorch_compat_names
    return pytorch_compat_names


def real_roots() -> dict:
    """``{"torch": torch or None, "fastnn": fastnn}``: this checkout's fastnn."""
    if ROOT not in sys.path:
        sys.path.insert(0, ROOT)
    import fastnn
    try:
        import torch
    except ImportError:
        torch = None
    return {"torch": torch, "fastnn": fastnn}


def table(roots: dict | None = None, data=None) -> list[Row]:
    data = data or load_names()
    roots = roots if roots is not None else real_roots()
    comparer = Comparer(roots, data)
    rows = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for group, name in declared_names(data):
            status, note = comparer.classify(name)
            rows.append(Row(group, name, torch_to_fastnn(name), status, note))
    return rows


def missing_names(rows: list[Row] | None = None) -> dict[str, list[str]]:
    """``{group: [torch names fastnn is missing]}`` (n/a-on-CPU names are not missing)."""
    rows = rows if rows is not None else table()
    out: dict[str, list[str]] = {}
    for r in rows:
        if r.status == MISSING:
            out.setdefault(r.group, []).append(r.name)
    return out


def count_missing(rows: list[Row] | None = None) -> int:
    """How many declared names fastnn is missing: the goal is 0."""
    return sum(len(v) for v in missing_names(rows).values())


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def render(rows: list[Row], torch_version: str | None, data=None) -> str:
    data = data or load_names()
    groups = [title for title, _, _ in data.GROUPS]
    totals = {s: sum(1 for r in rows if r.status == s) for s in STATUSES}
    against = (f"torch {torch_version}" if torch_version
               else "no torch (it was not installed: only existence was checked)")
    out = [
        "# PyTorch compatibility",
        "",
        "<!-- Generated by `python scripts/pytorch_compat.py`; do not edit by hand. -->",
        "",
        f"How far PyTorch programs run unchanged on fastnn: {len(rows)} names that an introductory",
        "deep-learning course uses, declared in `scripts/pytorch_compat_names.py`, looked up in",
        f"fastnn and compared with {against}. Generated by `python scripts/pytorch_compat.py`;",
        "`python scripts/pytorch_compat.py --check` (run by the tests) fails when this file is stale,",
        "so regenerate it after changing fastnn's API.",
        "",
        "Mapping: " + ", ".join(f"`{s}X` → `{d}X`" for s, d in MAPPING) + ".",
        "torchvision is not introspected: its signatures are declared by hand in",
        "`scripts/pytorch_compat_names.py` (`TORCH_SIGNATURES`). `fastnn.backends` is fastnn's",
        "kernel-backend registry, so `torch.backends.*` names map into it.",
        "",
        "Statuses: `same`, `differs` (the note says how: the first signature mismatch, or a",
        "hand-written note on behaviour), `missing`, `n/a on CPU` (raises on a CPU-only torch",
        "too, so no CPU program uses it).",
        "",
        "## The rule",
        "",
        RULE,
        "",
        "## Totals",
        "",
        "| status | names |",
        "|---|---:|",
    ]
    out += [f"| {s} | {totals[s]} |" for s in STATUSES]
    out += [f"| **all** | **{len(rows)}** |", "",
            "| group | " + " | ".join(STATUSES) + " | all |",
            "|---|" + "---:|" * (len(STATUSES) + 1)]
    for g in groups:
        gr = [r for r in rows if r.group == g]
        out.append(f"| [{g}](#{_anchor(g)}) | " + " | ".join(
            str(sum(1 for r in gr if r.status == s)) for s in STATUSES) + f" | {len(gr)} |")
    for g in groups:
        out += ["", f"## {g}", "", "| name | status | note |", "|---|---|---|"]
        for r in sorted((r for r in rows if r.group == g), key=lambda r: (r.name.lower(), r.name)):
            out.append(f"| `{r.name}` | {r.status} | {_cell(r.note)} |")
    return "\n".join(out) + "\n"


def _anchor(title: str) -> str:
    """GitHub's heading anchor."""
    text = re.sub(r"[^\w\- ]", "", title.lower())
    return text.replace(" ", "-")


def generate() -> tuple[str, list[Row]]:
    roots = real_roots()
    rows = table(roots)
    torch = roots["torch"]
    version = ".".join(torch.__version__.split("+")[0].split(".")[:2]) if torch is not None else None
    return render(rows, version), rows


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--check", action="store_true", help="exit 1 if the doc is stale (2 without torch)")
    ap.add_argument("--doc", default=DOC, help="the doc's path (default: docs/pytorch-compat.md)")
    ap.add_argument("--missing", action="store_true", help="also print the missing names by group")
    args = ap.parse_args(argv)
    text, rows = generate()
    if args.missing:
        for group, names in missing_names(rows).items():
            print(f"{group} ({len(names)}): " + " ".join(n.split(".", 1)[1] if not n.startswith("torchvision")
                                                        else n for n in names))
    if args.check:
        if real_roots()["torch"] is None:
            print("pytorch_compat: torch is not installed, so the doc cannot be checked", file=sys.stderr)
            return 2
        try:
            with open(args.doc, encoding="utf-8") as fh:
                old = fh.read()
        except FileNotFoundError:
            old = ""
        if old != text:
            diff = list(difflib.unified_diff(old.splitlines(), text.splitlines(), "committed", "generated",
                                             lineterm="", n=0))
            print(f"{os.path.relpath(args.doc)} is stale: run `python scripts/pytorch_compat.py` "
                  f"and commit it. Differences:", file=sys.stderr)
            print("\n".join(diff[:60]) + ("\n..." if len(diff) > 60 else ""), file=sys.stderr)
            return 1
        print(f"{os.path.relpath(args.doc)} is up to date")
        return 0
    os.makedirs(os.path.dirname(args.doc), exist_ok=True)
    with open(args.doc, "w", encoding="utf-8") as fh:
        fh.write(text)
    totals = ", ".join(f"{s} {sum(1 for r in rows if r.status == s)}" for s in STATUSES)
    print(f"wrote {os.path.relpath(args.doc)}: {len(rows)} names ({totals})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
