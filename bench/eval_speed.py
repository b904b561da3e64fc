"""Speed of `python -m eval score` vs vos-benchmark on the real-mask fixture, in one run.

    .venv/bin/python bench/eval_speed.py [--fixture ../shared/fixtures/jf_real_masks] [--repeats 3]

Times (median of --repeats): vos-benchmark 0.1.0 with 1 and 2 processes (the reference), our scorer in
process (score_folder, 1 and 2 workers) and end to end (`python -m eval score` subprocess, imports
included). Also checks that the per-object numbers are identical: ours (first-appearance) vs
vos-benchmark, ours (davis) vs the official evaluator's numbers stored with the fixture.
"""

from __future__ import annotations

import argparse
import json
import platform
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))


def _time(fn, repeats: int) -> tuple[float, object]:
    times, out = [], None
    for _ in range(repeats):
        t = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times), out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--fixture", type=Path, default=REPO.parent / "shared" / "fixtures" / "jf_real_masks")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--work", type=Path, default=REPO / "bench" / "_work" / "eval_speed")
    args = ap.parse_args()
    if not (args.fixture / "expected_scores.json").is_file():
        print(f"error: fixture not found at {args.fixture}", file=sys.stderr)
        return 2
    from vos_benchmark.benchmark import benchmark

    from eval.score import score_folder

    expected = json.loads((args.fixture / "expected_scores.json").read_text())
    gt = args.fixture / "DAVIS" / "Annotations" / "480p"
    pred = args.work / "pred"  # vos-benchmark writes results.csv into the prediction folder: use a copy
    if not pred.is_dir():
        shutil.copytree(args.fixture / "pred", pred)
    res = {}
    for n in (1, 2):
        res[f"vos-benchmark, {n} process(es)"], vb = _time(
            lambda n=n: benchmark([str(gt)], [str(pred)], num_processes=n, verbose=False), args.repeats)
    score_folder(gt, pred, workers=1, progress=False)  # warm the numba cache once
    for n in (1, 2):
        res[f"ours in process, {n} worker(s), davis"], ours = _time(
            lambda n=n: score_folder(gt, pred, workers=n, progress=False), args.repeats)
    res["ours in process, 2 workers, first-appearance"], ours_fa = _time(
        lambda: score_folder(gt, pred, workers=2, protocol="first-appearance", progress=False), args.repeats)
    cmd = [sys.executable, "-m", "eval", "score", "--gt", str(gt), "--pred", str(pred), "--workers", "2"]
    res["ours end to end (python -m eval score, 2 workers)"], _ = _time(
        lambda: subprocess.run(cmd, cwd=REPO, check=True, capture_output=True), args.repeats)

    objs = vb[3][0]
    d_vb = max(max(abs(100 * r["J_mean"] - objs[r["video"]][0][r["object"]]),
                   abs(100 * r["F_mean"] - objs[r["video"]][1][r["object"]])) / 100 for r in ours_fa)
    off = expected["official_davis2017_evaluation"]["per_object_JM_FM"]
    d_off = max(max(abs(r["J_mean"] - off[f"{r['video']}_{r['object']}"][0]),
                    abs(r["F_mean"] - off[f"{r['video']}_{r['object']}"][1])) for r in ours)
    ref = res["vos-benchmark, 2 process(es)"]
    print(f"machine: {platform.processor() or platform.machine()}, {len(__import__('os').sched_getaffinity(0))} cores, "
          f"python {platform.python_version()}")
    print(f"{'what':<52} {'seconds':>8} {'vs vos-benchmark x2':>20}")
    for k, v in res.items():
        print(f"{k:<52} {v:>8.2f} {ref / v:>19.1f}x")
    print(f"max |ours - vos-benchmark| per-object J/F (first-appearance): {d_vb:.2e}")
    print(f"max |ours - official| per-object J/F (davis): {d_off:.2e}")
    return 0 if d_vb < 1e-9 and d_off < 1e-9 else 1


if __name__ == "__main__":
    sys.exit(main())
