"""Fidelity check: one TTT loss and its gradients, ours vs the official STCN TTT code (tt-MCC, tt-Ent, tt-AE).

The official code is NOT part of this repository; it needs torchvision, so it runs in its own environment
(see `bench/ttt_official.py` for how to fetch it and build `bench/_work/official-venv`):

    .venv/bin/python bench/ttt_loss_official.py --official /tmp/official/ttt

Same random full-size STCN weights (BN running statistics randomised too, so BN is not the identity), the
same training sample (smooth random frames, two objects whose masks move, padded to /16) given to
both: to the official `STCN_TTT.do_cycle_pass` / `do_single_pass` in its dataset's dict format
(`gt`, `sec_gt`, `selector`, `cls_gt`), and to our `ttt.methods.unroll_stcn.unroll` as a `Batch`. Each side
computes the method's loss and back-propagates into every parameter (the method's parameter selection is
tested separately); we report the loss difference and, over all parameters, the relative L2 difference
of the gradients and the worst per-tensor one. The official copy is patched only `pretrained=True` ->
`pretrained=False` (no ImageNet download; every weight is overwritten).
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
from dataclasses import replace
from pathlib import Path

import torch

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH.parent))
sys.path.insert(0, str(BENCH))

from equivalence_official import inputs, random_state  # noqa: E402
from ttt_official import emit, patched_copy, resolve_python  # noqa: E402

from ttt.methods import get_method  # noqa: E402
from ttt.methods.unroll_stcn import unroll  # noqa: E402
from ttt.tta import Batch, TTTConfig  # noqa: E402
from ttt.zoo import build_network, get_spec  # noqa: E402

METHODS = ("mcc", "ent", "ae")


def sample(height: int, width: int, frames: int, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Frames [1,T,3,H,W] and class maps [1,T,H,W] (objects 1 and 2 moving right, 0 = background)."""
    rgb, masks = inputs(frames, height, width, 2, seed)
    cls = torch.zeros(frames, height, width, dtype=torch.long)
    for t in range(frames):
        shifted = torch.roll(masks, shifts=3 * t, dims=2)
        for k in range(2):
            cls[t][shifted[k] > 0.5] = k + 1
    return rgb[None], cls[None]


def official_format(rgb: torch.Tensor, cls: torch.Tensor) -> dict[str, torch.Tensor]:
    """The official `VOSDataset` dict after the DataLoader (all objects, K=2): gt/sec_gt [1,K,T,1,H,W]."""
    onehot = torch.stack([(cls[0] == k + 1).float() for k in range(2)])[:, :, None]  # K,T,1,H,W
    others = onehot.sum(0, keepdim=True) - onehot
    return {"rgb": rgb, "gt": onehot[None], "sec_gt": others[None], "selector": torch.ones(1, 2),
            "cls_gt": cls}


def our_batch(rgb: torch.Tensor, cls: torch.Tensor) -> Batch:
    first = torch.stack([(cls[:, 0] == k + 1).float() for k in range(2)], 1)  # B,K,H,W
    return Batch(rgb, first, cls[:, 0], [])


def seq_len(method: str) -> int:
    """Frames per STCN training sample of `method` (3, or 1 for tt-AE)."""
    return get_method(method).seq_len["stcn"]


def ours(net, rgb: torch.Tensor, cls: torch.Tensor, method: str) -> tuple[float, dict[str, torch.Tensor]]:
    t = seq_len(method)
    net.zero_grad(set_to_none=True)
    loss = unroll(net, our_batch(rgb[:, :t], cls[:, :t]), get_method(method), TTTConfig(method=method))
    loss.backward()
    return float(loss.detach()), {n: p.grad.detach().clone() for n, p in net.named_parameters() if p.grad is not None}


def compare(g_ours: dict, g_off: dict) -> dict:
    """Relative L2 difference over all gradients and the worst tensor's; near-zero gradients listed apart.

    A gradient that is zero in exact arithmetic (e.g. the key projection's bias: STCN's affinity
    -|k_m - k_q|^2 is invariant to a bias shared by memory and query keys) is rounding noise on both sides;
    its relative difference means nothing, so tensors whose gradient norm is below 1e-6 of the largest are
    reported with their norms instead.
    """
    names = sorted(set(g_ours) | set(g_off))
    missing = [n for n in names if n not in g_ours or n not in g_off]
    common = [n for n in names if n in g_ours and n in g_off]
    norms = {n: float(g_off[n].norm()) for n in common}
    floor = 1e-6 * max(norms.values())
    rel = {n: float((g_ours[n] - g_off[n]).norm()) / norms[n] for n in common if norms[n] > floor}
    diff2 = sum(float((g_ours[n] - g_off[n]).pow(2).sum()) for n in common)
    worst = max(rel, key=rel.get)
    return {"tensors": len(common), "missing_on_one_side": missing,
            "rel_l2_all": (diff2 / sum(v * v for v in norms.values())) ** 0.5,
            "worst_tensor": worst, "worst_rel_l2": rel[worst],
            "near_zero": {n: [float(g_ours[n].norm()), norms[n]] for n in common if norms[n] <= floor}}


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--official", type=Path, required=True, help="checkout of ttt-matching-based-vos/ttt_matching_vos")
    p.add_argument("--python", default="bench/_work/official-venv/bin/python")
    p.add_argument("--size", default="192x128", help="WxH, multiples of 16")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--json", type=Path)
    args = p.parse_args(argv)
    w, h = (int(v) for v in args.size.split("x"))
    torch.manual_seed(args.seed)
    net = build_network(replace(get_spec("stcn-dy"), resize=None)).eval()
    weights = random_state(net, args.seed)
    net.load_state_dict(weights)
    rgb, cls = sample(h, w, 3, args.seed)
    samples = {m: official_format(rgb[:, :seq_len(m)], cls[:, :seq_len(m)]) for m in METHODS}
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        stcn = patched_copy(args.official, tmp / "official_stcn", "cuda", 480, 0)  # cuda: no device patch
        (stcn / "_loss_driver.py").write_text((BENCH / "ttt_loss_official_driver.py").read_text())
        torch.save({"weights": weights, "samples": samples}, tmp / "in.pt")
        proc = subprocess.run([resolve_python(args.python), "_loss_driver.py", str(tmp / "in.pt"), str(tmp / "out.pt")], cwd=stcn,
                              capture_output=True, text=True)
        if proc.returncode != 0:
            raise SystemExit("error: the official code failed:\n" + proc.stderr.strip()[-2000:])
        off = torch.load(tmp / "out.pt", weights_only=True)
    report = {"size": args.size, "seed": args.seed, "torch_ours": torch.__version__, "torch_official": off["torch"]}
    for m in METHODS:
        loss, grads = ours(net, rgb, cls, m)
        o = off[m]
        report[m] = {"loss_ours": loss, "loss_official": float(o["loss"]),
                     "loss_abs_diff": abs(loss - float(o["loss"])), **compare(grads, o["grads"])}
    emit(report, args.json)
    return 0


if __name__ == "__main__":
    sys.exit(main())
