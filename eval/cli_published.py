"""`python -m eval check-published`: compare reproduced aggregates with the paper's numbers."""

from __future__ import annotations

import argparse
from pathlib import Path

from davis_c.atomic import write_text_atomic
from davis_c.cli_util import add_command
from eval.published import check_published, format_check, require_columns
from eval.results import read_results


def register(sub) -> None:
    p = add_command(sub, "check-published", _run,
                    "compare a results table with the paper's published J&F (non-zero exit when off)")
    p.add_argument("--results", type=Path, required=True, help="results table (CSV or parquet)")
    p.add_argument("--tolerance", type=float, default=0.5, help="allowed |delta| in J&F points (default 0.5)")
    p.add_argument("--k-std", type=float, default=3.0,
                   help="where the paper gives a std, allowed |delta| = k x std instead (default 3)")
    p.add_argument("--out", type=Path, default=None, help="also write the comparison as CSV")


def _run(args: argparse.Namespace) -> int:
    df = read_results(args.results)
    require_columns(df)
    table = check_published(df, tolerance=args.tolerance, k_std=args.k_std)
    print(format_check(table))
    if args.out is not None:
        write_text_atomic(args.out, table.to_csv(index=False))
    matched = table["status"].isin(["ok", "FAIL"])
    if not matched.any():
        print("error: no row of the results table matches a published number")
        return 1
    return 1 if (table["status"] == "FAIL").any() else 0
