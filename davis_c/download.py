"""Verified, resumable downloads and safe archive extraction.

`download_file` streams a URL into ``<dest>.part`` (resuming with an HTTP Range request when a partial
file is there), checks its sha256 and renames it onto `dest`. Where no hash is published, the hash seen
on first download is printed and recorded in ``<dest>.sha256``; later calls verify against it.
`safe_extract` unpacks zip and tar(.gz) archives after checking every member (no absolute paths, no
``..``, no links leaving the target, no device files). `ASSETS` lists what `python -m davis_c download`
knows how to fetch.
"""

from __future__ import annotations

import http.client
import os
import shutil
import stat
import tarfile
import urllib.error
import urllib.request
import zipfile
from pathlib import Path, PurePosixPath

from tqdm import tqdm

from davis_c.errors import UserError
from davis_c.hashing import sha256_file  # noqa: F401  (re-exported)

CHUNK = 1 << 20
USER_AGENT = "davis-c-ttt/0.1 (+python urllib)"
STYLES_BASE = ("https://raw.githubusercontent.com/ttt-matching-based-vos/ttt_matching_vos/"
               "fd3cf87077d2ef7a2fb441180cecc47aa86a044f/DAVIS-C/styles/")

# What `python -m davis_c download NAME` fetches. sha256 None = not published: recorded on first download.
ASSETS: dict[str, dict] = {
    "davis2017": {
        "url": "https://data.vision.ee.ethz.ch/csergi/share/davis/DAVIS-2017-trainval-480p.zip",
        "sha256": None,
        "filename": "DAVIS-2017-trainval-480p.zip",
        "root": "DAVIS",  # top-level folder inside the archive
        "about": "DAVIS-2017 train+val, 480p (official DAVIS challenge site)",
    },
    "davis-c": {
        "url": "http://ptak.felk.cvut.cz/personal/toliageo/share/davisc/davisc.tar.gz",
        "sha256": None,
        "filename": "davisc.tar.gz",
        "root": "DAVIS-C",
        "about": "the published DAVIS-C tarball (ttt_matching_vos DATA_PREPARATION.md)",
    },
    "styles": {
        "files": {
            "1.png": (STYLES_BASE + "1.png", "c2562700c037602b77f6b91386fc960613240c012f086f503547e2d53f930b88"),
            "2.png": (STYLES_BASE + "2.png", "2162cef179ee85f4ca3eb089b8eb0e44d6bf40f4b6027b2c06e604541615d138"),
            "3.png": (STYLES_BASE + "3.png", "54495e28340ffdc944f350f8fe9f7ec5246a3bad38ffea103cb04c46eee4bcb4"),
            "4.png": (STYLES_BASE + "4.png", "b1bea0dc01b819d6bee0c51d17b901f1e19d205f9b5fa4adf7c72c2740fbf2fb"),
        },
        "root": "styles",
        "about": "the four DAVIS-C style images (ttt_matching_vos commit fd3cf87)",
    },
}


def sidecar(dest: str | os.PathLike) -> Path:
    """Where the hash seen for `dest` is recorded: ``<dest>.sha256`` (sha256sum format)."""
    return Path(str(dest) + ".sha256")


def read_sidecar(dest: str | os.PathLike) -> str | None:
    """The recorded sha256 of `dest`, or None."""
    p = sidecar(dest)
    try:
        text = p.read_text().split()
    except OSError:
        return None
    return text[0].lower() if text else None


def _record(dest: Path, digest: str) -> None:
    from davis_c.atomic import write_text_atomic

    write_text_atomic(sidecar(dest), f"{digest}  {dest.name}\n")


def _manual(url: str, hint: str | None) -> str:
    return hint or f"download {url} yourself and pass the local file instead"


def _open(url: str, offset: int, timeout: float):
    headers = {"User-Agent": USER_AGENT}
    if offset:
        headers["Range"] = f"bytes={offset}-"
    return urllib.request.urlopen(urllib.request.Request(url, headers=headers), timeout=timeout)


def _fetch(url: str, part: Path, timeout: float, hint: str | None) -> None:
    """Stream `url` into `part`, resuming from its current size when the server honours Range."""
    offset = part.stat().st_size if part.exists() else 0
    try:
        try:
            resp = _open(url, offset, timeout)
        except urllib.error.HTTPError as exc:
            if exc.code != 416 or not offset:
                raise
            return  # range not satisfiable: the partial file is already complete
        with resp:
            if offset and resp.status != 206:
                offset = 0  # server ignored Range: start over
            elif offset and not (resp.headers.get("Content-Range") or "").startswith(f"bytes {offset}-"):
                raise UserError(f"{url}: server answered a different range than asked "
                                f"({resp.headers.get('Content-Range')}); delete {part} and re-run")
            length = resp.headers.get("Content-Length")
            total = offset + int(length) if length and length.isdigit() else None
            with open(part, "ab" if offset else "wb") as f, tqdm(
                    total=total, initial=offset, unit="B", unit_scale=True, unit_divisor=1024,
                    desc=part.name[:-5][:40], leave=False) as bar:
                while chunk := resp.read(CHUNK):
                    f.write(chunk)
                    bar.update(len(chunk))
            if total is not None and part.stat().st_size < total:
                raise http.client.IncompleteRead(b"", total - part.stat().st_size)
    except urllib.error.HTTPError as exc:
        raise UserError(f"cannot download {url}: HTTP {exc.code} {exc.reason}; {_manual(url, hint)}") from None
    except (urllib.error.URLError, http.client.HTTPException, ConnectionError, TimeoutError) as exc:
        reason = getattr(exc, "reason", None) or exc.__class__.__name__
        kept = f" (partial file kept at {part}; re-run to resume)" if part.exists() and part.stat().st_size else ""
        raise UserError(f"cannot download {url} ({reason}){kept}; {_manual(url, hint)}") from None


def _verify(path: Path, expected: str | None, dest: Path, url: str) -> str:
    """Hash `path`; on mismatch move it aside to ``<dest>.bad`` and raise."""
    got = sha256_file(path)
    if expected is not None and got != expected.lower():
        bad = Path(str(dest) + ".bad")
        os.replace(path, bad)
        raise UserError(f"{dest}: sha256 mismatch for {url}: expected {expected}, got {got} "
                        f"(moved to {bad}; delete it and re-run)")
    return got


def download_file(url: str, dest: str | os.PathLike, *, sha256: str | None = None, record_hash: bool = True,
                  timeout: float = 30, hint: str | None = None) -> Path:
    """Download `url` to `dest` (streamed, resumable, sha256-verified) and return `dest`.

    An existing `dest` is verified (against `sha256`, else the recorded sidecar hash) and kept: a second
    call is a no-op. With no known hash, the hash seen is printed and, if `record_hash`, written to
    ``<dest>.sha256``. Network failures raise a one-line `UserError` naming the URL and `hint` (the
    manual alternative).
    """
    dest = Path(dest)
    scheme = url.split(":", 1)[0].lower()
    if scheme not in ("http", "https"):
        raise UserError(f"{url}: only http(s) URLs can be downloaded")
    expected = sha256 or read_sidecar(dest)
    if dest.is_file():
        got = _verify(dest, expected, dest, url)
        if expected is None and record_hash:
            _record(dest, got)
        return dest
    dest.parent.mkdir(parents=True, exist_ok=True)
    part = Path(str(dest) + ".part")
    _fetch(url, part, timeout, hint)
    got = _verify(part, expected, dest, url)
    os.replace(part, dest)
    if expected is None:
        print(f"sha256 {got}  {dest.name} (no published hash; recorded)" if record_hash
              else f"sha256 {got}  {dest.name} (no published hash)")
        if record_hash:
            _record(dest, got)
    return dest


# ---------------------------------------------------------------- extraction


def _check_name(name: str, archive: Path) -> PurePosixPath:
    """Reject absolute member names and any `..` component."""
    p = PurePosixPath(name.replace("\\", "/"))
    if p.is_absolute() or name.startswith(("/", "\\")) or (len(name) > 1 and name[1] == ":"):
        raise UserError(f"{archive}: unsafe member '{name}' (absolute path); nothing extracted")
    if ".." in p.parts:
        raise UserError(f"{archive}: unsafe member '{name}' ('..' leaves the target); nothing extracted")
    return p


def _inside(base: PurePosixPath, target: str) -> bool:
    """Whether `target` (relative to directory `base`, inside the archive root) stays inside the root."""
    if target.startswith("/"):
        return False
    depth = 0
    for part in (base / target).parts:
        depth = depth - 1 if part == ".." else depth + (part != ".")
        if depth < 0:
            return False
    return True


def _check_tar_member(m: tarfile.TarInfo, archive: Path) -> None:
    p = _check_name(m.name, archive)
    if m.issym() and not _inside(p.parent, m.linkname):
        raise UserError(f"{archive}: unsafe symlink '{m.name}' -> '{m.linkname}' leaves the target; "
                        "nothing extracted")
    if m.islnk() and not _inside(PurePosixPath(), m.linkname):
        raise UserError(f"{archive}: unsafe hard link '{m.name}' -> '{m.linkname}' leaves the target; "
                        "nothing extracted")
    if m.isdev() or m.isfifo():
        raise UserError(f"{archive}: member '{m.name}' is a device or FIFO; nothing extracted")


def _check_zip(zf: zipfile.ZipFile, archive: Path) -> None:
    for info in zf.infolist():
        p = _check_name(info.filename, archive)
        if stat.S_ISLNK(info.external_attr >> 16):
            target = zf.read(info).decode("utf-8", "replace")
            if not _inside(p.parent, target):
                raise UserError(f"{archive}: unsafe symlink '{info.filename}' -> '{target}' leaves the target; "
                                "nothing extracted")


def safe_extract(archive: str | os.PathLike, dest: str | os.PathLike) -> list[str]:
    """Extract a zip or tar(.gz/.bz2/.xz) `archive` into `dest` after checking every member.

    The archive is unpacked into a temporary folder inside `dest` (tar: one pass, each member checked
    before it is written), then its top-level entries are moved into place (replacing older copies), so
    an unsafe archive leaves nothing in `dest` and an interrupted extraction never looks complete.
    Returns the top-level names extracted.
    """
    archive, dest = Path(archive), Path(dest)
    if not archive.is_file():
        raise UserError(f"{archive}: archive not found")
    dest.mkdir(parents=True, exist_ok=True)
    tmp = dest / f".{archive.name}.extract.part"
    shutil.rmtree(tmp, ignore_errors=True)
    try:
        if zipfile.is_zipfile(archive):
            with zipfile.ZipFile(archive) as zf:
                _check_zip(zf, archive)
                tmp.mkdir()
                zf.extractall(tmp)
        elif tarfile.is_tarfile(archive):
            with tarfile.open(archive) as tf:  # one pass: check each member, then extract it
                tmp.mkdir()
                for member in tf:
                    _check_tar_member(member, archive)
                    tf.extract(member, tmp, filter="data")
        else:
            raise UserError(f"{archive}: not a zip or tar archive (truncated download?)")
        names = sorted(p.name for p in tmp.iterdir())
        for name in names:
            target = dest / name
            if target.is_dir() and not target.is_symlink():
                shutil.rmtree(target)
            elif target.exists() or target.is_symlink():
                target.unlink()
            os.replace(tmp / name, target)
        return names
    except (zipfile.BadZipFile, tarfile.TarError, EOFError, OSError) as exc:
        raise UserError(f"{archive}: cannot extract ({exc})") from None
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
