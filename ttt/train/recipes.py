"""Training recipes (official STCN / XMem main-training settings, scaled to tiny CPU runs).

A recipe is a plain dict of defaults; `TrainConfig` resolves it with the user's overrides.
Official values kept: clip length (STCN 3, XMem 8), objects per clip (STCN 2, XMem 3), XMem
`num_ref_frames` 3 and `deep_update_prob` 0.2, optimiser (STCN Adam wd 1e-7, XMem AdamW wd 0.05),
Dice for XMem only, the max-jump curriculum, the bootstrapping schedule (20k/70k of STCN's 150k
iterations -> fractions 0.133/0.467), one x0.1 LR step (at 5/6 of training as in STCN stage 3).
Changed for tiny networks trained from scratch: learning rate 1e-3 for STCN and 3e-4 for XMem (official
2e-5 / 1e-5 fine-tune pretrained ResNets; at 1e-3 the tiny XMem's 8-frame recurrent unroll became unstable:
val J&F 71 after 800 iterations, 33 after 1600), 192 px crops (official 384), batch 8 (official 4-16) and
few iterations.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, replace
from typing import Any

from davis_c.errors import UserError
from ttt.train.data import AugmentConfig

RECIPES: dict[str, dict[str, Any]] = {
    "stcn": {"num_frames": 3, "max_objects": 2, "dice": False, "optimizer": "adam", "weight_decay": 1e-7,
             "num_ref_frames": 2, "deep_update_prob": 0.0},
    "xmem": {"num_frames": 8, "max_objects": 3, "dice": True, "optimizer": "adamw", "weight_decay": 0.05,
             "num_ref_frames": 3, "deep_update_prob": 0.2, "lr": 3e-4},
}


@dataclass(frozen=True)
class TrainConfig:
    """Everything that determines a training run (stored in the checkpoint state and run.json)."""

    arch: str
    iterations: int = 6000
    batch_size: int = 8
    lr: float = 1e-3
    lr_step_fraction: float = 5 / 6
    seed: int = 0
    start_warm_fraction: float = 20 / 150
    end_warm_fraction: float = 70 / 150
    num_frames: int = 3
    max_objects: int = 2
    num_ref_frames: int = 2
    deep_update_prob: float = 0.0
    dice: bool = False
    optimizer: str = "adam"
    weight_decay: float = 1e-7
    augment: AugmentConfig = field(default_factory=AugmentConfig)
    val_every: int = 1000
    save_every: int = 250
    init_sha256: str | None = None   # sha256 of the --init checkpoint the network started from (None: random)

    @property
    def start_warm(self) -> int:
        return int(self.iterations * self.start_warm_fraction)

    @property
    def end_warm(self) -> int:
        return int(self.iterations * self.end_warm_fraction)

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["augment"] = asdict(self.augment)
        return d


def make_config(arch: str, crop: int | None = None, **overrides: Any) -> TrainConfig:
    """The recipe of `arch` with `overrides` (None values ignored); `crop` sets the crop size."""
    if arch not in RECIPES:
        raise UserError(f"unknown --arch '{arch}'; choose one of: {', '.join(RECIPES)}")
    values = dict(RECIPES[arch])
    values.update({k: v for k, v in overrides.items() if v is not None})
    cfg = TrainConfig(arch=arch, **values)
    if crop is not None:
        if crop < 32 or crop % 16:
            raise UserError(f"--crop {crop}: must be a multiple of 16 and >= 32")
        cfg = replace(cfg, augment=replace(cfg.augment, crop=crop))
    if cfg.iterations < 1 or cfg.batch_size < 1:
        raise UserError("--iterations and --batch-size must be >= 1")
    return cfg
