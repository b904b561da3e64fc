"""Report figures (PNG and PDF, sized for a paper column): Figure 5b (J&F vs strength), Figure 6 (per-video
before/after TTT per corruption), Figure 7 (ΔJ&F vs TTT iterations), Figure 16 (per-frame J&F of a video).
"""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from davis_c.atomic import atomic_path  # noqa: E402
from eval.tables import STRENGTH_ORDER, row_label  # noqa: E402

STYLE = {"font.size": 8, "axes.titlesize": 8, "axes.labelsize": 8, "legend.fontsize": 7,
         "xtick.labelsize": 7, "ytick.labelsize": 7, "figure.dpi": 150}
HURT, HELPED = "tab:red", "0.6"


def save(fig, out_dir: Path, name: str) -> list[Path]:
    """Write `<name>.png` and `<name>.pdf` atomically; close the figure."""
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = []
    for ext in ("png", "pdf"):
        p = out_dir / f"{name}.{ext}"
        with atomic_path(p) as tmp:
            fig.savefig(tmp, format=ext, bbox_inches="tight", dpi=200)
        paths.append(p)
    plt.close(fig)
    return paths


def figure5b(df: pd.DataFrame, out_dir: Path) -> list[Path]:
    """J&F (x100, mean over seeds, ± std band) vs corruption strength, one line per model ± method."""
    with plt.rc_context(STYLE):
        fig, ax = plt.subplots(figsize=(3.3, 2.4))
        ps = (df.groupby(["model", "method", "seed", "strength"])["JF"].mean() * 100).reset_index()
        for (model, method), g in ps.groupby(["model", "method"]):
            stats = g.groupby("strength")["JF"].agg(["mean", "std"]).reindex(STRENGTH_ORDER)
            x = np.arange(len(STRENGTH_ORDER))
            ok = stats["mean"].notna().to_numpy()
            ax.plot(x[ok], stats["mean"][ok], marker="o", ms=3, label=row_label(model, method))
            sd = stats["std"].fillna(0).to_numpy()
            ax.fill_between(x[ok], (stats["mean"] - sd)[ok], (stats["mean"] + sd)[ok], alpha=0.2)
        ax.set_xticks(range(len(STRENGTH_ORDER)), ["no corr.", "low", "med", "high"])
        ax.set_xlabel("corruption strength")
        ax.set_ylabel("J&F")
        ax.grid(alpha=0.3)
        ax.legend(frameon=False)
        return save(fig, out_dir, "fig5b_strength")


def video_scores(df: pd.DataFrame) -> pd.DataFrame:
    """J&F x100 per (model, method, strength, corruption, video): mean over objects and seeds."""
    return (df.groupby(["model", "method", "strength", "corruption", "video"])["JF"].mean() * 100).reset_index()


def figure6(df: pd.DataFrame, out_dir: Path, model: str, method: str, strength: str) -> list[Path]:
    """Per corruption at `strength`: each video before TTT (triangle) and after (circle), joined by a
    vertical line, red where TTT hurt and grey where it helped."""
    vs = video_scores(df[(df["model"] == model) & (df["strength"] == strength)])
    before = vs[vs["method"] == "none"].set_index(["corruption", "video"])["JF"]
    after = vs[vs["method"] == method].set_index(["corruption", "video"])["JF"]
    both = pd.concat({"before": before, "after": after}, axis=1).dropna()
    corrs = sorted(both.index.get_level_values(0).unique())
    if not corrs:
        return []
    ncol = min(4, len(corrs))
    nrow = int(np.ceil(len(corrs) / ncol))
    with plt.rc_context(STYLE):
        fig, axes = plt.subplots(nrow, ncol, figsize=(1.75 * ncol + 0.3, 1.5 * nrow + 0.3), squeeze=False,
                                 sharey=True)
        for ax, corr in zip(axes.ravel(), corrs):
            d = both.loc[corr].sort_values("before")
            x = np.arange(len(d))
            colors = [HURT if a < b else HELPED for a, b in zip(d["after"], d["before"])]
            ax.vlines(x, d["before"], d["after"], colors=colors, lw=1)
            ax.scatter(x, d["before"], marker="v", s=10, c=colors, zorder=3)
            ax.scatter(x, d["after"], marker="o", s=8, c=colors, zorder=3)
            ax.set_title(corr.replace("_", " "))
            ax.set_xticks([])
            ax.grid(axis="y", alpha=0.3)
        for ax in axes.ravel()[len(corrs):]:
            ax.set_visible(False)
        for ax in axes[:, 0]:
            ax.set_ylabel("J&F")
        fig.suptitle(f"{row_label(model, method)} vs {model}, {strength} strength "
                     "(▼ before, ● after TTT; red: TTT hurt)", fontsize=8)
        fig.tight_layout()
        return save(fig, out_dir, f"fig6_videos_{model}_{method}_{strength}")


def figure7(iters: pd.DataFrame, out_dir: Path, model: str, method: str, variant: str) -> list[Path]:
    """ΔJ&F (x100, vs the first logged iteration) against TTT iterations, one line per video."""
    d = iters[(iters["model"] == model) & (iters["method"] == method) & (iters["variant"] == variant)]
    if d.empty:
        return []
    per = (d.groupby(["video", "iteration"])["JF"].mean() * 100).reset_index()
    with plt.rc_context(STYLE):
        fig, ax = plt.subplots(figsize=(3.3, 2.4))
        for _video, g in per.groupby("video"):
            g = g.sort_values("iteration")
            delta = g["JF"] - g["JF"].iloc[0]
            ax.plot(g["iteration"], delta, lw=0.8, color=HURT if delta.iloc[-1] < 0 else "tab:blue", alpha=0.7)
        ax.axhline(0, color="k", lw=0.5)
        ax.set_xlabel("TTT iterations")
        ax.set_ylabel("ΔJ&F")
        ax.set_title(f"{row_label(model, method)}, {variant}")
        ax.grid(alpha=0.3)
        return save(fig, out_dir, f"fig7_iterations_{model}_{method}_{variant.replace('/', '-')}")


def figure16(frames_before, frames_after, out_dir: Path, label_after: str = "after TTT") -> list[Path]:
    """Per-frame J&F (mean over objects) of one video before and after TTT (`eval.score.VideoFrames`)."""
    def jf(vf):
        return 100 * np.nanmean((vf.J + vf.F) / 2, axis=0)
    with plt.rc_context(STYLE):
        fig, ax = plt.subplots(figsize=(3.3, 2.0))
        x = np.arange(len(frames_before.frame_names)) + 1
        ax.plot(x, jf(frames_before), lw=1, label="before TTT")
        ax.plot(x, jf(frames_after), lw=1, label=label_after)
        ax.set_xlabel("frame")
        ax.set_ylabel("J&F")
        ax.set_title(frames_before.video)
        ax.grid(alpha=0.3)
        ax.legend(frameon=False)
        return save(fig, out_dir, f"fig16_frames_{frames_before.video}")
