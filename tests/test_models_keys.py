"""STCN/XMem state dicts equal the official key/shape lists, so official checkpoints load strictly."""

from __future__ import annotations

import pytest
import torch

from ttt.checkpoint import load_strict
from ttt.models import STCN, XMem
from ttt.models.config import FULL

# Facts of the official networks (TTT-SPEC §1.2, §2.1): entries, BN counters, parameters.
OFFICIAL = {"stcn": (405, 58, 54_434_180), "xmem": (412, 58, 62_185_224)}


def meta_net(arch: str, **cfg):
    with torch.device("meta"):
        return {"stcn": STCN, "xmem": XMem}[arch](FULL.with_(**cfg))


def shapes(net) -> dict[str, tuple[int, ...]]:
    return {k: tuple(v.shape) for k, v in net.state_dict().items()}


def read_key_list(path) -> dict[str, tuple[int, ...]]:
    out = {}
    for line in path.read_text().splitlines():
        key, shape = line.split(" ", 1)
        out[key] = tuple(int(x) for x in shape.strip("()").split(",") if x.strip())
    return out


@pytest.mark.parametrize("arch", ["stcn", "xmem"])
def test_counts_match_official(arch):
    n_entries, n_counters, n_params = OFFICIAL[arch]
    net = meta_net(arch)
    sd = net.state_dict()
    assert len(sd) == n_entries
    assert sum(k.endswith("num_batches_tracked") for k in sd) == n_counters
    assert sum(p.numel() for p in net.parameters()) == n_params


def test_generated_key_structure_without_shared():
    stcn, xmem = shapes(meta_net("stcn")), shapes(meta_net("xmem"))
    # key encoder: torchvision ResNet-50 names (layer1 renamed res2), no conv bias, no layer4/fc
    for s in (stcn, xmem):
        assert s["key_encoder.conv1.weight"] == (64, 3, 7, 7)
        assert s["key_encoder.res2.0.downsample.0.weight"] == (256, 64, 1, 1)
        assert s["key_encoder.layer3.5.conv3.weight"] == (1024, 256, 1, 1)
        assert not any(k.startswith(("key_encoder.layer4", "key_encoder.fc")) or
                       (k.startswith("key_encoder") and "conv" in k and k.endswith("bias")) for k in s)
        assert s["value_encoder.conv1.weight"] == (64, 5, 7, 7)
        assert s["value_encoder.fuser.block1.downsample.weight"] == (512, 1280, 3, 3)
    # STCN's ResNet-18 convs have biases, XMem's do not
    assert "value_encoder.layer2.0.downsample.0.bias" in stcn
    assert "value_encoder.layer2.0.downsample.0.bias" not in xmem
    assert stcn["key_comp.weight"] == (512, 1024, 3, 3) and "key_comp.weight" not in xmem
    assert xmem["decoder.fuser.block1.conv1.weight"] == (512, 1600, 3, 3)
    assert xmem["decoder.hidden_update.g4_conv.weight"] == (256, 257, 1, 1)
    assert xmem["value_encoder.hidden_reinforce.transform.weight"] == (192, 576, 3, 3)
    assert xmem["key_proj.d_proj.weight"] == (1, 1024, 3, 3)


@pytest.mark.parametrize("arch", ["stcn", "xmem"])
def test_keys_and_shapes_equal_official_list(shared_dir, arch):
    ref = read_key_list(shared_dir / "reference" / f"{arch}_state_dict_keys.txt")
    mine = shapes(meta_net(arch))
    assert len(ref) == OFFICIAL[arch][0]
    assert list(mine) == list(ref)  # same names, same order
    assert mine == ref


@pytest.mark.parametrize("arch", ["stcn", "xmem"])
def test_checkpoint_synthesised_from_official_list_loads_strictly(shared_dir, arch):
    ref = read_key_list(shared_dir / "reference" / f"{arch}_state_dict_keys.txt")
    gen = torch.Generator().manual_seed(0)
    sd = {k: (torch.tensor(7) if k.endswith("num_batches_tracked") else torch.randn(s, generator=gen))
          for k, s in ref.items()}
    net = {"stcn": STCN, "xmem": XMem}[arch]()
    load_strict(net, sd, "synthetic")
    got = net.state_dict()
    assert all(torch.equal(got[k], v) for k, v in sd.items())
