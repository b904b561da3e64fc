"""The run's results tables, written with the eval package's schema (`eval.results`).

Tables are always rewritten whole under a temporary name and renamed (never appended to in place), so
readers never see a half-written table and a killed sweep cannot duplicate rows.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any

import pandas as pd

from eval.results import ITERATION_COLUMNS, ITERATION_KEY, RESULT_COLUMNS, RESULT_KEY, dedupe, write_results


def table(rows: Sequence[dict[str, Any]], iterations: bool = False) -> pd.DataFrame:
    """Rows as a frame with the schema's columns first, deduplicated on the result key (last wins)."""
    columns = ITERATION_COLUMNS if iterations else RESULT_COLUMNS
    df = pd.DataFrame(list(rows))
    for c in columns:
        if c not in df.columns:
            df[c] = pd.NA
    df = df[list(columns) + [c for c in df.columns if c not in columns]]
    return dedupe(df, ITERATION_KEY if iterations else RESULT_KEY)


def write_table(path: str | os.PathLike, rows: Sequence[dict[str, Any]], iterations: bool = False) -> int:
    """Atomically replace `path` with the deduplicated `rows`; returns the row count."""
    df = table(rows, iterations)
    write_results(path, df)
    return len(df)
