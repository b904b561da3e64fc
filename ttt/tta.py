"""The per-video test-time training loop (TTT-SPEC §3.2), shared by STCN and XMem.

Per video: re-seed; reset to the pretrained weights; eval mode throughout (BN statistics frozen);
pseudo-labels by inference; for every jump step (tt-MCC: refresh the pseudo-labels with the current
weights first) a new Adam optimiser and `iters_per_step` iterations on sampled sequences; then the final
inference. A non-finite loss stops the video with `NonFiniteLoss` (nothing is written).
"""

from __future__ import annotations

import math
import random
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import torch

from ttt.device import autocast, needs_grad_scaling
from ttt.methods import Method, get_method
from ttt.sampling import Sample, reachable_frames, sample_training_sequence


class NonFiniteLoss(RuntimeError):
    """The TTT loss became NaN or infinite: that video's TTT is stopped, no prediction is written."""


@dataclass(frozen=True)
class TTTConfig:
    """Options of one TTT run; `None` means the method's official default. See docs/ttt.md."""

    method: str = "mcc"
    lr: float = 1e-5
    iterations: int | None = None        # total; split into jump steps of `iters_per_step`
    jump_steps: int | None = None
    iters_per_step: int | None = None
    batch_size: int = 1                  # official code: 1; paper: 4
    seq_len: int | None = None           # official: 3 (STCN) / 8 (XMem); tt-AE: 1
    max_jump: int = 10
    max_obj: int = 6
    check_last: bool | None = None       # official: on for mcc only
    fallback: bool = True                # copy frame 0 into the last slot when check-last fails
    weight_decay: float = 1e-7
    refresh: str = "reachable"           # "reachable" (output-identical fast path) or "full"
    amp: bool = False
    checkpoint: bool = False             # activation checkpointing in the unroll (same gradients, less memory)
    eval_every: int = 0                  # score intermediate weights every K iterations (0: never)
    num_ref_frames: int = 3              # XMem unroll: memory = frame 0 + (n-1) random earlier frames
    deep_update_prob: float = 0.2        # XMem unroll: deep update probability
    reset_hidden: bool = True            # XMem backward unroll starts from a zero hidden state
    extra: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def schedule(method: Method, cfg: TTTConfig) -> list[int]:
    """Iterations of each jump step: official ``jump_steps x iters_per_step`` unless overridden.

    ``--iterations N`` keeps the step length and uses ``ceil(N / step)`` steps, the last one shorter.
    """
    if method.unroll == "none":
        return []
    per = cfg.iters_per_step or method.iters_per_step
    if cfg.iterations is not None:
        full, rest = divmod(cfg.iterations, per)
        return [per] * full + ([rest] if rest else [])
    return [per] * (cfg.jump_steps if cfg.jump_steps is not None else method.jump_steps)


def seed_everything(seed: int) -> None:
    """Seed torch (CPU and CUDA), numpy's global RNG and `random`, as the official code does per video."""
    torch.manual_seed(seed)
    np.random.seed(seed % 2**32)
    random.seed(seed)
    if torch.cuda.is_available():
        torch.cuda.manual_seed_all(seed)


@dataclass
class VideoInput:
    """One video prepared for a model: normalised padded frames and the frame-0 labels.

    `frames` [T,3,H,W] (on the model's device; the first T frames of the video), `first_labels` [H,W]
    int64 with values 0..K (index of the object in `object_ids`), `n_objects` = K.
    """

    frames: torch.Tensor
    first_labels: torch.Tensor
    n_objects: int
    length: int | None = None  # frames in the whole video (`frames` may hold a prefix); None: len(frames)

    @property
    def n_frames(self) -> int:
        return len(self.frames) if self.length is None else self.length


@dataclass
class Batch:
    """Training tensors for one iteration (TTT-SPEC §3.4)."""

    rgb: torch.Tensor          # [B,T,3,H,W]
    first_onehot: torch.Tensor  # [B,O,H,W] frame-0 masks of the target objects
    labels0: torch.Tensor      # [B,H,W] class index of frame 0 (object i -> i+1)
    samples: list[Sample]


def make_batch(video: VideoInput, pseudo: torch.Tensor, samples: list[Sample]) -> Batch:
    """Stack the sampled frames; frame-0 targets come from the pseudo-labels of frame 0 (the GT)."""
    rgb = torch.stack([video.frames[list(s.frames)] for s in samples])
    first = pseudo[0].to(video.frames.device)
    onehots, labels = [], []
    for s in samples:
        objs = torch.tensor(s.objects, device=first.device)
        oh = (first[None] == objs[:, None, None])
        onehots.append(oh.float())
        lab = torch.zeros_like(first)
        for i, o in enumerate(s.objects):
            lab[first == o] = i + 1
        labels.append(lab)
    return Batch(rgb, torch.stack(onehots), torch.stack(labels).long(), samples)


def label_sets(pseudo: torch.Tensor) -> list[frozenset[int]]:
    """The set of labels of every pseudo-label frame [T,H,W]."""
    return [frozenset(int(v) for v in torch.unique(p).tolist()) for p in pseudo]


@dataclass
class TTTLog:
    """What happened during one video's TTT."""

    losses: list[float] = field(default_factory=list)
    fallbacks: int = 0
    refreshes: int = 0
    seconds: float = 0.0
    evals: list[dict[str, Any]] = field(default_factory=list)


Infer = Callable[[torch.nn.Module, VideoInput, int], torch.Tensor]
Unroll = Callable[[torch.nn.Module, Batch, Method, TTTConfig, torch.Generator], torch.Tensor]
EvalHook = Callable[[torch.nn.Module, int], dict[str, Any] | None]


def check_last_on(method: Method, cfg: TTTConfig) -> bool:
    """Whether the check-last rule applies (official: tt-MCC only)."""
    return method.check_last if cfg.check_last is None else cfg.check_last


def _sample_batch(method: Method, cfg: TTTConfig, arch: str, pseudo_sets: list[frozenset[int]],
                  rng: np.random.Generator, length: int) -> list[Sample]:
    seq_len = cfg.seq_len or method.seq_len[arch]
    return [sample_training_sequence(pseudo_sets, seq_len, cfg.max_jump, rng, check_last_on(method, cfg),
                                     cfg.max_obj, cfg.fallback, length) for _ in range(cfg.batch_size)]


def refresh_length(method: Method, cfg: TTTConfig, arch: str, length: int) -> int:
    """Frames whose pseudo-labels sampling can read (all of them with ``refresh='full'``)."""
    if cfg.refresh == "full":
        return length
    seq_len = cfg.seq_len or method.seq_len[arch]
    return reachable_frames(length, seq_len, cfg.max_jump)


def _train_step(model, batch: Batch, method: Method, cfg: TTTConfig, unroll: Unroll, opt,
                scaler, gen: torch.Generator) -> float:
    opt.zero_grad(set_to_none=True)
    with autocast(batch.rgb.device, cfg.amp):
        loss = unroll(model, batch, method, cfg, gen)
    value = float(loss.detach())
    if not math.isfinite(value):
        raise NonFiniteLoss(f"tt-{method.name} loss is {value}")
    scaler.scale(loss).backward()
    scaler.step(opt)
    scaler.update()
    return value


def adapt(model: torch.nn.Module, video: VideoInput, cfg: TTTConfig, arch: str, infer: Infer,
          unroll: Unroll, seed: int, eval_hook: EvalHook | None = None) -> TTTLog:
    """Test-time train `model` (already reset to the pretrained weights) on one video, in place."""
    method = get_method(cfg.method)
    log = TTTLog()
    seed_everything(seed)
    model.eval()
    steps = schedule(method, cfg)
    if not steps or sum(steps) == 0:
        return log
    t0 = time.perf_counter()
    params = method.trainable(model)
    rng = np.random.default_rng(seed)
    gen = torch.Generator().manual_seed(seed)
    n_ref = refresh_length(method, cfg, arch, video.n_frames)
    needs_labels = method.refresh or check_last_on(method, cfg)
    if needs_labels:
        pseudo = infer(model, video, n_ref)
        log.refreshes += 1
    else:  # only frame 0's labels (the ground truth) are ever read: no inference needed
        pseudo = video.first_labels[None].to(torch.uint8)
    it = 0
    for step, n_iter in enumerate(steps):
        if method.refresh and step > 0:
            pseudo = infer(model, video, n_ref)
            log.refreshes += 1
        sets = label_sets(pseudo)
        opt = torch.optim.Adam(params, lr=cfg.lr, weight_decay=cfg.weight_decay)
        scaler = torch.amp.GradScaler(enabled=needs_grad_scaling(video.frames.device, cfg.amp))
        for _ in range(n_iter):
            samples = _sample_batch(method, cfg, arch, sets, rng, video.n_frames)
            log.fallbacks += sum(s.fallback for s in samples)
            batch = make_batch(video, pseudo, samples)
            try:
                log.losses.append(_train_step(model, batch, method, cfg, unroll, opt, scaler, gen))
            except NonFiniteLoss as exc:
                raise NonFiniteLoss(f"{exc} at iteration {it + 1} (jump step {step + 1}); "
                                    "TTT stopped for this video, nothing written") from None
            it += 1
            if eval_hook is not None and cfg.eval_every and it % cfg.eval_every == 0:
                res = eval_hook(model, it)
                if res is not None:
                    log.evals.append({"iteration": it, **res})
    for p in model.parameters():
        p.requires_grad_(False)
    log.seconds = time.perf_counter() - t0
    return log
