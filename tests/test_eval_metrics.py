"""Exactness of the DAVIS J&F measures: hand-computed cases, an independent brute-force oracle, the real-mask
fixture (official davis2017-evaluation and vos-benchmark numbers) and live vos-benchmark agreement."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from eval import metrics as M

# ---------------------------------------------------------------- hand-computed cases


def test_region_j_hand_cases():
    gt = np.zeros((4, 4), bool)
    pred = np.zeros((4, 4), bool)
    assert M.region_j(gt, pred) == 1.0  # both empty
    gt[0, 0:3] = True  # 3 px
    pred[0, 1:4] = True  # 3 px, 2 shared -> 2 / 4
    assert M.region_j(gt, pred) == 0.5
    void = np.zeros((4, 4), bool)
    void[0, 3] = True  # the only pred-only pixel becomes void -> 2 / 3
    assert M.region_j(gt, pred, void) == pytest.approx(2 / 3, abs=0)
    assert M.region_j(gt, np.zeros_like(gt)) == 0.0


def test_seg2bmap_hand_case():
    seg = np.zeros((4, 5), bool)
    seg[1:3, 1:3] = True
    b = M.seg2bmap(seg)
    expected = np.array([
        [1, 1, 1, 0, 0],  # the row above the square sees it below / below-right (offset towards origin)
        [1, 0, 1, 0, 0],
        [1, 1, 1, 0, 0],
        [0, 0, 0, 0, 0],
    ], bool)
    assert np.array_equal(b, expected)
    # last row: only the right neighbour counts; last column: only the lower one; corner never
    edge = np.zeros((3, 3), bool)
    edge[2, 0] = True
    edge[0, 2] = True
    be = M.seg2bmap(edge)
    assert be[2, 0] and not be[2, 2] and be[0, 2]
    assert be[1, 2] == (edge[1, 2] != edge[2, 2])


def test_boundary_radius_is_ceil_of_diagonal_fraction():
    assert M.boundary_radius((480, 854)) == math.ceil(0.008 * math.hypot(480, 854)) == 8
    assert M.boundary_radius((10, 10)) == 1
    assert M.boundary_radius((480, 854), bound_th=3) == 3


def test_boundary_f_empty_conventions():
    z = np.zeros((8, 8), bool)
    sq = z.copy()
    sq[2:5, 2:5] = True
    assert M.boundary_f(z, z) == 1.0  # both empty: precision = recall = 1
    assert M.boundary_f(sq, z) == 0.0  # nothing predicted: P=1, R=0 -> F=0
    assert M.boundary_f(z, sq) == 0.0  # nothing in GT: P=0, R=1 -> F=0
    assert M.boundary_f(sq, sq) == 1.0


def test_boundary_f_hand_case_beyond_tolerance():
    # 10x10 image: tolerance ceil(0.008 * 14.1) = 1 px (3x3 cross). Two 1-px-wide vertical bars 3 columns
    # apart: no boundary pixel of one lies within the cross of the other -> F = 0.
    gt = np.zeros((10, 10), bool)
    pred = np.zeros((10, 10), bool)
    gt[2:8, 2] = True
    pred[2:8, 6] = True
    assert M.boundary_f(gt, pred) == 0.0
    # one column apart: boundary maps of bars at x=2 and x=3 ...
    pred2 = np.zeros((10, 10), bool)
    pred2[2:8, 3] = True
    gb, pb = M.seg2bmap(gt), M.seg2bmap(pred2)
    # ... every pred boundary pixel has a GT boundary pixel within the cross except where none is near
    cross = [(0, 0), (1, 0), (-1, 0), (0, 1), (0, -1)]
    def matched(a, b):
        return sum(any(0 <= y + dy < 10 and 0 <= x + dx < 10 and b[y + dy, x + dx] for dy, dx in cross)
                   for y, x in zip(*np.nonzero(a)))
    p = matched(pb, gb) / pb.sum()
    r = matched(gb, pb) / gb.sum()
    assert M.boundary_f(gt, pred2) == pytest.approx(2 * p * r / (p + r), abs=1e-15)


def test_object_statistics_hand_case():
    # n=4: edges round(linspace(1,4,5))-1 = [0,1,1,2,3]; first bin v[0:2], last bin v[2:4]
    mean, recall, decay = M.object_statistics([1.0, 0.8, 0.4, 0.2])
    assert mean == pytest.approx(0.6, abs=1e-15)
    assert recall == 0.5
    assert decay == pytest.approx(0.9 - 0.3, abs=1e-15)
    assert M.object_statistics([0.5, 0.5])[1] == 0.0  # recall is strictly > 0.5
    # longer series: bins share their edge frames (right edge included), as the official code slices
    v = np.arange(10, dtype=float) / 10
    ids = (np.round(np.linspace(1, 10, 5) + 1e-10) - 1).astype(int)
    assert M.object_statistics(v)[2] == pytest.approx(v[ids[0]:ids[1] + 1].mean() - v[ids[3]:ids[4] + 1].mean())


# ---------------------------------------------------------------- fast path == reference


def _brute_f(gt, pred, r):
    """Independent oracle: boundary matching by explicit Euclidean distances (disk = x^2 + y^2 <= r^2)."""
    gb, pb = M.seg2bmap(gt), M.seg2bmap(pred)
    g, p = np.argwhere(gb), np.argwhere(pb)
    if len(g) == 0 or len(p) == 0:
        return M._f_from_counts(len(p), len(g), 0, 0)
    d2 = ((g[:, None, :] - p[None, :, :]) ** 2).sum(-1)
    return M._f_from_counts(len(p), len(g), int((d2.min(0) <= r * r).sum()), int((d2.min(1) <= r * r).sum()))


@pytest.mark.parametrize("seed", range(6))
def test_frame_scores_match_reference_and_oracle(seed):
    rng = np.random.default_rng(seed)
    h, w = rng.integers(12, 60, 2)
    gt = np.zeros((h, w), np.uint8)
    pred = np.zeros((h, w), np.uint8)
    for k in (1, 2, 3):
        for lab in (gt, pred):
            y, x = rng.integers(0, h), rng.integers(0, w)  # may touch the image border
            lab[max(0, y - rng.integers(1, 9)):y + rng.integers(1, 9), max(0, x - rng.integers(1, 9)):x + rng.integers(1, 9)] = k
    gt[rng.random((h, w)) < 0.03] = 255  # void pixels
    void = gt == 255
    objects = [1, 2, 3, 4]  # 4 is absent everywhere: J = F = 1
    for v in (None, void):
        js, fs = M.frame_scores(gt, pred, objects, void=v, bound_th=0.05)
        for i, k in enumerate(objects):
            g, p = gt == k, pred == k
            assert js[i] == M.region_j(g, p, v)
            assert fs[i] == M.boundary_f(g, p, v, bound_th=0.05)
            if v is None:
                assert fs[i] == _brute_f(g, p, M.boundary_radius((h, w), 0.05))
    assert js[3] == fs[3] == 1.0


# ---------------------------------------------------------------- the real-mask fixture


def _fixture(shared_dir):
    root = shared_dir / "fixtures" / "jf_real_masks"
    if not (root / "expected_scores.json").is_file():
        pytest.skip("jf_real_masks fixture not present")
    return root, json.loads((root / "expected_scores.json").read_text())


@pytest.mark.parametrize("protocol,key", [("davis", "official_davis2017_evaluation"),
                                          ("first-appearance", "vos_benchmark_0.1.0")])
def test_fixture_matches_official_and_vos_benchmark(shared_dir, protocol, key):
    from eval.score import overall, score_folder

    root, expected = _fixture(shared_dir)
    rows = score_folder(root / "DAVIS", root / "pred", workers=2, protocol=protocol, progress=False)
    exp = expected[key]["per_object_JM_FM"]
    assert len(rows) == len(exp) == 61
    for r in rows:
        jm, fm = exp[f"{r['video']}_{r['object']}"]
        assert abs(r["J_mean"] - jm) < 1e-9 and abs(r["F_mean"] - fm) < 1e-9, (r["video"], r["object"])
    assert overall(rows)["JF"] == pytest.approx(expected[key]["J&F-Mean"], abs=1e-9)


# ---------------------------------------------------------------- live vos-benchmark agreement


def _write_case(root, rng, n_frames=7, h=40, w=56, late_object=True):
    from davis_c.dataset import write_mask

    for t in range(n_frames):
        gt = np.zeros((h, w), np.uint8)
        gt[5 + t:20 + t, 4:20] = 1
        if not late_object or t >= 3 or t == 0:  # in the first frame, then gone for frames 1-2
            gt[25:35, 30 + t:45 + t] = 2
        pred = gt.copy()
        pred[rng.random((h, w)) < 0.02] = 0
        pred[rng.integers(0, h), :] = rng.integers(0, 3)
        write_mask(root / "gt" / "vid" / f"{t:05d}.png", gt)
        write_mask(root / "pred" / "vid" / f"{t:05d}.png", pred)


@pytest.mark.parametrize("seed", [0, 1])
def test_first_appearance_agrees_with_vos_benchmark(tmp_path, seed):
    vb = pytest.importorskip("vos_benchmark.benchmark")
    from eval.score import score_video

    _write_case(tmp_path, np.random.default_rng(seed))
    ours = score_video(tmp_path / "gt" / "vid", tmp_path / "pred" / "vid", protocol="first-appearance")
    _, _, _, objs = vb.benchmark([str(tmp_path / "gt")], [str(tmp_path / "pred")], num_processes=1, verbose=False)
    iou, bf = objs[0]["vid"]
    assert {r["object"] for r in ours} == set(iou)
    for r in ours:
        assert r["J_mean"] * 100 == pytest.approx(iou[r["object"]], abs=1e-9)
        assert r["F_mean"] * 100 == pytest.approx(bf[r["object"]], abs=1e-9)
    davis = {r["object"]: r for r in score_video(tmp_path / "gt" / "vid", tmp_path / "pred" / "vid")}
    assert davis[1]["n_frames"] == davis[2]["n_frames"] == 5  # davis: every evaluated frame counts
    late = [r for r in ours if r["object"] == 2][0]
    if late["n_frames"] < 5:  # davis also counts the frames before it appears, as both-empty = 1.0
        assert davis[2]["J_mean"] > late["J_mean"]
