"""The training loop: seeded batches, bootstrapped loss, periodic atomic checkpoints and validation J&F.

Work directory (`--work`): `state.pt` (network + optimiser + iteration, for resuming), `history.jsonl`
(loss and validation rows), `run.json`. The weights-only checkpoint (`--out`, a plain state dict
loadable with `torch.load(weights_only=True)`) is rewritten atomically at every save, so an interrupted
run leaves a usable model; re-running the same command resumes from `state.pt`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import torch
from tqdm import tqdm

from davis_c.atomic import atomic_path
from davis_c.dataset import DavisDataset
from davis_c.errors import UserError
from ttt.train.data import ClipSampler, clip_rng, max_jump_at
from ttt.train.forward import FORWARDS
from ttt.train.losses import clip_loss
from ttt.train.recipes import TrainConfig
from ttt.train.validate import val_jf
from ttt.zoo import ModelSpec, build_network


@dataclass
class TrainResult:
    """Where the run ended: iterations done, the last loss, the validation rows."""

    iteration: int
    last_loss: float
    losses: list[float]
    val: list[dict]


def make_optimizer(net: torch.nn.Module, cfg: TrainConfig):
    """Adam (STCN) or AdamW (XMem) with the recipe's weight decay, and the one-step LR schedule."""
    params = [p for p in net.parameters() if p.requires_grad]
    opt_cls = torch.optim.AdamW if cfg.optimizer == "adamw" else torch.optim.Adam
    opt = opt_cls(params, lr=cfg.lr, weight_decay=cfg.weight_decay)
    step = max(1, int(cfg.iterations * cfg.lr_step_fraction))
    return opt, torch.optim.lr_scheduler.MultiStepLR(opt, [step], gamma=0.1)


def init_from(net: torch.nn.Module, path: Path) -> tuple[int, int]:
    """Copy every tensor of checkpoint `path` whose name and shape exist in `net`; (copied, net's total)."""
    from ttt.checkpoint import read_state_dict

    theirs = read_state_dict(path)
    ours = net.state_dict()
    shared = {k: v for k, v in theirs.items() if k in ours and ours[k].shape == v.shape}
    if not shared:
        raise UserError(f"{path}: no tensor of this checkpoint fits the network (names or shapes differ)")
    net.load_state_dict(shared, strict=False)
    return len(shared), len(ours)


def save_weights(net: torch.nn.Module, out: Path) -> None:
    """The network's state dict (fp32, CPU) written atomically to `out`."""
    sd = {k: v.detach().cpu().clone() for k, v in net.state_dict().items()}
    with atomic_path(out) as tmp:
        torch.save(sd, tmp)


def save_state(work: Path, net, opt, sched, iteration: int, cfg: TrainConfig) -> None:
    with atomic_path(work / "state.pt") as tmp:
        torch.save({"net": net.state_dict(), "opt": opt.state_dict(), "sched": sched.state_dict(),
                    "iteration": iteration, "config": json.dumps(cfg.to_dict(), sort_keys=True)}, tmp)


def _weights_config(d: dict) -> dict:
    """The settings that change the trained weights (not how often it saves or validates)."""
    return {k: v for k, v in d.items() if k not in ("val_every", "save_every")}


def load_state(work: Path, net, opt, sched, cfg: TrainConfig) -> int:
    """Resume from `work/state.pt` if present (the config must match); returns the next iteration."""
    path = work / "state.pt"
    if not path.is_file():
        return 0
    state = torch.load(path, map_location="cpu", weights_only=True)
    if _weights_config(json.loads(state["config"])) != _weights_config(json.loads(json.dumps(cfg.to_dict()))):
        raise UserError(f"{path}: saved by a run with other settings; use another --work or --restart")
    net.load_state_dict(state["net"])
    opt.load_state_dict(state["opt"])
    sched.load_state_dict(state["sched"])
    return int(state["iteration"])


def log(work: Path, row: dict) -> None:
    with open(work / "history.jsonl", "a") as fh:
        fh.write(json.dumps(row) + "\n")


def train_step(net, opt, sched, sampler: ClipSampler, cfg: TrainConfig, it: int) -> tuple[float, dict]:
    """One optimisation step on batch `it` (seeded by (seed, it))."""
    rng = clip_rng(cfg.seed, it)
    batch = sampler.batch(rng, cfg.batch_size, max_jump_at(it, cfg.iterations))
    gen = torch.Generator().manual_seed(int(rng.integers(2**31)))
    logits, masks = FORWARDS[cfg.arch](net, batch, cfg, gen)
    loss, stats = clip_loss(logits, masks, batch.cls_gt, batch.num_objects, it, cfg.start_warm,
                            cfg.end_warm, cfg.dice)
    opt.zero_grad(set_to_none=True)
    loss.backward()
    opt.step()
    sched.step()
    return loss.item(), stats


def train(cfg: TrainConfig, spec: ModelSpec, data: DavisDataset, out: Path, work: Path, *,
          val_split: str | None = "val", val_videos: list[str] | None = None, progress: bool = True,
          init: Path | None = None) -> TrainResult:
    """Train `spec`'s network on `data`'s train split with `cfg`; write `out` and the work directory.

    `init`: a checkpoint whose matching tensors (same name and shape) replace the random initialisation
    before the first step (its sha256 must be `cfg.init_sha256`; a resumed run takes its weights from the
    saved state instead).
    """
    work.mkdir(parents=True, exist_ok=True)
    torch.manual_seed(cfg.seed)
    net = build_network(spec)
    if init is not None:
        copied, total = init_from(net, init)
        tqdm.write(f"initialised {copied} of {total} tensors from {init}")
    net.eval()  # official: BatchNorm statistics stay frozen during training
    opt, sched = make_optimizer(net, cfg)
    start = load_state(work, net, opt, sched, cfg)
    sampler = ClipSampler(data, "train", cfg.num_frames, cfg.max_objects, cfg.augment, cfg.arch)
    losses, vals = [], []
    bar = tqdm(range(start, cfg.iterations), initial=start, total=cfg.iterations, desc=f"train {spec.name}",
               disable=not progress)
    loss = float("nan")
    for it in bar:
        loss, stats = train_step(net, opt, sched, sampler, cfg, it)
        losses.append(loss)
        bar.set_postfix(loss=f"{loss:.3f}", jump=max_jump_at(it, cfg.iterations), p=f"{stats['p']:.2f}")
        done = it + 1
        if done % 10 == 0 or done == cfg.iterations:
            log(work, {"iteration": done, "loss": loss, **stats, "lr": sched.get_last_lr()[0]})
        if done % cfg.save_every == 0 or done == cfg.iterations:
            save_weights(net, out)
            save_state(work, net, opt, sched, done, cfg)
        if val_split and (done % cfg.val_every == 0 or done == cfg.iterations):
            row = {"iteration": done, **val_jf(net, spec, data, val_split, work, val_videos)}
            vals.append(row)
            log(work, {"val": row})
            tqdm.write(f"iteration {done}: val J&F {row['JF']:.1f} (J {row['J']:.1f}, F {row['F']:.1f})")
    return TrainResult(max(start, cfg.iterations) if losses else start, loss, losses, vals)
