"""Benchmark: the official STCN TTT code vs this suite's, same video, same weights, same schedule, one run.

The official code is NOT part of this repository and needs torchvision, which this project's venv does
not have (PyPI's torchvision does not import beside the torch 2.13 CPU wheel). Fetch the code and build
a separate environment for it yourself:

    git clone https://github.com/ttt-matching-based-vos/ttt_matching_vos /tmp/official/ttt   # tested at fd3cf87
    python3.11 -m venv bench/_work/official-venv
    bench/_work/official-venv/bin/pip install torch==2.14.1 torchvision==0.29.1 numpy pillow pyyaml opencv-python-headless
    .venv/bin/python bench/ttt_official.py --official /tmp/official/ttt --python bench/_work/official-venv/bin/python

Both sides get the same synthetic DAVIS-layout video (`bench/ttt_speed.py`'s panning texture with moving
objects) and the same random STCN weights (this suite's network, whose state dict has the official keys,
saved to a file the official `get_stcn_model` loads). The official `STCN/` directory is copied to a
temporary directory and patched only where it cannot run as is:

* `pretrained=True` -> `pretrained=False` (no ImageNet download; the checkpoint overwrites every weight);
* on a device other than CUDA: `.cuda(...)` and `device='cuda'` -> that device, and the TTT loader's
  `num_workers=16` -> `--loader-workers` (16 loader processes on a 2-core machine only compete with training);
* `--size` smaller than 480p: its test-set `Resize(480)` -> `Resize(<frame height>)`, so neither side resamples.

The official side runs its whole per-video procedure (`test_time_train_and_evaluate_one_video`: the
initial inference, a pseudo-label refresh over the whole video before every jump step for tt-MCC, the
training iterations, the final inference, PNGs written to disk); ours is `bench/ttt_speed.py`'s
`run_once` with the defaults (refreshes over the reachable frames). Timings exclude each side's start-up;
the official test-set loading (the whole video decoded before TTT) is excluded too (`load_s`), while ours
includes reading its frames, which favours the official side. Prints one JSON report; `--json PATH` also writes it.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
from dataclasses import replace
from pathlib import Path

import numpy as np
import torch
import yaml

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(BENCH))

import ttt_speed  # noqa: E402

from davis_c.dataset import DavisDataset  # noqa: E402
from ttt.device import pick_device  # noqa: E402
from ttt.tta import TTTConfig  # noqa: E402
from ttt.zoo import build_network, get_spec  # noqa: E402

LOSSES = {"mcc": "tt-mcc", "ent": "tt-ent", "ae": "tt-ae"}
FROZEN = {"mcc": None, "ent": "net,ubn", "ae": None}
"""`TTT_FROZEN_LAYERS` of the official `stcn_{mcc,ent,ae}.yaml` (tt-Ent trains the BN affine parameters only)."""
SEQUENCE_LENGTH = {"mcc": 3, "ent": 3, "ae": 1}
RESULT_TAG = "OFFICIAL_RESULT "


def patch_text(text: str, name: str, device: str, height: int, workers: int) -> str:
    """The minimal source changes described in the module docstring, for one official file."""
    text = text.replace("pretrained=True", "pretrained=False")
    if device != "cuda":
        text = text.replace(".cuda()", f".to('{device}')")
        text = text.replace(".cuda(non_blocking=True)", f".to('{device}', non_blocking=True)")
        text = text.replace("device='cuda'", f"device='{device}'")
        text = text.replace("self.device = 'cuda'", f"self.device = '{device}'")
        if name == "eval_all_datasets_ttt.py":
            text = text.replace("num_workers=16", f"num_workers={workers}")
    if name == "davis_test_dataset.py" and height != 480:
        text = text.replace("transforms.Resize(resolution,", f"transforms.Resize({height},")
    return text


def patched_copy(official: Path, dst: Path, device: str, height: int, workers: int) -> Path:
    """Copy the official STCN directory to `dst` and patch it; returns the copy's STCN directory."""
    src = official / "STCN"
    if not (src / "eval_all_datasets_ttt.py").is_file():
        raise SystemExit(f"error: {src / 'eval_all_datasets_ttt.py'} not found; --official must be a checkout of "
                         "ttt-matching-based-vos/ttt_matching_vos")
    shutil.copytree(src, dst, ignore=shutil.ignore_patterns(".git", "*.pth", "__pycache__"))
    for f in dst.rglob("*.py"):
        text = f.read_text()
        new = patch_text(text, f.name, device, height, workers)
        if new != text:
            f.write_text(new)
    return dst


def official_config(weights: Path, method: str, jump_steps: int, per_step: int, lr: float, height: int,
                    amp: bool) -> dict:
    """The official YAML config (sections and per-method values as in `ttt_configs/stcn_<method>.yaml`)."""
    return {
        "GLOBAL": {"CONFIG_NAME": "bench", "OVERWRITE": True},
        "AUGMENTATIONS": {"TTT_AUGMENTATIONS": "none", "TTT_RATIO": [1.0, 1.0], "TTT_SCALE": [1.0, 1.0]},
        "SEQUENCE_SAMPLING": {"TTT_MAX_JUMP_STEP": [10], "TTT_RESOLUTION": height,
                              "TTT_SEQUENCE_LENGTH": [SEQUENCE_LENGTH[method]]},
        "STCN_MODEL": {"AMP": amp, "INCLUDE_LAST": False, "MEM_EVERY": 5, "MODEL_FILENAME": str(weights),
                       "TOP": 20},
        "TEST_TIME_LOSS": {"TTT_FROZEN_LAYERS": FROZEN[method], "TTT_LOSS": LOSSES[method],
                           "TTT_NUMBER_ITERATIONS_PER_JUMP_STEP": per_step, "TTT_NUMBER_JUMP_STEPS": jump_steps},
        "TEST_TIME_TRAIN": {"TTT_BATCH_SIZE": 1, "TTT_LR": lr},
    }


def resolve_python(python: str) -> str:
    """Absolute path of the official environment's Python (the driver runs with another cwd)."""
    exe = Path(python).absolute() if "/" in python else shutil.which(python)
    if exe is None or not Path(exe).is_file():
        raise SystemExit(f"error: {python}: no such Python; build the official environment (see --help)")
    return str(exe)


def emit(report: dict, path: Path | None) -> None:
    """Print the JSON report and, with a path, write it there too."""
    text = json.dumps(report, indent=1)
    print(text)
    if path:
        path.write_text(text + "\n")


def run_official(python: str, stcn: Path, dataset: Path, out: Path, timeout: int,
                 env: dict[str, str] | None = None) -> dict:
    """Run the driver in the official environment (extra `env` variables); returns its JSON result."""
    exe = resolve_python(python)
    shutil.copy(BENCH / "ttt_official_driver.py", stcn / "_bench_driver.py")
    cmd = [exe, "_bench_driver.py", "--config_name", "bench", "--dataset_name", "davis",
           "--dataset_dir", str(dataset), "--palette_video_name", "v", "--output_dir", str(out), "--seed", "1"]
    proc = subprocess.run(cmd, cwd=stcn, capture_output=True, text=True, timeout=timeout,
                          env={**os.environ, **(env or {})})
    for line in proc.stdout.splitlines():
        if line.startswith(RESULT_TAG):
            return json.loads(line[len(RESULT_TAG):])
    tail = (proc.stdout + proc.stderr).strip().splitlines()[-15:]
    raise SystemExit("error: the official code failed:\n" + "\n".join(tail))


def mask_agreement(ours: Path, theirs: Path) -> float:
    """Fraction of pixels on which the two final mask folders agree (a sanity check, not a fidelity test)."""
    from PIL import Image

    same = total = 0
    for f in sorted(theirs.glob("*.png")):
        a = np.asarray(Image.open(f))
        b = np.asarray(Image.open(ours / f.name))
        same += int((a == b).sum())
        total += a.size
    return same / max(total, 1)


def parse_args(argv):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--official", type=Path, required=True, help="checkout of ttt-matching-based-vos/ttt_matching_vos")
    p.add_argument("--python", default="bench/_work/official-venv/bin/python",
                   help="Python of an environment with torch and torchvision for the official code")
    p.add_argument("--method", choices=sorted(LOSSES), default="mcc")
    p.add_argument("--frames", type=int, default=70)
    p.add_argument("--size", default="854x480")
    p.add_argument("--objects", type=int, default=2)
    p.add_argument("--jump-steps", type=int, default=10)
    p.add_argument("--per-step", type=int, default=10)
    p.add_argument("--lr", type=float, default=1e-6)
    p.add_argument("--device")
    p.add_argument("--amp", action="store_true")
    p.add_argument("--loader-workers", type=int, default=0)
    p.add_argument("--timeout", type=int, default=6 * 3600)
    p.add_argument("--json", type=Path)
    return p.parse_args(argv)


def main(argv=None) -> int:
    args = parse_args(argv)
    w, h = (int(v) for v in args.size.split("x"))
    device = pick_device(args.device)
    spec = replace(get_spec("stcn-dy"), resize=None)  # frames are used at their own size on both sides
    torch.manual_seed(0)
    net = build_network(spec).eval().to(device)
    state = {k: v.clone() for k, v in net.state_dict().items()}
    iterations = args.jump_steps * args.per_step
    cfg = TTTConfig(method=args.method, lr=args.lr, iterations=iterations, iters_per_step=args.per_step,
                    amp=args.amp)
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        dataset = tmp / "DAVIS"
        ttt_speed.make_video(dataset / "trainval", args.frames, w, h, args.objects)
        weights = tmp / "weights.pth"
        torch.save({k: v.cpu() for k, v in state.items()}, weights)
        stcn = patched_copy(args.official, tmp / "official_stcn", device.type, h, args.loader_workers)
        (stcn / "ttt_configs" / "bench.yaml").write_text(yaml.safe_dump(official_config(
            weights, args.method, args.jump_steps, args.per_step, args.lr, h, args.amp)))
        theirs = run_official(args.python, stcn, dataset, tmp / "official_out", args.timeout)
        video = DavisDataset.from_root(dataset / "trainval").video("v")
        ours = ttt_speed.run_once(net, state, spec, video, cfg, device, tmp / "ours")
        agree = mask_agreement(tmp / "ours", tmp / "official_out" / "1" / "final" / "v")
    report = {"method": args.method, "frames": args.frames, "size": args.size, "objects": args.objects,
              "jump_steps": args.jump_steps, "per_step": args.per_step, "iterations": iterations,
              "device": str(device), "gpu": torch.cuda.get_device_name(0) if device.type == "cuda" else None,
              "cpu": platform.processor() or platform.machine(), "torch_ours": torch.__version__,
              "amp": args.amp, "official": theirs, "ours": ours,
              "speedup_total": theirs["total_s"] / ours["total_s"], "final_mask_agreement": agree}
    emit(report, args.json)
    return 0


if __name__ == "__main__":
    sys.exit(main())
