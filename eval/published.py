"""The paper's published J&F numbers (Tables 1 and 3, with stds) and the reproduced-vs-published check.

Source: Bertrand et al., "Test-time Training for Matching-based Video Object Segmentation", NeurIPS 2023,
Tables 1 and 3 and the numbers quoted in Sec. 4.2 / App. B.9, shipped as `eval/data/published_numbers.csv`
(values in J&F points, x100). Definitions used by the paper (checked against its numbers):
Table 1 "avg" = mean of (no corruption, low, med, high); "DAVIS-C" in Tables 1-left and 3 = mean of
(low, med, high), each strength being the mean over its 14 corruptions.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from importlib import resources

import numpy as np
import pandas as pd

from davis_c.errors import UserError

# Which of our zoo models a (table, architecture) of the paper is.
SOURCE_MODELS = {
    "Table1-left": {"STCN": "stcn-bl30k", "XMem": "xmem-bl30k"},
    "Table1-right": {"STCN": "stcn-dy", "XMem": "xmem-dy"},
    "Table3-left": {"STCN": "stcn-dy", "XMem": "xmem-dy"},
    "Table3-right": {"STCN": "stcn-s0", "XMem": "xmem-s0"},
}
METHODS = {"": "none", "tt-MCC": "mcc", "tt-Ent": "ent", "tt-AE": "ae"}
DEFAULT_ITERATIONS = 100  # the paper's default TTT length (Table 3's tt-MCC-100 equals Table 1's tt-MCC)
DATASET_ALIASES = {
    "DAVIS": ("davis", "davis2017", "davis-2017", "davis17", "davis2017-val", "davis-2017-val", "davis17-val"),
    "YouTube-VOS": ("youtube-vos", "youtubevos", "ytvos", "yt18", "youtube-vos-2018", "ytvos18"),
    "MOSE": ("mose", "mose-val"),
}
STRENGTH_COLUMNS = ("no_corr", "low", "med", "high")


def load_published() -> pd.DataFrame:
    """The published numbers shipped with the package."""
    with resources.files("eval").joinpath("data/published_numbers.csv").open("r") as fh:
        return pd.read_csv(fh)


def dataset_family(name: str) -> str | None:
    """'DAVIS', 'YouTube-VOS', 'MOSE' or None for a results-table dataset name."""
    n = str(name).strip().lower()
    for family, aliases in DATASET_ALIASES.items():
        if n in aliases or n.startswith(aliases[0]):
            return family
    return None


@dataclass(frozen=True)
class Target:
    """What a published row refers to in our terms."""

    model: str
    method: str
    iterations: int | None
    family: str
    strengths: tuple[str, ...]  # results strengths averaged (mean of per-strength means)


def parse_row(row) -> Target | None:
    """Map a published row to (model, method, dataset, strengths), or None (HODOR, text ablations)."""
    models = SOURCE_MODELS.get(row["source"])
    m = re.fullmatch(r"(STCN|XMem)(?:\+(tt-[A-Za-z]+)(?:-(\d+))?)?", str(row["method"]))
    if models is None or m is None:
        return None
    arch, ttt, iters = m.groups()
    method = METHODS.get(ttt or "")
    if method is None:
        return None
    iterations = int(iters) if iters else (DEFAULT_ITERATIONS if method != "none" else None)
    ds = str(row["dataset"])
    if ds in STRENGTH_COLUMNS:
        strengths = ("clean",) if ds == "no_corr" else (ds,)
        return Target(models[arch], method, iterations, "DAVIS", strengths)
    if ds == "avg":
        return Target(models[arch], method, iterations, "DAVIS", ("clean", "low", "med", "high"))
    if ds == "DAVIS-C":
        return Target(models[arch], method, iterations, "DAVIS", ("low", "med", "high"))
    return Target(models[arch], method, iterations, ds, ("clean",))


def _select(results: pd.DataFrame, t: Target) -> pd.DataFrame:
    fam = results["dataset"].map(dataset_family)
    sel = results[(fam == t.family) & (results["model"] == t.model) & (results["method"] == t.method)]
    if "iterations" in sel.columns and t.iterations is not None:
        sel = sel[sel["iterations"].astype(float) == t.iterations]
    elif t.iterations not in (None, DEFAULT_ITERATIONS):
        return sel.iloc[0:0]  # a non-default iteration count needs an `iterations` column
    return sel


def reproduce(results: pd.DataFrame, t: Target) -> tuple[float, float, int] | None:
    """(mean, std over seeds, n_seeds) in J&F points, or None when a needed strength has no rows."""
    sel = _select(results, t)
    per_seed = []
    for _seed, g in sel.groupby("seed"):
        vals = []
        for s in t.strengths:
            gs = g[g["strength"] == s]
            if gs.empty:
                return None
            vals.append(gs["JF"].mean())
        per_seed.append(100.0 * float(np.mean(vals)))
    if not per_seed:
        return None
    std = float(np.std(per_seed, ddof=1)) if len(per_seed) > 1 else 0.0
    return float(np.mean(per_seed)), std, len(per_seed)


def check_published(results: pd.DataFrame, tolerance: float = 0.5, k_std: float = 3.0) -> pd.DataFrame:
    """One row per published number: reproduced value, delta and status.

    status: ``ok`` / ``FAIL`` (|delta| above the allowed gap: `k_std` x the published std where the paper
    gives one, else `tolerance`), ``no result`` (a row we can reproduce but the table lacks), or
    ``not comparable`` (HODOR, text ablations).
    """
    out = []
    for _, row in load_published().iterrows():
        t = parse_row(row)
        rec = {"source": row["source"], "setting": row["setting"], "method": row["method"],
               "dataset": row["dataset"], "published": float(row["jf"]),
               "std": float(row["std"]) if pd.notna(row["std"]) else np.nan,
               "model": t.model if t else "", "reproduced": np.nan, "repro_std": np.nan, "n_seeds": 0,
               "delta": np.nan, "allowed": np.nan, "status": "not comparable"}
        if t is not None:
            got = reproduce(results, t)
            rec["allowed"] = k_std * rec["std"] if pd.notna(rec["std"]) else tolerance
            if got is None:
                rec["status"] = "no result"
            else:
                rec["reproduced"], rec["repro_std"], rec["n_seeds"] = got
                rec["delta"] = rec["reproduced"] - rec["published"]
                rec["status"] = "ok" if abs(rec["delta"]) <= rec["allowed"] + 1e-9 else "FAIL"
        out.append(rec)
    return pd.DataFrame(out)


def format_check(table: pd.DataFrame) -> str:
    """Plain-text report: matched rows (published / reproduced / delta), then the rows with no result."""
    matched = table[table["status"].isin(["ok", "FAIL"])]
    lines = []
    if not matched.empty:
        lines.append(f"{'source':<13} {'model':<11} {'method':<16} {'dataset':<12} {'published':>9} "
                     f"{'reproduced':>10} {'delta':>6} {'allowed':>7}  status")
        for _, r in matched.iterrows():
            pub = f"{r['published']:.1f}" + (f"±{r['std']:.1f}" if pd.notna(r["std"]) else "")
            rep = f"{r['reproduced']:.1f}" + (f"±{r['repro_std']:.1f}" if r["n_seeds"] > 1 else "")
            lines.append(f"{r['source']:<13} {r['model']:<11} {r['method']:<16} {r['dataset']:<12} {pub:>9} "
                         f"{rep:>10} {r['delta']:>+6.1f} {r['allowed']:>7.2f}  {r['status']}")
    missing = table[table["status"] == "no result"]
    if not missing.empty:
        lines.append("")
        lines.append(f"published rows with no result in the table ({len(missing)}):")
        for _, r in missing.iterrows():
            lines.append(f"  {r['source']}: {r['method']} on {r['dataset']} ({r['model']})")
    n_nc = int((table["status"] == "not comparable").sum())
    n_fail = int((table["status"] == "FAIL").sum())
    lines.append("")
    lines.append(f"{len(matched)} matched, {n_fail} off by more than allowed, {len(missing)} with no result, "
                 f"{n_nc} not comparable (HODOR, text ablations)")
    return "\n".join(lines)


def require_columns(results: pd.DataFrame) -> None:
    """UserError when the table lacks what the check needs."""
    need = ("dataset", "strength", "model", "method", "seed", "JF")
    missing = [c for c in need if c not in results.columns]
    if missing:
        raise UserError(f"results table lacks column(s) {', '.join(missing)}")
