"""The one long results table: one row per (dataset, variant, strength, corruption, model, method, seed,
video, object). Every table and figure of a report is a groupby of it.

Conventions: metric values are fractions in [0, 1] (reports show x100); ``variant`` is ``clean`` or
``<strength>/<corruption>``; ``strength`` in {clean, low, med, high}; ``corruption`` is ``none`` for clean;
``method`` in {none, mcc, ent, ae}. CSV always; ``.parquet`` paths are written with pyarrow.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import sys
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from davis_c.atomic import atomic_path
from davis_c.errors import UserError

RESULT_KEY = ("dataset", "variant", "strength", "corruption", "model", "method", "seed", "video", "object")
METRIC_COLUMNS = ("J_mean", "J_recall", "J_decay", "F_mean", "F_recall", "F_decay", "JF", "n_frames")
META_COLUMNS = ("checkpoint_sha256", "git_sha", "versions", "device")
RESULT_COLUMNS = RESULT_KEY + METRIC_COLUMNS + META_COLUMNS
ITERATION_KEY = RESULT_KEY + ("iteration",)
ITERATION_COLUMNS = RESULT_COLUMNS + ("iteration",)
STRENGTHS = ("clean", "low", "med", "high")
INT_COLUMNS = ("seed", "object", "n_frames", "iteration")


def variant_name(strength: str, corruption: str) -> str:
    """``clean`` or ``<strength>/<corruption>``."""
    return "clean" if strength == "clean" or corruption == "none" else f"{strength}/{corruption}"


def parse_variant(variant: str) -> tuple[str, str]:
    """(strength, corruption) of a variant name."""
    if variant == "clean":
        return "clean", "none"
    strength, _, corruption = variant.partition("/")
    if strength not in STRENGTHS[1:] or not corruption:
        raise UserError(f"variant {variant!r}: expected 'clean' or '<low|med|high>/<corruption>'")
    return strength, corruption


def run_metadata(checkpoint_sha256: str | None = None, device: str | None = None) -> dict[str, Any]:
    """The metadata columns of a row: checkpoint sha256, git sha, package versions (JSON), device."""
    from davis_c.runmeta import git_sha, package_versions

    return {"checkpoint_sha256": checkpoint_sha256 or "", "git_sha": git_sha() or "",
            "versions": json.dumps(package_versions(), sort_keys=True), "device": device or "cpu"}


def _frame(rows: Iterable[dict[str, Any]] | pd.DataFrame, columns: Sequence[str]) -> pd.DataFrame:
    df = rows.copy() if isinstance(rows, pd.DataFrame) else pd.DataFrame(list(rows))
    for c in columns:
        if c not in df.columns:
            df[c] = pd.NA
    extra = [c for c in df.columns if c not in columns]
    return df[list(columns) + extra]


def _key_strings(df: pd.DataFrame, key: Sequence[str]) -> pd.Series:
    def norm(v):
        if isinstance(v, float) and v.is_integer():
            return str(int(v))
        return str(v)
    return df[list(key)].apply(lambda r: "\x1f".join(norm(v) for v in r), axis=1)


def dedupe(df: pd.DataFrame, key: Sequence[str] = RESULT_KEY) -> pd.DataFrame:
    """Keep the last row of each key (order of first appearance kept for the survivors)."""
    if df.empty:
        return df
    keys = _key_strings(df, key)
    return df[~keys.duplicated(keep="last")].reset_index(drop=True)


@contextlib.contextmanager
def _locked(path: Path) -> Iterator[None]:
    lock = path.with_name(f".{path.name}.lock")
    lock.parent.mkdir(parents=True, exist_ok=True)
    with open(lock, "a+") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def _is_parquet(path: Path) -> bool:
    return path.suffix.lower() in (".parquet", ".pq")


def _has_pyarrow() -> bool:
    try:
        import pyarrow  # noqa: F401
    except ImportError:
        return False
    return True


def write_results(path: str | os.PathLike, df: pd.DataFrame, parquet_copy: bool = True) -> None:
    """Atomically write a results frame: CSV (plus a `.parquet` copy beside it when pyarrow is installed
    and `parquet_copy`), or parquet only for a .parquet path."""
    path = Path(path)
    with atomic_path(path) as tmp:
        if _is_parquet(path):
            if not _has_pyarrow():
                raise UserError(f"{path}: writing parquet needs pyarrow; use a .csv path")
            df.to_parquet(tmp, index=False)
        else:
            df.to_csv(tmp, index=False)
    if parquet_copy and not _is_parquet(path) and not path.name.startswith(".") and _has_pyarrow():
        try:
            with atomic_path(path.with_suffix(".parquet")) as tmp:
                df.to_parquet(tmp, index=False)
        except (ValueError, TypeError) as exc:  # e.g. mixed-type extra columns: the CSV still stands
            print(f"warning: {path.with_suffix('.parquet')} not written ({exc})", file=sys.stderr)


def append_results(path: str | os.PathLike, rows: Iterable[dict[str, Any]] | pd.DataFrame,
                   key: Sequence[str] = RESULT_KEY) -> pd.DataFrame:
    """Add rows to the table at `path` (created if absent); a row with an existing key replaces it.

    The whole table is rewritten under a temporary name and renamed, under an exclusive lock, so
    concurrent writers do not lose each other's rows and readers never see a half-written file.
    """
    path = Path(path)
    columns = ITERATION_COLUMNS if "iteration" in key else RESULT_COLUMNS
    new = _frame(rows, columns)
    with _locked(path):
        old = read_results(path, key=key) if path.exists() and path.stat().st_size > 0 else None
        df = new if old is None or old.empty else pd.concat([old, new], ignore_index=True)
        df = dedupe(_frame(df, columns), key)
        write_results(path, df)
    return df


def read_results(path: str | os.PathLike, key: Sequence[str] = RESULT_KEY) -> pd.DataFrame:
    """Read a results table (CSV or parquet); UserError naming the file and missing columns if invalid."""
    path = Path(path)
    if not path.is_file():
        raise UserError(f"{path}: results table not found")
    try:
        if _is_parquet(path):
            df = pd.read_parquet(path)
        else:
            df = pd.read_csv(path, dtype={c: str for c in ("dataset", "variant", "strength", "corruption",
                                                             "model", "method", "video", "checkpoint_sha256",
                                                             "git_sha", "versions", "device")})
    except (ValueError, OSError, pd.errors.ParserError) as exc:
        raise UserError(f"{path}: cannot read results table ({exc})") from None
    missing = [c for c in (*key, "J_mean", "F_mean") if c not in df.columns]
    if missing:
        raise UserError(f"{path}: not a results table, missing column(s) {', '.join(missing)}")
    for c in INT_COLUMNS:
        if c in df.columns and df[c].notna().all():
            df[c] = df[c].astype("int64")
    if "JF" not in df.columns or df["JF"].isna().any():
        df["JF"] = (df["J_mean"] + df["F_mean"]) / 2
    return df
