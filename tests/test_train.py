"""`ttt train`: sampler curriculum, seeded augmentation, losses, and a few real training steps per arch."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from davis_c.dataset import DavisDataset
from davis_c.synth import generate
from ttt.__main__ import main as ttt_main
from ttt.train import data as tdata
from ttt.train.data import (
    AugmentConfig,
    ClipSampler,
    augment_clip,
    clip_rng,
    max_jump_at,
    sample_frames,
    sample_triplet,
)
from ttt.train.loop import make_optimizer, train_step
from ttt.train.losses import bootstrap_fraction, bootstrapped_ce, dice_loss
from ttt.train.recipes import make_config
from ttt.zoo import build_network, get_spec, load_model


@pytest.fixture(scope="module")
def synth_root(tmp_path_factory):
    root = tmp_path_factory.mktemp("train") / "synth"
    return generate(root, n_train=2, n_val=1, n_frames=10, size=(96, 64), seed=3, max_objects=2, progress=False)


def test_max_jump_curriculum_follows_stcn_schedule():
    total = 1000
    assert [max_jump_at(i, total) for i in (0, 99, 100, 200, 300, 400, 899, 900, 999)] == \
        [5, 5, 10, 15, 20, 25, 25, 5, 5]


def test_recipes_keep_the_official_settings_and_their_learning_rates():
    stcn, xmem = make_config("stcn"), make_config("xmem")
    assert (stcn.num_frames, stcn.max_objects, stcn.optimizer, stcn.weight_decay, stcn.dice) == (3, 2, "adam", 1e-7, False)
    assert (xmem.num_frames, xmem.max_objects, xmem.optimizer, xmem.weight_decay, xmem.dice) == (8, 3, "adamw", 0.05, True)
    assert (xmem.num_ref_frames, xmem.deep_update_prob) == (3, 0.2)
    assert (stcn.lr, xmem.lr) == (1e-3, 3e-4)  # tiny from-scratch rates; XMem's unroll is unstable at 1e-3
    assert make_config("xmem", lr=1e-4).lr == 1e-4


@pytest.mark.parametrize("jump", [1, 3, 7])
def test_xmem_frames_respect_max_jump(jump):
    rng = np.random.default_rng(0)
    orders = set()
    for _ in range(300):
        idx = sample_frames(rng, 40, 8, jump)
        assert len(set(idx)) == 8 and all(0 <= i < 40 for i in idx)
        s = sorted(idx)
        assert max(b - a for a, b in zip(s, s[1:])) <= jump  # each draw is within `jump` of an earlier one
        assert idx in (s, s[::-1])
        orders.add(idx == s)
    assert orders == {True, False}  # sorted, and reversed about half of the time


@pytest.mark.parametrize("jump", [1, 5, 25])
def test_stcn_triplets_respect_max_jump(jump):
    rng = np.random.default_rng(1)
    spans = []
    for _ in range(500):
        idx = sample_triplet(rng, 40, 3, jump)
        s = idx if idx[0] <= idx[-1] else idx[::-1]
        assert s == sorted(s) and 0 <= s[0] and s[-1] < 40
        assert s[1] - s[0] <= jump + 1 and s[2] - s[1] <= jump + 1
        spans.append(s[2] - s[0])
    assert max(spans) > jump  # the curriculum value really widens the triplets


def test_bootstrap_schedule_and_hardest_pixels():
    assert bootstrap_fraction(5, 10, 20) == 1.0
    assert bootstrap_fraction(15, 10, 20) == pytest.approx(0.15 + 0.85 * 0.5)
    assert bootstrap_fraction(30, 10, 20) == 0.15
    logits = torch.zeros(1, 2, 10, 10)
    target = torch.zeros(1, 10, 10, dtype=torch.long)
    target[0, :2] = 1  # 20 "wrong" pixels; the rest are as wrong (equal logits) -> all CE = ln 2
    logits[0, 0, 2:] = 5.0  # now 80 pixels are easy
    full, p_full = bootstrapped_ce(logits, target, 0, 10, 20)
    hard, p = bootstrapped_ce(logits, target, 100, 10, 20)
    assert p_full == 1.0 and p == 0.15
    assert hard.item() == pytest.approx(np.log(2), rel=1e-5)  # the 15 kept pixels are the hard ones
    assert full.item() < hard.item()


def test_dice_loss_perfect_and_empty():
    gt = torch.zeros(1, 4, 4, dtype=torch.long)
    gt[0, :2] = 1
    perfect = (gt == 1).float()[:, None]
    assert dice_loss(perfect, gt).item() == pytest.approx(0.0)
    assert dice_loss(1 - perfect, gt).item() == pytest.approx(1 - 1 / 17)


def test_augmentation_is_seeded_and_keeps_labels():
    rng = np.random.default_rng(1)
    frames = [rng.integers(0, 256, (48, 80, 3), dtype=np.uint8) for _ in range(3)]
    masks = [np.zeros((48, 80), np.uint8) for _ in range(3)]
    for m in masks:
        m[10:30, 20:50] = 1
        m[5:15, 60:75] = 3
    cfg = AugmentConfig(crop=32)
    a = augment_clip(clip_rng(7, 2), frames, masks, cfg)
    b = augment_clip(clip_rng(7, 2), frames, masks, cfg)
    c = augment_clip(clip_rng(7, 3), frames, masks, cfg)
    assert all(np.array_equal(x, y) for x, y in zip(a[0] + a[1], b[0] + b[1]))
    assert not all(np.array_equal(x, y) for x, y in zip(a[0], c[0]))
    assert a[0][0].shape == (32, 32, 3) and a[1][0].shape == (32, 32)
    assert set(np.unique(np.concatenate(a[1]))) <= {0, 1, 3}


def test_batch_shapes_and_selector(synth_root):
    ds = DavisDataset.from_root(synth_root)
    sampler = ClipSampler(ds, "train", 3, 2, AugmentConfig(crop=32))
    batch = sampler.batch(clip_rng(0, 0), 3, 5)
    assert batch.rgb.shape == (3, 3, 3, 32, 32)
    assert batch.first_onehot.shape == (3, 2, 32, 32) and batch.cls_gt.shape == (3, 3, 32, 32)
    for j, k in enumerate(batch.num_objects):
        assert 1 <= k <= 2
        assert batch.first_onehot[j, :k].flatten(1).sum(1).min() > 0  # every used slot is visible
        assert batch.first_onehot[j, k:].sum() == 0
        assert int(batch.cls_gt[j].max()) <= k


@pytest.mark.parametrize("arch", ["stcn", "xmem"])
def test_training_steps_reduce_loss_on_a_fixed_batch(arch, synth_root, monkeypatch):
    torch.manual_seed(0)
    cfg = make_config(arch, crop=32, iterations=10_000, batch_size=2, lr=3e-3)
    ds = DavisDataset.from_root(synth_root)
    sampler = ClipSampler(ds, "train", cfg.num_frames, cfg.max_objects, cfg.augment, arch)
    net = build_network(get_spec(f"{arch}-tiny-synth")).eval()
    opt, sched = make_optimizer(net, cfg)
    losses = [train_step(net, opt, sched, sampler, cfg, 0)[0] for _ in range(12)]  # same batch each time
    assert all(np.isfinite(losses))
    assert min(losses[-3:]) < 0.8 * losses[0]


@pytest.mark.parametrize("arch", ["stcn", "xmem"])
def test_cli_trains_writes_loadable_checkpoint_and_resumes(arch, synth_root, tmp_path, capsys):
    out = tmp_path / f"{arch}.pth"
    args = ["train", "--arch", arch, "--data", str(synth_root), "--out", str(out), "--iterations", "2",
            "--batch-size", "1", "--crop", "32", "--val-every", "2", "--save-every", "1", "--threads", "1",
            "--quiet"]
    assert ttt_main(args) == 0
    loaded = load_model(f"{arch}-tiny-synth", weights=out)
    assert loaded.sha256 and loaded.net.cfg == get_spec(f"{arch}-tiny-synth").config
    sd = torch.load(out, weights_only=True)
    assert all(isinstance(v, torch.Tensor) for v in sd.values())
    work = tmp_path / f"{arch}.pth.work"
    rows = [json.loads(line) for line in (work / "history.jsonl").read_text().splitlines()]
    val = [r["val"] for r in rows if "val" in r]
    assert len(val) == 1 and 0 <= val[0]["JF"] <= 100
    assert json.loads((work / "run.json").read_text())["config"]["train_config"]["arch"] == arch
    before = out.read_bytes()
    assert ttt_main(args) == 0  # resumes at the end: nothing to do, checkpoint unchanged
    assert out.read_bytes() == before
    assert ttt_main(args[:-4] + ["3", "--threads", "1", "--quiet"]) == 0  # other save cadence: still resumes
    assert out.read_bytes() == before
    assert ttt_main(args + ["--lr", "0.5"]) == 2  # another recipe is refused
    assert "2 iterations" in capsys.readouterr().out


def test_cli_errors(synth_root, tmp_path, capsys):
    base = ["train", "--data", str(synth_root), "--out", str(tmp_path / "x.pth"), "--quiet", "--no-val"]
    assert ttt_main(base + ["--arch", "stcn", "--size", "full"]) == 2
    assert ttt_main(base + ["--arch", "stcn", "--crop", "40"]) == 2
    assert ttt_main(["train", "--arch", "stcn", "--data", str(tmp_path / "none"), "--out", "x.pth"]) == 2
    err = capsys.readouterr().err
    assert "--size full" in err and "--crop 40" in err and "does not exist" in err
    assert tdata.FIRST_SKIP == 5


def test_init_copies_matching_tensors_and_is_part_of_the_recipe(synth_root, tmp_path, capsys):
    """--init: XMem starts from an STCN checkpoint's tensors of equal name and shape; a resume with another
    (or no) --init is refused, because the starting weights change the result."""
    torch.manual_seed(1)
    stcn = build_network(get_spec("stcn-tiny-synth"))
    src = tmp_path / "stcn.pth"
    torch.save(stcn.state_dict(), src)
    out = tmp_path / "xmem.pth"
    args = ["train", "--arch", "xmem", "--data", str(synth_root), "--out", str(out), "--iterations", "1",
            "--batch-size", "1", "--crop", "32", "--no-val", "--threads", "1", "--quiet", "--lr", "0"]
    assert ttt_main(args + ["--init", str(src)]) == 0
    assert "initialised 166 of 196 tensors" in capsys.readouterr().out
    sd = torch.load(out, weights_only=True)
    theirs = stcn.state_dict()
    assert torch.equal(sd["key_encoder.conv1.weight"], theirs["key_encoder.conv1.weight"])  # lr 0: unchanged
    assert torch.equal(sd["decoder.pred.weight"], theirs["decoder.pred.weight"])
    assert "key_proj.d_proj.weight" not in theirs and torch.isfinite(sd["key_proj.d_proj.weight"]).all()
    assert ttt_main(args) == 2  # resuming the same work dir without --init: another recipe
    assert "other settings" in capsys.readouterr().err
    assert ttt_main(args + ["--init", str(tmp_path / "missing.pth"), "--restart"]) == 2
    torch.save({"unrelated": torch.zeros(3)}, tmp_path / "other.pth")
    assert ttt_main(args + ["--init", str(tmp_path / "other.pth"), "--restart"]) == 2
    err = capsys.readouterr().err
    assert "no such checkpoint" in err and "no tensor of this checkpoint fits" in err


def test_topk_softmax_survives_large_similarities():
    """Tiny from-scratch keys give similarities beyond exp's range; inference must not turn them into NaN."""
    from ttt.models import memory

    sim = torch.tensor([[[400.0], [390.0], [-300.0]], [[-500.0], [-510.0], [-520.0]]])
    aff = memory.softmax_topk(sim, 2)
    assert torch.isfinite(aff).all()
    want = torch.softmax(sim[:, :2], 1)
    assert torch.allclose(aff[:, :2], want) and aff[:, 2].abs().max() == 0


@pytest.mark.parametrize("name", ["stcn-tiny-synth", "xmem-tiny-synth"])
def test_embedded_checkpoint_loads_with_its_zoo_hash(name):
    from ttt.zoo import default_path

    spec = get_spec(name)
    path = default_path(spec)
    if not path.is_file():
        pytest.skip("embedded checkpoint not present (make train-tiny)")
    assert path.stat().st_size < 10 * 2**20
    loaded = load_model(name)
    assert spec.sha256 and loaded.sha256 == spec.sha256
    x = torch.zeros(1, 3, 64, 64)
    assert torch.isfinite(loaded.net.encode_key(x)[0]).all()
