"""Finding an ffmpeg with the encoders DAVIS-C's `crf_compression` needs, and describing it.

A system `ffmpeg` on PATH is preferred; the binary bundled with the `imageio-ffmpeg` wheel is the fallback.
Every call uses an argument list (never a shell).
"""

from __future__ import annotations

import functools
import shutil
import subprocess

from davis_c.errors import UserError

REQUIRED_ENCODERS = ("libx264", "libx265")
INSTALL_HINT = ("install ffmpeg with libx264 and libx265 (Debian: `sudo apt-get install ffmpeg`) "
                "or the pip fallback `pip install imageio-ffmpeg`, or pass --ffmpeg PATH")


def find_ffmpeg(explicit: str | None = None) -> str:
    """Path of the ffmpeg executable: `explicit`, else `ffmpeg` on PATH, else imageio-ffmpeg's binary."""
    if explicit:
        path = shutil.which(explicit)
        if path is None:
            raise UserError(f"ffmpeg not found at {explicit!r}; {INSTALL_HINT}")
        return path
    path = shutil.which("ffmpeg")
    if path:
        return path
    try:
        import imageio_ffmpeg

        return imageio_ffmpeg.get_ffmpeg_exe()
    except (ImportError, RuntimeError) as exc:
        raise UserError(f"ffmpeg not found ({exc}); {INSTALL_HINT}") from None


def _run(exe: str, args: list[str]) -> str:
    try:
        res = subprocess.run([exe, *args], capture_output=True, text=True, check=False, timeout=60)
    except OSError as exc:
        raise UserError(f"cannot run ffmpeg {exe!r} ({exc}); {INSTALL_HINT}") from None
    if res.returncode != 0:
        raise UserError(f"ffmpeg {exe!r} failed on {' '.join(args)!r}; {INSTALL_HINT}")
    return res.stdout


@functools.lru_cache(maxsize=8)
def encoders(exe: str) -> frozenset[str]:
    """Names of the video encoders `exe` was built with (from `ffmpeg -encoders`)."""
    names = set()
    for line in _run(exe, ["-hide_banner", "-encoders"]).splitlines():
        parts = line.split()
        if len(parts) >= 2 and len(parts[0]) == 6 and parts[0][0] == "V":
            names.add(parts[1])
    return frozenset(names)


@functools.lru_cache(maxsize=8)
def version(exe: str) -> str:
    """First line of `ffmpeg -version`, e.g. 'ffmpeg version 6.1.1 ...'."""
    lines = _run(exe, ["-version"]).splitlines()
    return lines[0].strip() if lines else "unknown"


def require_ffmpeg(explicit: str | None = None) -> str:
    """An ffmpeg with libx264 and libx265, or a `UserError` saying how to install one."""
    exe = find_ffmpeg(explicit)
    missing = [e for e in REQUIRED_ENCODERS if e not in encoders(exe)]
    if missing:
        raise UserError(f"ffmpeg {exe} lacks the encoder(s) {', '.join(missing)}; {INSTALL_HINT}")
    return exe
