"""The per-video TTT loop: learning, reproducibility, reset, pseudo-label fast path, NaN handling."""

from __future__ import annotations

import contextlib
import json
from dataclasses import replace

import numpy as np
import pytest
import torch
from conftest import make_tiny_davis

import ttt.pseudo
import ttt.tta
from davis_c.dataset import DavisDataset
from ttt.device import needs_grad_scaling
from ttt.methods.unroll_stcn import unroll as unroll_stcn
from ttt.methods.unroll_xmem import unroll as unroll_xmem
from ttt.pseudo import prepare_video, pseudo_labels
from ttt.tta import NonFiniteLoss, TTTConfig, adapt, schedule
from ttt.zoo import build_network, get_spec

torch.set_num_threads(1)
UNROLL = {"stcn": unroll_stcn, "xmem": unroll_xmem}


@pytest.fixture(scope="module")
def davis(tmp_path_factory):
    root = tmp_path_factory.mktemp("tta") / "DAVIS"
    return make_tiny_davis(root, {"alpha": (12, 48, 64), "beta": (10, 40, 56)})


def _net(arch: str, seed: int = 0):
    torch.manual_seed(seed)
    return build_network(f"{arch}-tiny-synth").eval()


def _run(arch, davis, cfg, seed=1, video="alpha", net=None):
    spec = get_spec(f"{arch}-tiny-synth")
    net = net if net is not None else _net(arch)
    v = DavisDataset.from_root(davis).video(video)
    prepared = prepare_video(v, spec, torch.device("cpu"))

    def infer(model, vi, n):
        return pseudo_labels(model, spec, prepared, n)

    log = adapt(net, prepared.input, cfg, arch, infer, UNROLL[arch], seed)
    return net, log


def test_schedule_official_and_overridden():
    from ttt.methods import METHODS

    assert schedule(METHODS["mcc"], TTTConfig()) == [10] * 10
    assert schedule(METHODS["ae"], TTTConfig(method="ae")) == [20]
    assert schedule(METHODS["mcc"], TTTConfig(iterations=25)) == [10, 10, 5]
    assert schedule(METHODS["ae"], TTTConfig(method="ae", iterations=5)) == [5]
    assert schedule(METHODS["none"], TTTConfig(method="none")) == []


@pytest.mark.parametrize("method", ["mcc", "ae"])
def test_loss_decreases_on_a_synthetic_video(davis, method):
    cfg = TTTConfig(method=method, lr=1e-3, iterations=20, iters_per_step=10)
    _, log = _run("stcn", davis, cfg)
    assert len(log.losses) == 20
    first, last = np.mean(log.losses[:4]), np.mean(log.losses[-4:])
    assert last < 0.9 * first, log.losses


def test_mcc_refreshes_pseudo_labels_every_jump_step(davis):
    _, log = _run("stcn", davis, TTTConfig(method="mcc", lr=1e-4, iterations=6, iters_per_step=2))
    assert log.refreshes == 3  # initial labels + a refresh before jump steps 2 and 3
    _, log = _run("stcn", davis, TTTConfig(method="ent", lr=1e-4, iterations=6, iters_per_step=2))
    assert log.refreshes == 0  # tt-Ent reads only frame 0's labels (the ground truth): no inference


@pytest.mark.parametrize("arch", ["stcn", "xmem"])
def test_same_seed_is_bit_identical_other_seed_differs(davis, arch):
    cfg = TTTConfig(method="mcc", lr=1e-3, iterations=4, iters_per_step=2, max_jump=3)
    a, la = _run(arch, davis, cfg, seed=5)
    b, lb = _run(arch, davis, cfg, seed=5)
    assert la.losses == lb.losses
    sa, sb = a.state_dict(), b.state_dict()
    assert all(torch.equal(sa[k], sb[k]) for k in sa)
    _, lc = _run(arch, davis, cfg, seed=10)
    assert lc.losses != la.losses


@pytest.mark.parametrize("arch", ["stcn", "xmem"])
def test_pseudo_label_fast_path_equals_full_video_inference(davis, arch):
    spec = get_spec(f"{arch}-tiny-synth")
    net = _net(arch)
    v = DavisDataset.from_root(davis).video("alpha")
    prepared = prepare_video(v, spec, torch.device("cpu"))
    full = pseudo_labels(net, spec, prepared, len(v))
    for n in (1, 5, 11):
        assert torch.equal(pseudo_labels(net, spec, prepared, n), full[:n])
    # a video prepared only up to the reachable frames gives the same labels too
    short = prepare_video(v, spec, torch.device("cpu"), 7)
    assert torch.equal(pseudo_labels(net, spec, short, 7), full[:7])


def test_refresh_full_and_reachable_train_identically(davis):
    cfg = TTTConfig(method="mcc", lr=1e-3, iterations=4, iters_per_step=2, max_jump=2)
    a, la = _run("stcn", davis, cfg)
    b, lb = _run("stcn", davis, replace(cfg, refresh="full"))
    assert la.losses == lb.losses
    assert all(torch.equal(x, y) for x, y in zip(a.state_dict().values(), b.state_dict().values()))


@pytest.mark.parametrize("arch", ["stcn", "xmem"])
def test_checkpointed_ttt_trains_like_the_plain_one(davis, arch):
    cfg = TTTConfig(method="mcc", lr=1e-3, iterations=4, iters_per_step=2, max_jump=2)
    start = {k: v.clone() for k, v in _net(arch).state_dict().items()}
    a, la = _run(arch, davis, cfg)
    b, lb = _run(arch, davis, replace(cfg, checkpoint=True))
    assert np.allclose(la.losses, lb.losses, rtol=1e-5, atol=1e-7), (la.losses, lb.losses)
    sa, sb = a.state_dict(), b.state_dict()
    names = [n for n in sa if sa[n].is_floating_point() and not torch.equal(sa[n], start[n])]
    assert len(names) > 20
    for n in names:  # the weight updates agree to float rounding; not the key projection's bias, whose exact
        # gradient is zero (shift-invariant L2 affinity): Adam normalises its ~1e-11 of rounding noise into steps
        rel = float((sb[n] - sa[n]).norm() / (sa[n] - start[n]).norm())
        assert rel < 1e-4 or n == "key_proj.key_proj.bias", (n, rel)


def test_amp_scales_the_loss_only_for_fp16_and_is_fp32_on_cpu(davis, monkeypatch):
    cpu, gpu = torch.device("cpu"), torch.device("cuda")
    assert not needs_grad_scaling(cpu, True)
    monkeypatch.setattr(torch.cuda, "is_bf16_supported", lambda *a, **k: True)
    assert not needs_grad_scaling(gpu, True) and not needs_grad_scaling(gpu, False)
    monkeypatch.setattr(torch.cuda, "is_bf16_supported", lambda *a, **k: False)
    assert needs_grad_scaling(gpu, True)
    # on CPU --amp is fp32: the same losses as without it
    cfg = TTTConfig(method="mcc", lr=1e-3, iterations=2, iters_per_step=1, max_jump=2)
    with pytest.warns(UserWarning, match="no effect on CPU"):
        _, la = _run("stcn", davis, replace(cfg, amp=True))
    _, lb = _run("stcn", davis, cfg)
    assert la.losses == lb.losses


@pytest.mark.parametrize("arch", ["stcn", "xmem"])
def test_amp_path_runs_under_bf16_autocast(davis, arch, monkeypatch):
    """The --amp code path (CUDA autocast in CI's absence of a GPU) emulated with CPU bf16 autocast: every
    method's pseudo-labels, unroll and backward run with mixed dtypes and give finite, learning losses."""
    def cpu_bf16(device, enabled, dtype=None):
        return torch.autocast("cpu", dtype=torch.bfloat16) if enabled else contextlib.nullcontext()

    for mod in (ttt.pseudo, ttt.tta):
        monkeypatch.setattr(mod, "autocast", cpu_bf16)
    for method in ("mcc", "ent", "ae"):
        cfg = TTTConfig(method=method, lr=1e-3, iterations=2, iters_per_step=1, max_jump=2, amp=True)
        _, log = _run(arch, davis, cfg)
        assert len(log.losses) == 2 and all(np.isfinite(log.losses)), (method, log.losses)
        assert log.losses[1] < log.losses[0], (method, log.losses)


def test_nan_loss_stops_the_video_with_a_clear_error(davis, monkeypatch):
    import ttt.methods as methods

    m = methods.METHODS["mcc"]
    monkeypatch.setitem(methods.METHODS, "mcc", replace(m, loss=lambda logits, labels: logits.sum() * float("nan")))
    with pytest.raises(NonFiniteLoss, match=r"loss is nan at iteration 1 \(jump step 1\)"):
        _run("stcn", davis, TTTConfig(method="mcc", iterations=3))


def test_every_video_starts_from_the_pretrained_weights(tmp_path, davis, monkeypatch):
    import ttt.runner as runner
    from ttt.sweep import RunPaths, Unit

    weights = tmp_path / "w.pth"
    torch.save(_net("stcn").state_dict(), weights)
    pretrained = torch.load(weights, weights_only=True)
    seen = []
    real_adapt = runner.adapt

    def spy(net, *a, **k):
        seen.append(all(torch.equal(v, pretrained[n]) for n, v in net.state_dict().items()))
        return real_adapt(net, *a, **k)

    monkeypatch.setattr(runner, "adapt", spy)
    runner._CACHE.clear()
    ctx = runner.RunContext(out=tmp_path / "run", data=davis, davis_c=None, model="stcn-tiny-synth",
                            weights=str(weights), device="cpu", threads=1,
                            ttt=TTTConfig(method="mcc", lr=1e-2, iterations=2))
    for video in ("alpha", "beta", "alpha"):
        res = runner.run_unit(Unit("stcn-tiny-synth", "mcc", "clean", 1, video), ctx)
        assert res["status"] == "done", res
    assert seen == [True, True, True]
    log = json.loads(RunPaths(ctx.out).log_path(Unit("stcn-tiny-synth", "mcc", "clean", 1, "beta")).read_text())
    assert len(log["losses"]) == 2 and log["ttt_seconds"] > 0 and log["peak_rss_mb"] > 0


def test_eval_every_scores_intermediate_iterations(tmp_path, davis):
    import pandas as pd

    import ttt.runner as runner
    from ttt.sweep import RunPaths, Unit, rebuild_results

    weights = tmp_path / "w.pth"
    torch.save(_net("xmem").state_dict(), weights)
    runner._CACHE.clear()
    ctx = runner.RunContext(out=tmp_path / "run", data=davis, davis_c=None, model="xmem-tiny-synth",
                            weights=str(weights), device="cpu", threads=1,
                            ttt=TTTConfig(method="ent", lr=1e-3, iterations=4, eval_every=2))
    assert runner.run_unit(Unit("xmem-tiny-synth", "ent", "clean", 1, "beta"), ctx)["status"] == "done"
    rebuild_results(RunPaths(ctx.out))
    it = pd.read_csv(ctx.out / "iterations.csv")
    assert sorted(set(it.iteration)) == [2, 4] and set(it.object) == {1, 2} and it.JF.between(0, 1).all()
    final = pd.read_csv(ctx.out / "results.csv")
    # the last intermediate evaluation used the final weights: same scores as the final prediction
    last = it[it.iteration == 4].sort_values("object").JF.to_numpy()
    assert np.allclose(last, final.sort_values("object").JF.to_numpy())
