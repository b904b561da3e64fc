"""Crash-safe outputs: write under a temporary name, rename when complete."""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path


@contextlib.contextmanager
def atomic_path(dest: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary file path beside `dest`; on success it is renamed onto `dest`.

    On an exception the temporary file is removed and `dest` is untouched, so a crash never
    leaves a half-written file under the final name.
    """
    dest = Path(dest)
    dest.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{dest.name}.", suffix=".part" + dest.suffix, dir=dest.parent)
    os.close(fd)
    tmp_path = Path(tmp)
    try:
        yield tmp_path
        os.replace(tmp_path, dest)
    finally:
        if tmp_path.exists():
            tmp_path.unlink()


def write_bytes_atomic(dest: str | os.PathLike, data: bytes) -> None:
    """Atomically write `data` to `dest`."""
    with atomic_path(dest) as tmp:
        tmp.write_bytes(data)


def write_text_atomic(dest: str | os.PathLike, text: str) -> None:
    """Atomically write `text` (UTF-8) to `dest`."""
    write_bytes_atomic(dest, text.encode("utf-8"))


@contextlib.contextmanager
def atomic_dir(dest: str | os.PathLike) -> Iterator[Path]:
    """Yield a fresh temporary directory beside `dest`; on success it replaces `dest`.

    A stale `dest` (from an older complete run) is replaced; on an exception the temporary
    directory is deleted. Directory names starting with '.' and ending in '.part' are never
    complete outputs, so readers and resumers can ignore them.
    """
    dest = Path(dest)
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{dest.name}.", suffix=".part", dir=dest.parent))
    try:
        yield tmp
        if dest.exists():
            shutil.rmtree(dest)
        os.replace(tmp, dest)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)


def remove_stale_parts(directory: str | os.PathLike) -> int:
    """Delete leftover `.*.part*` temporaries in `directory` (from a killed run); return how many."""
    n = 0
    d = Path(directory)
    if not d.is_dir():
        return 0
    for p in d.glob(".*.part*"):
        if p.is_dir():
            shutil.rmtree(p, ignore_errors=True)
        else:
            p.unlink(missing_ok=True)
        n += 1
    return n
