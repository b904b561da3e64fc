"""`python -m ttt infer`: segment DAVIS(-C) videos with a zoo model, write palette PNGs + run.json."""

from __future__ import annotations

import argparse
from pathlib import Path

from davis_c.cli_util import add_command, csv_list
from davis_c.dataset import open_dataset
from davis_c.runmeta import write_run_json
from ttt.device import pick_device
from ttt.infer import engine_config, infer_dataset
from ttt.zoo import get_spec, load_model


def cmd_infer(args: argparse.Namespace) -> int:
    spec = get_spec(args.model)
    overrides = {k: v for k, v in (("top_k", args.top_k), ("mem_every", args.mem_every)) if v is not None}
    engine = engine_config(spec, overrides)
    dataset = open_dataset(args.data, images=args.images)
    videos = args.videos or dataset.videos(args.split)
    device = pick_device(args.device)
    loaded = load_model(spec, args.weights, device)
    out = Path(args.out)
    config = {**vars(args), "engine": engine, "resize": spec.resize, "resize_mode": spec.resize_mode}
    config.pop("func", None)
    write_run_json(out, config, extra={"checkpoint": {"path": str(loaded.path), "sha256": loaded.sha256},
                                       "device": str(device)})
    results = infer_dataset(loaded.net, spec, dataset, out, videos=videos, device=device, amp=args.amp,
                            engine_overrides=overrides, resume=not args.no_resume)
    frames = sum(r.n_frames for r in results)
    secs = sum(r.seconds for r in results)
    done = len(videos) - len(results)
    print(f"{len(results)} videos, {frames} frames in {secs:.1f}s"
          + (f" ({frames / secs:.2f} frames/s)" if secs > 0 else "")
          + (f"; {done} already done" if done else "") + f" -> {out}")
    return 0


def register(sub) -> None:
    p = add_command(sub, "infer", cmd_infer, "Propagate first-frame masks with a zoo model; write palette PNGs.")
    p.add_argument("--model", required=True, help="zoo name (see `python -m ttt models`)")
    p.add_argument("--weights", help="checkpoint file instead of the cached/embedded one")
    p.add_argument("--data", required=True, help="DAVIS root (annotations and split files)")
    p.add_argument("--images", help="variant directory <images>/<video>/*.jpg replacing the clean frames")
    p.add_argument("--out", required=True, help="prediction directory (<out>/<video>/<frame>.png)")
    p.add_argument("--split", default="val", help="ImageSets split to run (default: val)")
    p.add_argument("--videos", type=csv_list, help="comma-separated video names (default: the whole split)")
    p.add_argument("--device", help="cpu, cuda, cuda:N (default: cuda when available)")
    p.add_argument("--amp", action="store_true", help="mixed precision autocast on GPU (bf16, else fp16)")
    p.add_argument("--top-k", type=int, help="override the engine's top-k")
    p.add_argument("--mem-every", type=int, help="override the engine's memory interval")
    p.add_argument("--no-resume", action="store_true", help="redo videos that are already complete")
