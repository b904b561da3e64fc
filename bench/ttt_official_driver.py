"""Runs the official STCN TTT code (a patched copy, see `bench/ttt_official.py`) on one video and times it.

Executed by the official environment's Python with the copy's STCN directory as the working directory.
It imports the official `eval_all_datasets_ttt` module, wraps its `video_inference` to time the
pseudo-label refreshes and the final inference, and then does what that script's `__main__` block does
(parse the config, build the test set, load the checkpoint, train and evaluate each video). Prints one
JSON line with the timings and peak memory.
"""

from __future__ import annotations

import json
import resource
import sys
import time


def main() -> int:
    sys.path.insert(0, ".")
    import eval_all_datasets_ttt as official
    import torch
    from torch.utils.data import DataLoader

    calls: list[float] = []
    inner = official.video_inference

    def timed_inference(*a, **kw):
        t = time.perf_counter()
        out = inner(*a, **kw)
        if torch.cuda.is_available():
            torch.cuda.synchronize()
        calls.append(time.perf_counter() - t)
        return out

    official.video_inference = timed_inference
    args = official.get_parameters()
    official.args = args  # the official script reads `args` as a module global
    t_load = time.perf_counter()
    loader = DataLoader(official.get_test_dataset(args), batch_size=1, shuffle=False, num_workers=0)
    videos = list(loader)
    model = official.get_stcn_model(args)
    t0 = time.perf_counter()
    if torch.cuda.is_available():
        torch.cuda.reset_peak_memory_stats()
    for video in videos:
        official.test_time_train_and_evaluate_one_video(args, video, model)
    if torch.cuda.is_available():
        torch.cuda.synchronize()
    total = time.perf_counter() - t0
    res = {"load_s": t0 - t_load, "total_s": total, "inference_calls": len(calls),
           "pseudo_label_s": sum(calls[:-1]), "final_infer_s": calls[-1] if calls else 0.0,
           "train_s": total - sum(calls), "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
           "torch": torch.__version__, "threads": torch.get_num_threads()}
    if torch.cuda.is_available():
        res["peak_cuda_gb"] = torch.cuda.max_memory_allocated() / 2**30
    print("OFFICIAL_RESULT " + json.dumps(res), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
