"""Benchmark: memory and time of one TTT training iteration at full size, without and with `--checkpoint`.

Each configuration runs in its own child process (so that the memory high-water marks are independent):
full-size network with random weights, one training batch of the method's sequence length at `--size`
(padded to a multiple of 16 as the pipeline pads), `--objects` objects, one forward + backward + Adam step.
On CUDA the peak is `torch.cuda.max_memory_allocated`; on CPU it is the process's peak RSS above its RSS
just before the step (the training step's own allocations; the weights and libraries are excluded).

    .venv/bin/python bench/ttt_memory.py --model xmem-dy --method mcc --size 854x480
"""

from __future__ import annotations

import argparse
import json
import platform
import resource
import subprocess
import sys
import time
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from ttt.device import autocast, pick_device  # noqa: E402
from ttt.methods import get_method  # noqa: E402
from ttt.runner import _unroll_for  # noqa: E402
from ttt.sampling import Sample  # noqa: E402
from ttt.tta import TTTConfig, VideoInput, make_batch  # noqa: E402
from ttt.zoo import build_network, get_spec  # noqa: E402


def _rss_mb() -> float:
    """Current resident set size (Linux /proc), MB."""
    pages = int(Path("/proc/self/statm").read_text().split()[1])
    return pages * resource.getpagesize() / 2**20


def one_step(model: str, method: str, w: int, h: int, objects: int, checkpoint: bool, amp: bool,
             device: torch.device) -> dict:
    """One training iteration; seconds and peak memory of the step."""
    spec, m = get_spec(model), get_method(method)
    torch.manual_seed(0)
    net = build_network(spec).eval().to(device)
    pw, ph = -(-w // 16) * 16, -(-h // 16) * 16
    t = 1 if m.unroll == "single" else m.seq_len[spec.arch]
    frames = torch.randn(t, 3, ph, pw, device=device)
    labels = torch.zeros(t, ph, pw, dtype=torch.long, device=device)
    for k in range(objects):  # side-by-side boxes, one per object
        x0 = pw * k // objects
        labels[:, ph // 4:3 * ph // 4, x0 + pw // (4 * objects):x0 + 3 * pw // (4 * objects)] = k + 1
    batch = make_batch(VideoInput(frames, labels[0], objects), labels,
                       [Sample(tuple(range(t)), tuple(range(1, objects + 1)))])
    cfg = TTTConfig(method=method, amp=amp, checkpoint=checkpoint)
    opt = torch.optim.Adam(m.trainable(net), lr=1e-6, weight_decay=1e-7)
    if device.type == "cuda":
        torch.cuda.synchronize()
        torch.cuda.reset_peak_memory_stats(device)
    before, t0 = _rss_mb(), time.perf_counter()
    with autocast(device, amp):
        loss = _unroll_for(spec.arch)(net, batch, m, cfg, torch.Generator().manual_seed(1))
    loss.backward()
    opt.step()
    if device.type == "cuda":
        torch.cuda.synchronize()
    res = {"seconds": time.perf_counter() - t0, "loss": float(loss.detach()),
           "peak_rss_above_start_gb": (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024 - before) / 1024}
    if device.type == "cuda":
        res["peak_cuda_gb"] = torch.cuda.max_memory_allocated(device) / 2**30
    return res


def _child(args: argparse.Namespace, checkpoint: bool) -> dict:
    cmd = [sys.executable, __file__, "--model", args.model, "--method", args.method, "--size", args.size,
           "--objects", str(args.objects), "--child", "on" if checkpoint else "off"]
    cmd += ["--device", args.device] if args.device else []
    cmd += ["--threads", str(args.threads)] if args.threads else []
    cmd += ["--amp"] if args.amp else []
    out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
    return json.loads(out.strip().splitlines()[-1])


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--model", default="stcn-dy")
    p.add_argument("--method", default="mcc")
    p.add_argument("--size", default="854x480")
    p.add_argument("--objects", type=int, default=2)
    p.add_argument("--device")
    p.add_argument("--threads", type=int)
    p.add_argument("--amp", action="store_true")
    p.add_argument("--child", choices=["on", "off"], help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    w, h = (int(v) for v in args.size.split("x"))
    if args.child:
        device = pick_device(args.device)
        print(json.dumps(one_step(args.model, args.method, w, h, args.objects, args.child == "on", args.amp,
                                  device)))
        return 0
    plain, ck = _child(args, False), _child(args, True)
    device = pick_device(args.device)
    report = {"model": args.model, "method": args.method, "size": args.size, "objects": args.objects,
              "amp": args.amp, "device": str(device),
              "gpu": torch.cuda.get_device_name(0) if device.type == "cuda" else None,
              "cpu": platform.processor() or platform.machine(), "threads": args.threads or torch.get_num_threads(),
              "torch": torch.__version__, "plain": plain, "checkpoint": ck,
              "memory_ratio": _peak(plain) / _peak(ck), "time_ratio": ck["seconds"] / plain["seconds"]}
    print(json.dumps(report, indent=1))
    return 0


def _peak(r: dict) -> float:
    return r.get("peak_cuda_gb", r["peak_rss_above_start_gb"])


if __name__ == "__main__":
    sys.exit(main())
