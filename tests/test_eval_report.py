"""Results table I/O and report generation on a synthetic results table (all tables and figures)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from davis_c.dataset import write_mask
from davis_c.errors import UserError
from eval.__main__ import main
from eval.results import ITERATION_KEY, RESULT_COLUMNS, RESULT_KEY, append_results, read_results, variant_name
from eval.tables import table1

CORRUPTIONS = ("gaussian_noise", "motion_blur")


def synthetic_rows(seed: int = 0) -> list[dict]:
    rng = np.random.default_rng(seed)
    rows = []
    for method, gain in (("none", 0.0), ("mcc", 0.05)):
        for s in (1, 2):
            for strength, base in (("clean", 0.85), ("low", 0.75), ("med", 0.7), ("high", 0.6)):
                for corr in ("none",) if strength == "clean" else CORRUPTIONS:
                    for video in ("bear", "dog", "goat"):
                        for obj in (1, 2):
                            jf = float(np.clip(base + gain + rng.normal(0, 0.05), 0, 1))
                            rows.append({"dataset": "davis2017-val", "variant": variant_name(strength, corr),
                                         "strength": strength, "corruption": corr, "model": "stcn-dy",
                                         "method": method, "seed": s, "video": video, "object": obj,
                                         "J_mean": jf - 0.02, "J_recall": 0.9, "J_decay": 0.01, "F_mean": jf + 0.02,
                                         "F_recall": 0.9, "F_decay": 0.01, "JF": jf, "n_frames": 10,
                                         "checkpoint_sha256": "abc", "git_sha": "def", "versions": "{}",
                                         "device": "cpu"})
    return rows


def test_append_dedupes_on_key_last_wins_and_reads_back(tmp_path):
    path = tmp_path / "results.csv"
    rows = synthetic_rows()
    append_results(path, rows[:10])
    changed = dict(rows[3], JF=0.123)
    df = append_results(path, rows[5:20] + [changed])
    assert len(df) == 20
    back = read_results(path)
    assert list(back.columns[:len(RESULT_COLUMNS)]) == list(RESULT_COLUMNS)
    hit = back[(back["video"] == rows[3]["video"]) & (back["object"] == rows[3]["object"])
               & (back["variant"] == rows[3]["variant"]) & (back["seed"] == rows[3]["seed"])
               & (back["method"] == rows[3]["method"])]
    assert hit["JF"].tolist() == [0.123]
    assert back["seed"].dtype == np.int64 and back["object"].dtype == np.int64
    assert not list(tmp_path.glob("*.part*"))
    if (tmp_path / "results.parquet").exists():  # the parquet copy written when pyarrow is installed
        pd.testing.assert_frame_equal(read_results(tmp_path / "results.parquet"), back, check_dtype=False)


def test_parquet_and_bad_tables(tmp_path):
    pytest.importorskip("pyarrow")
    pq = tmp_path / "r.parquet"
    append_results(pq, synthetic_rows()[:6])
    assert len(read_results(pq)) == 6
    bad = tmp_path / "bad.csv"
    bad.write_text("a,b\n1,2\n")
    with pytest.raises(UserError, match="bad.csv: not a results table, missing column"):
        read_results(bad)
    with pytest.raises(UserError, match="not found"):
        read_results(tmp_path / "none.csv")


def test_table1_numbers(tmp_path):
    df = pd.DataFrame(synthetic_rows())
    t = table1(df).set_index("label")
    for method, label in (("none", "stcn-dy"), ("mcc", "stcn-dy + tt-MCC")):
        per_seed = {}
        for s in (1, 2):
            d = df[(df["method"] == method) & (df["seed"] == s)]
            per_seed[s] = {st: 100 * d[d["strength"] == st]["JF"].mean() for st in ("clean", "low", "med", "high")}
        for st in ("clean", "low", "med", "high"):
            vals = [per_seed[s][st] for s in (1, 2)]
            mean, std, n = t.loc[label, st]
            assert mean == pytest.approx(np.mean(vals)) and std == pytest.approx(np.std(vals, ddof=1)) and n == 2
        avg = [np.mean(list(per_seed[s].values())) for s in (1, 2)]
        assert t.loc[label, "avg"][0] == pytest.approx(np.mean(avg))


def _frames_case(root):
    for t in range(5):
        gt = np.zeros((20, 24), np.uint8)
        gt[4:12, 3 + t:11 + t] = 1
        before = np.roll(gt, 3, axis=1)
        write_mask(root / "gt" / "bear" / f"{t:05d}.png", gt)
        write_mask(root / "before" / "bear" / f"{t:05d}.png", before)
        write_mask(root / "after" / "bear" / f"{t:05d}.png", gt)


def test_report_writes_all_tables_and_figures(tmp_path, capsys):
    results = tmp_path / "results.csv"
    append_results(results, synthetic_rows())
    iters = tmp_path / "iterations.csv"
    rows = [dict(r, iteration=i, JF=r["JF"] + 0.01 * i) for r in synthetic_rows()[:24] for i in (0, 10, 20)]
    append_results(iters, [dict(r, method="mcc") for r in rows], key=ITERATION_KEY)
    _frames_case(tmp_path)
    out = tmp_path / "report"
    rc = main(["report", "--results", str(results), "--out", str(out), "--iterations", str(iters),
               "--frames-gt", str(tmp_path / "gt" / "bear"), "--frames-before", str(tmp_path / "before" / "bear"),
               "--frames-after", str(tmp_path / "after" / "bear")])
    assert rc == 0
    for name in ("table1", "per_corruption"):
        for ext in ("md", "tex", "csv"):
            assert (out / "tables" / f"{name}.{ext}").stat().st_size > 0
    figs = {p.name for p in (out / "figures").iterdir()}
    for stem in ("fig5b_strength", "fig6_videos_stcn-dy_mcc_high", "fig6_videos_stcn-dy_mcc_low",
                 "fig16_frames_bear"):
        assert {f"{stem}.png", f"{stem}.pdf"} <= figs
    assert any(f.startswith("fig7_iterations_stcn-dy_mcc") and f.endswith(".png") for f in figs)
    index = (out / "README.md").read_text()
    assert "![fig5b_strength](figures/fig5b_strength.png)" in index and "| stcn-dy + tt-MCC |" in index
    assert "fig16_frames_bear.png" in index and (out / "run.json").is_file()
    tex = (out / "tables" / "table1.tex").read_text()
    assert r"\toprule" in tex and r"$\pm$" in tex
    csv = pd.read_csv(out / "tables" / "table1.csv")
    assert set(csv["label"]) == {"stcn-dy", "stcn-dy + tt-MCC"} and csv["avg_n_seeds"].tolist() == [2, 2]


def test_report_cli_errors(tmp_path, capsys):
    assert main(["report", "--results", str(tmp_path / "missing.csv"), "--out", str(tmp_path / "r")]) == 2
    assert "missing.csv: results table not found" in capsys.readouterr().err
    assert list(RESULT_KEY)[-1] == "object"
