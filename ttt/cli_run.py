"""`python -m ttt run`: TTT (or plain inference) over variants x seeds x videos, scored into a results table."""

from __future__ import annotations

import argparse
import json
import shutil
import time
from pathlib import Path

from davis_c.cli_util import add_command, csv_list
from davis_c.dataset import DavisDataset
from davis_c.errors import UserError
from davis_c.runmeta import write_run_json
from ttt.methods import METHODS
from ttt.runner import RunContext
from ttt.sweep import CLEAN, RunPaths, parse_variants, pending_units, plan_units, rebuild_results, summarize
from ttt.tta import TTTConfig

EXIT_UNITS_FAILED = 3


def _int_list(text: str) -> list[int]:
    try:
        return [int(v) for v in csv_list(text)]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected comma-separated integers, got '{text}'") from None


def _add_ttt_options(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("TTT options (defaults = the official STCN TTT code; see docs/ttt.md)")
    g.add_argument("--iterations", type=int, help="total iterations (default: 100 for mcc/ent, 20 for ae)")
    g.add_argument("--lr", type=float, help="learning rate (default: the zoo's, 1e-5 BL30K/static, 1e-6 DY)")
    g.add_argument("--batch-size", type=int, default=1, help="sequences per iteration (official code 1, paper 4)")
    g.add_argument("--seq-len", type=int, help="frames per sequence (default 3 STCN / 8 XMem; ae 1)")
    g.add_argument("--max-jump", type=int, default=10, help="maximum frame gap when sampling (default 10)")
    g.add_argument("--max-obj", type=int, default=6, help="at most this many objects per sequence (default 6)")
    g.add_argument("--check-last", choices=["auto", "on", "off"], default="auto",
                   help="visible-objects rule on the last frame (auto: on for mcc only, as the official code)")
    g.add_argument("--no-fallback", action="store_true",
                   help="do not copy frame 0 into the last slot when the check-last rule fails")
    g.add_argument("--weight-decay", type=float, default=1e-7, help="Adam weight decay (default 1e-7)")
    g.add_argument("--refresh", choices=["reachable", "full"], default="reachable",
                   help="pseudo-label refresh over the frames sampling can reach (identical output) or all")
    g.add_argument("--amp", action="store_true", help="mixed precision on CUDA (official: off)")
    g.add_argument("--checkpoint", action="store_true",
                   help="activation checkpointing: same gradients, far less training memory, ~1 more forward pass")
    g.add_argument("--eval-every", type=int, default=0, metavar="K", help="score intermediate weights every K iterations")
    g.add_argument("--num-ref-frames", type=int, default=3, help="XMem unroll memory frames (default 3)")
    g.add_argument("--deep-update-prob", type=float, default=0.2, help="XMem unroll deep-update probability (0.2)")
    g.add_argument("--keep-hidden", action="store_true", help="XMem: do not reset the hidden state for the backward pass")
    g.add_argument("--no-pad-single", action="store_true",
                   help="STCN: no dummy second object for single-object videos (official pads)")


def register(sub) -> None:
    p = add_command(sub, "run", handle, "test-time train and segment videos of DAVIS / DAVIS-C, score them")
    p.add_argument("--model", required=True, help="zoo name (python -m ttt models)")
    p.add_argument("--weights", help="checkpoint file (default: the zoo's cached/embedded one)")
    p.add_argument("--ttt", required=True, choices=list(METHODS), help="TTT method")
    p.add_argument("--data", required=True, type=Path, help="DAVIS-2017 root (annotations, split files)")
    p.add_argument("--davis-c", type=Path, help="DAVIS-C root holding <strength>/<corruption>/<video>/")
    p.add_argument("--variants", type=csv_list, default=[CLEAN],
                   help="clean, all (the 42), a strength, or <strength>/<corruption>, comma-separated")
    p.add_argument("--seeds", type=_int_list, default=[1], help="comma-separated seeds (paper: 1,5,10)")
    p.add_argument("--split", default="val", help="DAVIS split (default val)")
    p.add_argument("--videos", type=csv_list, help="only these videos")
    p.add_argument("--out", type=Path, help="run directory (default runs/<model>-<ttt>)")
    p.add_argument("--device", help="cpu, cuda, cuda:1 (default: cuda if available)")
    p.add_argument("--executor", choices=["local", "ray"], default="local")
    p.add_argument("--address", help="Ray cluster address (default: start a local one)")
    p.add_argument("--workers", type=int, help="local worker processes (default: one per GPU, or 1)")
    p.add_argument("--threads", type=int, help="torch CPU threads per worker (default: torch's)")
    p.add_argument("--dataset-name", help="'dataset' column (default davis2017-<split>)")
    _add_ttt_options(p)


def ttt_config(args: argparse.Namespace, lr: float) -> TTTConfig:
    """The TTTConfig the command line asks for."""
    check = {"auto": None, "on": True, "off": False}[args.check_last]
    return TTTConfig(method=args.ttt, lr=args.lr if args.lr is not None else lr, iterations=args.iterations,
                     batch_size=args.batch_size, seq_len=args.seq_len, max_jump=args.max_jump,
                     max_obj=args.max_obj, check_last=check, fallback=not args.no_fallback,
                     weight_decay=args.weight_decay, refresh=args.refresh, amp=args.amp,
                     checkpoint=args.checkpoint, eval_every=args.eval_every, num_ref_frames=args.num_ref_frames,
                     deep_update_prob=args.deep_update_prob, reset_hidden=not args.keep_hidden,
                     extra={"pad_single": not args.no_pad_single})


def _check_variants(davis_c: Path | None, variants: list[str]) -> None:
    corrupted = [v for v in variants if v != CLEAN]
    if not corrupted:
        return
    if davis_c is None:
        raise UserError("corrupted variants need --davis-c DAVISC_ROOT (get it with `python -m davis_c download "
                        "davis-c --out data` or build it with `make davis-c`)")
    missing = [v for v in corrupted if not (davis_c / v).is_dir()]
    if missing:
        raise UserError(f"{davis_c / missing[0]}: DAVIS-C variant missing ({len(missing)} of {len(corrupted)}); "
                        f"get it with `python -m davis_c download davis-c --out data` or `make davis-c`")


def _validate(args: argparse.Namespace) -> tuple[list[str], list[str]]:
    for name in ("iterations", "batch_size", "max_jump", "max_obj", "seq_len", "workers", "threads"):
        v = getattr(args, name)
        if v is not None and v < (0 if name == "iterations" else 1):
            raise UserError(f"--{name.replace('_', '-')} must be positive (got {v})")
    if args.eval_every < 0:
        raise UserError("--eval-every must be >= 0")
    variants = parse_variants(args.variants)
    _check_variants(args.davis_c, variants)
    videos = list(args.videos) if args.videos else DavisDataset.from_root(args.data).videos(args.split)
    if not videos:
        raise UserError(f"{args.data}: split '{args.split}' has no videos")
    return variants, videos


def _meta() -> dict:
    """Run-wide metadata columns (git sha, package versions); checkpoint and device are added per unit."""
    from eval.results import run_metadata

    meta = run_metadata()
    return {"git_sha": meta["git_sha"], "versions": meta["versions"]}


def handle(args: argparse.Namespace) -> int:
    from ttt.executors import EXECUTORS
    from ttt.zoo import get_spec, resolve_weights

    variants, videos = _validate(args)
    spec = get_spec(args.model)
    weights_path, sha = resolve_weights(spec, args.weights)
    cfg = ttt_config(args, spec.ttt_lr)
    out = args.out or Path("runs") / f"{args.model}-{args.ttt}"
    out.mkdir(parents=True, exist_ok=True)
    ctx = RunContext(out=out.resolve(), data=args.data.resolve(), davis_c=args.davis_c.resolve() if args.davis_c else None,
                     model=args.model, weights=str(weights_path) if args.weights else None, ttt=cfg,
                     device=args.device, split=args.split,
                     dataset_name=args.dataset_name or f"davis2017-{args.split}", meta=_meta(),
                     threads=args.threads)
    paths = RunPaths(ctx.out)
    units = plan_units(args.model, args.ttt, variants, args.seeds, videos)
    todo = pending_units(paths, units)
    write_run_json(out, {**vars(args), "ttt_config": cfg.to_dict(), "checkpoint": str(weights_path),
                         "checkpoint_sha256": sha, "units": len(units), "pending": len(todo)})
    print(f"{len(units)} units, {len(units) - len(todo)} already done, {len(todo)} to run -> {out}")
    last = [0.0]

    def on_done(_result) -> None:
        if time.monotonic() - last[0] > 10:
            rebuild_results(paths)
            last[0] = time.monotonic()

    EXECUTORS[args.executor](todo, ctx, workers=args.workers, address=args.address, on_done=on_done)
    shutil.rmtree(ctx.out / ".iter", ignore_errors=True)  # --eval-every scratch space
    n = rebuild_results(paths)
    counts = summarize(paths, units)
    print(f"results: {n} rows in {paths.results}; units done {counts['done']}, failed {counts['failed']}, "
          f"missing {counts['missing']}")
    if counts["failed"]:
        print(f"failed units are listed in {paths.failures}; re-run the same command to retry them")
        print(json.dumps(json.loads(paths.failures.read_text())[:3], indent=1))
        return EXIT_UNITS_FAILED
    return 0
