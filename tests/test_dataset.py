"""The DAVIS-layout reader/writer: lazy videos, label maps, palettes, flat variant folders."""

from __future__ import annotations

import shutil

import numpy as np
import pytest
from conftest import make_tiny_davis
from PIL import Image

from davis_c.dataset import (
    DavisDataset,
    list_frames,
    open_dataset,
    read_image,
    read_mask,
    read_palette,
    write_mask,
)
from davis_c.errors import UserError
from davis_c.palette import DAVIS_PALETTE


def test_mask_round_trip_keeps_labels_and_custom_palette(tmp_path):
    rng = np.random.default_rng(0)
    labels = rng.integers(0, 6, (17, 23)).astype(np.uint8)
    labels[0, 0] = 255  # void
    palette = bytes(rng.integers(0, 256, 768, dtype=np.uint8))
    p = tmp_path / "a" / "00007.png"
    write_mask(p, labels, palette)
    assert np.array_equal(read_mask(p), labels)
    assert read_palette(p) == palette
    with Image.open(p) as im:
        assert im.mode == "P"
    assert not [q for q in p.parent.iterdir() if q.name != p.name]  # no temp file left behind


def test_default_palette_is_davis_and_int_labels_accepted(tmp_path):
    p = tmp_path / "m.png"
    write_mask(p, np.array([[0, 1], [2, 3]], dtype=np.int64))
    assert read_palette(p) == DAVIS_PALETTE
    assert read_mask(p).dtype == np.uint8 and read_mask(p).tolist() == [[0, 1], [2, 3]]


def test_palette_survives_read_then_write(tiny_davis, tmp_path):
    v = DavisDataset.from_root(tiny_davis).video("alpha")
    out = tmp_path / "pred" / "alpha" / f"{v.frame_names[2]}.png"
    write_mask(out, v.read_mask(2), v.palette)
    assert read_palette(out) == read_palette(v.annotation_path(2))
    assert np.array_equal(read_mask(out), v.read_mask(2))


@pytest.mark.parametrize("labels", [np.zeros((2, 2, 3), np.uint8), np.full((2, 2), 256), np.full((2, 2), -1)])
def test_write_mask_rejects_bad_labels(tmp_path, labels):
    with pytest.raises(ValueError):
        write_mask(tmp_path / "x.png", labels)
    assert not (tmp_path / "x.png").exists()


def test_rgb_mask_rejected_with_file_name(tmp_path):
    p = tmp_path / "rgb.png"
    Image.fromarray(np.zeros((4, 4, 3), np.uint8)).save(p)
    with pytest.raises(UserError, match="not a label-indexed") as exc:
        read_mask(p)
    assert str(p) in str(exc.value)


def test_truncated_jpeg_is_a_user_error(tmp_path):
    p = tmp_path / "t.jpg"
    Image.fromarray(np.random.default_rng(0).integers(0, 255, (64, 64, 3), dtype=np.uint8)).save(p)
    p.write_bytes(p.read_bytes()[:400])
    with pytest.raises(UserError, match="unreadable or truncated") as exc:
        read_image(p)
    assert str(p) in str(exc.value)


def test_grey_and_rgba_frames_come_back_rgb(tmp_path):
    Image.fromarray(np.full((5, 6), 77, np.uint8)).save(tmp_path / "g.png")
    Image.fromarray(np.full((5, 6, 4), 99, np.uint8)).save(tmp_path / "a.png")
    for name in ("g.png", "a.png"):
        img = read_image(tmp_path / name)
        assert img.shape == (5, 6, 3) and img.dtype == np.uint8


def test_root_reading(tiny_davis):
    ds = DavisDataset.from_root(tiny_davis)
    assert ds.videos("val") == ["alpha", "beta"] and ds.videos("train") == []
    assert ds.videos() == ["alpha", "beta"]
    v = ds.video("beta")
    assert len(v) == 6 and v.frame_names == [f"{i:05d}" for i in range(6)]
    assert v.size == (40, 72)
    frame = v.read_frame(3)
    assert frame.shape == (40, 72, 3) and frame.dtype == np.uint8
    m = v.read_mask(3)
    assert m.shape == (40, 72) and set(np.unique(m)) == {0, 1, 2}
    # the red object (label 1) is drawn red in the frame: colours line up with labels
    red = frame[m == 1].mean(axis=0)
    assert red[0] > 150 and red[2] < 100
    assert v.object_ids() == [1, 2] and np.array_equal(v.first_mask(), v.read_mask(0))
    assert v.annotated_indices == tuple(range(6))
    assert sum(1 for _ in v.iter_frames()) == 6
    assert [x.name for x in ds.iter_videos("val")] == ["alpha", "beta"]


def test_sparse_annotations_and_void(tiny_davis):
    ann = tiny_davis / "Annotations" / "480p" / "alpha"
    for i in (1, 2, 4):
        (ann / f"{i:05d}.png").unlink()
    m = read_mask(ann / "00003.png")
    m[:2, :2] = 255
    write_mask(ann / "00003.png", m)
    v = DavisDataset.from_root(tiny_davis).video("alpha")
    assert v.annotated_indices == (0, 3, 5)
    assert v.read_mask(1) is None and v.object_ids(1) == []
    assert v.object_ids(3) == [1, 2]  # void (255) is not an object


def test_missing_first_annotation_error_names_file(tiny_davis):
    (tiny_davis / "Annotations" / "480p" / "alpha" / "00000.png").unlink()
    v = DavisDataset.from_root(tiny_davis).video("alpha")
    with pytest.raises(UserError, match="no first-frame annotation") as exc:
        v.first_mask()
    assert "00000.png" in str(exc.value)


def test_flat_variant_with_root_splits(tiny_davis, tmp_path):
    flat = tmp_path / "variant"
    for name in ("alpha", "beta"):
        shutil.copytree(tiny_davis / "JPEGImages" / "480p" / name, flat / name)
    (flat / "alpha" / "00002.jpg").write_bytes(b"")  # flat frames are read from the variant folder
    ds = open_dataset(tiny_davis, images=flat)
    assert ds.images_root == flat and ds.videos("val") == ["alpha", "beta"]
    v = ds.video("alpha")
    assert v.read_mask(0) is not None
    with pytest.raises(UserError, match="00002.jpg"):
        v.read_frame(2)
    plain = DavisDataset.from_flat(flat, tiny_davis / "Annotations" / "480p")
    assert plain.videos() == ["alpha", "beta"] and plain.video("beta").object_ids() == [1, 2]
    with pytest.raises(UserError, match="needs a DAVIS root"):
        plain.videos("val")


def test_predictions_written_under_frame_names_read_back_as_flat(tiny_davis, tmp_path):
    ds = DavisDataset.from_root(tiny_davis)
    pred = tmp_path / "pred"
    for v in ds.iter_videos("val"):
        for i, stem in enumerate(v.frame_names):
            write_mask(pred / v.name / f"{stem}.png", v.read_mask(i), v.palette)
    back = DavisDataset.from_flat(tiny_davis / "JPEGImages" / "480p", pred)
    for v in back.iter_videos(names=["alpha", "beta"]):
        assert v.annotated_indices == tuple(range(len(v)))
        assert np.array_equal(v.read_mask(5), ds.video(v.name).read_mask(5))


def test_list_frames_skips_hidden_and_temp_files(tmp_path):
    for n in ("00001.jpg", "00000.jpg", ".00002.jpg.abc.part.jpg", "notes.txt", "00003.PNG"):
        (tmp_path / n).write_bytes(b"")
    assert [p.name for p in list_frames(tmp_path)] == ["00000.jpg", "00001.jpg", "00003.PNG"]


def test_dataset_errors_name_the_path(tmp_path):
    with pytest.raises(UserError, match="does not exist"):
        DavisDataset.from_root(tmp_path / "nope")
    root = make_tiny_davis(tmp_path / "D", {"a": (2, 16, 16)})
    ds = DavisDataset.from_root(root)
    with pytest.raises(UserError, match="test-dev.txt"):
        ds.videos("test-dev")
    with pytest.raises(UserError, match="'zzz' has no frame directory"):
        ds.video("zzz")
    (root / "JPEGImages" / "480p" / "empty").mkdir()
    with pytest.raises(UserError, match="no frames"):
        ds.video("empty")
    with pytest.raises(UserError, match="image directory does not exist"):
        ds.with_images(tmp_path / "missing")


def test_short_palette_is_normalised_to_768_bytes(tmp_path):
    im = Image.fromarray(np.array([[0, 1], [2, 3]], np.uint8), mode="P")
    im.putpalette([0, 0, 0, 255, 0, 0, 0, 255, 0, 0, 0, 255])  # a 4-entry PLTE chunk
    im.save(tmp_path / "short.png")
    pal = read_palette(tmp_path / "short.png")
    assert len(pal) == 768 and pal[:12] == bytes([0, 0, 0, 255, 0, 0, 0, 255, 0, 0, 0, 255])
    write_mask(tmp_path / "copy.png", read_mask(tmp_path / "short.png"), pal)
    assert read_palette(tmp_path / "copy.png") == pal  # a read-write round trip is exact
