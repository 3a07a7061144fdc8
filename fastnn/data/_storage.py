"""Where data set files live, how they are checked, and how they are fetched.

* :func:`data_root` — ``root`` argument, else ``$FASTNN_DATA``, else ``~/.cache/fastnn``.
* :func:`read_verified` — read a file and check its MD5 against the official value. A verified
  file gets a small JSON record (its path, size, mtime, inode and the MD5 it matched) in
  ``~/.cache/fastnn/.verified/`` so later loads skip re-hashing while the file is unchanged.
  Records are written atomically, and never into the data folder itself (which may be a
  shared, read-only copy).
* :func:`download` — try each mirror in turn with ``urllib``, show a tqdm bar, verify, and move
  the file into place atomically (temporary file + ``os.replace``).

Everything that goes wrong raises :class:`DatasetError` (a ``ValueError``) naming the file and
the problem; a file that cannot be found raises :class:`DatasetNotFoundError`, which is also a
``FileNotFoundError`` and lists every place that was searched and how to get the files.
"""
from __future__ import annotations

import hashlib
import json
import os
import tempfile
import urllib.error
import urllib.request
from pathlib import Path
from typing import Iterable, Sequence

__all__ = [
    "DatasetError",
    "DatasetNotFoundError",
    "data_root",
    "read_verified",
    "file_md5",
    "download",
    "atomic_write_bytes",
]

DEFAULT_ROOT = Path("~/.cache/fastnn")
# where verification records go (None = ~/.cache/fastnn/.verified; tests patch this)
VERIFY_CACHE_DIR: Path | None = None
DOWNLOAD_TIMEOUT = 30.0  # seconds per connection attempt
_CHUNK = 1 << 20
_UMASK = os.umask(0o022)  # read the process umask once (setting it back at once), at import
os.umask(_UMASK)


class DatasetError(ValueError):
    """A data set file is corrupt, truncated, of the wrong format, or fails its checksum."""


class DatasetNotFoundError(DatasetError, FileNotFoundError):
    """A data set's files were not found (and could not be downloaded)."""


def data_root(root: str | os.PathLike | None = None) -> Path:
    """The data folder: ``root`` if given, else ``$FASTNN_DATA``, else ``~/.cache/fastnn``."""
    if root is None:
        env = os.environ.get("FASTNN_DATA", "").strip()
        root = env if env else DEFAULT_ROOT
    return Path(root).expanduser()


def _verify_cache_dir() -> Path:
    return (VERIFY_CACHE_DIR or (DEFAULT_ROOT / ".verified")).expanduser()


def atomic_write_bytes(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` atomically (``fastnn.serialization``), creating its folder."""
    from ..serialization import atomic_write_bytes as write
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    write(path, data)


def _default_permissions(path) -> None:
    """mkstemp creates 0600 files; give finished files the usual 0666 & ~umask."""
    os.chmod(path, 0o666 & ~_UMASK)


def file_md5(path: str | os.PathLike) -> str:
    h = hashlib.md5(usedforsecurity=False)
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(_CHUNK), b""):
            h.update(block)
    return h.hexdigest()


# ---------------------------------------------------------------------------------------
# verification records
# ---------------------------------------------------------------------------------------
_verified_in_process: set[tuple] = set()


def _stat_key(path: Path, st: os.stat_result, md5: str) -> dict:
    return {"file": str(path.resolve()), "size": st.st_size, "mtime_ns": st.st_mtime_ns,
            "inode": st.st_ino, "md5": md5}


def _record_path(path: Path) -> Path:
    resolved = str(path.resolve())
    digest = hashlib.sha1(resolved.encode("utf-8")).hexdigest()[:16]
    return _verify_cache_dir() / f"{path.name}.{digest}.verified"


def _is_recorded(path: Path, st: os.stat_result, md5: str) -> bool:
    key = _stat_key(path, st, md5)
    if tuple(key.values()) in _verified_in_process:
        return True
    try:
        with open(_record_path(path), "r", encoding="utf-8") as f:
            ok = json.load(f) == key
    except (OSError, ValueError):
        return False
    if ok:
        _verified_in_process.add(tuple(key.values()))
    return ok


def _record(path: Path, st: os.stat_result, md5: str) -> None:
    key = _stat_key(path, st, md5)
    _verified_in_process.add(tuple(key.values()))
    try:
        atomic_write_bytes(_record_path(path), json.dumps(key, sort_keys=True).encode("utf-8"))
    except OSError:
        pass  # no writable cache folder: the in-process record still saves re-hashing this session


def read_verified(path: str | os.PathLike, md5: str | None, what: str = "file") -> bytes:
    """The bytes of ``path`` after checking their MD5 (skipped if a matching record exists).

    ``md5=None`` means "no published checksum": the file is read unchecked.
    """
    path = Path(path)
    try:
        st = path.stat()
        with open(path, "rb") as f:
            data = f.read()
    except OSError as e:
        raise DatasetError(f"cannot read {what} {path}: {e}") from e
    if md5 is None:
        return data
    if len(data) != st.st_size:  # changed while reading
        raise DatasetError(f"{path}: file changed while it was being read; try again")
    if not _is_recorded(path, st, md5):
        got = hashlib.md5(data, usedforsecurity=False).hexdigest()
        if got != md5:
            raise DatasetError(
                f"checksum mismatch for {path}: MD5 is {got}, the official {what} has {md5} "
                f"({st.st_size} bytes on disk). The file is corrupt, truncated or not the official "
                f"one: delete it and download it again.")
        _record(path, st, md5)
    return data


def record_verified(path: Path, md5: str) -> None:
    """Record that ``path`` (just written from bytes whose MD5 was checked) matches ``md5``."""
    _record(Path(path), Path(path).stat(), md5)


def is_verified(path: Path, md5: str) -> bool:
    """True if ``path`` exists and matches ``md5`` (using and updating the verification records)."""
    try:
        st = path.stat()
    except OSError:
        return False
    if _is_recorded(path, st, md5):
        return True
    if file_md5(path) == md5:
        _record(path, st, md5)
        return True
    return False


# ---------------------------------------------------------------------------------------
# download
# ---------------------------------------------------------------------------------------
def _progress(total: int | None, desc: str):
    try:
        from tqdm.auto import tqdm
    except ImportError:  # pragma: no cover - tqdm is a dependency, but stay usable without it
        return None
    return tqdm(total=total, unit="B", unit_scale=True, unit_divisor=1024, desc=desc, leave=False)


def _fetch(url: str, dest: Path, md5: str | None, desc: str) -> None:
    """Download ``url`` to ``dest`` (atomically), checking the MD5 on the fly."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    req = urllib.request.Request(url, headers={"User-Agent": "fastnn-data/1.0"})
    fd, tmp = tempfile.mkstemp(prefix=f".{dest.name}.", suffix=".part", dir=dest.parent)
    try:
        h = hashlib.md5(usedforsecurity=False)
        with urllib.request.urlopen(req, timeout=DOWNLOAD_TIMEOUT) as resp, os.fdopen(fd, "wb") as out:
            length = resp.headers.get("Content-Length")
            bar = _progress(int(length) if length and length.isdigit() else None, desc)
            try:
                while True:
                    block = resp.read(_CHUNK)
                    if not block:
                        break
                    out.write(block)
                    h.update(block)
                    if bar is not None:
                        bar.update(len(block))
            finally:
                if bar is not None:
                    bar.close()
            out.flush()
            os.fsync(out.fileno())
        if md5 is not None and h.hexdigest() != md5:
            raise DatasetError(f"downloaded data has MD5 {h.hexdigest()}, expected {md5}")
        _default_permissions(tmp)
        os.replace(tmp, dest)
        if md5 is not None:
            _record(dest, dest.stat(), md5)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


def download(filename: str, md5: str | None, mirrors: Sequence[str], dest_dir: Path) -> tuple[Path | None, list[str]]:
    """Fetch ``filename`` from the first mirror that serves it with the right checksum.

    Returns ``(path, [])`` on success, ``(None, errors)`` when every mirror failed.
    """
    errors = []
    dest = Path(dest_dir) / filename
    for base in mirrors:
        url = base.rstrip("/") + "/" + filename
        try:
            _fetch(url, dest, md5, desc=filename)
            return dest, []
        except (OSError, ValueError, urllib.error.URLError) as e:  # noqa: PERF203
            errors.append(f"{url}: {e}")
    return None, errors


def not_found_message(name: str, looked: Iterable[Path], needed: Sequence[str], urls: Sequence[str],
                      sub: str, errors: Sequence[str] = (), download_tried: bool = False) -> str:
    lines = [f"{name}: data files not found."]
    lines.append("Looked for " + ", ".join(needed) + " in:")
    lines += [f"  {p}" for p in dict.fromkeys(str(p) for p in looked)]
    if download_tried:
        lines.append("Download failed:" if errors else "Download was not possible.")
        lines += [f"  {e}" for e in errors]
    lines.append("To get the files:")
    lines.append("  * pass download=True (needs network), or download them yourself from one of:")
    lines += [f"      {u}" for u in urls]
    lines.append(f"  * put them in <root>/{sub}/ and pass root=..., or set FASTNN_DATA=<root> "
                 f"(default root {DEFAULT_ROOT}).")
    return "\n".join(lines)

