"""Runs INSIDE the NumPy<2 comparison environment (see bench/cartoon_vs_imgaug.py); not product code.

For each test photo and severity it saves, as .npy: the BGR input, imgaug 0.4.0's `stylize_cartoon` output
(called exactly as the official DAVIS-C script calls it), and the output of our re-implementation
(`davis_c/corruptions/cartoon_cv.py`, loaded by file path) under this environment's OpenCV.
"""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path

import cv2
import numpy as np
import skimage
import skimage.data
from imgaug.augmenters.artistic import stylize_cartoon

ROOT = Path(__file__).resolve().parent.parent
PARAMS = {3: (1, 1.0, 1.0), 4: (3, 1.2, 1.5), 5: (5, 1.5, 2.0)}   # blur_ksize, segmentation, saturation


def photos() -> dict[str, np.ndarray]:
    """RGB test photos: real skimage images, one at DAVIS 480p size and one small (Canny branch)."""
    astro = skimage.data.astronaut()
    return {
        "astronaut_512": astro,
        "coffee_400x600": skimage.data.coffee(),
        "rocket_427x640": skimage.data.rocket(),
        "chelsea_480x854": cv2.resize(skimage.data.chelsea(), (854, 480), interpolation=cv2.INTER_CUBIC),
        "astronaut_small_320": cv2.resize(astro, (320, 320), interpolation=cv2.INTER_AREA),
    }


def load_ours():
    spec = importlib.util.spec_from_file_location("cartoon_cv", ROOT / "davis_c" / "corruptions" / "cartoon_cv.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def golden(dest: Path) -> None:
    """A small exact-reference file for tests/test_cartoon.py: imgaug outputs on two real photo crops.

    A 32x400 strip (max side 400: the Laplacian branch) and a 48x64 patch (small: the Canny branch).
    """
    astro = skimage.data.astronaut()
    crops = {"strip": astro[200:232, 56:456], "patch": astro[180:228, 200:264]}
    arrays = {}
    for name, rgb in crops.items():
        bgr = np.ascontiguousarray(rgb[..., ::-1])
        arrays[f"{name}_input_bgr"] = bgr
        for sev, (k, s, a) in PARAMS.items():
            args = dict(blur_ksize=k, segmentation_size=s, saturation=a, edge_prevalence=0.8, suppress_edges=True)
            arrays[f"{name}_s{sev}"] = stylize_cartoon(bgr.copy(), **args)
    dest.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(dest, **arrays)


def main(out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    ours = load_ours()
    for name, rgb in photos().items():
        bgr = np.ascontiguousarray(rgb[..., ::-1])
        np.save(out / f"{name}.input_bgr.npy", bgr)
        for sev, (k, s, a) in PARAMS.items():
            args = dict(blur_ksize=k, segmentation_size=s, saturation=a, edge_prevalence=0.8, suppress_edges=True)
            np.save(out / f"{name}.s{sev}.imgaug.npy", stylize_cartoon(bgr.copy(), **args))
            np.save(out / f"{name}.s{sev}.ours_envcv.npy", ours.stylize_cartoon(bgr.copy(), **args))
            print(f"{name} severity {sev} done", flush=True)
    import imgaug
    versions = {"imgaug": imgaug.__version__, "numpy": np.__version__, "opencv": cv2.__version__,
                "scikit-image": skimage.__version__, "python": sys.version.split()[0]}
    (out / "versions.json").write_text(json.dumps(versions, indent=1))


if __name__ == "__main__":
    if sys.argv[1] == "--golden":
        golden(Path(sys.argv[2]))
    else:
        main(Path(sys.argv[1]))
