"""Validation J&F during training: the inference engine (top-k, memory every 5 frames) on a split, scored."""

from __future__ import annotations

import shutil
from pathlib import Path

import torch
from torch import nn

from davis_c.dataset import DavisDataset
from eval.score import overall, score_folder
from ttt.infer import infer_dataset
from ttt.zoo import ModelSpec


@torch.no_grad()
def val_jf(net: nn.Module, spec: ModelSpec, dataset: DavisDataset, split: str, work: Path,
           videos: list[str] | None = None) -> dict:
    """Segment the split's videos with `net` (eval mode) and return J/F/J&F means (x100)."""
    pred = work / "val-pred"
    if pred.exists():
        shutil.rmtree(pred)
    names = videos or dataset.videos(split)
    was_training = net.training
    net.eval()
    try:
        infer_dataset(net, spec, dataset, pred, videos=names, device=torch.device("cpu"), resume=False)
    finally:
        net.train(was_training)
    rows = score_folder(dataset.annotations_root, pred, names, split=None, progress=False)
    res = overall(rows)
    return {"J": 100 * res["J_mean"], "F": 100 * res["F_mean"], "JF": 100 * res["JF"],
            "n_objects": res["n_objects"]}
