"""Inference speed of the STCN/XMem engines: frames/s and peak memory, fp32 and AMP (CUDA), random weights.

    python bench/infer_speed.py                              # full-size nets, 480x854, 30 frames, CUDA if present
    python bench/infer_speed.py --config tiny --height 120 --width 216 --frames 40
    python bench/infer_speed.py --frames 4 --device cpu      # full size at 480p on CPU (slow)

Timed: the engine loop on pre-normalised, padded frames already on the device (as the official
timings, which exclude disk I/O), first frame included, with a device synchronise at the end.
Peak memory: `torch.cuda.max_memory_allocated` on CUDA, the process's max RSS on CPU. Process CPU
seconds are reported too: on a shared CPU they are steadier than wall-clock time.
For the comparison with the official code on the same inputs see `bench/equivalence_official.py`.
"""

from __future__ import annotations

import argparse
import json
import platform
import resource
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from ttt.device import amp_dtype  # noqa: E402
from ttt.engines import ENGINES  # noqa: E402
from ttt.models import STCN, XMem  # noqa: E402
from ttt.models.config import FULL, TINY  # noqa: E402
from ttt.preprocess import pad_divide_by  # noqa: E402
from ttt.zoo import STCN_ENGINE, XMEM_ENGINE  # noqa: E402


def sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def peak_mib(device: torch.device) -> float:
    if device.type == "cuda":
        return torch.cuda.max_memory_allocated(device) / 2**20
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def run_once(arch: str, cfg, args, device: torch.device, amp: bool) -> dict:
    torch.manual_seed(0)
    net = {"stcn": STCN, "xmem": XMem}[arch](cfg).eval().to(device)
    engine_cfg = dict(STCN_ENGINE if arch == "stcn" else XMEM_ENGINE)
    frames = [pad_divide_by(torch.randn(1, 3, args.height, args.width, device=device), 16)[0]
              for _ in range(args.frames)]
    masks = torch.zeros(args.objects, 1, *frames[0].shape[-2:], device=device)
    for j in range(args.objects):
        masks[j, :, 20 * j:20 * j + args.height // 4, 30 * j:30 * j + args.width // 4] = 1
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats(device)
    ctx = torch.autocast(device.type, dtype=amp_dtype(device)) if amp else torch.autocast(device.type, enabled=False)
    best, best_cpu = float("inf"), float("inf")
    for _ in range(args.repeat):
        eng = ENGINES[arch](net, n_frames=args.frames, **engine_cfg)
        sync(device)
        t0, c0 = time.perf_counter(), time.process_time()
        with torch.no_grad(), ctx:
            for i, x in enumerate(frames):
                eng.start(x, masks) if i == 0 else eng.step(x, is_last=i == args.frames - 1)
        sync(device)
        best = min(best, time.perf_counter() - t0)
        best_cpu = min(best_cpu, time.process_time() - c0)
    return {"arch": arch, "config": args.config, "amp": amp, "fps": args.frames / best, "seconds": best,
            "cpu_seconds": best_cpu, "peak_mib": peak_mib(device)}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--arch", choices=["stcn", "xmem", "both"], default="both")
    ap.add_argument("--config", choices=["full", "tiny"], default="full")
    ap.add_argument("--height", type=int, default=480)
    ap.add_argument("--width", type=int, default=854)
    ap.add_argument("--frames", type=int, default=30)
    ap.add_argument("--objects", type=int, default=2)
    ap.add_argument("--repeat", type=int, default=1, help="take the best of N runs")
    ap.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    ap.add_argument("--threads", type=int, help="torch CPU threads")
    ap.add_argument("--json", type=Path, help="also write the results here")
    args = ap.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    device = torch.device(args.device)
    cfg = FULL if args.config == "full" else TINY
    rows = []
    for arch in (["stcn", "xmem"] if args.arch == "both" else [args.arch]):
        for amp in ([False, True] if device.type == "cuda" else [False]):
            rows.append(run_once(arch, cfg, args, device, amp))
    name = torch.cuda.get_device_name(device) if device.type == "cuda" else platform.processor() or platform.machine()
    print(f"device={device} ({name}), torch {torch.__version__}, threads {torch.get_num_threads()}, "
          f"{args.height}x{args.width}, {args.frames} frames, {args.objects} objects, config {args.config}")
    print("| model | precision | frames/s (wall) | wall s | process CPU s | peak MiB |\n|---|---|---|---|---|---|")
    for r in rows:
        prec = str(amp_dtype(device)).replace("torch.", "") if r["amp"] else "fp32"
        print(f"| {r['arch']} | {prec} | {r['fps']:.2f} | {r['seconds']:.2f} | {r['cpu_seconds']:.2f} "
              f"| {r['peak_mib']:.0f} |")
    if args.json:
        args.json.write_text(json.dumps({"args": {k: str(v) for k, v in vars(args).items()}, "rows": rows}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
