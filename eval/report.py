"""A report folder from the results table: tables (Markdown, LaTeX, CSV), figures (PNG, PDF), the
published-number check, and a README.md index embedding them. Every file is written atomically; files
already in the folder (e.g. the results table itself) are left alone.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from davis_c.atomic import write_text_atomic
from eval import figures
from eval.published import check_published, format_check
from eval.results import ITERATION_KEY, read_results
from eval.tables import row_label, write_tables

MAX_FIG7 = 6  # Figure 7 panels per (model, method): the first variants in sorted order


@dataclass
class FramesSpec:
    """Inputs of Figure 16: ground-truth and before/after prediction folders of one video."""

    gt_dir: Path
    before_dir: Path
    after_dir: Path


def _rel(paths, root: Path) -> list[str]:
    return [str(Path(p).relative_to(root)) for p in paths]


def _fig6_all(df: pd.DataFrame, fig_dir: Path) -> list[Path]:
    out = []
    for model, g in df.groupby("model"):
        if "none" not in set(g["method"]):
            continue
        for method in sorted(set(g["method"]) - {"none"}):
            for strength in ("low", "med", "high"):
                if strength in set(g["strength"]):
                    out += figures.figure6(g, fig_dir, model, method, strength)
    return out


def _fig7_all(iters: pd.DataFrame, fig_dir: Path) -> list[Path]:
    out = []
    for (model, method), g in iters.groupby(["model", "method"]):
        for variant in sorted(set(g["variant"]))[:MAX_FIG7]:
            out += figures.figure7(g, fig_dir, model, method, variant)
    return out


def _fig16(spec: FramesSpec, fig_dir: Path) -> list[Path]:
    from eval.score import score_video_frames

    before = score_video_frames(spec.gt_dir, spec.before_dir)
    after = score_video_frames(spec.gt_dir, spec.after_dir)
    return figures.figure16(before, after, fig_dir)


def _index(out: Path, title: str, tables: dict, figs: dict[str, list[Path]], check_txt: str | None, df) -> str:
    lines = [f"# {title}", "", f"{len(df)} result rows: models {', '.join(sorted(set(df['model'])))}; "
             f"methods {', '.join(sorted(set(df['method'])))}; seeds {', '.join(map(str, sorted(set(df['seed']))))}.",
             "J&F values are x100: per seed the mean over objects (and over corruptions of a strength), then "
             "mean ± std over seeds.", ""]
    for name, paths in tables.items():
        heading = "Table 1 layout (J&F)" if name == "table1" else "Per corruption and strength (J&F)"
        lines += [f"## {heading}", "", Path(paths["md"]).read_text(), "",
                  f"Files: [{paths['md'].name}](tables/{paths['md'].name}), [{paths['tex'].name}](tables/{paths['tex'].name}), "
                  f"[{paths['csv'].name}](tables/{paths['csv'].name})", ""]
    captions = {"fig5b": "Figure 5b: J&F vs corruption strength",
                "fig6": "Figure 6: per-video J&F before (▼) and after (●) TTT; red where TTT hurt, grey where it helped",
                "fig7": "Figure 7: ΔJ&F vs TTT iterations per video", "fig16": "Figure 16: per-frame J&F before/after TTT"}
    for key, paths in figs.items():
        pngs = [p for p in _rel(paths, out) if p.endswith(".png")]
        if pngs:
            lines += [f"## {captions[key]}", ""] + [f"![{Path(p).stem}]({p}) ([pdf]({p[:-4]}.pdf))" for p in pngs] + [""]
    if check_txt is not None:
        lines += ["## Published numbers (paper) vs reproduced", "", "```", check_txt, "```",
                  "", "See [published_check.csv](published_check.csv).", ""]
    return "\n".join(lines)


def build_report(results: str | Path, out_dir: str | Path, *, iterations: str | Path | None = None,
                 frames: FramesSpec | None = None, title: str | None = None) -> dict[str, list[Path]]:
    """Write every table and figure the results support into `out_dir`; returns written figure paths."""
    out = Path(out_dir)
    df = read_results(results)
    fig_dir = out / "figures"
    tables = write_tables(df, out / "tables")
    figs: dict[str, list[Path]] = {"fig5b": figures.figure5b(df, fig_dir), "fig6": _fig6_all(df, fig_dir)}
    if iterations is not None:
        figs["fig7"] = _fig7_all(read_results(iterations, key=ITERATION_KEY), fig_dir)
    if frames is not None:
        figs["fig16"] = _fig16(frames, fig_dir)
    check = check_published(df)
    check_txt = None
    if (check["status"].isin(["ok", "FAIL"])).any():
        write_text_atomic(out / "published_check.csv", check.to_csv(index=False))
        check_txt = format_check(check)
    labels = sorted({row_label(m, t) for m, t in zip(df["model"], df["method"])})
    write_text_atomic(out / "README.md", _index(out, title or f"Report: {', '.join(labels)}", tables, figs,
                                                check_txt, df))
    return figs
