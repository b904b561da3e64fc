"""TTT methods: losses on plain tensors, which parameters each method trains, unroll shapes."""

from __future__ import annotations

import math

import pytest
import torch
from conftest import tensor_video

from ttt.methods import METHODS, get_method
from ttt.methods.losses import autoencoder_loss, cycle_ce_loss, entropy_loss
from ttt.methods.params import bn_affine_parameters
from ttt.sampling import Sample
from ttt.tta import TTTConfig, make_batch
from ttt.zoo import build_network

torch.set_num_threads(1)


def test_registry_defaults_follow_the_official_configs():
    assert list(METHODS) == ["none", "mcc", "ent", "ae"]
    assert METHODS["mcc"].iterations == 100 and METHODS["mcc"].jump_steps == 10
    assert METHODS["ent"].iterations == 100 and METHODS["ae"].iterations == 20 and METHODS["ae"].jump_steps == 1
    assert METHODS["mcc"].seq_len == {"stcn": 3, "xmem": 8} and METHODS["ae"].seq_len["stcn"] == 1
    assert METHODS["mcc"].check_last and METHODS["mcc"].refresh
    assert not METHODS["ent"].check_last and not METHODS["ent"].refresh
    with pytest.raises(ValueError, match="unknown TTT method"):
        get_method("tent")


def test_cross_entropy_losses_match_a_manual_computation():
    g = torch.Generator().manual_seed(1)
    logits = torch.randn(2, 3, 5, 7, generator=g)
    labels = torch.randint(0, 3, (2, 5, 7), generator=g)
    logp = torch.log_softmax(logits, 1)
    manual = -logp.gather(1, labels[:, None]).mean()
    assert torch.allclose(cycle_ce_loss(logits, labels), manual, atol=1e-6)
    assert torch.allclose(autoencoder_loss(logits, labels), manual, atol=1e-6)


def test_entropy_loss_values():
    assert math.isclose(float(entropy_loss(torch.zeros(1, 4, 3, 3))), math.log(4), rel_tol=1e-6)
    confident = torch.full((1, 3, 2, 2), -30.0)
    confident[:, 1] = 30.0
    assert float(entropy_loss(confident)) < 1e-6
    # mean over the concatenated frames = 0.5 (H(m_i) + H(m_j)), as the official EntropyLoss on cat([l_i, l_j])
    a, b = torch.randn(1, 3, 4, 4), torch.randn(1, 3, 4, 4)
    both = entropy_loss(torch.cat([a, b], 0))
    assert torch.allclose(both, 0.5 * (entropy_loss(a) + entropy_loss(b)), atol=1e-6)


def _changed_after_one_step(arch: str, method: str, k: int = 2) -> tuple[set[str], set[str], dict]:
    from ttt.methods import unroll_stcn, unroll_xmem

    torch.manual_seed(0)
    net = build_network(f"{arch}-tiny-synth").eval()
    before = {n: p.detach().clone() for n, p in net.state_dict().items()}
    m = METHODS[method]
    params = m.trainable(net)
    video, lab = tensor_video(k=k)
    seq = (0, 2, 4) if arch == "stcn" else (0, 1, 2, 3, 4, 5, 6, 8)
    seq = seq[: m.seq_len[arch]]
    batch = make_batch(video, lab, [Sample(seq, tuple(range(1, k + 1)))])
    unroll = (unroll_stcn if arch == "stcn" else unroll_xmem).unroll
    opt = torch.optim.Adam(params, lr=1e-3, weight_decay=1e-7)
    loss = unroll(net, batch, m, TTTConfig(method=method), torch.Generator().manual_seed(0))
    loss.backward()
    opt.step()
    after = net.state_dict()
    changed = {n for n in before if not torch.equal(before[n], after[n])}
    trainable = {n for n, p in net.named_parameters() if p.requires_grad}
    return changed, trainable, dict(net.named_parameters())


@pytest.mark.parametrize("arch", ["stcn", "xmem"])
def test_ent_changes_only_batchnorm_affine_parameters(arch):
    changed, trainable, params = _changed_after_one_step(arch, "ent")
    net = build_network(f"{arch}-tiny-synth")
    bn = {n for n, _ in net.named_parameters() if n.rsplit(".", 1)[0] in
          {mn for mn, mod in net.named_modules() if isinstance(mod, torch.nn.BatchNorm2d)}}
    assert trainable == bn and len(bn) > 10
    assert changed and changed <= bn  # running statistics (buffers) never change: eval mode
    assert len(changed) >= 0.9 * len(bn)


@pytest.mark.parametrize("arch", ["stcn", "xmem"])
def test_mcc_changes_every_parameter(arch):
    changed, trainable, params = _changed_after_one_step(arch, "mcc")
    assert trainable == set(params)
    assert changed == set(params), sorted(set(params) - changed)


@pytest.mark.parametrize("arch", ["stcn", "xmem"])
def test_ae_changes_every_parameter_it_reaches(arch):
    changed, trainable, params = _changed_after_one_step(arch, "ae")
    assert trainable == set(params)
    untouched = set(params) - changed
    # the single-pass auto-encoder never reads memory, so the key projection gets no gradient (spec 3.6);
    # XMem's decoder does not update the hidden state on that single frame (h_out=False)
    allowed = ("key_proj.",) if arch == "stcn" else ("key_proj.", "decoder.hidden_update.")
    assert untouched and all(n.startswith(allowed) for n in untouched)
    assert any(n.startswith("key_proj.") for n in untouched)


def test_bn_affine_selection_counts_the_official_network():
    net = build_network("stcn-dy")
    n = sum(p.numel() for p in bn_affine_parameters(net))
    assert n == 35_072  # TTT-SPEC 3.6: 58 BN layers, 116 tensors, 35,072 parameters


@pytest.mark.parametrize("arch", ["stcn", "xmem"])
def test_single_object_and_batch_of_two(arch):
    from ttt.methods import unroll_stcn, unroll_xmem

    net = build_network(f"{arch}-tiny-synth").eval()
    unroll = (unroll_stcn if arch == "stcn" else unroll_xmem).unroll
    video, lab = tensor_video(k=1)
    seq = (0, 2, 4) if arch == "stcn" else (0, 1, 2, 3, 4, 5, 6, 8)
    batch = make_batch(video, lab, [Sample(seq, (1,)), Sample(seq, (1,))])
    for name in ("mcc", "ent", "ae"):
        loss = unroll(net, batch, METHODS[name], TTTConfig(method=name), torch.Generator().manual_seed(0))
        assert loss.ndim == 0 and torch.isfinite(loss)
