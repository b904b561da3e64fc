"""style1..4: colour preservation maths, the ONNX backend on the real shipped weights, the TF-Hub backend
through a tiny SavedModel with the official call signature, and the user errors."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest
import skimage.data

from davis_c.corruptions import style as st
from davis_c.corruptions import stylize_onnx, stylize_tfhub
from davis_c.corruptions.base import Options
from davis_c.corruptions.colour import preserve_colours
from davis_c.errors import UserError

RNG = np.random.default_rng(0)


def _write_styles(folder: Path, size=(60, 90)) -> Path:
    """Four small real-photo style images 1.png..4.png (different crops of skimage photos)."""
    folder.mkdir(parents=True, exist_ok=True)
    srcs = [skimage.data.coffee(), skimage.data.rocket(), skimage.data.chelsea(), skimage.data.astronaut()]
    for i, src in enumerate(srcs, 1):
        img = cv2.resize(src, (size[1], size[0]), interpolation=cv2.INTER_AREA)
        cv2.imwrite(str(folder / f"{i}.png"), cv2.cvtColor(img, cv2.COLOR_RGB2BGR))
    return folder


def _ycrcb(x: np.ndarray, b: int, r: int):
    """OpenCV's float YCrCb (delta 0.5) written out, with the B/R channel indices given."""
    y = 0.299 * x[..., r] + 0.587 * x[..., 1] + 0.114 * x[..., b]
    return y, (x[..., r] - y) * 0.713 + 0.5, (x[..., b] - y) * 0.564 + 0.5


def _preserve_reference(content, stylised, b: int, r: int):
    y, _, _ = _ycrcb(stylised * 255.0, b, r)
    _, cr, cb = _ycrcb(content * 255.0, b, r)
    out = np.empty(content.shape)
    out[..., r] = y + 1.403 * (cr - 0.5)
    out[..., 1] = y - 0.714 * (cr - 0.5) - 0.344 * (cb - 0.5)
    out[..., b] = y + 1.773 * (cb - 0.5)
    return out / 255.0


def test_preserve_colours_official_quirk_and_fix():
    content = (np.ascontiguousarray(skimage.data.coffee()[:40, :60]) / 255.0).astype(np.float32)
    stylised = RNG.random((44, 64, 3), dtype=np.float32)        # larger: trimmed to the content size
    faithful = preserve_colours(content, stylised)
    fixed = preserve_colours(content, stylised, colour_fix=True)
    assert faithful.dtype == np.float32 and faithful.shape == content.shape
    # official: RGB data through BGR2YCrCb -> channel 0 plays "B", channel 2 plays "R"
    np.testing.assert_allclose(faithful, _preserve_reference(content, stylised[:40, :60], b=0, r=2), atol=2e-3)
    np.testing.assert_allclose(fixed, _preserve_reference(content, stylised[:40, :60], b=2, r=0), atol=2e-3)
    assert np.abs(faithful - fixed).max() > 0.05
    np.testing.assert_allclose(preserve_colours(content, content), content, atol=1e-3)


def test_onnx_tiling_reassembles_exactly(monkeypatch):
    """With an identity network the tiled, blended, mirror-padded result must be the input itself."""
    monkeypatch.setattr(stylize_onnx, "_run_tile", lambda tile, b: tile.astype(np.float32))
    for h, w in [(50, 70), (400, 200), (480, 854)]:
        x = RNG.random((h, w, 3), dtype=np.float32)
        np.testing.assert_allclose(stylize_onnx.stylize_tiles(x, None), x, atol=1e-6)
    assert stylize_onnx.tile_starts(854) == [0, 256, 470]
    assert stylize_onnx.tile_starts(384) == [0]
    win = stylize_onnx.blend_window()
    assert win.min() > 0 and win[192, 192] == 1.0 and np.allclose(win, win.T)


def test_onnx_full_mode_is_the_shipped_network_at_any_size():
    """The relaxed-shape graph gives the shipped graph's output at 384x384, and runs at other sizes."""
    style = np.ascontiguousarray(skimage.data.coffee()[::2, ::2])
    b_full = stylize_onnx.style_bottleneck(style)                     # style at its own size (official)
    b_256 = stylize_onnx.style_bottleneck(style, full_size=False)
    assert b_full.shape == b_256.shape == (1, 1, 1, 100) and np.abs(b_full - b_256).max() > 1e-3
    x = (cv2.resize(skimage.data.chelsea(), (384, 384), interpolation=cv2.INTER_AREA) / 255.0).astype(np.float32)
    np.testing.assert_array_equal(stylize_onnx.stylize_full(x, b_256), stylize_onnx._run_tile(x, b_256))
    odd = (RNG.random((21, 70, 3)) * 0.8).astype(np.float32)          # < MIN_SIDE and not a multiple of 4
    out = stylize_onnx.stylize_full(odd, b_full)
    assert out.shape == odd.shape and out.dtype == np.float32 and 0 <= out.min() and out.max() <= 1


def test_onnx_backend_real_weights(tmp_path):
    """Real Magenta ONNX weights: full-size uint8 output, deterministic, low == med, high keeps style colours."""
    styles = _write_styles(tmp_path / "styles")
    frame = np.ascontiguousarray(cv2.resize(skimage.data.chelsea(), (80, 56), interpolation=cv2.INTER_AREA))
    opts = Options(style_backend="onnx", styles_dir=styles)
    corr = st.STYLES["style2"]
    assert corr.same_as == {4: 3} and not corr.random
    low = corr.apply([frame, frame], 3, RNG, opts)
    med = corr.apply([frame], 4, RNG, opts)[0]
    high = corr.apply([frame], 5, RNG, opts)[0]
    assert low[0].shape == frame.shape and low[0].dtype == np.uint8
    assert np.array_equal(low[0], low[1]) and np.array_equal(low[0], med)
    assert np.abs(high.astype(int) - frame).mean() > 10                  # it is stylised
    # colour preservation: chroma of low follows the content, high's does not
    def chroma(im):
        return cv2.cvtColor(im, cv2.COLOR_RGB2YCrCb)[..., 1:].astype(float)

    assert np.abs(chroma(low[0]) - chroma(frame)).mean() < 0.5 * np.abs(chroma(high) - chroma(frame)).mean()
    fixed = corr.apply([frame], 3, RNG, Options(style_backend="onnx", styles_dir=styles, colour_fix=True))[0]
    assert not np.array_equal(fixed, low[0])
    tiles = corr.apply([frame], 5, RNG, Options(styles_dir=styles, extra={"style_onnx_mode": "tiles"}))[0]
    assert tiles.shape == frame.shape and not np.array_equal(tiles, high)


def test_style_prepared_once_per_style(tmp_path, monkeypatch):
    styles = _write_styles(tmp_path / "styles")
    calls = []
    real = stylize_onnx.style_bottleneck
    monkeypatch.setattr(stylize_onnx, "style_bottleneck", lambda im, full_size: calls.append(im.shape) or real(im))
    st._prepared.cache_clear()
    frame = np.zeros((36, 40, 3), np.uint8)
    opts = Options(styles_dir=styles)
    for _ in range(3):
        st.STYLES["style1"].apply([frame, frame], 5, RNG, opts)
    assert calls == [(60, 90, 3)]


def test_onnx_style_from_shared_official_images(shared_dir):
    sizes = [st.read_style(st.style_path(shared_dir / "styles", i)).shape for i in (1, 2, 3, 4)]
    assert sizes == [(630, 800, 3), (390, 800, 3), (572, 800, 3), (768, 768, 3)]   # fed unresized
    path = st.style_path(shared_dir / "styles", 4)
    b = stylize_onnx.style_bottleneck(st.read_style(path))
    assert b.shape == (1, 1, 1, 100) and np.isfinite(b).all() and b.std() > 0
    other = stylize_onnx.style_bottleneck(st.read_style(st.style_path(shared_dir / "styles", 1)))
    assert np.abs(b - other).max() > 0.1


def test_style_errors(tmp_path):
    frame = np.zeros((8, 8, 3), np.uint8)
    with pytest.raises(UserError, match=r"--styles.*download styles"):
        st.STYLES["style1"].apply([frame], 3, RNG, Options())
    empty = tmp_path / "nostyles"
    empty.mkdir()
    with pytest.raises(UserError) as exc:
        st.STYLES["style3"].apply([frame], 3, RNG, Options(styles_dir=empty))
    assert str(empty / "3.png") in str(exc.value) and "python -m davis_c download styles" in str(exc.value)
    (empty / "3.png").write_bytes(b"not a png")
    with pytest.raises(UserError, match="cannot read style image"):
        st.STYLES["style3"].apply([frame], 3, RNG, Options(styles_dir=empty))
    styles = _write_styles(tmp_path / "styles")
    with pytest.raises(UserError, match="unknown style backend"):
        st.STYLES["style1"].apply([frame], 3, RNG, Options(styles_dir=styles, style_backend="nope"))
    with pytest.raises(UserError, match="tfhub backend only"):
        st.STYLES["style1"].apply([frame], 3, RNG, Options(styles_dir=styles, style_model="x"))
    with pytest.raises(UserError, match="unknown onnx style mode"):
        st.STYLES["style1"].apply([frame], 3, RNG, Options(styles_dir=styles, extra={"style_onnx_mode": "x"}))


# ---------------------------------------------------------------------------------------- TF-Hub backend

def _save_tiny_hub_model(dest: Path) -> None:
    """A SavedModel with the Magenta hub signature: (content [1,H,W,3], style [1,h,w,3]) -> [stylised].

    The output is padded up to a multiple of 4 (as Magenta's net) and encodes the style's height, so the test
    sees whether the style image reached the model at full size.
    """
    import tensorflow as tf

    class Tiny(tf.Module):
        @tf.function(input_signature=[tf.TensorSpec([1, None, None, 3], tf.float32),
                                      tf.TensorSpec([1, None, None, 3], tf.float32)])
        def __call__(self, content, style):
            h, w = tf.shape(content)[1], tf.shape(content)[2]
            padded = tf.pad(content, [[0, 0], [0, (-h) % 4], [0, (-w) % 4], [0, 0]], mode="SYMMETRIC")
            mean = tf.reduce_mean(style, axis=[1, 2], keepdims=True)
            return [0.5 * padded + 0.25 * mean + tf.cast(tf.shape(style)[1], tf.float32) / 4000.0]

    tf.saved_model.save(Tiny(), str(dest))


@pytest.mark.tf
def test_tfhub_backend_with_local_savedmodel(tmp_path):
    pytest.importorskip("tensorflow")
    pytest.importorskip("tensorflow_hub")
    model = tmp_path / "hub_model"
    _save_tiny_hub_model(model)
    styles = _write_styles(tmp_path / "styles", size=(70, 90))
    frame = np.ascontiguousarray(cv2.resize(skimage.data.coffee(), (50, 38), interpolation=cv2.INTER_AREA))
    opts = Options(style_backend="tfhub", style_model=str(model), styles_dir=styles)
    high = st.STYLES["style1"].apply([frame], 5, RNG, opts)[0]
    style = cv2.cvtColor(cv2.imread(str(styles / "1.png")), cv2.COLOR_BGR2RGB) / 255.0
    expect = (0.5 * frame / 255.0 + 0.25 * style.mean(axis=(0, 1)) + 70 / 4000.0) * 255.0
    assert high.shape == frame.shape
    assert np.abs(high.astype(float) - expect).max() <= 1.0
    low, med = (st.STYLES["style1"].apply([frame], s, RNG, opts)[0] for s in (3, 4))
    assert np.array_equal(low, med) and not np.array_equal(low, high)


@pytest.mark.tf
def test_tfhub_errors(tmp_path, monkeypatch):
    pytest.importorskip("tensorflow")
    hub = pytest.importorskip("tensorflow_hub")
    stylize_tfhub.load_module.cache_clear()
    with pytest.raises(UserError, match="style model directory not found"):
        stylize_tfhub.TfHubBackend(str(tmp_path / "missing"))

    def offline(url):
        raise OSError("URL fetch failure: Temporary failure in name resolution")

    monkeypatch.setattr(hub, "load", offline)
    with pytest.raises(UserError, match=r"cannot load TF-Hub style model https://tfhub.dev/.*--style-model DIR"):
        stylize_tfhub.TfHubBackend(None)
    stylize_tfhub.load_module.cache_clear()


def test_style_fingerprint_for_manifest(tmp_path):
    import hashlib

    styles = _write_styles(tmp_path / "styles")
    fp = st.style_fingerprint(Options(styles_dir=styles), 2)
    assert fp["style_backend"] == "onnx" and fp["style_image"] == "2.png" and fp["onnx_mode"] == "full"
    assert fp["style_image_sha256"] == hashlib.sha256((styles / "2.png").read_bytes()).hexdigest()
    assert len(fp["arbitrary_transform_onnx_sha256"]) == 64
    tf_fp = st.style_fingerprint(Options(styles_dir=styles, style_backend="tfhub"), 2)
    assert tf_fp["style_model"] == stylize_tfhub.HUB_URL


def test_build_cli_missing_style_image_is_one_line_error(tmp_path, capsys):
    from conftest import make_tiny_davis

    from davis_c.__main__ import main

    root = make_tiny_davis(tmp_path / "DAVIS", {"alpha": (2, 40, 48)})
    empty = tmp_path / "styles"
    empty.mkdir()
    rc = main(["build", "--src", str(root), "--out", str(tmp_path / "C"), "--corruptions", "style2",
               "--strengths", "low", "--workers", "1", "--styles-dir", str(empty)])
    err = capsys.readouterr().err.strip().splitlines()[-1]
    assert rc == 2
    assert err.startswith("error: style image not found: ") and str(empty / "2.png") in err
    assert "python -m davis_c download styles" in err
    assert not list((tmp_path / "C").rglob("*.jpg"))
