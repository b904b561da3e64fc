"""`python -m ttt infer` and `infer_video` on small synthetic DAVIS roots (tiny random-weight models)."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest
import torch
from conftest import make_tiny_davis

from davis_c.dataset import DavisDataset, read_mask, read_palette, write_mask
from davis_c.errors import UserError
from ttt import zoo
from ttt.__main__ import main
from ttt.infer import infer_video


@pytest.fixture(scope="module")
def weights(tmp_path_factory):
    d = tmp_path_factory.mktemp("w")
    out = {}
    for arch in ("stcn", "xmem"):
        torch.manual_seed(1)
        net = zoo.build_network(f"{arch}-tiny-synth")
        out[arch] = d / f"{arch}.pth"
        torch.save(net.state_dict(), out[arch])
    return out


def relabel(root, video, mapping):
    """Rewrite a video's annotations with other label values (e.g. 1->3, 2->7)."""
    for p in sorted((root / "Annotations" / "480p" / video).glob("*.png")):
        m = read_mask(p)
        out = np.zeros_like(m)
        for a, b in mapping.items():
            out[m == a] = b
        write_mask(p, out)


@pytest.mark.parametrize("arch", ["stcn", "xmem"])
def test_infer_cli_writes_palette_pngs(tmp_path, tiny_davis, weights, arch, capsys):
    relabel(tiny_davis, "beta", {1: 3, 2: 7})
    out = tmp_path / "pred"
    rc = main(["infer", "--model", f"{arch}-tiny-synth", "--weights", str(weights[arch]), "--data", str(tiny_davis),
               "--out", str(out), "--device", "cpu"])
    assert rc == 0, capsys.readouterr().err
    ds = DavisDataset.from_root(tiny_davis)
    for name, labels in (("alpha", {0, 1, 2}), ("beta", {0, 3, 7})):
        video = ds.video(name)
        files = sorted(p.name for p in (out / name).iterdir())
        assert files == [f"{n}.png" for n in video.frame_names]
        gt0 = video.first_mask()
        for f in files:
            m = read_mask(out / name / f)
            assert m.shape == video.size and set(np.unique(m)) <= labels
            assert read_palette(out / name / f) == video.palette
        assert np.array_equal(read_mask(out / name / files[0]), gt0)  # frame 0 reproduces the GT
    run = json.loads((out / "run.json").read_text())
    assert run["config"]["model"] == f"{arch}-tiny-synth" and len(run["checkpoint"]["sha256"]) == 64
    # resume: complete videos are skipped
    assert main(["infer", "--model", f"{arch}-tiny-synth", "--weights", str(weights[arch]), "--data",
                 str(tiny_davis), "--out", str(out), "--device", "cpu"]) == 0
    assert "0 videos" in capsys.readouterr().out


def test_images_variant_replaces_frames(tmp_path, tiny_davis, weights):
    variant = tmp_path / "variant"
    shutil.copytree(tiny_davis / "JPEGImages" / "480p", variant)
    for p in (variant / "alpha").glob("*.jpg"):  # a "corruption": black frames after the first
        if p.stem != "00000":
            from PIL import Image
            Image.new("RGB", Image.open(p).size).save(p)
    ds = DavisDataset.from_root(tiny_davis)
    spec = zoo.get_spec("stcn-tiny-synth")
    net = zoo.load_model(spec, weights["stcn"]).net
    clean = infer_video(net, spec, ds.video("alpha"), tmp_path / "a", device=torch.device("cpu"),
                        return_probs=True)
    dark = infer_video(net, spec, ds.with_images(variant).video("alpha"), tmp_path / "b",
                       device=torch.device("cpu"), return_probs=True)
    assert torch.equal(clean.probs[0], dark.probs[0])
    assert not torch.allclose(clean.probs[3], dark.probs[3])
    assert clean.probs[2].shape == (3, 48, 64) and torch.allclose(clean.probs[2].sum(0), torch.ones(48, 64))


def test_resized_model_output_at_native_size(tmp_path, weights):
    root = make_tiny_davis(tmp_path / "D", {"wide": (3, 40, 72)})
    spec = zoo.get_spec("xmem-tiny-synth")
    spec = zoo.ModelSpec(**{**spec.__dict__, "resize": 64})  # shorter side 40 -> 64
    net = zoo.load_model(spec, weights["xmem"]).net
    res = infer_video(net, spec, DavisDataset.from_root(root).video("wide"), tmp_path / "o",
                      device=torch.device("cpu"))
    assert res.n_frames == 3
    assert all(read_mask(p).shape == (40, 72) for p in (tmp_path / "o").iterdir())


def test_infer_errors(tmp_path, tiny_davis, weights, capsys):
    assert main(["infer", "--model", "nope", "--data", str(tiny_davis), "--out", str(tmp_path / "o")]) == 2
    assert "unknown model" in capsys.readouterr().err
    assert main(["infer", "--model", "stcn-tiny-synth", "--weights", str(tmp_path / "x.pth"), "--data",
                 str(tiny_davis), "--out", str(tmp_path / "o")]) == 2
    assert "x.pth" in capsys.readouterr().err
    # YouTube-style sparse annotation introducing a new object later: clear error, nothing written
    adir = tiny_davis / "Annotations" / "480p" / "alpha"
    for p in sorted(adir.glob("*.png"))[1:]:
        p.unlink()
    m = read_mask(sorted(adir.glob("*.png"))[0])
    m[:4, :4] = 5
    write_mask(adir / "00003.png", m)
    assert main(["infer", "--model", "stcn-tiny-synth", "--weights", str(weights["stcn"]), "--data",
                 str(tiny_davis), "--videos", "alpha", "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err
    assert "objects [5] first appear in frame 00003" in err and "Traceback" not in err
    assert not (tmp_path / "o" / "alpha").exists()


def test_frame_of_another_size_is_a_clear_error(tmp_path, weights):
    from PIL import Image
    root = make_tiny_davis(tmp_path / "D", {"v": (4, 40, 56)})
    Image.new("RGB", (64, 40)).save(root / "JPEGImages" / "480p" / "v" / "00002.jpg")
    spec = zoo.get_spec("stcn-tiny-synth")
    net = zoo.load_model(spec, weights["stcn"]).net
    with pytest.raises(UserError, match="00002.jpg: frame is 64x40, the first frame is 56x40"):
        infer_video(net, spec, DavisDataset.from_root(root).video("v"), tmp_path / "o", device=torch.device("cpu"))
    assert not (tmp_path / "o").exists()
