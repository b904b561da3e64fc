"""Fetching zoo checkpoints into the cache (`python -m ttt download NAME`).

HTTP(S) assets go through `davis_c.download.download_file` (resumable, sha256 verified or recorded
in `<file>.sha256`); Google Drive files through `gdown`, then the same hash rule.
"""

from __future__ import annotations

from pathlib import Path

from davis_c.atomic import atomic_path
from davis_c.download import download_file
from davis_c.errors import UserError
from ttt import checkpoint
from ttt.zoo import ModelSpec, default_path, expected_sha256, get_spec, record_sha256


def _gdrive(url: str, dest: Path, spec: ModelSpec) -> None:
    import gdown

    dest.parent.mkdir(parents=True, exist_ok=True)
    hint = f"download {spec.filename} by hand and pass --weights PATH"
    with atomic_path(dest) as tmp:
        try:
            ok = gdown.download(url, str(tmp), quiet=False)
        except Exception as exc:  # gdown raises its own error types for quota/permission/network
            raise UserError(f"{url}: Google Drive download failed ({type(exc).__name__}); {hint}") from None
        if ok is None:
            raise UserError(f"{url}: Google Drive download failed (quota or network); {hint}")
    digest, want = checkpoint.sha256_file(dest), expected_sha256(spec, dest)
    if want and digest != want:
        dest.unlink()
        raise UserError(f"{dest}: downloaded file has sha256 {digest}, expected {want}")
    if want is None:
        print(f"sha256 {digest}  {dest.name} (no published hash; recorded)")
        record_sha256(dest, digest)


def download(name: str | ModelSpec) -> Path:
    """Fetch the checkpoint of `name` into the cache (no-op when present and verified); return its path."""
    spec = get_spec(name) if isinstance(name, str) else name
    if spec.embedded:
        raise UserError(f"'{spec.name}' is embedded in the package (train it with `make train-tiny`)")
    dest = default_path(spec)
    errors = []
    for url in spec.urls:
        try:
            if "drive.google.com" in url:
                if not dest.is_file():
                    _gdrive(url, dest, spec)
                return dest
            return download_file(url, dest, sha256=spec.sha256, record_hash=True,
                                 hint=f"download {spec.filename} by hand and pass --weights PATH")
        except (UserError, OSError) as exc:
            errors.append(str(exc))
    raise UserError(f"could not download '{spec.name}': " + "; ".join(errors))
