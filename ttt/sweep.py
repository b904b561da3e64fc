"""Sweep units, their on-disk state, resumability and the merged results table.

A unit is one (model, method, variant, seed, video). Within a run directory it owns:

* ``RUN_DIR/<variant>/<seed>/<video>/*.png`` - predictions (a directory renamed into place whole);
* ``RUN_DIR/logs/<variant>/<seed>/<video>.json`` - loss per iteration, time, peak memory (written first);
* ``RUN_DIR/units/<variant>/<seed>/<video>.json`` - the unit record: ``status`` ``done`` with its result
  rows, or ``failed`` with the error (written last, atomically).

A unit is done exactly when its record says ``done``. ``RUN_DIR/results.csv`` is never appended to in
place: it is rebuilt atomically from the ``done`` records (deduplicated on the result key), so a kill at
any moment can neither lose nor duplicate rows; a re-run recomputes whatever has no record.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from davis_c.atomic import write_text_atomic
from davis_c.corruptions.base import CORRUPTION_NAMES, STRENGTHS
from davis_c.errors import UserError

CLEAN = "clean"


@dataclass(frozen=True)
class Unit:
    """One sweep unit."""

    model: str
    method: str
    variant: str
    seed: int
    video: str

    @property
    def key(self) -> str:
        """Identifier inside a run directory: ``<variant>/<seed>/<video>``."""
        return f"{self.variant}/{self.seed}/{self.video}"

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def all_variants() -> list[str]:
    """The 42 DAVIS-C variants ``<strength>/<corruption>``, strengths low, med, high."""
    return [f"{s}/{c}" for s in STRENGTHS for c in CORRUPTION_NAMES]


def parse_variants(items: Sequence[str]) -> list[str]:
    """Expand ``clean``, ``all``, ``<strength>`` (its 14 corruptions) and ``<strength>/<corruption>``."""
    out: list[str] = []
    for item in items:
        if item == CLEAN:
            names = [CLEAN]
        elif item == "all":
            names = all_variants()
        elif item in STRENGTHS:
            names = [f"{item}/{c}" for c in CORRUPTION_NAMES]
        else:
            strength, _, corruption = item.partition("/")
            if strength not in STRENGTHS or corruption not in CORRUPTION_NAMES:
                raise UserError(f"unknown variant '{item}' (use clean, all, a strength "
                                f"({', '.join(STRENGTHS)}) or <strength>/<corruption>)")
            names = [item]
        out.extend(n for n in names if n not in out)
    if not out:
        raise UserError("no variants given")
    return out


def variant_fields(variant: str) -> dict[str, str]:
    """``variant, strength, corruption`` columns of the results table (clean: ``clean``/``none``)."""
    if variant == CLEAN:
        return {"variant": CLEAN, "strength": CLEAN, "corruption": "none"}
    strength, _, corruption = variant.partition("/")
    return {"variant": variant, "strength": strength, "corruption": corruption}


def plan_units(model: str, method: str, variants: Iterable[str], seeds: Iterable[int],
               videos: Sequence[str]) -> list[Unit]:
    """Every unit of the sweep, in variant, seed, video order."""
    return [Unit(model, method, v, int(s), n) for v in variants for s in seeds for n in videos]


@dataclass(frozen=True)
class RunPaths:
    """Where a run directory keeps each unit's files."""

    root: Path

    def pred_dir(self, unit: Unit) -> Path:
        return self.root / unit.variant / str(unit.seed) / unit.video

    def log_path(self, unit: Unit) -> Path:
        return self.root / "logs" / unit.variant / str(unit.seed) / f"{unit.video}.json"

    def record_path(self, unit: Unit) -> Path:
        return self.root / "units" / unit.variant / str(unit.seed) / f"{unit.video}.json"

    @property
    def results(self) -> Path:
        return self.root / "results.csv"

    @property
    def iterations(self) -> Path:
        return self.root / "iterations.csv"

    @property
    def failures(self) -> Path:
        return self.root / "failures.json"


def read_record(path: Path) -> dict[str, Any] | None:
    """A unit record, or None when absent or unreadable (then the unit is redone)."""
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return None


def is_done(paths: RunPaths, unit: Unit) -> bool:
    """True when the unit's record says done and its predictions exist."""
    rec = read_record(paths.record_path(unit))
    return bool(rec and rec.get("status") == "done" and paths.pred_dir(unit).is_dir())


def pending_units(paths: RunPaths, units: Sequence[Unit]) -> list[Unit]:
    """Units still to run (failed ones are retried)."""
    return [u for u in units if not is_done(paths, u)]


def write_record(paths: RunPaths, unit: Unit, record: dict[str, Any]) -> None:
    """Atomically write a unit's record (the commit point of a unit)."""
    payload = {"unit": unit.to_dict(), **record}
    write_text_atomic(paths.record_path(unit), json.dumps(payload, indent=1, sort_keys=True, default=str) + "\n")


def _iter_records(paths: RunPaths) -> Iterable[dict[str, Any]]:
    units_dir = paths.root / "units"
    if not units_dir.is_dir():
        return
    for p in sorted(units_dir.rglob("*.json")):
        if p.name.startswith("."):
            continue
        rec = read_record(p)
        if rec is not None:
            yield rec


def collect_rows(paths: RunPaths) -> tuple[list[dict], list[dict], list[dict]]:
    """(result rows of every done unit, their intermediate-iteration rows, failure records)."""
    rows: list[dict[str, Any]] = []
    iter_rows: list[dict[str, Any]] = []
    failures: list[dict[str, Any]] = []
    for rec in _iter_records(paths):
        if rec.get("status") == "done":
            rows.extend(rec.get("rows", []))
            iter_rows.extend(rec.get("iteration_rows", []))
        elif rec.get("status") == "failed":
            failures.append({k: rec.get(k) for k in ("unit", "error", "hint", "kind")})
    return rows, iter_rows, failures


def rebuild_results(paths: RunPaths) -> int:
    """Rewrite ``results.csv`` (``iterations.csv``, ``failures.json``) from the unit records; returns rows."""
    from ttt.results_io import write_table

    rows, iter_rows, failures = collect_rows(paths)
    n = write_table(paths.results, rows)
    if iter_rows:
        write_table(paths.iterations, iter_rows, iterations=True)
    if failures or paths.failures.exists():
        write_text_atomic(paths.failures, json.dumps(failures, indent=1, sort_keys=True) + "\n")
    return n


def summarize(paths: RunPaths, units: Sequence[Unit]) -> dict[str, int]:
    """Counts of done / failed / missing units of a sweep."""
    out = {"done": 0, "failed": 0, "missing": 0}
    for u in units:
        rec = read_record(paths.record_path(u))
        status = rec.get("status") if rec else None
        if status == "done" and paths.pred_dir(u).is_dir():
            out["done"] += 1
        elif status == "failed":
            out["failed"] += 1
        else:
            out["missing"] += 1
    return out
