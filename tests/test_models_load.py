"""Checkpoint loading: strict keys, stage-0 conv1 padding, XMem dims from weights, clear errors."""

from __future__ import annotations

import dataclasses

import pytest
import torch

from davis_c.errors import UserError
from ttt import zoo
from ttt.checkpoint import read_state_dict
from ttt.models.config import TINY


def tiny_state(arch: str, seed: int = 0, **cfg):
    torch.manual_seed(seed)
    net = zoo.build_network(f"{arch}-tiny-synth", TINY.with_(**cfg) if cfg else None)
    return {k: v.clone() for k, v in net.state_dict().items()}


def save(tmp_path, sd, name="w.pth"):
    p = tmp_path / name
    torch.save(sd, p)
    return p


@pytest.mark.parametrize("arch", ["stcn", "xmem"])
def test_round_trip_strict(tmp_path, arch):
    sd = tiny_state(arch, seed=3)
    loaded = zoo.load_model(f"{arch}-tiny-synth", weights=save(tmp_path, sd))
    assert not loaded.net.training
    assert all(torch.equal(loaded.net.state_dict()[k], v) for k, v in sd.items())
    assert len(loaded.sha256) == 64


@pytest.mark.parametrize("arch", ["stcn", "xmem"])
def test_stage0_conv1_gets_zero_fifth_channel(tmp_path, arch):
    sd = tiny_state(arch)
    w = sd["value_encoder.conv1.weight"]
    sd["value_encoder.conv1.weight"] = w[:, :4].clone()
    net = zoo.load_model(f"{arch}-tiny-synth", weights=save(tmp_path, sd)).net
    got = net.value_encoder.conv1.weight
    assert got.shape[1] == 5
    assert torch.equal(got[:, :4], w[:, :4]) and torch.count_nonzero(got[:, 4]) == 0


def test_xmem_dims_read_from_weights_and_no_sensory(tmp_path):
    sd = tiny_state("xmem", key_dim=8, value_dim=24, hidden_dim=0)
    assert not any("hidden_update" in k or "hidden_reinforce" in k for k in sd)
    net = zoo.load_model("xmem-tiny-synth", weights=save(tmp_path, sd)).net
    assert (net.key_dim, net.value_dim, net.hidden_dim) == (8, 24, 0)
    assert net.decoder.hidden_update is None and net.value_encoder.hidden_reinforce is None


def test_full_size_xmem_no_sensory_loads(shared_dir):
    """The official no-sensory model: the list without hidden-updater keys, fuser input 1536."""
    from test_models_keys import read_key_list
    ref = read_key_list(shared_dir / "reference" / "xmem_state_dict_keys.txt")
    sd = {k: torch.zeros(s) for k, s in ref.items() if "hidden_update" not in k and "hidden_reinforce" not in k}
    for k in ("decoder.fuser.block1.downsample.weight", "decoder.fuser.block1.conv1.weight"):
        sd[k] = torch.zeros(512, 1536, 3, 3)
    net = zoo.network_from_state(zoo.get_spec("xmem"), sd, "no-sensory")
    assert net.hidden_dim == 0 and len(net.state_dict()) == len(sd)


def test_missing_unexpected_and_shape_errors_name_the_key(tmp_path):
    sd = tiny_state("stcn")
    bad = dict(sd)
    del bad["decoder.pred.bias"]
    with pytest.raises(UserError, match="missing key 'decoder.pred.bias'"):
        zoo.load_model("stcn-tiny-synth", weights=save(tmp_path, bad))
    bad = {**sd, "decoder.extra.weight": torch.zeros(1)}
    with pytest.raises(UserError, match="unexpected key 'decoder.extra.weight'"):
        zoo.load_model("stcn-tiny-synth", weights=save(tmp_path, bad))
    bad = {**sd, "key_comp.bias": torch.zeros(3)}
    with pytest.raises(UserError, match=r"key 'key_comp.bias' has shape \(3,\)"):
        zoo.load_model("stcn-tiny-synth", weights=save(tmp_path, bad))


def test_truncated_and_non_checkpoint_files(tmp_path):
    p = save(tmp_path, tiny_state("stcn"))
    data = p.read_bytes()
    trunc = tmp_path / "trunc.pth"
    trunc.write_bytes(data[: len(data) // 2])
    with pytest.raises(UserError, match="trunc.pth: not a readable PyTorch checkpoint"):
        read_state_dict(trunc)
    text = tmp_path / "notes.txt"
    text.write_text("hello")
    with pytest.raises(UserError, match="notes.txt: not a readable"):
        read_state_dict(text)
    tensor = save(tmp_path, torch.zeros(3), "tensor.pth")
    with pytest.raises(UserError, match="tensor.pth: not a state dict"):
        read_state_dict(tensor)
    with pytest.raises(UserError, match="not found"):
        read_state_dict(tmp_path / "absent.pth")


def test_pickled_object_is_refused(tmp_path):
    from pathlib import PurePosixPath
    p = tmp_path / "evil.pth"
    torch.save({"a": PurePosixPath("/etc")}, p)  # an arbitrary object: refused by weights_only
    with pytest.raises(UserError, match="evil.pth"):
        read_state_dict(p)


def test_cache_missing_and_hash_mismatch(tmp_path, monkeypatch):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "th"))
    with pytest.raises(UserError, match="python -m ttt download stcn-dy"):
        zoo.load_model("stcn-dy")
    # no published hash: the first load records one and later loads verify it
    spec = dataclasses.replace(zoo.get_spec("stcn-tiny-synth"), sha256=None)
    monkeypatch.setattr(zoo, "WEIGHTS_DIR", tmp_path / "pkg")
    with pytest.raises(UserError, match="make train-tiny"):
        zoo.load_model(spec)
    (tmp_path / "pkg").mkdir()
    path = save(tmp_path / "pkg", tiny_state("stcn"), spec.filename)
    zoo.record_sha256(path, "0" * 64)
    with pytest.raises(UserError, match="does not match the expected"):
        zoo.load_model(spec)
    zoo.record_sha256(path, zoo.checkpoint.sha256_file(path))
    assert zoo.load_model(spec).sha256 == zoo.recorded_sha256(path)
    # a hash in the spec is checked even when the sidecar agrees with the file
    with pytest.raises(UserError, match="does not match the expected"):
        zoo.load_model(dataclasses.replace(spec, sha256="1" * 64))
