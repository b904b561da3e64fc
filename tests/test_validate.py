"""`validate()`: every kind of problem is found and names its file; the CLI reports them."""

from __future__ import annotations

import shutil
import subprocess
import sys

import numpy as np
import pytest
from conftest import REPO, make_tiny_davis
from PIL import Image

from davis_c.__main__ import main
from davis_c.dataset import write_mask
from davis_c.errors import UserError
from davis_c.validate import validate, validate_or_raise


@pytest.fixture
def root(tmp_path):
    return make_tiny_davis(tmp_path / "DAVIS", {"alpha": (4, 24, 32), "beta": (4, 24, 32)})


def jpg(root, video, i=0):
    return root / "JPEGImages" / "480p" / video / f"{i:05d}.jpg"


def png(root, video, i=0):
    return root / "Annotations" / "480p" / video / f"{i:05d}.png"


def only(problems):
    assert len(problems) == 1, problems
    return problems[0]


def test_valid_root_has_no_problems(root):
    assert validate(root) == []
    validate_or_raise(root, ("train", "val"))


def test_missing_root(tmp_path):
    p = only(validate(tmp_path / "nope"))
    assert p.kind == "missing-root" and p.path == tmp_path / "nope"


def test_missing_split_file(root):
    (root / "ImageSets" / "2017" / "train.txt").unlink()
    p = only(validate(root))
    assert p.kind == "missing-split" and p.path == root / "ImageSets" / "2017" / "train.txt"
    assert validate(root, ["val"]) == []


def test_missing_frame_directory(root):
    shutil.rmtree(root / "JPEGImages")
    kinds = {(p.kind, p.path) for p in validate(root)}
    assert ("missing-dir", root / "JPEGImages" / "480p") in kinds


def test_video_listed_but_absent(root):
    (root / "ImageSets" / "2017" / "val.txt").write_text("alpha\nbeta\ngamma\n")
    p = only(validate(root))
    assert p.kind == "missing-video" and p.path == root / "JPEGImages" / "480p" / "gamma"
    assert "gamma" in str(p)
    (root / "JPEGImages" / "480p" / "gamma").mkdir()  # present but holding no frames
    p = only(validate(root))
    assert p.kind == "missing-video" and "no frames" in p.message


def test_video_without_annotation_directory(root):
    shutil.rmtree(root / "Annotations" / "480p" / "beta")
    p = only(validate(root))
    assert p.kind == "missing-annotations" and p.path == root / "Annotations" / "480p" / "beta"


def test_annotation_without_frame(root):
    shutil.copy(png(root, "alpha", 1), png(root, "alpha", 9))
    p = only(validate(root))
    assert p.kind == "orphan-annotation" and p.path == png(root, "alpha", 9)


def test_missing_first_annotation_but_sparse_allowed(root):
    png(root, "alpha", 2).unlink()  # sparse: fine (DAVIS test-dev, YouTube-VOS)
    assert validate(root) == []
    dense = only(validate(root, sparse_ok=False))
    assert dense.kind == "missing-annotation" and dense.path == png(root, "alpha", 2)
    png(root, "beta", 0).unlink()
    p = only(validate(root))
    assert p.kind == "missing-first-annotation" and p.path == png(root, "beta", 0)


def test_size_mismatch(root):
    write_mask(png(root, "beta", 1), np.ones((24, 30), np.uint8))
    p = only(validate(root))
    assert p.kind == "size-mismatch" and p.path == png(root, "beta", 1)
    assert "30x24" in p.message and "32x24" in p.message


def test_truncated_jpeg(root):
    f = jpg(root, "alpha", 3)
    f.write_bytes(f.read_bytes()[:300])
    p = only(validate(root))
    assert p.kind == "unreadable-image" and p.path == f


def test_truncated_png(root):
    f = png(root, "beta", 2)
    f.write_bytes(f.read_bytes()[:60])
    p = only(validate(root))
    assert p.kind == "unreadable-mask" and p.path == f


def test_rgb_mask(root):
    f = png(root, "alpha", 1)
    Image.fromarray(np.zeros((24, 32, 3), np.uint8)).save(f)
    p = only(validate(root))
    assert p.kind == "rgb-mask" and p.path == f and "RGB" in p.message


@pytest.mark.parametrize("fill", [0, 255])
def test_empty_first_mask(root, fill):
    write_mask(png(root, "alpha", 0), np.full((24, 32), fill, np.uint8))  # background only / void only
    p = only(validate(root))
    assert p.kind == "empty-first-mask" and p.path == png(root, "alpha", 0)


def test_many_problems_reported_together(root):
    png(root, "beta", 0).unlink()
    jpg(root, "alpha", 1).write_bytes(b"not a jpeg")
    assert {p.kind for p in validate(root)} == {"missing-first-annotation", "unreadable-image"}


def test_validate_or_raise_names_first_problem_and_count(root):
    png(root, "beta", 0).unlink()
    jpg(root, "alpha", 1).write_bytes(b"")
    with pytest.raises(UserError) as exc:
        validate_or_raise(root, ("val",))
    msg = str(exc.value)
    assert "\n" not in msg and "and 1 more" in msg and "00001.jpg" in msg


def test_cli_ok_and_problem_exit_codes(root, capsys):
    assert main(["validate", str(root)]) == 0
    assert capsys.readouterr().out.startswith("ok: ")
    Image.fromarray(np.zeros((24, 32, 3), np.uint8)).save(png(root, "alpha", 2))
    assert main(["validate", str(root)]) == 1
    err = capsys.readouterr().err.splitlines()
    assert err[0].startswith(str(png(root, "alpha", 2))) and "[rgb-mask]" in err[0]
    assert err[-1] == f"error: 1 problem(s) in {root}"


def test_cli_subprocess_missing_root(tmp_path):
    r = subprocess.run([sys.executable, "-m", "davis_c", "validate", str(tmp_path / "x")], capture_output=True,
                       text=True, cwd=REPO, timeout=120)
    assert r.returncode == 1 and "Traceback" not in r.stderr
    assert r.stderr.splitlines()[0] == f"{tmp_path / 'x'}: dataset root does not exist [missing-root]"
