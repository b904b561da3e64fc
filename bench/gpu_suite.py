"""Every GPU measurement the issues ask for, in one prepared run (for a lent GPU; `--quick` checks it on CPU).

A GPU machine is lent to some sessions only, for minutes. This script runs the whole list in one
command so such a session spends its time measuring, not preparing:

1. `ttt_speed.py`: STCN tt-MCC, 100 iterations on a 70-frame 480p video with 2 objects, time and peak
   memory (the issue's target: <= 15 s, <= 8 GB on an H100);
2. `ttt_official.py`: the official STCN TTT code at its full schedule beside ours (ratio);
3. `ttt_speed.py` again: XMem tt-MCC, then STCN tt-MCC with AMP; `ttt_memory.py`: one XMem tt-MCC
   iteration's peak memory without and with activation checkpointing (`--checkpoint`);
4. `infer_speed.py`: our STCN and XMem engines at 480p, fp32 and AMP, frames/s and peak memory;
5. `equivalence_official.py`: official STCN and XMem inference beside ours on the same inputs (speed ratio
   and max abs probability difference).

The official code is needed as plain directories (no .git), e.g. exported next to the repository:

    mkdir -p bench/_work/official/{stcn,xmem,ttt}
    git -C STCN_CLONE archive eb83102 | tar -x -C bench/_work/official/stcn
    git -C XMEM_CLONE archive f3b841d | tar -x -C bench/_work/official/xmem
    git -C TTT_CLONE  archive fd3cf87 | tar -x -C bench/_work/official/ttt
    python bench/gpu_suite.py --official bench/_work/official --out OUT      # on the GPU machine
    .venv/bin/python bench/gpu_suite.py --official bench/_work/official --out /tmp/q --quick \
        --official-python bench/_work/official-venv/bin/python              # plumbing check on CPU

Each step runs as its own process with a time limit; a failing step is recorded and the rest still run.
The whole suite keeps to `--budget` seconds (default 540, inside the device call's 600): a later step is
cut short or skipped, so the most wanted numbers come first and the summary always comes back.
Writes two files into `--out` (the device tool returns at most 8): `summary.json` (device, and per step the
command, exit code, seconds and output), rewritten after every step, and `suite.log`, the outputs in order.
On a lent machine (its `python3` has torch and torchvision):

    run(command="PYTHONUNBUFFERED=1 python3 bench/gpu_suite.py --official bench/_work/official --out $OUT",
        carry=["bench/_work/official"], timeout_s=600)
"""

from __future__ import annotations

import argparse
import json
import platform
import subprocess
import sys
import time
from pathlib import Path

BENCH = Path(__file__).resolve().parent

FULL_STEPS: list[tuple[str, list[str]]] = [
    ("ttt_speed_stcn", ["ttt_speed.py", "--model", "stcn-dy", "--frames", "70", "--size", "854x480",
                        "--iterations", "100", "--skip-full"]),
    ("ttt_official", ["ttt_official.py", "--official", "{official}/ttt", "--python", "{official_python}"]),
    ("ttt_speed_xmem", ["ttt_speed.py", "--model", "xmem-dy", "--frames", "70", "--size", "854x480",
                        "--iterations", "100", "--skip-full"]),
    ("ttt_speed_stcn_amp", ["ttt_speed.py", "--model", "stcn-dy", "--frames", "70", "--size", "854x480",
                            "--iterations", "100", "--skip-full", "--amp"]),
    ("ttt_memory_xmem", ["ttt_memory.py", "--model", "xmem-dy", "--size", "854x480"]),
    ("infer_speed", ["infer_speed.py", "--frames", "60", "--repeat", "2"]),
    ("equivalence_official", ["equivalence_official.py", "--stcn", "{official}/stcn", "--xmem", "{official}/xmem",
                              "--frames", "60", "--height", "480", "--width", "854", "--objects", "2"]),
]
"""(name, script + arguments) of the GPU run, most wanted first (the TTT target, then its official ratio);
{official} and {official_python} are filled in."""

QUICK_STEPS: list[tuple[str, list[str]]] = [
    ("infer_speed", ["infer_speed.py", "--config", "tiny", "--height", "64", "--width", "96", "--frames", "4",
                     "--device", "cpu"]),
    ("equivalence_official", ["equivalence_official.py", "--stcn", "{official}/stcn", "--xmem", "{official}/xmem",
                              "--frames", "3", "--height", "112", "--width", "160", "--objects", "2",
                              "--device", "cpu"]),  # XMem's top-k 30 needs >= 30 memory positions
    ("ttt_speed_stcn", ["ttt_speed.py", "--model", "stcn-tiny-synth", "--frames", "6", "--size", "96x64",
                        "--iterations", "2", "--per-step", "1", "--skip-full", "--device", "cpu"]),
    ("ttt_official", ["ttt_official.py", "--official", "{official}/ttt", "--python", "{official_python}",
                      "--frames", "6", "--size", "128x96", "--jump-steps", "1", "--per-step", "1",
                      "--device", "cpu"]),
    ("ttt_memory_xmem", ["ttt_memory.py", "--model", "xmem-tiny-synth", "--size", "96x64", "--device", "cpu"]),
]
"""The same plumbing on CPU with tiny sizes (not measurements)."""


def fill(args: list[str], values: dict[str, str]) -> list[str]:
    """Substitute the {placeholders} of one step's arguments."""
    return [a.format(**values) for a in args]


def run_step(name: str, argv: list[str], timeout: int) -> dict:
    """Run one bench script; returns its summary entry with its output (stdout + stderr, last 30k chars)."""
    cmd = [sys.executable, str(BENCH / argv[0]), *argv[1:]]
    t0 = time.perf_counter()
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
        rc, text = proc.returncode, proc.stdout + proc.stderr
    except subprocess.TimeoutExpired as exc:
        out = b"".join(x if isinstance(x, bytes) else (x or "").encode() for x in (exc.stdout, exc.stderr))
        rc, text = "timeout", out.decode(errors="replace") + f"\n[timed out after {timeout} s]"
    return {"name": name, "command": cmd, "rc": rc, "seconds": round(time.perf_counter() - t0, 1),
            "output": text[-30000:]}


def step_limit(step_timeout: int, budget: float, elapsed: float) -> int | None:
    """Seconds the next step may run: its own limit, cut to what is left of the suite's budget
    (None when under 30 s are left: the step is skipped so the summary is written before the call ends)."""
    left = int(budget - elapsed)
    return None if left < 30 else min(step_timeout, left)


def device_info() -> dict:
    import torch

    cuda = torch.cuda.is_available()
    return {"torch": torch.__version__, "cuda": cuda, "gpu": torch.cuda.get_device_name(0) if cuda else None,
            "python": platform.python_version(), "machine": platform.machine()}


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--official", type=Path, required=True, help="folder with stcn/, xmem/ and ttt/ official code")
    p.add_argument("--out", type=Path, required=True)
    p.add_argument("--official-python", default=sys.executable,
                   help="Python with torch + torchvision for the official TTT code (default: this one)")
    p.add_argument("--quick", action="store_true", help="tiny CPU versions of every step (plumbing check)")
    p.add_argument("--only", nargs="+", help="run only these steps")
    p.add_argument("--step-timeout", type=int, default=240)
    p.add_argument("--budget", type=float, default=540,
                   help="seconds for the whole suite (the device tool's call limit is 600); later steps are "
                        "cut short or skipped to fit")
    args = p.parse_args(argv)
    missing = [d for d in ("stcn", "xmem", "ttt") if not (args.official / d).is_dir()]
    if missing:
        raise SystemExit(f"error: {args.official} lacks {', '.join(missing)}/ (see --help for how to export them)")
    args.out.mkdir(parents=True, exist_ok=True)
    values = {"official": str(args.official.absolute()), "official_python": args.official_python}
    steps = [(n, a) for n, a in (QUICK_STEPS if args.quick else FULL_STEPS) if not args.only or n in args.only]
    summary = {"quick": args.quick, "device": device_info(), "steps": []}
    t0 = time.perf_counter()
    for name, step in steps:
        limit = step_limit(args.step_timeout, args.budget, time.perf_counter() - t0)
        if limit is None:
            res = {"name": name, "rc": "skipped", "seconds": 0.0, "output": "suite budget spent"}
        else:
            res = run_step(name, fill(step, values), limit)
        summary["steps"].append(res)
        with open(args.out / "suite.log", "a") as log:
            log.write(f"===== {name}: rc={res['rc']} in {res['seconds']} s\n{res['output']}\n")
        (args.out / "summary.json").write_text(json.dumps(summary, indent=1) + "\n")  # after every step
        print(f"{name}: rc={res['rc']} in {res['seconds']} s", flush=True)
    return 0 if all(r["rc"] == 0 for r in summary["steps"]) else 1


if __name__ == "__main__":
    sys.exit(main())
