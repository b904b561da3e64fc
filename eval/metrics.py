"""DAVIS J (region) and F (boundary) measures, exactly as `davis2017-evaluation` computes them.

Reference functions (`region_j`, `boundary_f`, `seg2bmap`, `object_statistics`) follow the official
`davis2017/metrics.py` and `davis2017/utils.py` line for line in what they compute. `frame_scores` is the
fast path used by the scorer: the same arithmetic restricted to each object's bounding region (see
`docs/eval.md` for why the restriction is exact).
"""

from __future__ import annotations

import functools

import cv2
import numba
import numpy as np

BOUND_TH = 0.008


def boundary_radius(shape: tuple[int, ...], bound_th: float = BOUND_TH) -> float:
    """Boundary tolerance in pixels: `bound_th` itself if >= 1, else ceil(bound_th * image diagonal)."""
    return float(bound_th) if bound_th >= 1 else float(np.ceil(bound_th * np.linalg.norm(shape[:2])))


@functools.lru_cache(maxsize=16)
def disk_kernel(radius: float) -> np.ndarray:
    """skimage's disk structuring element as the uint8 kernel `cv2.dilate` receives officially."""
    from skimage.morphology import disk  # imported on first use (slow import)

    r = int(radius) if float(radius).is_integer() else radius
    return disk(r).astype(np.uint8)


@functools.lru_cache(maxsize=16)
def disk_rows(radius: float) -> tuple[np.ndarray, np.ndarray]:
    """The disk kernel as rows: (dy, half-width) pairs, nearest rows first (each disk row is the interval
    [-half, +half] around the centre column)."""
    k = disk_kernel(radius).astype(bool)
    c = k.shape[0] // 2
    dys, halves = [], []
    for i, row in enumerate(k):
        cols = np.flatnonzero(row) - c
        if cols.size == 0:
            continue
        half = int(cols.max())
        if cols.min() != -half or cols.size != 2 * half + 1:  # pragma: no cover - never for a disk
            raise ValueError("structuring element rows must be centred intervals")
        dys.append(i - c)
        halves.append(half)
    order = np.argsort(np.abs(dys), kind="stable")
    return np.asarray(dys, np.int64)[order], np.asarray(halves, np.int64)[order]


def seg2bmap(seg: np.ndarray) -> np.ndarray:
    """One-pixel-wide boundary map of a binary mask (D. Martin's seg2bmap, as in DAVIS).

    A pixel is a boundary pixel when it differs from its right, lower or lower-right neighbour; on the last
    row only the right neighbour counts, on the last column only the lower one, the corner is never one.
    """
    seg = np.asarray(seg).astype(bool)
    e = np.zeros_like(seg)
    s = np.zeros_like(seg)
    se = np.zeros_like(seg)
    e[:, :-1] = seg[:, 1:]
    s[:-1, :] = seg[1:, :]
    se[:-1, :-1] = seg[1:, 1:]
    b = (seg ^ e) | (seg ^ s) | (seg ^ se)
    b[-1, :] = seg[-1, :] ^ e[-1, :]
    b[:, -1] = seg[:, -1] ^ s[:, -1]
    b[-1, -1] = 0
    return b


def region_j(gt: np.ndarray, pred: np.ndarray, void: np.ndarray | None = None) -> float:
    """Jaccard index of two binary masks, void pixels excluded; 1.0 when the union is empty."""
    gt = np.asarray(gt).astype(bool)
    pred = np.asarray(pred).astype(bool)
    if gt.shape != pred.shape:
        raise ValueError(f"mask shapes differ: {gt.shape} vs {pred.shape}")
    keep = np.ones_like(gt) if void is None else ~np.asarray(void).astype(bool)
    inters = int(np.sum(gt & pred & keep))
    union = int(np.sum((gt | pred) & keep))
    return 1.0 if union == 0 else inters / union


def _f_from_counts(n_fg: int, n_gt: int, fg_match: int, gt_match: int) -> float:
    """F measure from boundary pixel counts with the DAVIS conventions for empty boundaries."""
    if n_fg == 0 and n_gt > 0:
        precision, recall = 1.0, 0.0
    elif n_fg > 0 and n_gt == 0:
        precision, recall = 0.0, 1.0
    elif n_fg == 0 and n_gt == 0:
        precision, recall = 1.0, 1.0
    else:
        precision = fg_match / float(n_fg)
        recall = gt_match / float(n_gt)
    if precision + recall == 0:
        return 0.0
    return 2 * precision * recall / (precision + recall)


def _boundary_counts(gt: np.ndarray, pred: np.ndarray, kernel: np.ndarray) -> tuple[int, int, int, int]:
    """(n_fg, n_gt, fg_match, gt_match) of two binary masks of the same (possibly cropped) shape."""
    fg_b = seg2bmap(pred)
    gt_b = seg2bmap(gt)
    n_fg = int(np.count_nonzero(fg_b))
    n_gt = int(np.count_nonzero(gt_b))
    if n_fg == 0 or n_gt == 0:
        return n_fg, n_gt, 0, 0
    fg_dil = cv2.dilate(fg_b.view(np.uint8), kernel)
    gt_dil = cv2.dilate(gt_b.view(np.uint8), kernel)
    gt_match = int(np.count_nonzero(fg_dil[gt_b]))
    fg_match = int(np.count_nonzero(gt_dil[fg_b]))
    return n_fg, n_gt, fg_match, gt_match


def boundary_f(gt: np.ndarray, pred: np.ndarray, void: np.ndarray | None = None, bound_th: float = BOUND_TH) -> float:
    """Boundary F measure of a predicted mask against the ground truth (full-image reference version)."""
    gt = np.asarray(gt).astype(bool)
    pred = np.asarray(pred).astype(bool)
    if gt.shape != pred.shape:
        raise ValueError(f"mask shapes differ: {gt.shape} vs {pred.shape}")
    if void is not None:
        keep = ~np.asarray(void).astype(bool)
        gt, pred = gt & keep, pred & keep
    kernel = disk_kernel(boundary_radius(gt.shape, bound_th))
    return _f_from_counts(*_boundary_counts(gt, pred, kernel))


def object_statistics(values) -> tuple[float, float, float]:
    """(Mean, Recall, Decay) of one object's per-frame scores, as `davis2017.utils.db_statistics`.

    Recall is the fraction of frames scoring > 0.5. Decay is the mean of the first quarter minus the mean of
    the last, with the official bin edges ``round(linspace(1, n, 5)) - 1`` and bins that include their right
    edge (neighbouring bins share one frame). The official code casts the edges to uint8, which wraps for
    videos longer than 256 frames; here they stay exact integers (identical for n <= 256).
    """
    v = np.asarray(values, dtype=np.float64)
    if v.size == 0:
        return float("nan"), float("nan"), float("nan")
    with np.errstate(all="ignore"):
        mean = float(np.nanmean(v)) if not np.all(np.isnan(v)) else float("nan")
        recall = float(np.nanmean(v > 0.5))
    ids = (np.round(np.linspace(1, len(v), 5) + 1e-10) - 1).astype(np.int64)
    bins = [v[ids[i]:ids[i + 1] + 1] for i in range(4)]
    first = bins[0][~np.isnan(bins[0])]
    last = bins[3][~np.isnan(bins[3])]
    decay = float(np.mean(first) - np.mean(last)) if first.size and last.size else float("nan")
    return mean, recall, decay


@numba.njit(cache=True, nogil=True)
def _bmap_crop(m):  # pragma: no cover - compiled
    """seg2bmap of a uint8 0/1 mask (same rules as `seg2bmap`)."""
    h, w = m.shape
    b = np.empty((h, w), np.bool_)
    b[h - 1, w - 1] = False
    for y in range(h - 1):
        r0 = m[y]
        r1 = m[y + 1]
        br = b[y]
        for x in range(w - 1):
            s0 = r0[x]
            br[x] = ((s0 ^ r0[x + 1]) | (s0 ^ r1[x]) | (s0 ^ r1[x + 1])) != 0
        br[w - 1] = r0[w - 1] != r1[w - 1]
    r0 = m[h - 1]
    br = b[h - 1]
    for x in range(w - 1):
        br[x] = r0[x] != r0[x + 1]
    return b


@numba.njit(cache=True, nogil=True)
def _prefix(b):  # pragma: no cover - compiled
    """Row prefix sums of a boolean map: pre[y, x] = count of b[y, :x]."""
    h, w = b.shape
    pre = np.empty((h, w + 1), np.int32)
    for y in range(h):
        acc = 0
        row = b[y]
        prow = pre[y]
        prow[0] = 0
        for x in range(w):
            acc += row[x]
            prow[x + 1] = acc
    return pre


@numba.njit(cache=True, nogil=True)
def _matched(src, src_pre, other_pre, dy, half):  # pragma: no cover - compiled
    """Pixels of `src` with a pixel of `other` inside the disk around them, i.e. sum(src * dilate(other,
    disk)); the disk is given as rows (dy, half-width) and `other` is searched with its row prefix sums."""
    h, w = src.shape
    n = 0
    for y in range(h):
        if src_pre[y, w] == 0:
            continue
        for x in range(w):
            if src[y, x]:
                for i in range(dy.size):
                    yy = y + dy[i]
                    if yy < 0 or yy >= h:
                        continue
                    lo = max(0, x - half[i])
                    hi = min(w, x + half[i] + 1)
                    if other_pre[yy, hi] > other_pre[yy, lo]:
                        n += 1
                        break
    return n


@numba.njit(cache=True, nogil=True)
def _object_masks(gt, pred, void, use_void, k, y0, y1, x0, x1):  # pragma: no cover - compiled
    """uint8 masks `gt == k` and `pred == k` (void pixels cleared) over rows y0:y1, cols x0:x1."""
    mg = np.empty((y1 - y0, x1 - x0), np.uint8)
    mp = np.empty((y1 - y0, x1 - x0), np.uint8)
    for y in range(y1 - y0):
        gr = gt[y0 + y, x0:x1]
        pr = pred[y0 + y, x0:x1]
        mgr = mg[y]
        mpr = mp[y]
        for x in range(x1 - x0):
            mgr[x] = gr[x] == k
            mpr[x] = pr[x] == k
        if use_void:
            vr = void[y0 + y, x0:x1]
            for x in range(x1 - x0):
                if vr[x]:
                    mgr[x] = 0
                    mpr[x] = 0
    return mg, mp


@numba.njit(cache=True, nogil=True)
def _boundary_counts_in_box(gt, pred, void, use_void, k, box, dy, dx, out):  # pragma: no cover - compiled
    """Fill out[2:6] = n_fg, n_gt, fg_match, gt_match of object k, whose pixels lie in `box` (inclusive)."""
    h, w = gt.shape
    y0 = max(0, box[0] - 1)
    x0 = max(0, box[2] - 1)
    mg, mp = _object_masks(gt, pred, void, use_void, k, y0, min(h, box[1] + 2), x0, min(w, box[3] + 2))
    bg = _bmap_crop(mg)
    bp = _bmap_crop(mp)
    pg = _prefix(bg)
    pp = _prefix(bp)
    out[2] = pp[:, -1].sum()
    out[3] = pg[:, -1].sum()
    if out[2] > 0 and out[3] > 0:
        out[4] = _matched(bp, pp, pg, dy, dx)
        out[5] = _matched(bg, pg, pp, dy, dx)


@numba.njit(cache=True, nogil=True)
def _grow(box, i, y, x0, x1):  # pragma: no cover - compiled
    """Extend box i (y0, y1, x0, x1 inclusive) by the run x0..x1 of row y."""
    box[i, 0] = min(box[i, 0], y)
    box[i, 1] = max(box[i, 1], y)
    box[i, 2] = min(box[i, 2], x0)
    box[i, 3] = max(box[i, 3], x1)


@numba.njit(cache=True, nogil=True)
def _areas_and_boxes(gt, pred, void, use_void, lut, out, box):  # pragma: no cover - compiled
    """Areas, intersections and bounding boxes of all objects in one pass: 32-pixel chunks where both maps
    are background are skipped with a vectorised OR; the rest is walked in runs of equal (gt, pred, void)."""
    h, w = gt.shape
    for y in range(h):
        gr = gt[y]
        pr = pred[y]
        vr = void[y] if use_void else void[0]
        for c0 in range(0, w, 32):
            c1 = min(w, c0 + 32)
            acc = np.uint8(0)
            for x in range(c0, c1):
                acc |= gr[x] | pr[x]
            if acc == 0:
                continue
            x = c0
            while x < c1:
                g = gr[x]
                p = pr[x]
                v = vr[x] if use_void else False
                x2 = x + 1
                while x2 < c1 and gr[x2] == g and pr[x2] == p and (not use_void or vr[x2] == v):
                    x2 += 1
                if (g != 0 or p != 0) and not v:
                    _count_run(lut[g], lut[p], y, x, x2, out, box)
                x = x2


@numba.njit(cache=True, nogil=True)
def _count_run(gi, pi, y, x, x2, out, box):  # pragma: no cover - compiled
    """Add the run [x, x2) of row y, GT object index gi and predicted object index pi (-1: none)."""
    if gi >= 0:
        out[gi, 6] += x2 - x
        if gi == pi:
            out[gi, 0] += x2 - x
        _grow(box, gi, y, x, x2 - 1)
    if pi >= 0:
        out[pi, 7] += x2 - x
        _grow(box, pi, y, x, x2 - 1)


@numba.njit(cache=True, nogil=True)
def _frame_counts(gt, pred, void, use_void, objects, dy, dx):  # pragma: no cover - compiled
    """Per object: [intersection, union, n_fg, n_gt, fg_match, gt_match, gt_area, pred_area]."""
    h, w = gt.shape
    n_obj = objects.size
    lut = np.full(256, -1, np.int64)
    for i in range(n_obj):
        lut[objects[i]] = i
    out = np.zeros((n_obj, 8), np.int64)
    box = np.empty((n_obj, 4), np.int64)  # y0, y1, x0, x1 (inclusive)
    box[:, 0] = h
    box[:, 1] = -1
    box[:, 2] = w
    box[:, 3] = -1
    _areas_and_boxes(gt, pred, void, use_void, lut, out, box)
    for i in range(n_obj):
        out[i, 1] = out[i, 6] + out[i, 7] - out[i, 0]
        if box[i, 1] < 0:
            continue
        _boundary_counts_in_box(gt, pred, void, use_void, objects[i], box[i], dy, dx, out[i])
    return out


def frame_counts(gt: np.ndarray, pred: np.ndarray, objects, void: np.ndarray | None = None,
                 bound_th: float = BOUND_TH) -> np.ndarray:
    """Integer counts per object (rows) of one frame: intersection, union, boundary pixels of prediction and
    ground truth, matched boundary pixels of each, and the two areas (see `_frame_counts`)."""
    if gt.shape != pred.shape:
        raise ValueError(f"label maps differ in shape: {gt.shape} vs {pred.shape}")
    dy, dx = disk_rows(boundary_radius(gt.shape, bound_th))
    objs = np.asarray(list(objects), dtype=np.int64)
    use_void = void is not None
    v = np.asarray(void, dtype=np.bool_) if use_void else np.zeros((1, 1), np.bool_)
    return _frame_counts(gt, pred, v, use_void, objs, dy, dx)


def scores_from_counts(counts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(J, F) per object from `frame_counts` rows, with the DAVIS empty-mask conventions."""
    js = np.array([1.0 if int(c[1]) == 0 else int(c[0]) / int(c[1]) for c in counts])
    fs = np.array([_f_from_counts(int(c[2]), int(c[3]), int(c[4]), int(c[5])) for c in counts])
    return js, fs


def frame_scores(
    gt: np.ndarray,
    pred: np.ndarray,
    objects,
    void: np.ndarray | None = None,
    bound_th: float = BOUND_TH,
) -> tuple[np.ndarray, np.ndarray]:
    """Per-object J and F of one frame from two HxW uint8 label maps, in one compiled pass.

    Identical to ``region_j(gt == k, pred == k, void)`` and ``boundary_f(...)`` for each k in `objects`:
    boundary maps are only computed over each object's bounding box grown by one pixel up/left (where all
    its boundary pixels lie), and `dilate(b, disk) * a` is counted as the pixels of `a` that have a pixel of
    `b` within the disk.
    """
    return scores_from_counts(frame_counts(gt, pred, objects, void, bound_th))
