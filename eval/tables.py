"""Report tables as groupbys of the results table: Table 1 layout and per-corruption x strength.

J&F is aggregated as the paper does: per seed, the mean over objects (of all videos, and of all corruptions
of a strength); then mean ± std (ddof=1) over seeds. Values are shown x100.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from davis_c.atomic import write_text_atomic

STRENGTH_ORDER = ("clean", "low", "med", "high")
COLUMN_NAMES = {"clean": "no corr.", "low": "low", "med": "med", "high": "high", "avg": "avg"}
METHOD_NAMES = {"none": "", "mcc": "tt-MCC", "ent": "tt-Ent", "ae": "tt-AE"}


def row_label(model: str, method: str) -> str:
    """'stcn-dy' or 'stcn-dy + tt-MCC'."""
    m = METHOD_NAMES.get(method, method)
    return model if not m else f"{model} + {m}"


def _mean_std(values) -> tuple[float, float, int]:
    v = np.asarray([x for x in values if pd.notna(x)], dtype=float)
    if v.size == 0:
        return np.nan, np.nan, 0
    return float(v.mean()), float(v.std(ddof=1)) if v.size > 1 else 0.0, int(v.size)


def per_seed_strength(df: pd.DataFrame) -> pd.DataFrame:
    """J&F x100 per (model, method, seed, strength)."""
    return (df.groupby(["model", "method", "seed", "strength"])["JF"].mean() * 100).reset_index()


def table1(df: pd.DataFrame) -> pd.DataFrame:
    """Rows model ± TTT method; columns no corr./low/med/high/avg as (mean, std, n_seeds) triples."""
    ps = per_seed_strength(df)
    rows = []
    for (model, method), g in ps.groupby(["model", "method"], sort=True):
        wide = g.pivot(index="seed", columns="strength", values="JF")
        rec = {"model": model, "method": method, "label": row_label(model, method)}
        for s in STRENGTH_ORDER:
            rec[s] = _mean_std(wide[s]) if s in wide.columns else (np.nan, np.nan, 0)
        have = [s for s in STRENGTH_ORDER if s in wide.columns]
        rec["avg"] = _mean_std(wide[list(STRENGTH_ORDER)].mean(axis=1)) if len(have) == 4 else (np.nan, np.nan, 0)
        rows.append(rec)
    return pd.DataFrame(rows)


def per_corruption(df: pd.DataFrame) -> pd.DataFrame:
    """Rows (model, method, corruption); columns low/med/high as (mean, std, n_seeds) triples."""
    d = df[df["strength"] != "clean"]
    ps = (d.groupby(["model", "method", "corruption", "seed", "strength"])["JF"].mean() * 100).reset_index()
    rows = []
    for (model, method, corr), g in ps.groupby(["model", "method", "corruption"], sort=True):
        rec = {"model": model, "method": method, "label": row_label(model, method), "corruption": corr}
        for s in STRENGTH_ORDER[1:]:
            rec[s] = _mean_std(g[g["strength"] == s]["JF"])
        rows.append(rec)
    return pd.DataFrame(rows)


def _cell(v, latex: bool = False) -> str:
    mean, std, n = v
    if n == 0 or pd.isna(mean):
        return "–" if not latex else "--"
    pm = r"$\pm$" if latex else "±"
    return f"{mean:.1f}" if n < 2 else f"{mean:.1f} {pm} {std:.1f}"


def to_flat(t: pd.DataFrame, value_cols: list[str], id_cols: list[str]) -> pd.DataFrame:
    """Numbers as separate mean/std/n columns (the CSV form)."""
    out = t[id_cols].copy()
    for c in value_cols:
        out[f"{c}_mean"] = [v[0] for v in t[c]]
        out[f"{c}_std"] = [v[1] for v in t[c]]
        out[f"{c}_n_seeds"] = [v[2] for v in t[c]]
    return out


def to_markdown(t: pd.DataFrame, value_cols: list[str], id_cols: list[str], headers: list[str]) -> str:
    """A GitHub-flavoured Markdown table."""
    lines = ["| " + " | ".join(headers) + " |", "|" + "|".join(["---"] * len(id_cols) + ["---:"] * len(value_cols)) + "|"]
    for _, r in t.iterrows():
        lines.append("| " + " | ".join([str(r[c]) for c in id_cols] + [_cell(r[c]) for c in value_cols]) + " |")
    return "\n".join(lines) + "\n"


def _tex_escape(s: str) -> str:
    return s.replace("_", r"\_").replace("&", r"\&").replace("%", r"\%")


def to_latex(t: pd.DataFrame, value_cols: list[str], id_cols: list[str], headers: list[str]) -> str:
    """A booktabs LaTeX tabular."""
    spec = "l" * len(id_cols) + "c" * len(value_cols)
    lines = [rf"\begin{{tabular}}{{{spec}}}", r"\toprule", " & ".join(_tex_escape(h) for h in headers) + r" \\",
             r"\midrule"]
    for _, r in t.iterrows():
        cells = [_tex_escape(str(r[c])) for c in id_cols] + [_cell(r[c], latex=True) for c in value_cols]
        lines.append(" & ".join(cells) + r" \\")
    lines += [r"\bottomrule", r"\end{tabular}"]
    return "\n".join(lines) + "\n"


def write_table(t: pd.DataFrame, out_dir: Path, name: str, value_cols: list[str], id_cols: list[str],
                headers: list[str]) -> dict[str, Path]:
    """Write `<name>.md`, `<name>.tex` and `<name>.csv`; returns their paths."""
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = {ext: out_dir / f"{name}.{ext}" for ext in ("md", "tex", "csv")}
    write_text_atomic(paths["md"], to_markdown(t, value_cols, id_cols, headers))
    write_text_atomic(paths["tex"], to_latex(t, value_cols, id_cols, headers))
    write_text_atomic(paths["csv"], to_flat(t, value_cols, id_cols).to_csv(index=False))
    return paths


def write_tables(df: pd.DataFrame, out_dir: Path) -> dict[str, dict[str, Path]]:
    """Table 1 layout and the per-corruption table, each in Markdown, LaTeX and CSV."""
    cols = list(STRENGTH_ORDER) + ["avg"]
    t1 = table1(df)
    written = {"table1": write_table(t1, out_dir, "table1", cols, ["label"],
                                     ["J&F"] + [COLUMN_NAMES[c] for c in cols])}
    pc = per_corruption(df)
    if not pc.empty:
        written["per_corruption"] = write_table(pc, out_dir, "per_corruption", ["low", "med", "high"],
                                                ["label", "corruption"], ["model", "corruption", "low", "med", "high"])
    return written
