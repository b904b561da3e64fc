"""Fidelity check: a whole STCN TTT loop, ours vs the official code, on identical training samples (CPU).

The two implementations draw frame sequences from different random streams, so their TTT runs differ
by chance. This script removes that difference: it runs our TTT on a synthetic video, records every
frame sequence our sampler drew, and has the official code (`bench/ttt_official.py`'s patched copy and
environment) replay exactly those sequences (its `VOSDataset.get_sequence` is replaced, everything else
of its loop runs as is: pseudo-label PNGs written and read back, its own check-last rule, a new Adam per
jump step, its loss lines, its final inference). Then it compares, per iteration, the losses, and at the
end the weight updates (final - initial, relative L2 over all parameters) and the final masks.

    .venv/bin/python bench/ttt_loop_official.py --official /tmp/official/ttt --method mcc

`sequence_draws` must equal the iteration count: a larger count means the official check-last rule
rejected a sequence ours accepted (their pseudo-labels differed).
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from dataclasses import replace
from pathlib import Path

import torch
import yaml

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH.parent))
sys.path.insert(0, str(BENCH))

import ttt_speed  # noqa: E402
from equivalence_official import random_state  # noqa: E402
from ttt_official import (  # noqa: E402
    LOSSES,
    emit,
    mask_agreement,
    official_config,
    patched_copy,
    run_official,
)

from davis_c.dataset import DavisDataset  # noqa: E402
from ttt.runner import _unroll_for  # noqa: E402
from ttt.tta import TTTConfig  # noqa: E402
from ttt.zoo import build_network, get_spec  # noqa: E402


def recording_unroll(seqs: list[list[int]], losses: list[float]):
    """Our STCN unroll, recording each batch's frame sequence and loss."""
    base = _unroll_for("stcn")

    def unroll(model, batch, method, cfg, gen=None):
        seqs.extend([list(s.frames) for s in batch.samples])
        loss = base(model, batch, method, cfg, gen)
        losses.append(float(loss.detach()))
        return loss

    return unroll


def update_difference(init: dict, ours: dict, theirs: dict) -> dict:
    """Relative L2 difference of the weight updates (final - initial) over all floating-point tensors.

    Also the three tensors contributing most to the difference, each with its own relative difference.
    """
    num = den = 0.0
    per: dict[str, tuple[float, float]] = {}
    for k, v0 in init.items():
        if not v0.is_floating_point():
            continue
        d_off = theirs[k].float() - v0.float()
        d_ours = ours[k].float() - v0.float()
        diff2, ref2 = float((d_ours - d_off).pow(2).sum()), float(d_off.pow(2).sum())
        num += diff2
        den += ref2
        if ref2 > 0:
            per[k] = (diff2, (diff2 / ref2) ** 0.5)
    top = sorted(per, key=lambda k: -per[k][0])[:3]
    return {"update_rel_l2": (num / den) ** 0.5 if den else float("nan"), "tensors_updated_official": len(per),
            "update_norm_official": den ** 0.5,
            "largest_contributors": {k: {"share_of_diff2": per[k][0] / num if num else 0.0, "rel_l2": per[k][1]}
                                     for k in top}}


def parse_args(argv):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--official", type=Path, required=True)
    p.add_argument("--python", default="bench/_work/official-venv/bin/python")
    p.add_argument("--method", choices=sorted(LOSSES), default="mcc")
    p.add_argument("--frames", type=int, default=16)
    p.add_argument("--size", default="192x128")
    p.add_argument("--objects", type=int, default=2)
    p.add_argument("--jump-steps", type=int, default=2)
    p.add_argument("--per-step", type=int, default=3)
    p.add_argument("--lr", type=float, default=1e-5)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--json", type=Path)
    return p.parse_args(argv)


def main(argv=None) -> int:
    args = parse_args(argv)
    w, h = (int(v) for v in args.size.split("x"))
    device = torch.device("cpu")
    spec = replace(get_spec("stcn-dy"), resize=None)
    net = build_network(spec).eval()
    state = random_state(net, args.seed)
    cfg = TTTConfig(method=args.method, lr=args.lr, iterations=args.jump_steps * args.per_step,
                    iters_per_step=args.per_step)
    seqs: list[list[int]] = []
    losses: list[float] = []
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        dataset = tmp / "DAVIS"
        ttt_speed.make_video(dataset / "trainval", args.frames, w, h, args.objects, seed=args.seed)
        video = DavisDataset.from_root(dataset / "trainval").video("v")
        ttt_speed.run_once(net, state, spec, video, cfg, device, tmp / "ours", recording_unroll(seqs, losses))
        ours_final = {k: v.detach().clone() for k, v in net.state_dict().items()}
        weights = tmp / "weights.pth"
        torch.save(state, weights)
        stcn = patched_copy(args.official, tmp / "official_stcn", "cpu", h, 0)
        (stcn / "ttt_configs" / "bench.yaml").write_text(yaml.safe_dump(official_config(
            weights, args.method, args.jump_steps, args.per_step, args.lr, h, False)))
        (tmp / "seqs.json").write_text(json.dumps(seqs))
        theirs = run_official(args.python, stcn, dataset, tmp / "official_out", 3600,
                              env={"BENCH_REPLAY": str(tmp / "seqs.json"), "BENCH_CAPTURE": str(tmp / "final.pt")})
        off_final = torch.load(tmp / "final.pt", weights_only=True)
        agree = mask_agreement(tmp / "ours", tmp / "official_out" / "1" / "final" / "v")
    diffs = [abs(a - b) for a, b in zip(losses, theirs["losses"])]
    report = {"method": args.method, "frames": args.frames, "size": args.size, "lr": args.lr,
              "iterations": len(losses), "sequences": seqs, "sequence_draws_official": theirs["sequence_draws"],
              "losses_ours": losses, "losses_official": theirs["losses"],
              "loss_max_abs_diff": max(diffs) if diffs else None,
              **update_difference(state, ours_final, off_final), "final_mask_agreement": agree,
              "torch_ours": torch.__version__, "torch_official": theirs["torch"]}
    emit(report, args.json)
    return 0


if __name__ == "__main__":
    sys.exit(main())
