"""Activation checkpointing (`--checkpoint`): same loss and gradients, far less kept for the backward pass."""

from __future__ import annotations

import argparse

import pytest
import torch
from conftest import tensor_video

from ttt import cli_run
from ttt.methods import METHODS, unroll_stcn, unroll_xmem
from ttt.sampling import Sample
from ttt.tta import TTTConfig, make_batch
from ttt.zoo import build_network

torch.set_num_threads(1)
UNROLL = {"stcn": unroll_stcn.unroll, "xmem": unroll_xmem.unroll}
SEQ = {"stcn": (0, 2, 4), "xmem": (0, 1, 2, 3, 4, 5, 6, 8)}


def _batch(arch: str, method: str):
    video, lab = tensor_video(k=2)
    seq = SEQ[arch][: METHODS[method].seq_len[arch]]
    return make_batch(video, lab, [Sample(seq, (1, 2))])


def _loss_and_grads(arch: str, method: str, checkpoint: bool) -> tuple[float, dict, int]:
    """Loss, gradients and the bytes autograd keeps outside checkpointed calls, for one training batch."""
    torch.manual_seed(0)
    net = build_network(f"{arch}-tiny-synth").eval()
    m = METHODS[method]
    params = m.trainable(net)
    kept: dict[int, int] = {}

    def pack(t):
        kept[t.untyped_storage().data_ptr()] = t.untyped_storage().nbytes()
        return t

    cfg = TTTConfig(method=method, checkpoint=checkpoint)
    with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
        loss = UNROLL[arch](net, _batch(arch, method), m, cfg, torch.Generator().manual_seed(3))
    loss.backward()
    grads = {n: p.grad.clone() for n, p in net.named_parameters() if p.grad is not None}
    assert grads and len(grads) >= len([p for p in params if p.requires_grad]) // 2
    return float(loss.detach()), grads, sum(kept.values())


@pytest.mark.parametrize("arch", ["stcn", "xmem"])
@pytest.mark.parametrize("method", ["mcc", "ent", "ae"])
def test_checkpointing_gives_the_same_loss_and_gradients(arch, method):
    loss0, grads0, kept0 = _loss_and_grads(arch, method, False)
    loss1, grads1, kept1 = _loss_and_grads(arch, method, True)
    assert loss1 == pytest.approx(loss0, rel=1e-6, abs=1e-7)
    assert grads1.keys() == grads0.keys()
    # relative per tensor, with a floor at 1e-7 of the whole gradient: the key projection's bias has a zero
    # gradient in exact arithmetic (the L2 affinity is invariant to a shift of all keys), ~1e-11 of noise here
    total = torch.cat([g.flatten() for g in grads0.values()]).norm()
    for name, g0 in grads0.items():
        diff = (grads1[name] - g0).norm()
        assert diff <= 1e-4 * g0.norm() + 1e-7 * total, (name, float(diff), float(g0.norm()))
    # what autograd keeps for backward outside the recomputed calls: a small fraction of the plain unroll's
    assert kept1 < kept0 / 4, (kept0, kept1)


def test_checkpoint_option_reaches_the_config():
    parser = argparse.ArgumentParser()
    cli_run.register(parser.add_subparsers())
    base = ["run", "--model", "stcn-tiny-synth", "--ttt", "mcc", "--data", "d"]
    assert cli_run.ttt_config(parser.parse_args(base + ["--checkpoint"]), 1e-5).checkpoint is True
    assert cli_run.ttt_config(parser.parse_args(base), 1e-5).checkpoint is False
