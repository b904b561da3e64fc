"""Fidelity check: our STCN/XMem engines vs the official code, same random weights, same inputs (CPU or GPU).

The official code is NOT part of this repository. Fetch it yourself and point at the checkouts:

    git clone https://github.com/hkchengrex/STCN   /tmp/official/stcn   # tested at eb83102
    git clone https://github.com/hkchengrex/XMem   /tmp/official/xmem   # tested at f3b841d
    python bench/equivalence_official.py --stcn /tmp/official/stcn --xmem /tmp/official/xmem

The script copies the official sources into a temporary directory and patches them minimally so they
import offline on any device: `pretrained=True` -> `pretrained=False` (no ImageNet download; all
weights are overwritten anyway), `.cuda()` / `'cuda'` -> the chosen device in STCN's InferenceCore,
and a stub `torchvision.models.resnet50` that returns XMem's own torchvision-copy ResNet-50
(torchvision is not installed here; STCN only takes conv1..layer3 from it). Random weights (BN running
statistics randomised too) are loaded into both networks; the same random frames and masks are
propagated; we report the max abs difference of the per-frame probabilities.
"""

from __future__ import annotations

import argparse
import importlib
import importlib.util
import json
import shutil
import subprocess
import sys
import tempfile
import time
import types
from pathlib import Path

import torch

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))


def patched_copy(src: Path, dst: Path, device: str) -> Path:
    shutil.copytree(src, dst, ignore=shutil.ignore_patterns(".git", "*.pth"))
    for f in dst.rglob("*.py"):
        text = f.read_text()
        new = text.replace("pretrained=True", "pretrained=False")
        if f.name == "inference_core.py" and "self.device = 'cuda'" in new:  # STCN only
            new = new.replace("self.device = 'cuda'", f"self.device = '{device}'").replace(".cuda()", f".to('{device}')")
        if new != text:
            f.write_text(new)
    return dst


def random_state(net: torch.nn.Module, seed: int) -> dict[str, torch.Tensor]:
    """Default-initialised weights with randomised BN statistics (so BN is not the identity)."""
    torch.manual_seed(seed)
    sd = {k: v.clone() for k, v in net.state_dict().items()}
    for k, v in sd.items():
        if k.endswith("running_mean"):
            sd[k] = torch.randn_like(v) * 0.1
        elif k.endswith("running_var"):
            sd[k] = torch.rand_like(v) * 0.5 + 0.75
    return sd


def inputs(t: int, h: int, w: int, k: int, seed: int):
    """Smooth random normalised frames [T, 3, H, W] and K one-hot first-frame masks [K, H, W]."""
    g = torch.Generator().manual_seed(seed)
    base = torch.nn.functional.interpolate(torch.randn(1, 3, h // 8, w // 8, generator=g), size=(h, w),
                                           mode="bilinear", align_corners=False)[0]
    frames = torch.stack([torch.roll(base, shifts=2 * i, dims=2) + 0.1 * torch.randn(3, h, w, generator=g)
                          for i in range(t)])
    masks = torch.zeros(k, h, w)
    for j in range(k):
        y, x = (h // (k + 1)) * (j + 1) - h // 8, w // 4 + j * (w // (2 * k + 1))
        masks[j, max(0, y):y + h // 4, x:x + w // 5] = 1
    masks[1:] *= (masks[:1] == 0)  # disjoint
    return frames, masks


def stub_torchvision(xmem_src: Path) -> None:
    spec = importlib.util.spec_from_file_location("_xmem_resnet", xmem_src / "model" / "resnet.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    tv = types.ModuleType("torchvision")
    tv.models = types.SimpleNamespace(resnet50=lambda pretrained=False: mod.resnet50(pretrained=False))
    sys.modules["torchvision"] = tv
    sys.modules["torchvision.models"] = tv.models


def run_stcn(src: Path, xmem_src: Path, args, device: str) -> dict:
    stub_torchvision(xmem_src)
    sys.path.insert(0, str(src))
    official_core = importlib.import_module("inference_core")
    official_net_mod = importlib.import_module("model.eval_network")
    from ttt.engines.stcn import STCNEngine
    from ttt.models.stcn import STCN
    from ttt.preprocess import pad_divide_by

    ours = STCN().eval().to(device)
    sd = random_state(ours, args.seed)
    ours.load_state_dict(sd)
    off = official_net_mod.STCN().eval().to(device)
    off.load_state_dict(sd, strict=True)
    frames, masks = inputs(args.frames, args.height, args.width, args.objects, args.seed)
    frames, masks = frames.to(device), masks.to(device)
    with torch.no_grad():
        t0 = time.perf_counter()
        proc = official_core.InferenceCore(off, frames.unsqueeze(0), args.objects, top_k=20, mem_every=args.mem_every)
        proc.interact(masks.unsqueeze(1), 0, args.frames)
        t_off = time.perf_counter() - t0
        t0 = time.perf_counter()
        eng = STCNEngine(ours, top_k=20, mem_every=args.mem_every)
        ours_p = []
        for i in range(args.frames):
            x, _ = pad_divide_by(frames[i:i + 1], 16)
            if i == 0:
                ours_p.append(eng.start(x, pad_divide_by(masks.unsqueeze(1), 16)[0]))
            else:
                ours_p.append(eng.step(x, is_last=i == args.frames - 1))
        t_ours = time.perf_counter() - t0
    diffs = [float((proc.prob[:, i, 0] - ours_p[i]).abs().max()) for i in range(args.frames)]
    agree = [float((proc.prob[:, i, 0].argmax(0) == ours_p[i].argmax(0)).float().mean()) for i in range(args.frames)]
    return {"model": "stcn", "max_abs_diff": max(diffs), "per_frame": diffs, "argmax_agreement_min": min(agree),
            "official_s": t_off, "ours_s": t_ours, "memory_positions": eng.bank.size}


def run_xmem(src: Path, args, device: str) -> dict:
    sys.path.insert(0, str(src))
    official_core = importlib.import_module("inference.inference_core")
    official_net_mod = importlib.import_module("model.network")
    from ttt.engines.xmem import XMemEngine
    from ttt.models.xmem import XMem
    from ttt.preprocess import pad_divide_by, unpad

    ours = XMem().eval().to(device)
    sd = random_state(ours, args.seed)
    ours.load_state_dict(sd)
    cfg = {"key_dim": 64, "value_dim": 512, "hidden_dim": 64, "single_object": False}
    off = official_net_mod.XMem(dict(cfg)).eval().to(device)
    off.load_weights(dict(sd), init_as_zero_if_needed=True)
    mem = {"top_k": 30, "mem_every": args.mem_every, "deep_update_every": -1, "enable_long_term": True,
           "max_mid_term_frames": 10, "min_mid_term_frames": 5, "num_prototypes": args.prototypes,
           "max_long_term_elements": 10000, "hidden_dim": 64}
    mem["enable_long_term_count_usage"] = args.frames / 5 * args.prototypes >= 10000
    frames, masks = inputs(args.frames, args.height, args.width, args.objects, args.seed)
    frames, masks = frames.to(device), masks.to(device)
    with torch.no_grad():
        t0 = time.perf_counter()
        proc = official_core.InferenceCore(off, config=dict(mem))
        proc.set_all_labels(list(range(1, args.objects + 1)))
        off_p = [proc.step(frames[i], masks if i == 0 else None,
                           list(range(1, args.objects + 1)) if i == 0 else None, end=i == args.frames - 1)
                 for i in range(args.frames)]
        t_off = time.perf_counter() - t0
        t0 = time.perf_counter()
        eng = XMemEngine(ours, n_frames=args.frames, **{k: v for k, v in mem.items() if k not in (
            "hidden_dim", "enable_long_term_count_usage")})
        ours_p = []
        for i in range(args.frames):
            x, pad = pad_divide_by(frames[i:i + 1], 16)
            p = (eng.start(x, pad_divide_by(masks.unsqueeze(1), 16)[0]) if i == 0
                 else eng.step(x, is_last=i == args.frames - 1))
            ours_p.append(unpad(p, pad))
        t_ours = time.perf_counter() - t0
    diffs = [float((off_p[i] - ours_p[i]).abs().max()) for i in range(args.frames)]
    agree = [float((off_p[i].argmax(0) == ours_p[i].argmax(0)).float().mean()) for i in range(args.frames)]
    return {"model": "xmem", "max_abs_diff": max(diffs), "per_frame": diffs, "argmax_agreement_min": min(agree),
            "official_s": t_off, "ours_s": t_ours, "long_term_entries": eng.memory.long.size,
            "official_long_term_entries": proc.memory.long_mem.size}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--stcn", type=Path, help="official STCN checkout")
    ap.add_argument("--xmem", type=Path, required=True, help="official XMem checkout (also used for STCN's stub)")
    ap.add_argument("--only", choices=["stcn", "xmem"])
    ap.add_argument("--frames", type=int, default=12)
    ap.add_argument("--height", type=int, default=200)
    ap.add_argument("--width", type=int, default=360)
    ap.add_argument("--objects", type=int, default=3)
    ap.add_argument("--mem-every", type=int, default=5)
    ap.add_argument("--prototypes", type=int, default=128)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    ap.add_argument("--_child", help=argparse.SUPPRESS)
    args = ap.parse_args()
    torch.set_grad_enabled(False)
    if args._child:  # each official repo has a top-level `model` package: one process each
        with tempfile.TemporaryDirectory() as tmp:
            xsrc = patched_copy(args.xmem, Path(tmp) / "xmem", args.device)
            if args._child == "stcn":
                res = run_stcn(patched_copy(args.stcn, Path(tmp) / "stcn", args.device), xsrc, args, args.device)
            else:
                res = run_xmem(xsrc, args, args.device)
        print("RESULT " + json.dumps(res))
        return 0
    results = []
    for which in (["stcn", "xmem"] if args.only is None else [args.only]):
        if which == "stcn" and args.stcn is None:
            continue
        cmd = [sys.executable, __file__, *sys.argv[1:], "--_child", which]
        out = subprocess.run(cmd, capture_output=True, text=True, check=False)
        line = next((ln for ln in out.stdout.splitlines() if ln.startswith("RESULT ")), None)
        if line is None:
            print(out.stdout[-2000:], out.stderr[-4000:], file=sys.stderr)
            return 1
        results.append(json.loads(line[7:]))
    print(f"device={args.device} torch={torch.__version__} frames={args.frames} size={args.height}x{args.width} "
          f"objects={args.objects} mem_every={args.mem_every}")
    for r in results:
        extra = {k: v for k, v in r.items() if k not in ("model", "per_frame", "max_abs_diff")}
        print(f"{r['model']}: max |p_official - p_ours| = {r['max_abs_diff']:.3g}  {extra}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
