"""DAVIS-C `motion_blur`: a causal weighted average over the last k frames (weights 1..k, oldest first).

Exactly the official arithmetic: frames as float32, `x = f0; x += w * f_j; x /= sum(w)` in float32, then the
`cv2.imwrite` rounding (half to even). Frame 0 is unchanged; frame 1 is (f0 + 2 f1) / 3 when k >= 2; and so on.
k = 2 / 3 / 4 at severity 3 / 4 / 5 (the paper says "averages every 2, 3, 4 consecutive frames").
"""

from __future__ import annotations

import numpy as np

from davis_c.corruptions.base import Corruption, Frames, Options, to_uint8

MOTION_BLUR = {1: 0, 2: 0, 3: 2, 4: 3, 5: 4}  # window k per severity (official table; 1 and 2 are unused)


def blend_window(window: list[np.ndarray]) -> np.ndarray:
    """Weighted mean of `window` (float32 frames, oldest first) with weights 1..len, in float32."""
    w = 1
    total = w
    x = window[0].copy()
    for frame in window[1:]:
        w += 1
        x += w * frame
        total += w
    x /= total
    return x


def motion_blur(frames: Frames, severity: int, rng: np.random.Generator | None = None,
                options: Options | None = None) -> list[np.ndarray]:
    """Video-level motion blur; RGB uint8 frames in and out (channel order does not matter here)."""
    k = MOTION_BLUR[severity]
    window: list[np.ndarray] = []
    out = []
    for frame in frames:
        window.append(np.asarray(frame).astype(np.float32))
        if len(window) > k:
            window.pop(0)
        out.append(to_uint8(blend_window(window)))
    return out


MOTION_BLUR_CORRUPTION = Corruption(name="motion_blur", apply=motion_blur, params=MOTION_BLUR, random=False,
                                    per_frame=False, description="causal weighted average of the last k frames")
