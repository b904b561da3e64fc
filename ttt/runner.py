"""Run one sweep unit: TTT (or plain inference) on one video of one variant with one seed, then score it.

`run_unit` never raises: a failing unit (unreadable frame, CUDA out of memory, NaN loss, ...) is recorded
with its error in its unit record and the sweep goes on. Order of writes (see `ttt.sweep`): the prediction
directory (renamed into place when whole), the log, then the unit record with the result rows (the
commit point); a unit without a `done` record is redone from scratch.
"""

from __future__ import annotations

import json
import resource
import shutil
import sys
import time
import traceback
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from davis_c.atomic import write_text_atomic
from davis_c.dataset import DavisDataset, Video
from davis_c.errors import UserError
from ttt.sweep import CLEAN, RunPaths, Unit, variant_fields, write_record
from ttt.tta import NonFiniteLoss, TTTConfig, TTTLog, adapt, refresh_length

OOM_HINT = ("CUDA out of memory: use fewer objects per pass (--max-obj), a lower resolution, mixed "
            "precision (--amp), activation checkpointing (--checkpoint), a smaller --batch-size, or a GPU with more "
            "memory")


@dataclass(frozen=True)
class RunContext:
    """Everything a unit needs besides its identity (picklable, shared by all units of a run)."""

    out: Path
    data: Path
    davis_c: Path | None
    model: str
    weights: str | None
    ttt: TTTConfig
    device: str | None = None
    split: str = "val"
    dataset_name: str = "davis2017-val"
    meta: dict[str, Any] = field(default_factory=dict)
    threads: int | None = None


_CACHE: dict[tuple, Any] = {}


def loaded_model(ctx: RunContext):
    """(LoadedModel, pretrained state dict) for this process, loaded once and cached."""
    from ttt.device import pick_device
    from ttt.zoo import load_model

    key = (ctx.model, ctx.weights, ctx.device)
    if key not in _CACHE:
        if ctx.threads:
            torch.set_num_threads(ctx.threads)
        device = pick_device(ctx.device)
        lm = load_model(ctx.model, ctx.weights, device)
        state = {k: v.detach().clone() for k, v in lm.net.state_dict().items()}
        _CACHE.clear()
        _CACHE[key] = (lm, state, device)
    return _CACHE[key]


def dataset_for(ctx: RunContext, variant: str) -> DavisDataset:
    """The DAVIS dataset with frames from the variant (annotations always from the DAVIS root)."""
    ds = DavisDataset.from_root(ctx.data)
    if variant == CLEAN:
        return ds
    if ctx.davis_c is None:
        raise UserError(f"variant '{variant}' needs --davis-c DAVISC_ROOT")
    return ds.with_images(Path(ctx.davis_c) / variant)


def _unroll_for(arch: str):
    if arch == "stcn":
        from ttt.methods.unroll_stcn import unroll
    else:
        from ttt.methods.unroll_xmem import unroll
    return unroll


def _peak_memory(device: torch.device) -> dict[str, float]:
    out = {"peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0}
    if device.type == "cuda":
        out["peak_cuda_mb"] = torch.cuda.max_memory_allocated(device) / 2**20
    return out


def _score(ctx: RunContext, video: Video, pred_dir: Path) -> list[dict[str, Any]]:
    from eval.score import score_video

    return score_video(video.annotation_dir, pred_dir)


def _eval_hook(ctx: RunContext, unit: Unit, video: Video, lm, device):
    """Score intermediate weights (`--eval-every K`): predictions go to a scratch dir, then are removed."""
    from ttt.infer import infer_video

    def hook(net, iteration: int) -> dict[str, Any]:
        scratch = _scratch_dir(ctx, unit) / str(iteration)
        try:
            infer_video(net, lm.spec, video, scratch, device=device, amp=ctx.ttt.amp)
            rows = _score(ctx, video, scratch)
        finally:
            shutil.rmtree(scratch, ignore_errors=True)
        return {"JF": sum(r["JF"] for r in rows) / len(rows), "rows": rows}
    return hook


def _scratch_dir(ctx: RunContext, unit: Unit) -> Path:
    return ctx.out / ".iter" / unit.variant / str(unit.seed) / unit.video


def adapt_unit(ctx: RunContext, unit: Unit, video: Video) -> tuple[TTTLog, Any, torch.device]:
    """Reset the network to the pretrained weights and test-time train it on `video`."""
    from ttt.methods import get_method
    from ttt.pseudo import prepare_video, pseudo_labels

    lm, state, device = loaded_model(ctx)
    net = lm.net
    net.load_state_dict(state)
    net.eval()
    method = get_method(ctx.ttt.method)
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats(device)
    if method.unroll == "none":
        return TTTLog(), lm, device
    n_load = refresh_length(method, ctx.ttt, lm.spec.arch, len(video))
    prepared = prepare_video(video, lm.spec, device, n_load)

    def infer(model, vi, n):
        return pseudo_labels(model, lm.spec, prepared, n, ctx.ttt.amp)

    hook = _eval_hook(ctx, unit, video, lm, device) if ctx.ttt.eval_every else None
    try:
        log = adapt(net, prepared.input, ctx.ttt, lm.spec.arch, infer, _unroll_for(lm.spec.arch), unit.seed, hook)
    finally:
        if hook is not None:
            shutil.rmtree(_scratch_dir(ctx, unit), ignore_errors=True)
    return log, lm, device


def _log_payload(unit: Unit, log: TTTLog, seconds: float, infer_s: float, device) -> dict[str, Any]:
    evals = [{"iteration": e["iteration"], "JF": e["JF"]} for e in log.evals]
    return {"unit": unit.to_dict(), "losses": log.losses, "fallbacks": log.fallbacks,
            "refreshes": log.refreshes, "ttt_seconds": log.seconds, "infer_seconds": infer_s,
            "total_seconds": seconds, "evals": evals, **_peak_memory(device)}


def _device_name(device: torch.device) -> str:
    return f"cuda:{torch.cuda.get_device_name(device)}" if device.type == "cuda" else "cpu"


def _rows(ctx: RunContext, unit: Unit, scores: list[dict], sha: str | None, device) -> list[dict[str, Any]]:
    """Result rows (eval.results schema) of one unit from `score_video` rows."""
    head = {"dataset": ctx.dataset_name, **variant_fields(unit.variant), "model": unit.model,
            "method": unit.method, "seed": unit.seed, "video": unit.video}
    meta = {**ctx.meta, "checkpoint_sha256": sha, "device": _device_name(device)}
    return [{**head, **{k: v for k, v in r.items() if k != "video"}, **meta} for r in scores]


def execute(ctx: RunContext, unit: Unit) -> dict[str, Any]:
    """Run the unit (raises on failure); returns its record."""
    from ttt.infer import infer_video

    paths = RunPaths(ctx.out)
    t0 = time.perf_counter()
    video = dataset_for(ctx, unit.variant).video(unit.video)
    log, lm, device = adapt_unit(ctx, unit, video)
    t1 = time.perf_counter()
    pred = paths.pred_dir(unit)
    infer_video(lm.net, lm.spec, video, pred, device=device, amp=ctx.ttt.amp)  # renamed into place when whole
    infer_s = time.perf_counter() - t1
    payload = _log_payload(unit, log, time.perf_counter() - t0, infer_s, device)
    write_text_atomic(paths.log_path(unit), json.dumps(payload, indent=1) + "\n")
    rows = _rows(ctx, unit, _score(ctx, video, pred), lm.sha256, device)
    iter_rows = [{**r, "iteration": e["iteration"]} for e in log.evals
                 for r in _rows(ctx, unit, e["rows"], lm.sha256, device)]
    return {"status": "done", "rows": rows, "iteration_rows": iter_rows, "seconds": payload["total_seconds"]}


def _failure(exc: BaseException) -> dict[str, Any]:
    kind, hint = type(exc).__name__, None
    if isinstance(exc, torch.cuda.OutOfMemoryError) or "out of memory" in str(exc).lower():
        kind, hint = "oom", OOM_HINT
    elif isinstance(exc, NonFiniteLoss):
        kind = "nonfinite_loss"
    elif isinstance(exc, UserError):
        kind = "input"
    return {"status": "failed", "kind": kind, "error": f"{type(exc).__name__}: {exc}", "hint": hint,
            "traceback": traceback.format_exc(limit=8)}


def run_unit(unit: Unit, ctx: RunContext) -> dict[str, Any]:
    """Execute `unit` and write its record; on failure record the error and return it (never raises)."""
    paths = RunPaths(ctx.out)
    try:
        record = execute(ctx, unit)
    except (Exception, torch.cuda.OutOfMemoryError) as exc:  # noqa: BLE001 - one unit must not stop a sweep
        record = _failure(exc)
        if torch.cuda.is_available():
            torch.cuda.empty_cache()
        print(f"unit {unit.key} failed: {record['error']}" + (f" ({record['hint']})" if record["hint"] else ""),
              file=sys.stderr)
    write_record(paths, unit, record)
    return {"unit": unit.key, "status": record["status"], "error": record.get("error")}
