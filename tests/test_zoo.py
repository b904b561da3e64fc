"""The model zoo: every entry builds, names/URLs/learning rates as specified, `python -m ttt models`."""

from __future__ import annotations

import pytest
import torch

from davis_c.errors import UserError
from ttt import zoo
from ttt.__main__ import main

EXPECTED = {"stcn-dy": "stcn.pth", "stcn-bl30k": "stcn_s01.pth", "stcn-s0": "stcn_s0.pth",
            "xmem-dy": "XMem-s012.pth", "xmem-bl30k": "XMem-s01.pth", "xmem": "XMem.pth",
            "stcn-tiny-synth": "stcn-tiny-synth.pth", "xmem-tiny-synth": "xmem-tiny-synth.pth"}


def test_names_and_files():
    assert {n: s.filename for n, s in zoo.MODELS.items()} == EXPECTED


@pytest.mark.parametrize("name", list(EXPECTED))
def test_every_entry_builds(name):
    spec = zoo.get_spec(name)
    with torch.device("meta"):
        net = zoo.build_network(spec)
    assert net.arch == spec.arch
    keys = set(net.state_dict())
    if spec.embedded:
        with torch.device("meta"):
            full = set(zoo.ARCHS[spec.arch]().state_dict())
        assert keys < full  # same code, fewer blocks
        params = sum(p.numel() for p in net.parameters())
        assert params * 4 < 10 * 2**20  # embedded checkpoints stay well under 10 MB
        assert spec.resize is None and spec.urls == ()
    else:
        assert len(keys) == {"stcn": 405, "xmem": 412}[spec.arch]
        assert spec.resize == 480 and spec.urls and all(u.startswith("https://") for u in spec.urls)


def test_learning_rates_engine_defaults_and_paper_names():
    lrs = {n: s.ttt_lr for n, s in zoo.MODELS.items() if not s.embedded}
    assert lrs["stcn-dy"] == lrs["xmem-dy"] == 1e-6
    assert lrs["stcn-bl30k"] == lrs["stcn-s0"] == lrs["xmem-bl30k"] == 1e-5
    tiny = {n: s.ttt_lr for n, s in zoo.MODELS.items() if s.embedded}
    assert tiny == {"stcn-tiny-synth": zoo.TINY_TTT_LR, "xmem-tiny-synth": zoo.TINY_TTT_LR} and zoo.TINY_TTT_LR == 3e-4
    assert zoo.get_spec("stcn-bl30k").paper_name == "STCN-BL30K" and zoo.get_spec("xmem-dy").paper_name == "XMem-DY"
    s, x = zoo.get_spec("stcn-dy"), zoo.get_spec("xmem-dy")
    assert (s.top_k, s.mem_every, x.top_k, x.mem_every) == (20, 5, 30, 5)
    assert x.engine["num_prototypes"] == 128 and x.engine["max_long_term_elements"] == 10000
    assert "drive.google.com" in s.urls[0]
    assert x.urls == ("https://github.com/hkchengrex/XMem/releases/download/v1.0/XMem-s012.pth",)


def test_unknown_name_lists_the_zoo():
    with pytest.raises(UserError, match="unknown model 'stcn-xl'.*stcn-dy.*xmem-tiny-synth"):
        zoo.get_spec("stcn-xl")


def test_cache_under_torch_home(tmp_path, monkeypatch):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path))
    assert zoo.default_path(zoo.get_spec("xmem")) == tmp_path / "hub" / "checkpoints" / "XMem.pth"


def test_models_cli_lists_cached_and_hash(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path))
    ck = tmp_path / "hub" / "checkpoints"
    ck.mkdir(parents=True)
    (ck / "XMem.pth").write_bytes(b"x")
    zoo.record_sha256(ck / "XMem.pth", "ab" * 32)
    assert main(["models", "--long"]) == 0
    out = capsys.readouterr().out.splitlines()
    rows = {ln.split()[0]: ln for ln in out[1:]}
    assert set(rows) == set(EXPECTED)
    assert " yes " in rows["xmem"] and "ab" * 32 in rows["xmem"]
    assert " no " in rows["stcn-dy"] and "STCN-DY" in rows["stcn-dy"]


def test_download_refuses_embedded_and_unknown(capsys):
    assert main(["download", "stcn-tiny-synth"]) == 2
    assert "make train-tiny" in capsys.readouterr().err
    assert main(["download", "nope"]) == 2
