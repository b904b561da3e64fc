"""Engines and matching math: memory schedules, top-k, aggregation, padding, XMem memory consolidation."""

from __future__ import annotations

import pytest
import torch

from ttt import zoo
from ttt.engines.stcn import STCNEngine, is_memory_frame
from ttt.engines.xmem import XMemEngine, count_long_term_usage
from ttt.engines.xmem_memory import KVStore, XMemMemory
from ttt.models import memory
from ttt.preprocess import pad_divide_by, resized_hw, unpad

DEVICES = ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])


def tiny(arch: str, device="cpu", seed=0):
    torch.manual_seed(seed)
    return zoo.build_network(f"{arch}-tiny-synth").eval().to(device)


def test_stcn_memory_schedule_official():
    mem = [t for t in range(1, 23) if is_memory_frame(t, 5, n_frames=23)]
    assert mem == [5, 10, 15, 20]
    assert not is_memory_frame(20, 5, n_frames=21)  # never the last frame


@pytest.mark.parametrize("device", DEVICES)
def test_stcn_engine_memory_grows_on_schedule(device):
    net = tiny("stcn", device)
    eng = STCNEngine(net, top_k=20, mem_every=2)
    x = torch.randn(1, 3, 32, 48, device=device)
    masks = torch.zeros(2, 1, 32, 48, device=device)
    masks[0, :, :16], masks[1, :, 16:, :24] = 1, 1
    hw = (32 // 16) * (48 // 16)
    prob = eng.start(x, masks)
    assert prob.shape == (3, 32, 48) and eng.bank.size == hw
    sizes = []
    for t in range(1, 7):
        p = eng.step(torch.randn_like(x), is_last=t == 6)
        assert torch.allclose(p.sum(0), torch.ones_like(p[0]), atol=1e-5)
        sizes.append(eng.bank.size // hw)
    assert sizes == [1, 2, 2, 3, 3, 3]  # frames 2 and 4 memorised, frame 6 is last


def test_softmax_topk_keeps_k_and_normalises():
    sim = torch.randn(2, 50, 7)
    aff = memory.softmax_topk(sim, 5)
    assert ((aff > 0).sum(1) == 5).all()
    assert torch.allclose(aff.sum(1), torch.ones(2, 7))
    top = torch.topk(sim, 5, dim=1).indices
    assert torch.equal(aff > 0, torch.zeros_like(aff, dtype=torch.bool).scatter_(1, top, True))
    # k >= N is the plain softmax; top_k=None (training) is the full softmax
    assert torch.allclose(memory.softmax_topk(sim, 50), torch.softmax(sim, 1), atol=1e-6)
    assert torch.allclose(memory.softmax(sim, None), torch.softmax(sim, 1))


def test_top_k_changes_readout_only_beyond_k():
    net = tiny("stcn")
    mk, qk = torch.randn(1, 16, 3, 2, 2), torch.randn(1, 16, 2, 2)
    mv = torch.randn(2, 32, 3, 2, 2)
    full = net.read_memory(mk, mv, qk, top_k=None)
    assert torch.allclose(net.read_memory(mk, mv, qk, top_k=12), full, atol=1e-5)
    assert not torch.allclose(net.read_memory(mk, mv, qk, top_k=1), full, atol=1e-3)
    sim = memory.l2_similarity(mk.flatten(2), qk.flatten(2))
    best = sim.argmax(1)[0]  # top-1 readout copies the best memory value
    assert torch.allclose(net.read_memory(mk, mv, qk, top_k=1).flatten(2)[:, :, 0], mv.flatten(2)[:, :, best[0]])


def test_similarities_match_definitions():
    mk, qk = torch.randn(1, 4, 6), torch.randn(1, 4, 3)
    ref = -((mk[:, :, :, None] - qk[:, :, None, :]) ** 2).sum(1) + (qk ** 2).sum(1)[:, None]
    assert torch.allclose(memory.l2_similarity(mk, qk), ref / 2, atol=1e-5)
    ms, qe = torch.rand(1, 1, 6) + 1, torch.rand(1, 4, 3)
    ref = -(qe[:, :, None, :] * (mk[:, :, :, None] - qk[:, :, None, :]) ** 2).sum(1) * ms[0, 0][None, :, None]
    assert torch.allclose(memory.xmem_similarity(mk, ms, qk, qe), ref / 2, atol=1e-5)


def test_aggregate_matches_formula():
    p = torch.rand(3, 1, 4, 4)
    logits, prob = memory.aggregate(p, dim=0)
    bg = torch.prod(1 - p, 0, keepdim=True)
    q = torch.cat([bg, p]).clamp(1e-7, 1 - 1e-7)
    assert torch.allclose(logits, torch.log(q / (1 - q)))
    assert torch.allclose(prob, torch.softmax(logits, 0)) and torch.allclose(prob.sum(0), torch.ones(1, 4, 4))


def test_others_sum_batched():
    m = torch.rand(2, 4, 5, 5)
    o = memory.others_sum(m, 1)
    for i in range(4):
        assert torch.allclose(o[:, i], m.sum(1) - m[:, i], atol=1e-6)
    assert torch.count_nonzero(memory.others_sum(m[:, :1], 1)) == 0


def test_pad_unpad_and_resize():
    x = torch.randn(1, 3, 480, 854)
    y, pad = pad_divide_by(x, 16)
    assert y.shape[-2:] == (480, 864) and pad == (5, 5, 0, 0)
    assert torch.equal(unpad(y, pad), x)
    assert resized_hw(720, 1280, 480) == (480, 853) and resized_hw(480, 854, 480) == (480, 854)
    assert resized_hw(40, 72, None) == (40, 72)


def test_stcn_multi_object_batch_equals_per_object():
    net = tiny("stcn")
    x = torch.randn(1, 3, 32, 32)
    k16, thin, f16, f8, f4 = net.encode_key(x)
    masks = (torch.rand(3, 1, 32, 32) > 0.5).float()
    batched = net.encode_value_multi(x, f16, masks)
    for i in range(3):
        other = masks.sum(0, keepdim=True) - masks[i:i + 1]
        single = net.encode_value(x, f16, masks[i:i + 1], other)
        assert torch.allclose(batched[i:i + 1], single, atol=1e-5)
    logits = net.decode(batched, thin, f8, f4)
    assert logits.shape == (3, 1, 32, 32)
    assert torch.allclose(logits[1:2], net.decode(batched[1:2], thin, f8, f4), atol=1e-5)


def test_xmem_deep_update_on_memory_frames():
    eng = XMemEngine(tiny("xmem"), mem_every=3, n_frames=8)
    flags = []
    for t, last in zip(range(8), [False] * 7 + [True]):
        eng.t = t
        is_mem, deep, normal = eng._flags(t == 0, last)
        flags.append((is_mem, deep, normal))
        if is_mem:
            eng.last_mem_t = t
    assert [f[0] for f in flags] == [True, False, False, True, False, False, True, False]
    assert all(d == m for m, d, _ in flags)
    assert [f[2] for f in flags] == [False, True, True, False, True, True, False, False]


def test_xmem_consolidation_into_long_term():
    torch.manual_seed(0)
    mem = XMemMemory(top_k=4, max_mid_term_frames=4, min_mid_term_frames=2, num_prototypes=3,
                     count_long_term_usage=True)
    hw, k = 6, 2

    def frame():
        return (torch.randn(1, 8, 2, 3), torch.rand(1, 1, 2, 3) + 1, torch.randn(k, 5, 2, 3), torch.rand(1, 8, 2, 3))

    for _ in range(3):
        key, s, v, e = frame()
        mem.add(key, s, v, e)
        mem.match(torch.randn(1, 8, 2, 3), torch.rand(1, 8, 2, 3))
    assert mem.work.size == 3 * hw and not mem.long.engaged()
    first_key = mem.work.k[..., :hw].clone()
    key, s, v, e = frame()
    mem.add(key, s, v, e)  # 4 frames -> frames 1..2 consolidated into 3 prototypes
    assert mem.work.size == 2 * hw and mem.long.size == 3
    assert torch.equal(mem.work.k[..., :hw], first_key) and torch.equal(mem.work.k[..., hw:], key.flatten(2))
    assert mem.long.v.shape == (k, 5, 3) and mem.long.s.shape == (1, 1, 3)
    out = mem.match(torch.randn(1, 8, 2, 3), torch.rand(1, 8, 2, 3))
    assert out.shape == (k, 5, 2, 3)
    assert mem.long.life_count.min() > 1  # long-term usage counted


def test_kvstore_remove_obsolete_keeps_most_used():
    st = KVStore(count_usage=True)
    st.add(torch.randn(1, 2, 5), torch.randn(1, 3, 5), torch.ones(1, 1, 5), None)
    st.update_usage(torch.tensor([0.5, 0.1, 0.9, 0.2, 0.7]))
    st.remove_obsolete(3)
    assert st.size == 3 and torch.allclose(st.use_count.flatten(), torch.tensor([0.5, 0.9, 0.7]))


def test_long_term_usage_switch():
    assert not count_long_term_usage(80) and count_long_term_usage(400)


@pytest.mark.parametrize("device", DEVICES)
def test_xmem_engine_runs_and_keeps_hidden(device):
    net = tiny("xmem", device)
    eng = XMemEngine(net, mem_every=2, n_frames=5)
    x = torch.randn(1, 3, 32, 32, device=device)
    masks = torch.zeros(2, 1, 32, 32, device=device)
    masks[0, :, :10], masks[1, :, 20:] = 1, 1
    p0 = eng.start(x, masks)
    assert torch.equal(p0.argmax(0)[5], torch.ones(32, dtype=torch.long, device=device))
    h0 = eng.hidden.clone()
    assert h0.shape == (1, 2, net.hidden_dim, 2, 2) and torch.count_nonzero(h0) > 0  # deep update at frame 0
    for t in range(1, 5):
        p = eng.step(torch.randn_like(x), is_last=t == 4)
        assert p.shape == (3, 32, 32) and torch.allclose(p.sum(0), torch.ones(32, 32, device=device), atol=1e-5)
    assert eng.memory.work.size == 2 * 4  # frames 0 and 2; frame 4 is the last


def test_read_memory_batch_of_items_with_objects():
    """Keys per item [B, ...], values per (item, object) [B*K, ...]: each item reads its own memory."""
    mk, qk = torch.randn(2, 8, 2, 3, 3), torch.randn(2, 8, 3, 3)
    mv = torch.randn(4, 6, 2, 3, 3)
    out = zoo.ARCHS["stcn"].read_memory(mk, mv, qk, top_k=None)
    for b in range(2):
        ref = zoo.ARCHS["stcn"].read_memory(mk[b:b + 1], mv[2 * b:2 * b + 2], qk[b:b + 1], top_k=None)
        assert torch.allclose(out[2 * b:2 * b + 2], ref, atol=1e-6)


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
@pytest.mark.parametrize("arch", ["stcn", "xmem"])
def test_cpu_and_gpu_agree_in_fp32(arch):
    net = tiny(arch)
    eng_cls = STCNEngine if arch == "stcn" else XMemEngine
    torch.manual_seed(5)
    frames = [torch.randn(1, 3, 48, 64) for _ in range(6)]
    masks = torch.zeros(2, 1, 48, 64)
    masks[0, :, :16, :16], masks[1, :, 30:, 30:] = 1, 1
    outs, tf32 = {}, torch.backends.cudnn.allow_tf32
    torch.backends.cudnn.allow_tf32 = False  # true fp32 convolutions for the comparison
    for dev in ("cpu", "cuda"):
        n = net.to(dev)
        eng = eng_cls(n, mem_every=2, n_frames=6)
        ps = [eng.start(frames[0].to(dev), masks.to(dev))]
        ps += [eng.step(f.to(dev), is_last=i == 5) for i, f in enumerate(frames[1:], 1)]
        outs[dev] = torch.stack([p.cpu() for p in ps])
    torch.backends.cudnn.allow_tf32 = tf32
    assert (outs["cpu"] - outs["cuda"]).abs().max() < 1e-4


def test_xmem_no_sensory_engine_runs():
    from ttt.models.config import TINY
    from ttt.models.xmem import XMem
    torch.manual_seed(0)
    net = XMem(TINY.with_(hidden_dim=0)).eval()
    eng = XMemEngine(net, mem_every=2, n_frames=4)
    x = torch.randn(1, 3, 32, 32)
    masks = torch.zeros(1, 1, 32, 32)
    masks[0, :, 8:20, 8:20] = 1
    eng.start(x, masks)
    probs = [eng.step(torch.randn_like(x), is_last=t == 3) for t in range(1, 4)]
    assert all(p.shape == (2, 32, 32) and torch.isfinite(p).all() for p in probs)
    assert eng.hidden is None  # as officially: the decoder returns no hidden state without an updater
