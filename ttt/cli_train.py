"""`python -m ttt train`: train a tiny STCN/XMem on a DAVIS-layout root (the embedded models)."""

from __future__ import annotations

import argparse
import shutil
from pathlib import Path

import torch

from davis_c.cli_util import add_command
from davis_c.dataset import DavisDataset
from davis_c.errors import UserError
from davis_c.runmeta import write_run_json
from ttt.checkpoint import sha256_file
from ttt.train.loop import train
from ttt.train.recipes import make_config
from ttt.zoo import get_spec


def _cmd(args: argparse.Namespace) -> int:
    if args.size != "tiny":
        raise UserError(f"--size {args.size}: only 'tiny' networks can be trained here")
    spec = get_spec(f"{args.arch}-tiny-synth")
    init = Path(args.init) if args.init else None
    if init is not None and not init.is_file():
        raise UserError(f"--init {init}: no such checkpoint")
    cfg = make_config(args.arch, crop=args.crop, iterations=args.iterations, batch_size=args.batch_size,
                      lr=args.lr, seed=args.seed, val_every=args.val_every, save_every=args.save_every,
                      init_sha256=sha256_file(init) if init else None)
    data = DavisDataset.from_root(args.data)
    out = Path(args.out)
    work = Path(args.work) if args.work else out.with_name(out.name + ".work")
    if args.restart and work.exists():
        shutil.rmtree(work)
    work.mkdir(parents=True, exist_ok=True)
    torch.set_num_threads(max(1, args.threads))
    write_run_json(work, {**vars(args), "func": None, "train_config": cfg.to_dict(), "model": spec.name})
    res = train(cfg, spec, data, out, work, val_split=None if args.no_val else "val", progress=not args.quiet,
                init=init)
    print(f"{out}: {res.iteration} iterations, last loss {res.last_loss:.4f}, sha256 {sha256_file(out)}")
    for row in res.val[-1:]:
        print(f"validation J&F {row['JF']:.1f} (J {row['J']:.1f}, F {row['F']:.1f}) on {row['n_objects']} objects")
    return 0


def register(sub) -> None:
    p = add_command(sub, "train", _cmd, "train a tiny STCN/XMem on a DAVIS-layout root (official recipe, small scale)")
    p.add_argument("--arch", required=True, choices=["stcn", "xmem"], help="network and recipe")
    p.add_argument("--size", default="tiny", help="network size (only 'tiny')")
    p.add_argument("--data", required=True, help="DAVIS-layout root with train (and val) splits")
    p.add_argument("--out", required=True, help="weights-only checkpoint to write (state dict, .pth)")
    p.add_argument("--work", help="work directory for resume state and logs (default: OUT.work)")
    p.add_argument("--iterations", type=int, help="optimisation steps (default 6000)")
    p.add_argument("--batch-size", type=int, help="clips per step (default 8)")
    p.add_argument("--crop", type=int, help="square crop size in pixels (default 192)")
    p.add_argument("--lr", type=float, help="learning rate (default 1e-3 for stcn, 3e-4 for xmem)")
    p.add_argument("--seed", type=int, help="seed of initialisation, sampling and augmentation (default 0)")
    p.add_argument("--val-every", type=int, help="validate every N iterations (default 1000)")
    p.add_argument("--save-every", type=int, help="checkpoint every N iterations (default 250)")
    p.add_argument("--init", help="start from the matching tensors (same name and shape) of this checkpoint, "
                   "e.g. XMem from the trained stcn-tiny-synth (default: random initialisation)")
    p.add_argument("--no-val", action="store_true", help="skip validation")
    p.add_argument("--threads", type=int, default=2, help="torch CPU threads (default 2)")
    p.add_argument("--restart", action="store_true", help="discard the resume state in the work directory")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
