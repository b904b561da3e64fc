"""Frame/object sampling for TTT: max jump, clamps, check-last rule, fallback, reproducibility."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from ttt.sampling import (
    MAX_TRIALS,
    RELAXED_AFTER,
    choose_objects,
    get_sequence,
    reachable_frames,
    sample_training_sequence,
)


@settings(max_examples=100, deadline=None)
@given(length=st.integers(2, 120), n=st.integers(2, 8), jump=st.integers(1, 12), seed=st.integers(0, 2**31))
def test_sequence_respects_max_jump_and_bounds(length, n, jump, seed):
    assume(length >= n)  # shorter videos cannot hold distinct last two frames (ValueError)
    rng = np.random.default_rng(seed)
    seq = get_sequence(length, n, jump, rng)
    assert len(seq) == n and seq[0] == 0
    assert all(0 <= f < length for f in seq)
    assert all(0 <= b - a <= jump for a, b in zip(seq, seq[1:]))
    assert seq[-1] != seq[-2]
    assert seq[-1] < reachable_frames(length, n, jump)


def test_triplets_only_reach_first_21_frames():
    rng = np.random.default_rng(0)
    seen = {f for _ in range(3000) for f in get_sequence(70, 3, 10, rng)}
    assert max(seen) == 20 and min(seen) == 0
    assert reachable_frames(70, 3, 10) == 21
    assert reachable_frames(70, 8, 10) == 70
    assert reachable_frames(500, 8, 10) == 71
    assert reachable_frames(70, 1, 10) == 1


def test_middle_frames_clamped_to_length_minus_jump():
    # 5-frame video, jump s' = min(4, 10) = 4: middle frames are clamped to min(f, L - s', L - 1) = 1
    rng = np.random.default_rng(3)
    for _ in range(200):
        seq = get_sequence(5, 4, 10, rng)
        assert seq[1] == 1 and seq[2] == 1
        assert seq[3] in (2, 3, 4)


def test_single_frame_and_errors():
    rng = np.random.default_rng(0)
    assert get_sequence(30, 1, 10, rng) == [0]
    with pytest.raises(ValueError):
        get_sequence(1, 3, 10, rng)


def test_same_seed_same_draws():
    sets = [frozenset({0, 1, 2})] * 40
    a = [sample_training_sequence(sets, 3, 10, np.random.default_rng(7), True) for _ in range(5)]
    b = [sample_training_sequence(sets, 3, 10, np.random.default_rng(7), True) for _ in range(5)]
    assert a == b


def test_objects_all_sorted_up_to_max_else_random_subset():
    rng = np.random.default_rng(1)
    assert choose_objects([3, 1, 2], 6, rng) == (1, 2, 3)
    picks = {choose_objects(list(range(1, 10)), 6, rng) for _ in range(20)}
    assert all(len(p) == 6 and len(set(p)) == 6 and set(p) <= set(range(1, 10)) for p in picks)
    assert len(picks) > 1


def test_check_last_accepts_only_frames_showing_all_objects():
    # object 2 is visible only in frames 0..5 and 15..: accepted draws must end there
    sets = [frozenset({0, 1, 2}) if (t <= 5 or t >= 15) else frozenset({0, 1}) for t in range(40)]
    rng = np.random.default_rng(0)
    for _ in range(300):
        s = sample_training_sequence(sets, 3, 10, rng, check_last=True)
        assert not s.fallback
        assert s.frames[-1] <= 5 or s.frames[-1] >= 15
    # without check-last (tt-Ent/tt-AE) the draw is accepted at once, missing objects or not
    ends = {sample_training_sequence(sets, 3, 10, rng, check_last=False).frames[-1] for _ in range(300)}
    assert any(6 <= e <= 14 for e in ends)


def test_fallback_copies_frame_zero_into_last_slot():
    # object 2 disappears after frame 0: no draw can satisfy the rule
    sets = [frozenset({0, 1, 2})] + [frozenset({0, 1})] * 30
    s = sample_training_sequence(sets, 3, 10, np.random.default_rng(0), check_last=True)
    assert s.fallback and s.frames[-1] == 0 and s.frames[0] == 0 and s.frames[1] > 0
    assert s.trials == RELAXED_AFTER + 2  # accepted on the 52nd draw, then the fallback fires
    assert s.trials < MAX_TRIALS
    off = sample_training_sequence(sets, 3, 10, np.random.default_rng(0), check_last=True, fallback=False)
    assert not off.fallback and off.frames[-1] != 0


def test_octuplets_for_xmem():
    sets = [frozenset({0, 1})] * 100
    s = sample_training_sequence(sets, 8, 10, np.random.default_rng(5), check_last=True)
    assert len(s.frames) == 8 and s.frames[-1] <= 70 and s.objects == (1,)


def test_prefix_of_labels_with_the_video_length_draws_the_same():
    # the pseudo-label refresh may stop at the last reachable frame: the draws must not change
    full = [frozenset({0, 1, 2}) if t % 3 else frozenset({0, 1}) for t in range(100)]
    for n, jump in ((3, 10), (8, 10), (5, 4)):
        reach = reachable_frames(100, n, jump)
        ra, rb = np.random.default_rng(3), np.random.default_rng(3)
        a = [sample_training_sequence(full, n, jump, ra, True) for _ in range(30)]
        b = [sample_training_sequence(full[:reach], n, jump, rb, True, length=100) for _ in range(30)]
        assert a == b
