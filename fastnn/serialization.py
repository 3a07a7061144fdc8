"""``fastnn.save`` / ``fastnn.load``: checkpoints as ``.npz`` files, never pickles.

What can be saved: (nested) dicts (str or int keys), lists and tuples of numpy arrays,
Tensors (stored as their arrays, loaded back as arrays), numpy scalars, and plain Python
numbers, strings, bools and None. That covers ``model.state_dict()``,
``optimizer.state_dict()``, ``scheduler.state_dict()`` and a dict bundling them with the
epoch number.

The file format is a plain NumPy ``.npz`` (a zip of ``.npy`` files) written with
``allow_pickle=False``:

* every array is one member, named by its path in the structure (``model/fc1.weight``,
  ``optimizer/state/0/exp_avg``...);
* one more member, ``__fastnn_manifest__``, holds a JSON string describing the structure:
  containers, key types (so int keys come back as ints), numbers, strings, and which
  member each array is.

So a checkpoint can be inspected with ``numpy.load(path)`` alone, and loading one can
never execute code: ``load`` reads it with ``numpy.load(..., allow_pickle=False)`` and
rebuilds the structure from JSON.

Saving is *atomic*: the data goes to a temporary file in the same directory, is flushed
and fsync'ed, and only then renamed over the target (``os.replace``). A save that is
interrupted (an exception, Ctrl-C, a killed process, a full disk) leaves the previous
checkpoint intact.
"""
from __future__ import annotations

import io
import json
import math
import os
import tempfile
import zipfile
import zlib
from collections import OrderedDict

import numpy as np

from .tensor import Tensor

MANIFEST = "__fastnn_manifest__"
FORMAT, VERSION = "fastnn-checkpoint", 1
_ZIP_MAGIC, _NPY_MAGIC = b"PK\x03\x04", b"\x93NUMPY"


class CheckpointError(ValueError):
    """A file that is not a readable fastnn checkpoint (corrupt, truncated, foreign)."""


# ------------------------------------------------------------------ structure <-> manifest

def _encode(obj, path: tuple, arrays: dict) -> dict:
    """A JSON-able description of ``obj``; its arrays are added to ``arrays`` under their path."""
    if obj is None:
        return {"t": "none"}
    if isinstance(obj, (bool, np.bool_)) and not isinstance(obj, np.ndarray):
        if isinstance(obj, np.bool_):
            return {"t": "scalar", "k": _add_array(np.asarray(obj), path, arrays)}
        return {"t": "bool", "v": obj}
    if isinstance(obj, int) and not isinstance(obj, np.generic):
        return {"t": "int", "v": int(obj)}
    if isinstance(obj, float) and not isinstance(obj, np.generic):
        return {"t": "float", "v": repr(float(obj))}        # repr round-trips exactly, nan/inf included
    if isinstance(obj, str):
        return {"t": "str", "v": obj}
    if isinstance(obj, Tensor):
        return {"t": "array", "k": _add_array(obj.data, path, arrays), "tensor": True}
    if isinstance(obj, np.ndarray):
        return {"t": "array", "k": _add_array(obj, path, arrays)}
    if isinstance(obj, np.generic):
        return {"t": "scalar", "k": _add_array(np.asarray(obj), path, arrays)}
    if isinstance(obj, dict):
        items = []
        for key, value in obj.items():
            if isinstance(key, str):
                kind = "s"
            elif isinstance(key, (int, np.integer)) and not isinstance(key, (bool, np.bool_)):
                kind, key = "i", int(key)
            else:
                raise TypeError(f"fastnn.save: dict keys must be str or int, got {type(key).__name__} "
                                f"({key!r}) at {_where(path)}")
            items.append([kind, key, _encode(value, path + (str(key),), arrays)])
        return {"t": "odict" if isinstance(obj, OrderedDict) else "dict", "items": items}
    if isinstance(obj, (list, tuple)):
        return {"t": "tuple" if isinstance(obj, tuple) else "list",
                "items": [_encode(v, path + (str(i),), arrays) for i, v in enumerate(obj)]}
    raise TypeError(f"fastnn.save cannot store a {type(obj).__module__}.{type(obj).__name__} (at {_where(path)}): "
                    "only dicts, lists, tuples, numpy arrays, Tensors, numbers, strings, bools and None "
                    "can be saved (fastnn never pickles)")


def _where(path):
    return "/".join(path) if path else "the top level"


def _add_array(arr: np.ndarray, path: tuple, arrays: dict) -> str:
    if arr.dtype.hasobject or arr.dtype.kind == "V":
        raise TypeError(f"fastnn.save: the array at {_where(path)} has dtype {arr.dtype}; object and structured "
                        "arrays would need pickling, which fastnn never does")
    key = "/".join(path) or "array"
    if key in arrays or key == MANIFEST:
        key = f"{key}#{len(arrays)}"
    arrays[key] = arr
    return key


def _decode(node, arrays):
    kind = node["t"]
    if kind == "none":
        return None
    if kind in ("bool", "int", "str"):
        return {"bool": bool, "int": int, "str": str}[kind](node["v"])
    if kind == "float":
        return float(node["v"])
    if kind == "array":
        return arrays[node["k"]]
    if kind == "scalar":
        return arrays[node["k"]][()]
    if kind in ("dict", "odict"):
        out = OrderedDict() if kind == "odict" else {}
        for key_kind, key, child in node["items"]:
            out[int(key) if key_kind == "i" else str(key)] = _decode(child, arrays)
        return out
    if kind in ("list", "tuple"):
        items = [_decode(child, arrays) for child in node["items"]]
        return tuple(items) if kind == "tuple" else items
    raise CheckpointError(f"unknown entry type {kind!r} in the manifest")


# ------------------------------------------------------------------ writing

def _write_array(member, arr: np.ndarray) -> None:
    """One ``.npy`` member (kept separate so tests can interrupt a save half-way)."""
    np.lib.format.write_array(member, np.asanyarray(arr), allow_pickle=False)


def _write_npz(fileobj, arrays: dict, manifest: str) -> None:
    """The same layout as ``numpy.savez`` (uncompressed zip of .npy members)."""
    with zipfile.ZipFile(fileobj, mode="w", compression=zipfile.ZIP_STORED, allowZip64=True) as zf:
        with zf.open(MANIFEST + ".npy", "w", force_zip64=True) as member:
            _write_array(member, np.array(manifest))
        for key, arr in arrays.items():
            with zf.open(key + ".npy", "w", force_zip64=True) as member:
                _write_array(member, arr)


def _file_mode(path: str) -> int:
    try:
        return os.stat(path).st_mode & 0o777           # overwriting: keep the old permissions
    except FileNotFoundError:
        umask = os.umask(0)
        os.umask(umask)
        return 0o666 & ~umask


def _fsync_directory(directory: str) -> None:
    """Make the rename itself durable (POSIX); silently skipped where unsupported."""
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def _atomic_write(path, write) -> None:
    """Call ``write(binary_file)`` on a temporary file next to ``path``, flush and fsync it,
    then rename it over ``path``. On any failure the temporary file is removed and ``path``
    is untouched; a killed process leaves at worst a stray ``.<name>.*.tmp`` file."""
    path = os.fspath(path)
    directory = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(directory):
        raise FileNotFoundError(f"cannot write '{path}': its directory does not exist")
    mode = _file_mode(path)
    fd, tmp = tempfile.mkstemp(prefix="." + os.path.basename(path) + ".", suffix=".tmp", dir=directory)
    try:
        with os.fdopen(fd, "wb") as fh:
            write(fh)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, mode)
        os.replace(tmp, path)       # atomic: readers see the old file or the new one, never half
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
    _fsync_directory(directory)


def atomic_write_bytes(path, data: bytes) -> None:
    """Write ``data`` to ``path`` atomically (for logs, histories, plots next to checkpoints)."""
    _atomic_write(path, lambda fh: fh.write(data))


def save(obj, f) -> None:
    """Save ``obj`` to the path ``f`` (any extension; ``.pt`` works) atomically, or to an open
    binary file object (written directly, not atomically)."""
    arrays: dict = {}
    root = _encode(obj, (), arrays)
    manifest = json.dumps({"format": FORMAT, "version": VERSION, "root": root})
    if hasattr(f, "write"):
        _write_npz(f, arrays, manifest)
    else:
        _atomic_write(f, lambda fh: _write_npz(fh, arrays, manifest))


# ------------------------------------------------------------------ reading

def _check_magic(name: str, head: bytes) -> None:
    if head.startswith(_ZIP_MAGIC):
        return
    if not head:
        raise CheckpointError(f"fastnn.load: '{name}' is empty (an interrupted write?)")
    if head.startswith(_NPY_MAGIC):
        raise CheckpointError(f"fastnn.load: '{name}' is a single .npy array, not a fastnn checkpoint "
                              "(read it with numpy.load)")
    if head[:1] == b"\x80":
        raise CheckpointError(f"fastnn.load: '{name}' looks like a Python pickle; fastnn never loads pickles")
    raise CheckpointError(f"fastnn.load: '{name}' is not a fastnn checkpoint (not an .npz/zip file; corrupt?)")


def load(f, map_location=None, weights_only=None, **kwargs):
    """Load what :func:`save` wrote (arrays come back as numpy arrays; Tensors too).
    ``map_location`` and ``weights_only`` are accepted for PyTorch compatibility and
    ignored: fastnn checkpoints are CPU arrays and can hold nothing but data."""
    if hasattr(f, "read"):
        name = getattr(f, "name", "<file object>")
        data = f.read()
        source = io.BytesIO(data)
        head = data[:8]
    else:
        name = os.fspath(f)
        if not os.path.exists(name):
            raise FileNotFoundError(f"fastnn.load: no such file: '{name}'")
        if os.path.isdir(name):
            raise IsADirectoryError(f"fastnn.load: '{name}' is a directory, not a checkpoint file")
        with open(name, "rb") as fh:
            head = fh.read(8)
        source = name
    _check_magic(name, head)
    try:
        with np.load(source, allow_pickle=False) as npz:
            if MANIFEST not in npz.files:
                raise CheckpointError(f"fastnn.load: '{name}' is an .npz/zip file but not a fastnn checkpoint "
                                      f"(no {MANIFEST}; a plain .npz can be read with numpy.load)")
            header = json.loads(str(npz[MANIFEST][()]))
            if not isinstance(header, dict) or header.get("format") != FORMAT:
                raise CheckpointError(f"fastnn.load: '{name}' has an unrecognised manifest")
            if header.get("version", math.inf) > VERSION:
                raise CheckpointError(f"fastnn.load: '{name}' was written by a newer fastnn (format version "
                                      f"{header.get('version')}); upgrade fastnn to read it")
            arrays = {}
            for key in npz.files:
                if key == MANIFEST:
                    continue
                try:
                    arrays[key] = npz[key]
                except ValueError as exc:
                    if "allow_pickle" in str(exc) or "Object arrays" in str(exc):
                        raise CheckpointError(f"fastnn.load: '{name}' holds a pickled object array ({key!r}); "
                                              "fastnn refuses to load pickles") from exc
                    raise
        return _decode(header["root"], arrays)
    except CheckpointError:
        raise
    except (ValueError, OSError, EOFError, KeyError, TypeError, zipfile.BadZipFile, zlib.error,
            json.JSONDecodeError) as exc:
        raise CheckpointError(f"fastnn.load: '{name}' is corrupt or truncated and cannot be read "
                              f"({type(exc).__name__}: {exc})") from exc


__all__ = ["save", "load", "CheckpointError", "atomic_write_bytes"]
