"""Frame and object sampling for test-time training, as the official STCN TTT dataset does it.

Pure functions with an explicit `numpy.random.Generator` (never the global RNG), so a seed reproduces
every draw. Facts (TTT-SPEC §3.3, `TTT:STCN/ttt/dataset/vos_dataset_ttt.py`):

* sequences always start at frame 0; every later frame is ``prev + U{1..s'}`` with
  ``s' = min(L - 1 - first, max_jump)``; middle frames are clamped to ``min(f, L - s', L - 1)``, the
  last one to ``L - 1``; the draw is repeated while the last two frames coincide;
* objects: all labels of frame 0 (sorted), or a random subset of ``max_obj`` in random order when there
  are more;
* the *check-last* rule (tt-MCC): redraw (at most 100 trials) until every target object is present in
  the last frame's pseudo-label, or the last frame shows as many labels as frame 0, or (from the 52nd
  draw on) unconditionally for single-annotation videos; if the last frame still lacks labels, it is
  replaced by frame 0 (the *fallback*).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

MAX_TRIALS = 100
"""Upper bound of the object/validity loop (official: 100)."""

RELAXED_AFTER = 50
"""From trial index > 50 (the 52nd draw) on, a draw is accepted when frame 0's labels are all present."""

MAX_RESAMPLE = 1_000
"""Safety bound on the 'last == second-to-last' redraw (the official loop has none; it never binds)."""


@dataclass(frozen=True)
class Sample:
    """One training sequence: frame indices, target objects (labels), whether the fallback fired."""

    frames: tuple[int, ...]
    objects: tuple[int, ...]
    fallback: bool = False
    trials: int = 1


def _draw_sequence(length: int, num_frames: int, max_jump: int, rng: np.random.Generator,
                   first: int) -> list[int]:
    """One draw of `get_sequence` (no repetition check)."""
    jump = min(length - 1 - first, max_jump)
    seq = [first]
    for _ in range(num_frames - 2):
        f = seq[-1] + int(rng.integers(1, jump + 1))
        seq.append(min(f, length - jump, length - 1))
    f = seq[-1] + int(rng.integers(1, jump + 1))
    seq.append(min(f, length - 1))
    return seq


def get_sequence(length: int, num_frames: int, max_jump: int, rng: np.random.Generator,
                 first: int = 0) -> list[int]:
    """Frame indices of one sequence of `num_frames` frames of a `length`-frame video, starting at `first`.

    ``num_frames == 1`` gives ``[first]`` (tt-AE). Raises ValueError for a video too short to hold two
    distinct frames after `first`.
    """
    if num_frames < 1 or max_jump < 1:
        raise ValueError(f"num_frames and max_jump must be >= 1 (got {num_frames}, {max_jump})")
    if num_frames == 1:
        return [first]
    if length - 1 - first < 1:
        raise ValueError(f"a {length}-frame video has no frame after {first} to sample")
    for _ in range(MAX_RESAMPLE):
        seq = _draw_sequence(length, num_frames, max_jump, rng, first)
        if seq[-1] != seq[-2]:
            return seq
    raise ValueError(f"could not draw {num_frames} frames with distinct last two from a {length}-frame video")


def reachable_frames(length: int, num_frames: int, max_jump: int, first: int = 0) -> int:
    """How many leading frames `get_sequence` can ever return (the pseudo-label refresh needs no more)."""
    if num_frames <= 1:
        return first + 1
    return min(length, first + (num_frames - 1) * max_jump + 1)


def choose_objects(labels: Sequence[int], max_obj: int, rng: np.random.Generator) -> tuple[int, ...]:
    """All labels (sorted) when there are at most `max_obj`, else a random subset in random order.

    The random draw happens in both cases (as in the official code) so later draws do not depend on
    the number of objects.
    """
    labels = sorted(int(v) for v in labels)
    k = min(len(labels), max_obj)
    pick = rng.choice(len(labels), size=k, replace=False) if labels else np.zeros(0, int)
    if len(labels) <= max_obj:
        return tuple(labels)
    return tuple(labels[int(i)] for i in pick)


def _accept(objects: Sequence[int], first: set[int], last: set[int], trial: int) -> bool:
    """The check-last acceptance rule; `first`/`last` include the background label 0."""
    if all(o in last for o in objects):
        return True
    if len(first) == len(last):
        return True
    return trial > RELAXED_AFTER


def sample_training_sequence(frame_labels: Sequence[set[int] | frozenset[int]], num_frames: int,
                             max_jump: int, rng: np.random.Generator, check_last: bool,
                             max_obj: int = 6, fallback: bool = True, length: int | None = None) -> Sample:
    """Draw one sequence the way the official TTT dataset does (all-objects path, first frame 0).

    `frame_labels[t]` is the set of labels (background 0 included) in frame t's pseudo-label; only the
    frames `get_sequence` can reach are read (only frame 0 without `check_last`), so `frame_labels` may
    cover a prefix of the video when `length` (the video length) is given. With `check_last` (tt-MCC) the
    visible-objects rule and, when `fallback`, the copy-frame-0-into-the-last-slot fallback apply.
    """
    length = len(frame_labels) if length is None else length
    first_labels = set(frame_labels[0])
    labels = sorted(v for v in first_labels if v != 0)
    if not labels:
        raise ValueError("frame 0 has no object")
    trial = 0
    for trial in range(MAX_TRIALS):
        seq = get_sequence(length, num_frames, max_jump, rng)
        objects = choose_objects(labels, max_obj, rng)
        if not check_last:
            return Sample(tuple(seq), objects, False, trial + 1)
        last = set(frame_labels[seq[-1]])
        if _accept(objects, first_labels, last, trial):
            break
    last = set(frame_labels[seq[-1]])
    fire = fallback and num_frames > 1 and (len(first_labels) != len(last) or trial >= MAX_TRIALS - 1)
    if fire:
        seq = seq[:-1] + [0]
    return Sample(tuple(seq), objects, fire, trial + 1)
