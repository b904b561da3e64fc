"""`python -m davis_c download {davis2017,davis-c,styles} --out DIR [--from PATH]`."""

from __future__ import annotations

import argparse
import json
import shutil
from pathlib import Path

from davis_c.atomic import write_text_atomic
from davis_c.cli_util import add_command
from davis_c.corruptions.base import CORRUPTION_NAMES, STRENGTHS
from davis_c.download import ASSETS, download_file, read_sidecar, safe_extract, sha256_file
from davis_c.errors import UserError
from davis_c.runmeta import write_run_json
from davis_c.validate import validate


def _config(args: argparse.Namespace) -> dict:
    return {k: v for k, v in vars(args).items() if k != "func"}


def _marker(out: Path, name: str) -> Path:
    return out / f".download-{name}.done"


def _local_archive(path: Path, expected: str | None) -> str:
    """Hash a user-supplied archive; check it against a known hash."""
    if not path.is_file():
        raise UserError(f"{path}: --from file not found")
    got = sha256_file(path)
    if expected and got != expected.lower():
        raise UserError(f"{path}: sha256 mismatch: expected {expected}, got {got}")
    print(f"sha256 {got}  {path}")
    return got


def _check_davis(root: Path) -> int:
    problems = validate(root, ("train", "val"))
    for p in problems[:20]:
        print(p)
    if problems:
        print(f"error: {len(problems)} problem(s) in {root} (run `python -m davis_c validate {root}`)")
        return 1
    print("ok: valid DAVIS-2017 root (train, val)")
    return 0


def _check_davisc(root: Path) -> int:
    missing = [f"{s}/{c}" for s in STRENGTHS for c in CORRUPTION_NAMES if not (root / s / c).is_dir()]
    if missing:
        print(f"error: {root} lacks {len(missing)} of {len(STRENGTHS) * len(CORRUPTION_NAMES)} variant "
              f"folders, e.g. {', '.join(missing[:3])}")
        return 1
    print(f"ok: all {len(STRENGTHS) * len(CORRUPTION_NAMES)} variant folders present")
    return 0


def _archive(args: argparse.Namespace, asset: dict) -> int:
    out = Path(args.out)
    root = out / asset["root"]
    marker = _marker(out, args.asset)
    if marker.is_file() and root.is_dir():
        print(f"{root}: already downloaded and extracted, nothing to do")
        print(root)
        return 0
    url = args.url or asset["url"]
    expected = args.sha256 or asset["sha256"]
    if args.from_path:
        archive = Path(args.from_path)
        digest = _local_archive(archive, expected)
    else:
        archive = download_file(url, out / "downloads" / asset["filename"], sha256=expected, timeout=args.timeout,
                                hint=f"download it yourself and run `python -m davis_c download {args.asset} "
                                     f"--out {out} --from PATH`")
        digest = expected or read_sidecar(archive) or sha256_file(archive)
    print(f"extracting {archive} into {out}")
    safe_extract(archive, out)
    if not root.is_dir():
        raise UserError(f"{archive}: archive has no top-level '{asset['root']}/' folder")
    print(root)
    rc = (_check_davis if args.asset == "davis2017" else _check_davisc)(root)
    write_run_json(out, _config(args), name=f"download-{args.asset}.json",
                   extra={"url": url, "archive": str(archive), "sha256": digest, "root": str(root), "ok": rc == 0})
    if rc == 0:
        write_text_atomic(marker, json.dumps({"sha256": digest, "root": str(root)}) + "\n")
        if args.delete_archive and not args.from_path:
            archive.unlink()
    return rc


def _styles(args: argparse.Namespace, asset: dict) -> int:
    out = Path(args.out) / asset["root"]
    for fname, (url, sha) in asset["files"].items():
        dest = out / fname
        if args.from_path:
            src = Path(args.from_path) / fname
            _local_archive(src, sha)
            if not dest.is_file() or sha256_file(dest) != sha:
                out.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(src, dest)
        else:
            base = args.url.rstrip("/") + "/" + fname if args.url else url
            download_file(base, dest, sha256=sha, timeout=args.timeout,
                          hint="fetch the four style images yourself and pass their folder with --from DIR")
    write_run_json(out, _config(args), name="download-styles.json",
                   extra={name: sha for name, (_, sha) in asset["files"].items()})
    print(out)
    return 0


def _cmd(args: argparse.Namespace) -> int:
    asset = ASSETS[args.asset]
    return (_styles if "files" in asset else _archive)(args, asset)


def register(sub) -> None:
    p = add_command(sub, "download", _cmd, "download (resumable, sha256-verified) and safely extract DAVIS-2017, "
                    "the published DAVIS-C tarball or the four DAVIS-C style images")
    p.add_argument("asset", choices=sorted(ASSETS), help="; ".join(f"{k}: {v['about']}" for k, v in ASSETS.items()))
    p.add_argument("--out", required=True, help="target folder (archives go to OUT/downloads, contents to OUT)")
    p.add_argument("--from", dest="from_path", metavar="PATH",
                   help="use an already downloaded archive (styles: a folder holding 1.png..4.png)")
    p.add_argument("--url", help="mirror URL to use instead of the official one (styles: base folder URL)")
    p.add_argument("--sha256", help="expected sha256 of the archive (checked; otherwise recorded)")
    p.add_argument("--timeout", type=float, default=30, help="network timeout in seconds (default 30)")
    p.add_argument("--delete-archive", action="store_true", help="delete the downloaded archive after extraction")
