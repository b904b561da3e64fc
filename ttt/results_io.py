"""The run's results table, written through the eval package's schema.

The table is always rewritten whole under a temporary name and renamed (never appended to in place), so
readers never see a half-written table and a killed sweep cannot duplicate rows.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from davis_c.atomic import atomic_path

FALLBACK_KEY = ("dataset", "variant", "strength", "corruption", "model", "method", "seed", "video", "object")


def result_key() -> tuple[str, ...]:
    """The columns that identify one result row (`eval.results.RESULT_KEY`)."""
    try:
        from eval.results import RESULT_KEY
    except ImportError:  # eval.results not installed yet: the design's key
        return FALLBACK_KEY
    return tuple(RESULT_KEY)


def dedupe(rows: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """Keep the last row of each result key, in first-seen order."""
    key = result_key()
    seen: dict[tuple, dict[str, Any]] = {}
    for r in rows:
        seen[tuple(str(r.get(k)) for k in key)] = r
    return list(seen.values())


def write_table(path: str | os.PathLike, rows: Sequence[dict[str, Any]]) -> int:
    """Atomically replace `path` with the deduplicated `rows` (via `eval.results.append_results`)."""
    rows = dedupe(rows)
    path = Path(path)
    with atomic_path(path) as tmp:
        tmp.unlink()  # append_results creates the file with its header
        _append(tmp, rows)
        if not tmp.exists():
            tmp.write_text(",".join(result_key()) + "\n")
    return len(rows)


def _append(path: Path, rows: list[dict[str, Any]]) -> None:
    try:
        from eval.results import append_results
    except ImportError:
        import pandas as pd

        pd.DataFrame(rows, columns=list(dict.fromkeys([*result_key(), *(k for r in rows for k in r)])))\
            .to_csv(path, index=False)
        return
    append_results(path, rows)
