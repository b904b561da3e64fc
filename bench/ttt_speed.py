"""Benchmark: one video's test-time training (pseudo-labels + iterations + final inference), time and memory.

Measures `ttt.tta.adapt` followed by the final `ttt.infer.infer_video` on a synthetic DAVIS-layout video
(smooth random texture, N moving objects) with random weights, exactly as `python -m ttt run` runs a unit.
Two configurations run in the same invocation for a ratio:

* ``fast``  - the defaults: pseudo-label refreshes over the frames sampling can reach only (output-identical);
* ``full``  - the reference: every refresh over the whole video (what the official code does, minus its
  PNG round trip and its redundant first refresh).

The official STCN TTT code itself (a fetched copy, never committed) runs beside this code in
`bench/ttt_official.py`, which reuses this script's video and `run_once`.

    .venv/bin/python bench/ttt_speed.py --model stcn-tiny-synth --frames 70 --size 854x480 --iterations 100
    .venv/bin/python bench/ttt_speed.py --model stcn-dy --frames 24 --size 432x240 --iterations 4 --per-step 2
"""

from __future__ import annotations

import argparse
import json
import platform
import resource
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from davis_c.dataset import DavisDataset, write_mask  # noqa: E402
from ttt.device import pick_device  # noqa: E402
from ttt.infer import infer_video  # noqa: E402
from ttt.pseudo import prepare_video, pseudo_labels  # noqa: E402
from ttt.runner import _unroll_for  # noqa: E402
from ttt.tta import TTTConfig, adapt, refresh_length  # noqa: E402
from ttt.zoo import build_network, get_spec  # noqa: E402


def make_video(root: Path, n: int, w: int, h: int, objects: int, seed: int = 0) -> Path:
    """A one-video DAVIS root: a panning smooth texture with `objects` moving rectangles."""
    from PIL import Image

    rng = np.random.default_rng(seed)
    base = rng.integers(0, 255, (h // 16 + 2, w // 16 + 2, 3), dtype=np.uint8)
    base = np.asarray(Image.fromarray(base).resize((w + n * 2, h), Image.BILINEAR))
    jdir, adir = root / "JPEGImages/480p/v", root / "Annotations/480p/v"
    jdir.mkdir(parents=True, exist_ok=True)
    for t in range(n):
        img = base[:, 2 * t:2 * t + w].copy()
        lab = np.zeros((h, w), np.uint8)
        for k in range(objects):
            s = h // 4
            y = (h // 8 + k * h // (objects + 1)) % (h - s)
            x = (w // 8 + 3 * t + k * w // 3) % (w - s)
            lab[y:y + s, x:x + s] = k + 1
            img[lab == k + 1] = rng.integers(0, 255, 3)
        Image.fromarray(img).save(jdir / f"{t:05d}.jpg", quality=95)
        write_mask(adir / f"{t:05d}.png", lab)
    (root / "ImageSets/2017").mkdir(parents=True, exist_ok=True)
    (root / "ImageSets/2017/val.txt").write_text("v\n")
    return root


def run_once(net, state, spec, video, cfg: TTTConfig, device, out: Path, unroll=None) -> dict:
    """Reset, adapt, final inference; seconds per phase and peak memory (`unroll`: the arch's by default)."""
    net.load_state_dict(state)
    if device.type == "cuda":
        torch.cuda.synchronize()
        torch.cuda.reset_peak_memory_stats(device)
    t0 = time.perf_counter()
    from ttt.methods import get_method

    n_load = refresh_length(get_method(cfg.method), cfg, spec.arch, len(video))
    prepared = prepare_video(video, spec, device, n_load)
    pl_time = [0.0]

    def infer(model, vi, n):
        t = time.perf_counter()
        labels = pseudo_labels(model, spec, prepared, n, cfg.amp)
        pl_time[0] += time.perf_counter() - t
        return labels

    log = adapt(net, prepared.input, cfg, spec.arch, infer, unroll or _unroll_for(spec.arch), seed=1)
    t1 = time.perf_counter()
    infer_video(net, spec, video, out, device=device, amp=cfg.amp)
    if device.type == "cuda":
        torch.cuda.synchronize()
    t2 = time.perf_counter()
    res = {"total_s": t2 - t0, "pseudo_label_s": pl_time[0], "train_s": (t1 - t0) - pl_time[0],
           "final_infer_s": t2 - t1, "iterations": len(log.losses), "refreshes": log.refreshes,
           "refresh_frames": n_load, "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}
    if device.type == "cuda":
        res["peak_cuda_gb"] = torch.cuda.max_memory_allocated(device) / 2**30
    return res


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--model", default="stcn-tiny-synth")
    p.add_argument("--method", default="mcc")
    p.add_argument("--frames", type=int, default=70)
    p.add_argument("--size", default="854x480")
    p.add_argument("--objects", type=int, default=2)
    p.add_argument("--iterations", type=int, default=100)
    p.add_argument("--per-step", type=int, default=10, help="iterations per jump step (official 10)")
    p.add_argument("--device")
    p.add_argument("--threads", type=int)
    p.add_argument("--amp", action="store_true")
    p.add_argument("--checkpoint", action="store_true", help="activation checkpointing in the TTT unroll")
    p.add_argument("--skip-full", action="store_true", help="do not run the full-refresh reference")
    args = p.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    w, h = (int(v) for v in args.size.split("x"))
    device = pick_device(args.device)
    spec = get_spec(args.model)
    spec = replace(spec, resize=None)  # the synthetic frames are used at their own size
    torch.manual_seed(0)
    net = build_network(spec).eval().to(device)
    state = {k: v.clone() for k, v in net.state_dict().items()}
    cfg = TTTConfig(method=args.method, lr=1e-5, iterations=args.iterations, iters_per_step=args.per_step,
                    amp=args.amp, checkpoint=args.checkpoint)
    with tempfile.TemporaryDirectory() as tmp:
        root = make_video(Path(tmp) / "DAVIS", args.frames, w, h, args.objects)
        video = DavisDataset.from_root(root).video("v")
        results = {"fast": run_once(net, state, spec, video, cfg, device, Path(tmp) / "fast")}
        if not args.skip_full:
            results["full"] = run_once(net, state, spec, video, replace(cfg, refresh="full"), device,
                                       Path(tmp) / "full")
    report = {"model": args.model, "method": args.method, "frames": args.frames, "size": args.size,
              "objects": args.objects, "iterations": args.iterations, "device": str(device),
              "gpu": torch.cuda.get_device_name(0) if device.type == "cuda" else None,
              "cpu": platform.processor() or platform.machine(), "threads": torch.get_num_threads(),
              "torch": torch.__version__, "amp": args.amp,
              "checkpoint": args.checkpoint, **results}
    if "full" in results:
        report["speedup_full_over_fast"] = results["full"]["total_s"] / results["fast"]["total_s"]
    print(json.dumps(report, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
