"""Runs the official STCN TTT code (a patched copy, see `bench/ttt_official.py`) on one video and times it.

Executed by the official environment's Python with the copy's STCN directory as the working directory.
It imports the official `eval_all_datasets_ttt` module, wraps its `video_inference` to time the
pseudo-label refreshes and the final inference, and then does what that script's `__main__` block does
(parse the config, build the test set, load the checkpoint, train and evaluate each video). Prints one
JSON line with the timings and peak memory.

With `BENCH_REPLAY=SEQS.json` (used by `bench/ttt_loop_official.py`) the TTT dataset's `get_sequence`
returns the recorded frame sequences in order instead of drawing them, every training loss is recorded,
and the final TTT weights are saved to `BENCH_CAPTURE` (a .pt file), so that a whole official TTT loop can
be compared with ours on identical samples. This needs the TTT DataLoader in-process (`num_workers=0`).
"""

from __future__ import annotations

import json
import os
import resource
import sys
import time
import types


def install_replay(official, seqs: list[list[int]], losses: list[float], capture: str) -> list[int]:
    """Replay recorded sequences, record losses, capture the final weights; returns the draw counter."""
    import torch

    draws = [0]

    class Replay(official.VOSDataset):
        def get_sequence(self, first_frame_id):
            seq = seqs[min(draws[0], len(seqs) - 1)]
            draws[0] += 1
            return list(seq)

    def recording(cls):
        class Recording(cls):
            def forward(self, *a, **kw):
                out = super().forward(*a, **kw)
                losses.append(float(out.detach()))
                return out
        return Recording

    official.VOSDataset = Replay
    official.nn = types.SimpleNamespace(**{**vars(official.nn), "CrossEntropyLoss": recording(official.nn.CrossEntropyLoss)})
    official.EntropyLoss = recording(official.EntropyLoss)
    evaluate = official.test_time_evaluate_one_video

    def capturing(ttt_models, *a, **kw):
        torch.save({k: v.detach().cpu() for k, v in ttt_models["final"].items()}, capture)
        return evaluate(ttt_models, *a, **kw)

    official.test_time_evaluate_one_video = capturing
    return draws


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
    losses: list[float] = []
    draws = None
    if os.environ.get("BENCH_REPLAY"):
        with open(os.environ["BENCH_REPLAY"]) as f:
            draws = install_replay(official, json.load(f), losses, os.environ["BENCH_CAPTURE"])
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
    if draws is not None:
        res.update(losses=losses, sequence_draws=draws[0])
    if torch.cuda.is_available():
        res["peak_cuda_gb"] = torch.cuda.max_memory_allocated() / 2**30
    print("OFFICIAL_RESULT " + json.dumps(res), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
