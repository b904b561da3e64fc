"""Compare our OpenCV `cartoon` with imgaug 0.4.0's `stylize_cartoon` (the official DAVIS-C reference).

imgaug 0.4.0 cannot import on NumPy 2, so this script builds a separate NumPy<2 virtual environment under
bench/_work/imgaug-venv (not a product dependency), runs imgaug there on real skimage photos at the three
DAVIS-C severities (bench/cartoon_imgaug_worker.py), and compares with our implementation run (a) inside
that environment (same OpenCV as imgaug: tests the algorithm) and (b) in the product environment (its own
OpenCV and the numba mean shift of davis_c.corruptions.meanshift: what the builder runs). Writes bench/results/cartoon_vs_imgaug.md.

    .venv/bin/python bench/cartoon_vs_imgaug.py [--work bench/_work] [--no-write]
    .venv/bin/python bench/cartoon_vs_imgaug.py --golden tests/fixtures/cartoon_imgaug_golden.npz
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import venv
from pathlib import Path

import cv2
import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from davis_c.corruptions.cartoon_cv import stylize_cartoon  # noqa: E402
from davis_c.corruptions.meanshift import pyr_mean_shift_filtering  # noqa: E402

ENV_PACKAGES = ["numpy==1.26.4", "opencv-python==4.11.0.86", "scikit-image==0.23.2", "scipy<1.14",
                "setuptools<82", "six", "Pillow", "matplotlib<3.10", "imageio", "Shapely"]
"""The comparison environment (Python 3.11 wheels exist for all). imgaug itself goes in with --no-deps so it
cannot add opencv-python-headless next to opencv-python (two cv2 packages break each other)."""
PARAMS = {3: (1, 1.0, 1.0), 4: (3, 1.2, 1.5), 5: (5, 1.5, 2.0)}


def env_python(env: Path) -> Path:
    return env / "bin" / "python"


def ensure_env(env: Path) -> Path:
    """Create the NumPy<2 + imgaug 0.4.0 environment once (needs a package index); return its python."""
    py = env_python(env)
    stamp = env / ".imgaug-ready"
    if stamp.exists():
        return py
    venv.EnvBuilder(with_pip=True, clear=True).create(env)
    pip = [str(py), "-m", "pip", "install", "-q", "--disable-pip-version-check"]
    subprocess.run(pip + ENV_PACKAGES, check=True)
    subprocess.run(pip + ["--no-deps", "imgaug==0.4.0"], check=True)
    subprocess.run([str(py), "-c", "import imgaug.augmenters.artistic"], check=True)
    stamp.write_text("ok\n")
    return py


def compare(a: np.ndarray, b: np.ndarray) -> tuple[int, float]:
    """(max abs difference, % of identical pixel values)."""
    d = np.abs(a.astype(np.int16) - b.astype(np.int16))
    return int(d.max()), float(100.0 * (d == 0).mean())


def rows(work: Path) -> list[dict]:
    """One row per (photo, severity): imgaug vs ours under imgaug's OpenCV and under the product's."""
    out = []
    for inp in sorted(work.glob("*.input_bgr.npy")):
        name = inp.name.split(".")[0]
        bgr = np.load(inp)
        for sev, (k, s, a) in PARAMS.items():
            ref = np.load(work / f"{name}.s{sev}.imgaug.npy")
            same_cv = np.load(work / f"{name}.s{sev}.ours_envcv.npy")
            ours = stylize_cartoon(bgr.copy(), blur_ksize=k, segmentation_size=s, saturation=a,
                                   edge_prevalence=0.8, suppress_edges=True, mean_shift=pyr_mean_shift_filtering)
            m1, p1 = compare(same_cv, ref)
            m2, p2 = compare(ours, ref)
            out.append({"photo": name, "shape": "x".join(map(str, bgr.shape[:2])), "severity": sev,
                        "max_same_cv": m1, "pct_same_cv": p1, "max_product_cv": m2, "pct_product_cv": p2})
            print(out[-1], flush=True)
    return out


def machine_description() -> str:
    """CPU model, core count and OS, for the result file."""
    import os
    import platform

    cpu = platform.processor() or "cpu"
    info = Path("/proc/cpuinfo")
    if info.is_file():
        names = [ln.split(":", 1)[1].strip() for ln in info.read_text().splitlines() if ln.startswith("model name")]
        cpu = names[0] if names else cpu
    return f"{cpu}, {os.cpu_count()} cores visible, {platform.system()} {platform.machine()}"


def summary(table: list[dict]) -> str:
    """One sentence computed from the table."""
    same = sum(r["max_same_cv"] == 0 for r in table)
    prod = sum(r["max_product_cv"] == 0 for r in table)
    return (f"Bit-identical: {same}/{len(table)} cases with imgaug's OpenCV, {prod}/{len(table)} with the "
            f"product's OpenCV; worst % identical pixels {min(r['pct_product_cv'] for r in table):.4f} (product).")


def report(table: list[dict], versions: dict, machine: str) -> str:
    """The markdown result file."""
    lines = [
        "# cartoon vs imgaug 0.4.0 `stylize_cartoon`", "",
        "Command: `.venv/bin/python bench/cartoon_vs_imgaug.py` (builds bench/_work/imgaug-venv on first use).",
        f"Machine: {machine}.", "",
        f"Reference environment: imgaug {versions['imgaug']}, numpy {versions['numpy']}, "
        f"OpenCV {versions['opencv']}, scikit-image {versions['scikit-image']}, Python {versions['python']}.",
        f"Product environment: numpy {np.__version__}, OpenCV {cv2.__version__}.", "",
        "Inputs: skimage photos as BGR uint8, called as the official script does (BGR passed with the default",
        "from_colorspace RGB, edge_prevalence 0.8, suppress_edges True). `same OpenCV`: our code run inside the",
        "reference environment, with OpenCV's mean shift; `product OpenCV`: our code in the product environment,",
        "with the builder's numba mean shift (`davis_c.corruptions.meanshift`).", "",
        summary(table), "",
        "| photo | HxW | severity | max abs diff (same OpenCV) | % identical (same OpenCV) "
        "| max abs diff (product OpenCV) | % identical (product OpenCV) |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in table:
        lines.append(f"| {r['photo']} | {r['shape']} | {r['severity']} | {r['max_same_cv']} | "
                     f"{r['pct_same_cv']:.4f} | {r['max_product_cv']} | {r['pct_product_cv']:.4f} |")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--work", type=Path, default=ROOT / "bench" / "_work")
    ap.add_argument("--no-write", action="store_true", help="do not write bench/results/cartoon_vs_imgaug.md")
    ap.add_argument("--golden", type=Path, default=None,
                    help="only (re)write the small imgaug reference file used by tests/test_cartoon.py")
    args = ap.parse_args(argv)
    py = ensure_env(args.work / "imgaug-venv")
    if args.golden:
        subprocess.run([str(py), str(ROOT / "bench" / "cartoon_imgaug_worker.py"), "--golden", str(args.golden)],
                       check=True)
        return 0
    data = args.work / "cartoon"
    subprocess.run([str(py), str(ROOT / "bench" / "cartoon_imgaug_worker.py"), str(data)], check=True)
    table = rows(data)
    versions = json.loads((data / "versions.json").read_text())
    machine = machine_description()
    if not args.no_write:
        dest = ROOT / "bench" / "results" / "cartoon_vs_imgaug.md"
        dest.parent.mkdir(parents=True, exist_ok=True)
        dest.write_text(report(table, versions, machine))
        print(f"wrote {dest}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
