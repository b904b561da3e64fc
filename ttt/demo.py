"""The end-to-end demo: synthetic DAVIS -> DAVIS-C -> TTT (none vs tt-MCC) -> eval report -> summary.

Every stage is cached under a work folder whose name is a hash of the parameters that determine it, so a
re-run reuses finished stages (synth and build are no-ops on a complete root; the TTT sweep skips units
whose record says done). Profiles are plain dicts of parameters; see docs/demo.md.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from davis_c.atomic import write_bytes_atomic
from davis_c.corruptions import CORRUPTION_NAMES

STYLE_PHOTOS = ("immunohistochemistry", "retina", "coffee", "hubble_deep_field")
"""Stand-in style images 1..4.png (scikit-image photos; the official ones need a download)."""

PROFILES: dict[str, dict[str, Any]] = {
    "full": {"videos": 2, "frames": 12, "size": (176, 96), "max_objects": 3, "synth_seed": 0, "seeds": (1, 5, 10),
             "corruptions": tuple(CORRUPTION_NAMES), "strengths": ("low", "med", "high"),
             "iterations": 4, "iters_per_step": 2, "lr": None, "workers": 2, "threads": 1},
    "ci": {"videos": 2, "frames": 8, "size": (128, 72), "max_objects": 2, "synth_seed": 0, "seeds": (1,),
           "corruptions": ("gaussian_noise", "brightness", "glass_blur", "defocus_blur", "motion_blur", "cartoon"),
           "strengths": ("high",), "iterations": 6, "iters_per_step": 3, "lr": None, "workers": 1,
           "threads": 1},
}
"""Profile name -> parameters. tt-MCC runs `iterations` in jump steps of `iters_per_step` (pseudo-labels refreshed
before each); `lr` None = the zoo's TTT learning rate; `workers`: local build/TTT processes; `synth_seed`: seed of
the synthetic val videos (another seed gives disjoint videos, e.g. to choose settings away from the demo's).
The ci profile has no style variant: the ONNX stylisation networks are int8 and onnxruntime's int8 kernels
round differently with and without VNNI, so stylised frames (and the CI golden) would depend on the CPU."""

DATA_KEYS = ("videos", "frames", "size", "max_objects", "synth_seed", "corruptions", "strengths")
METHODS = ("none", "mcc")


def resolve_profile(name: str, overrides: dict[str, Any]) -> dict[str, Any]:
    """The profile `name` with the non-None `overrides` applied (a fresh dict)."""
    from davis_c.errors import UserError

    if name not in PROFILES:
        raise UserError(f"unknown demo profile '{name}'; choose one of: {', '.join(PROFILES)}")
    params = dict(PROFILES[name])
    params.update({k: v for k, v in overrides.items() if v is not None})
    for key in ("videos", "frames", "iterations", "iters_per_step", "workers", "threads"):
        if int(params[key]) < 1:
            raise UserError(f"--{key.replace('_', '-')} must be positive (got {params[key]})")
    if int(params["synth_seed"]) < 0:
        raise UserError(f"--synth-seed must be >= 0 (got {params['synth_seed']})")
    return params


def short_hash(obj: Any) -> str:
    """12 hex digits of the sha256 of `obj` as canonical JSON."""
    text = json.dumps(obj, sort_keys=True, default=list)
    return hashlib.sha256(text.encode()).hexdigest()[:12]


def data_dir(work: Path, params: dict[str, Any]) -> Path:
    """Work folder of the data stages (synthetic root, style images, DAVIS-C) for these parameters."""
    return Path(work) / f"data-{short_hash({k: params[k] for k in DATA_KEYS})}"


def variants(params: dict[str, Any]) -> list[str]:
    """clean + every built `<strength>/<corruption>`."""
    return ["clean"] + [f"{s}/{c}" for s in params["strengths"] for c in params["corruptions"]]


def write_style_images(folder: Path) -> Path:
    """Four stand-in style images `1.png..4.png` (longer side 256) from scikit-image photos."""
    import cv2
    import skimage.data

    folder.mkdir(parents=True, exist_ok=True)
    for i, name in enumerate(STYLE_PHOTOS, 1):
        path = folder / f"{i}.png"
        if path.is_file():
            continue
        rgb = np.asarray(getattr(skimage.data, name)())[:, :, :3]
        h, w = rgb.shape[:2]
        s = 256 / max(h, w)
        small = cv2.resize(rgb, (round(w * s), round(h * s)), interpolation=cv2.INTER_AREA)
        ok, png = cv2.imencode(".png", np.ascontiguousarray(small[:, :, ::-1]))
        write_bytes_atomic(path, png.tobytes())
    return folder


def stage_data(work: Path, params: dict[str, Any], progress: bool = True) -> tuple[Path, Path]:
    """Synthetic val set and its DAVIS-C variants (both resumable); returns (synth root, DAVIS-C root)."""
    from davis_c.build import BuildConfig, build
    from davis_c.corruptions import Options
    from davis_c.synth import generate

    root = data_dir(work, params)
    synth = generate(root / "synth", n_train=0, n_val=params["videos"], n_frames=params["frames"],
                     size=tuple(params["size"]), seed=params["synth_seed"], max_objects=params["max_objects"],
                     progress=progress, workers=params["workers"])
    styles = write_style_images(root / "styles")
    cfg = BuildConfig(src=synth, out=root / "DAVIS-C", corruptions=tuple(params["corruptions"]),
                      strengths=tuple(params["strengths"]), workers=params["workers"], seed=0,
                      options=Options(styles_dir=styles))
    build(cfg, progress=progress)
    return synth, root / "DAVIS-C"


def ttt_config(method: str, params: dict[str, Any], zoo_lr: float):
    """The TTTConfig of the demo's `method` (official defaults except the demo's shorter schedule)."""
    from ttt.tta import TTTConfig

    cfg = TTTConfig(method=method, lr=params["lr"] if params["lr"] is not None else zoo_lr)
    if method == "none":
        return cfg
    return replace(cfg, iterations=params["iterations"], iters_per_step=params["iters_per_step"])


def stage_ttt(root: Path, synth: Path, davis_c: Path, method: str, params: dict[str, Any], model: str,
              weights: str | None) -> Path:
    """Run (or resume) the sweep of `method` over clean + the variants x seeds x videos; its results.csv."""
    from davis_c.dataset import DavisDataset
    from davis_c.errors import UserError
    from davis_c.runmeta import write_run_json
    from ttt.cli_run import _meta
    from ttt.executors import EXECUTORS
    from ttt.runner import RunContext
    from ttt.sweep import RunPaths, pending_units, plan_units, rebuild_results, summarize
    from ttt.zoo import get_spec, resolve_weights

    spec = get_spec(model)
    path, sha = resolve_weights(spec, weights)
    cfg = ttt_config(method, params, spec.ttt_lr)
    out = (root / "runs" / f"{model}-{method}-{short_hash([sha, cfg.to_dict()])}").resolve()
    out.mkdir(parents=True, exist_ok=True)
    ctx = RunContext(out=out, data=synth.resolve(), davis_c=davis_c.resolve(), model=model,
                     weights=str(path) if weights else None, ttt=cfg, device="cpu", split="val",
                     dataset_name="synth-val", meta=_meta(), threads=params["threads"])
    videos = DavisDataset.from_root(synth).videos("val")
    units = plan_units(model, method, variants(params), params["seeds"], videos)
    paths = RunPaths(out)
    todo = pending_units(paths, units)
    write_run_json(out, {"model": model, "method": method, "checkpoint": str(path), "checkpoint_sha256": sha,
                         "ttt_config": cfg.to_dict(), "variants": variants(params),
                         "seeds": list(params["seeds"]), "videos": videos, "units": len(units),
                         "pending": len(todo)})
    print(f"ttt {method}: {len(units)} units, {len(units) - len(todo)} already done -> {out}", flush=True)
    EXECUTORS["local"](todo, ctx, workers=params["workers"])
    rebuild_results(paths)
    counts = summarize(paths, units)
    if counts["failed"] or counts["missing"]:
        raise UserError(f"{out}: {counts['failed']} unit(s) failed, {counts['missing']} missing "
                        f"(see {paths.failures}); re-run the demo to retry them")
    return paths.results


def merge_results(tables: list[Path], dest: Path) -> pd.DataFrame:
    """Concatenate the per-method results tables into `dest` (atomic, deduplicated)."""
    from eval.results import dedupe, read_results, write_results

    df = dedupe(pd.concat([read_results(t) for t in tables], ignore_index=True))
    df = df.sort_values(["method", "strength", "corruption", "seed", "video", "object"]).reset_index(drop=True)
    write_results(dest, df)
    return df


COLUMNS = ("clean", "low", "med", "high", "avg")


def summary_rows(df: pd.DataFrame) -> list[dict[str, Any]]:
    """Table-1 rows (J&F x100 per strength and avg: mean, std over seeds, n seeds) for each method."""
    from eval.tables import table1

    rows = []
    t1 = table1(df)
    t1 = t1.assign(_o=[METHODS.index(m) if m in METHODS else len(METHODS) for m in t1["method"]])
    for _, r in t1.sort_values(["model", "_o", "method"]).iterrows():
        rec = {"model": r["model"], "method": r["method"], "label": r["label"]}
        for c in COLUMNS:
            mean, std, n = r[c]
            rec[c] = {"mean": None if pd.isna(mean) else round(float(mean), 6),
                      "std": None if pd.isna(std) else round(float(std), 6), "n_seeds": int(n)}
        rows.append(rec)
    return rows


def format_summary(rows: list[dict[str, Any]]) -> str:
    """The summary as a fixed-width text table (J&F x100, mean ± std over seeds) plus the tt-MCC gap."""
    head = f"{'J&F (x100)':<28}" + "".join(f"{c:>16}" for c in COLUMNS)
    lines = [head, "-" * len(head)]

    def cell(v: dict[str, Any]) -> str:
        return "-" if v["mean"] is None else f"{v['mean']:.2f} ± {v['std']:.2f}"

    for r in rows:
        lines.append(f"{r['label']:<28}" + "".join(f"{cell(r[c]):>16}" for c in COLUMNS))
    by = {r["method"]: r for r in rows}
    if "none" in by and "mcc" in by:
        gaps = []
        for c in COLUMNS:
            a, b = by["mcc"][c]["mean"], by["none"][c]["mean"]
            gaps.append("-" if a is None or b is None else f"{a - b:+.2f}")
        lines.append(f"{'tt-MCC - none':<28}" + "".join(f"{g:>16}" for g in gaps))
    n = max((r[c]["n_seeds"] for r in rows for c in COLUMNS), default=0)
    lines.append(f"(mean ± std over {n} seed(s); columns: clean, the three strengths, their average)")
    return "\n".join(lines)


def golden_summary(df: pd.DataFrame, params: dict[str, Any]) -> dict[str, Any]:
    """Hash-free numeric summary for the CI regression: Table-1 rows, mean J/F/J&F per method x variant,
    and J&F of every (method, variant, seed, video, object)."""
    per_variant: dict[str, dict[str, dict[str, float]]] = {}
    for (method, variant), g in df.groupby(["method", "variant"], sort=True):
        per_variant.setdefault(method, {})[variant] = {m: round(float(g[m].mean()), 6)
                                                      for m in ("J_mean", "F_mean", "JF")}
    objects = {f"{r.method}|{r.variant}|{r.seed}|{r.video}|{r.object}": round(float(r.JF), 6)
               for r in df.itertuples()}
    return {"format": "demo-summary/1", "params": {k: list(v) if isinstance(v, tuple) else v
                                                   for k, v in sorted(params.items())},
            "table1": summary_rows(df), "per_variant": per_variant, "objects": dict(sorted(objects.items()))}


def _numbers(obj: Any, prefix: str = "") -> dict[str, float | None]:
    """Flatten the numeric leaves of a summary into {'a.b.c': value}."""
    if isinstance(obj, dict):
        out: dict[str, float | None] = {}
        for k, v in obj.items():
            out.update(_numbers(v, f"{prefix}{k}."))
        return out
    if isinstance(obj, list):
        out = {}
        for i, v in enumerate(obj):
            out.update(_numbers(v, f"{prefix}{i}."))
        return out
    if obj is None or isinstance(obj, (int, float)) and not isinstance(obj, bool):
        return {prefix[:-1]: obj}
    return {}


def compare_summaries(got: dict[str, Any], want: dict[str, Any], tol: float) -> list[str]:
    """Differences between two summaries: missing/extra keys, changed parameters, numbers off by > `tol`
    (J&F fractions; Table-1 values are x100 so they get 100 x `tol`)."""
    problems = []
    if got.get("params") != want.get("params"):
        problems.append(f"parameters differ: {got.get('params')} vs golden {want.get('params')}")
    g = {k: v for k, v in _numbers(got).items() if not k.startswith("params.")}
    w = {k: v for k, v in _numbers(want).items() if not k.startswith("params.")}
    problems += [f"missing: {k}" for k in sorted(set(w) - set(g))]
    problems += [f"unexpected: {k}" for k in sorted(set(g) - set(w))]
    for k in sorted(set(g) & set(w)):
        a, b = g[k], w[k]
        t = tol * 100 if k.startswith("table1.") else tol
        if (a is None) != (b is None) or (a is not None and abs(a - b) > t):
            problems.append(f"{k}: {a} vs golden {b}")
    return problems


def _timed(times: dict[str, dict[str, float]], name: str, fn, *args, **kwargs):
    """Call fn, recording its wall and CPU seconds (this process + finished children) in `times[name]`."""
    import os
    import time

    t0, c0 = time.perf_counter(), os.times()
    result = fn(*args, **kwargs)
    c1 = os.times()
    cpu = (c1.user - c0.user) + (c1.system - c0.system) + (c1.children_user - c0.children_user) \
        + (c1.children_system - c0.children_system)
    times[name] = {"wall_s": round(time.perf_counter() - t0, 2), "cpu_s": round(cpu, 2)}
    return result


def run_demo(out: Path, params: dict[str, Any], work: Path, model: str = "stcn-tiny-synth",
             weights: str | None = None, report: bool = True, progress: bool = True) -> dict[str, Any]:
    """Every stage of the demo (each reused when already complete); returns the summary and stage times.

    Writes `out/results.csv`, `out/summary.json` and (with `report`) the eval report into `out`.
    """
    from eval.report import build_report
    from ttt.zoo import get_spec, resolve_weights

    resolve_weights(get_spec(model), weights)  # a missing checkpoint fails before any work
    out, times = Path(out), {}
    synth, davis_c = _timed(times, "data", stage_data, Path(work), params, progress)
    root = data_dir(Path(work), params)
    tables = [_timed(times, f"ttt_{m}", stage_ttt, root, synth, davis_c, m, params, model, weights)
              for m in METHODS]
    out.mkdir(parents=True, exist_ok=True)
    df = merge_results(tables, out / "results.csv")
    summary = golden_summary(df, params)
    if report:
        _timed(times, "report", build_report, out / "results.csv", out,
               title=f"Demo: {model}, none vs tt-MCC on synthetic DAVIS-C")
    from davis_c.atomic import write_text_atomic

    write_text_atomic(out / "summary.json", json.dumps(summary, indent=1, sort_keys=True) + "\n")
    return {"summary": summary, "times": times, "data": str(root), "runs": [str(t.parent) for t in tables]}
