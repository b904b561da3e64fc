"""cartoon: imgaug 0.4.0 `stylize_cartoon` re-implemented with OpenCV, as the official DAVIS-C call uses it."""

from __future__ import annotations

import subprocess
from pathlib import Path

import numpy as np
import pytest
import skimage.data

from davis_c.corruptions import cartoon_cv as cc
from davis_c.corruptions.base import Options
from davis_c.corruptions.cartoon import CARTOON, CARTOON_PARAMS, cartoon_frame

REPO = Path(__file__).resolve().parent.parent
GOLDEN = REPO / "tests" / "fixtures" / "cartoon_imgaug_golden.npz"
IMGAUG_PY = REPO / "bench" / "_work" / "imgaug-venv" / "bin" / "python"


def test_official_parameters():
    assert {s: tuple(CARTOON_PARAMS[s].values()) for s in (3, 4, 5)} == {
        3: (1, 1.0, 1.0), 4: (3, 1.2, 1.5), 5: (5, 1.5, 2.0)}
    # not-small frames (DAVIS 480p): (15, 40), (18, 48), (22, 60); small ones use 10/20 per unit
    assert [cc.mean_shift_windows((480, 854, 3), CARTOON_PARAMS[s]["segmentation_size"]) for s in (3, 4, 5)] == [
        (15, 40), (18, 48), (22, 60)]
    assert cc.mean_shift_windows((300, 399, 3), 1.5) == (15, 30)


@pytest.mark.parametrize("severity", [3, 4, 5])
@pytest.mark.parametrize("crop", ["strip", "patch"])
def test_bit_identical_to_imgaug_golden(crop, severity):
    """Exact match with imgaug 0.4.0 outputs (recorded by bench/cartoon_vs_imgaug.py --golden) on real photo crops.

    strip = 32x400 (Laplacian branch), patch = 48x64 (small image: Canny branch). The official call passes the
    BGR frame as RGB; our RGB-in/RGB-out corruption must reproduce that.
    """
    if not GOLDEN.is_file():
        pytest.skip(f"golden file missing: {GOLDEN}")
    ref = np.load(GOLDEN)
    rgb = np.ascontiguousarray(ref[f"{crop}_input_bgr"][..., ::-1])
    out = CARTOON.apply([rgb], severity, np.random.default_rng(0), Options())[0]
    expected = ref[f"{crop}_s{severity}"][..., ::-1]
    assert out.dtype == np.uint8 and out.shape == rgb.shape
    np.testing.assert_array_equal(out, expected)


def _laplacian_reference(gray: np.ndarray, prevalence: float) -> np.ndarray:
    """The Laplacian edge step written out with NumPy: 4-neighbour kernel, reflect-101 border."""
    g = np.pad(gray / 255.0, 1, mode="reflect")
    lap = g[:-2, 1:-1] + g[2:, 1:-1] + g[1:-1, :-2] + g[1:-1, 2:] - 4 * g[1:-1, 1:-1]
    energy = lap ** 2
    vmax = np.percentile(energy, min(int(90 / prevalence), 99))
    e = np.clip(np.round(np.clip(energy, 0, vmax) / vmax * 255), 0, 255).astype(np.uint8)
    e = np.pad(e, 1, mode="edge")   # OpenCV's 3x3 median replicates the border
    med = np.median(np.stack([e[i:i + gray.shape[0], j:j + gray.shape[1]] for i in range(3) for j in range(3)]), 0)
    med = med.astype(np.uint8)
    med[med < 50] = 0
    return med


def test_laplacian_edges_match_written_out_reference():
    rgb = np.ascontiguousarray(skimage.data.astronaut()[100:300, 50:450])
    gray = (0.299 * rgb[..., 0] + 0.587 * rgb[..., 1] + 0.114 * rgb[..., 2])
    ours = cc.edges_laplacian(rgb, 0.8, "RGB")
    ref = _laplacian_reference(np.round(gray), 0.8)
    assert (ours == ref).mean() > 0.995          # float summation order may flip a rare rounding
    assert ours.max() > 100 and (ours > 0).mean() > 0.01


def test_blob_suppression_and_blending():
    edges = np.zeros((12, 12), np.uint8)
    edges[2:5, 2:5] = 255          # dense 3x3 blob: its centre sees 9 >= 8 edge pixels
    edges[8, 1:11] = 255           # a line: 3 per 3x3 window, kept
    edges[0, 11] = 255             # a lone pixel: < 3 edges in its 5x5 window
    dense = cc.suppress_edge_blobs(edges, 3, 8, inverse=False)
    assert dense[3, 3] == 0 and dense[2, 2] == 255 and dense[8, 5] == 255
    sparse = cc.suppress_edge_blobs(dense, 5, 3, inverse=True)
    assert sparse[0, 11] == 0 and sparse[8, 5] == 255
    img = np.full((12, 12, 3), 201, np.uint8)
    half = np.full((12, 12), 128, np.uint8)
    out = cc.blend_edges(img, half)
    assert out[0, 0, 0] == round(201 * (1 - 128 / 255))


def test_saturation_step():
    rgb = np.ascontiguousarray(skimage.data.coffee()[:64, :64])
    assert np.array_equal(cc.saturate(rgb, 1.005, "RGB"), rgb)          # ~1 is skipped
    import cv2

    s_in = cv2.cvtColor(rgb, cv2.COLOR_RGB2HSV)[..., 1].astype(int)
    s_out = cv2.cvtColor(cc.saturate(rgb, 2.0, "RGB"), cv2.COLOR_RGB2HSV)[..., 1].astype(int)
    target = np.minimum(s_in * 2, 255)
    assert np.abs(s_out - target).mean() < 3 and s_out.mean() > 1.5 * s_in.mean()


def test_channel_quirk_and_colour_fix():
    """Faithful = run on the BGR frame as if it were RGB; --colour-fix = the RGB frame as RGB."""
    rgb = np.ascontiguousarray(skimage.data.coffee()[:80, :120])
    faithful = cartoon_frame(rgb, 5)
    fixed = cartoon_frame(rgb, 5, colour_fix=True)
    bgr = np.ascontiguousarray(rgb[..., ::-1])
    np.testing.assert_array_equal(faithful, cc.stylize_cartoon(bgr, 5, 1.5, 2.0, 0.8)[..., ::-1])
    np.testing.assert_array_equal(fixed, cc.stylize_cartoon(rgb, 5, 1.5, 2.0, 0.8))
    assert not np.array_equal(faithful, fixed)   # the gray weights of R and B differ
    opts = Options(colour_fix=True)
    assert np.array_equal(CARTOON.apply([rgb], 5, np.random.default_rng(1), opts)[0], fixed)


def test_apply_contract_and_bad_input():
    frames = [np.ascontiguousarray(skimage.data.chelsea()[:40, :50]) for _ in range(2)]
    out = CARTOON.apply(frames, 3, np.random.default_rng(0), Options())
    assert len(out) == 2 and all(o.shape == (40, 50, 3) and o.dtype == np.uint8 for o in out)
    assert np.array_equal(out[0], CARTOON.apply(frames[:1], 3, np.random.default_rng(9), Options())[0])
    assert not CARTOON.random and CARTOON.per_frame
    with pytest.raises(ValueError, match="uint8"):
        cc.stylize_cartoon(frames[0].astype(np.float32))


@pytest.mark.slow
def test_full_comparison_with_imgaug_env(tmp_path):
    """Runs imgaug 0.4.0 itself (NumPy<2 env built by bench/cartoon_vs_imgaug.py) on a full-size photo."""
    if not IMGAUG_PY.is_file():
        pytest.skip("imgaug comparison env absent: run `.venv/bin/python bench/cartoon_vs_imgaug.py` to build it")
    code = (
        "import sys, numpy as np, skimage.data, cv2\n"
        "from imgaug.augmenters.artistic import stylize_cartoon\n"
        "bgr = np.ascontiguousarray(skimage.data.rocket()[..., ::-1])\n"
        "np.save(sys.argv[1] + '/in.npy', bgr)\n"
        "np.save(sys.argv[1] + '/out.npy', stylize_cartoon(bgr, blur_ksize=3, segmentation_size=1.2, "
        "saturation=1.5, edge_prevalence=0.8, suppress_edges=True))\n"
    )
    subprocess.run([str(IMGAUG_PY), "-c", code, str(tmp_path)], check=True, timeout=300)
    bgr = np.load(tmp_path / "in.npy")
    ours = cartoon_frame(np.ascontiguousarray(bgr[..., ::-1]), 4)[..., ::-1]
    np.testing.assert_array_equal(ours, np.load(tmp_path / "out.npy"))


def test_fast_steps_equal_the_plain_steps_and_pipeline():
    """cartoon_kernels' edge, suppression and blend steps give the plain steps' bytes; so does the whole frame."""
    import cv2

    from davis_c.corruptions import cartoon_kernels as ck
    from davis_c.corruptions.meanshift import pyr_mean_shift_filtering

    rng = np.random.default_rng(0)
    photo = np.ascontiguousarray(cv2.resize(skimage.data.chelsea(), (427, 240)))
    for prevalence in (0.8, 1.0):
        for space in ("RGB", "BGR"):
            plain = cc.edges_laplacian(photo, prevalence, space) > 100
            np.testing.assert_array_equal(ck.edges_laplacian(photo, prevalence, space) > 100, plain)
    edges = ((rng.random((60, 70)) < 0.3) * 255).astype(np.uint8)
    for size, thresh, inverse in ((3, 8, False), (5, 3, True), (3, 1, False)):
        np.testing.assert_array_equal(ck.suppress_edge_blobs(edges, size, thresh, inverse),
                                      cc.suppress_edge_blobs(edges, size, thresh, inverse))
    grey = (rng.random((60, 70)) * 255).astype(np.uint8)          # not binary: the general path
    np.testing.assert_array_equal(ck.suppress_edge_blobs(grey, 3, 8, False), cc.suppress_edge_blobs(grey, 3, 8, False))
    image = rng.integers(0, 256, (60, 70, 3), dtype=np.uint8)
    np.testing.assert_array_equal(ck.blend_edges(image, grey), cc.blend_edges(image, grey))
    flat = np.full((30, 410, 3), 90, np.uint8)                     # flat: zero Laplacian energy
    assert not ck.edges_laplacian(flat, 0.8, "RGB").any()
    for severity in (3, 4, 5):
        for fix in (False, True):
            p = dict(CARTOON_PARAMS[severity], edge_prevalence=0.8, suppress_edges=True, from_colorspace="RGB",
                     mean_shift=pyr_mean_shift_filtering)
            src = photo if fix else np.ascontiguousarray(photo[..., ::-1])
            want = cc.stylize_cartoon(src, **p)
            want = want if fix else want[..., ::-1]
            np.testing.assert_array_equal(cartoon_frame(photo, severity, colour_fix=fix), want)
