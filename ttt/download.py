"""Fetching zoo checkpoints into the cache (`python -m ttt download NAME`)."""

from __future__ import annotations

from pathlib import Path

from davis_c.errors import UserError
from ttt import checkpoint
from ttt.zoo import ModelSpec, default_path, expected_sha256, get_spec, record_sha256


def _fetch(url: str, dest: Path, sha256: str | None) -> None:
    """Download `url` to `dest` (atomically); Google Drive through gdown."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    if "drive.google.com" in url:
        import gdown

        from davis_c.atomic import atomic_path

        with atomic_path(dest) as tmp:
            if gdown.download(url, str(tmp), quiet=False) is None:
                raise UserError(f"{url}: Google Drive download failed (quota or network)")
        return
    try:
        from davis_c.download import download_file
    except ImportError:  # pragma: no cover - fallback while davis_c.download is absent
        import torch.hub

        torch.hub.download_url_to_file(url, str(dest), progress=True)
        return
    download_file(url, dest, sha256=sha256, record_hash=False)


def download(name: str | ModelSpec, force: bool = False) -> Path:
    """Fetch the checkpoint of `name` into the cache, verify or record its sha256, return its path."""
    spec = get_spec(name) if isinstance(name, str) else name
    if spec.embedded:
        raise UserError(f"'{spec.name}' is embedded in the package (train it with `make train-tiny`)")
    dest = default_path(spec)
    if dest.is_file() and not force:
        return dest
    errors = []
    for url in spec.urls:
        try:
            _fetch(url, dest, spec.sha256)
            break
        except (UserError, OSError) as exc:
            errors.append(f"{url}: {exc}")
    else:
        raise UserError(f"could not download '{spec.name}': " + "; ".join(errors))
    digest = checkpoint.sha256_file(dest)
    want = expected_sha256(spec, dest) if not force else spec.sha256
    if want and digest != want:
        dest.unlink()
        raise UserError(f"{dest}: downloaded file has sha256 {digest}, expected {want}")
    if spec.sha256 is None:
        record_sha256(dest, digest)
    return dest
