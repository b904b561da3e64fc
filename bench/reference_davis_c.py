"""Straightforward single-process reference of the official DAVIS-C procedure (`davisc_create.py`), for the
benchmark and for tests. Written from the facts of TTT-SPEC §5; deliberately slow and literal:

* frames read with `cv2.imread` (BGR) and wrapped with `Image.fromarray` as the official script did;
* the ImageNet-C functions take that PIL image, compute in float64, and the float result goes to `cv2.imencode`
  (the same conversion as `cv2.imwrite`: round half to even, saturate);
* glass blur's shuffle is the pure-Python loop with the tuple "swap" on NumPy views;
* motion blur keeps a frame list of PIL images and accumulates float32;
* CRF runs the three ffmpeg command lines (argument lists, official flags only) in a temporary working directory.

Random draws come from a `numpy.random.Generator` passed in, consumed exactly like the builder consumes it: one
`normal(size=HxWx3, scale=c)` per frame for gaussian noise, one `integers(-d, d, (iters, H-2d, W-2d, 2))` block
per frame for glass blur (pair = (dx, dy)). The official script used the unseeded global RNG instead.
"""

from __future__ import annotations

import subprocess
import tempfile
from pathlib import Path

import cv2
import numpy as np
import skimage.color as cl
from PIL import Image
from skimage.filters import gaussian


def glass_blur(y, rng, severity=1):
    c = [(0.7, 1, 2), (0.9, 2, 1), (1, 2, 3), (1.1, 3, 2), (1.5, 4, 2)][severity - 1]
    x = np.uint8(gaussian(np.array(y) / 255., sigma=c[0], channel_axis=-1) * 255)
    draws = rng.integers(-c[1], c[1], size=(c[2], y.size[1] - 2 * c[1], y.size[0] - 2 * c[1], 2), dtype=np.int64)
    for i in range(c[2]):
        for h in range(y.size[1] - c[1], c[1], -1):
            for w in range(y.size[0] - c[1], c[1], -1):
                dx, dy = draws[i, y.size[1] - c[1] - h, y.size[0] - c[1] - w]
                h_prime, w_prime = h + dy, w + dx
                x[h, w], x[h_prime, w_prime] = x[h_prime, w_prime], x[h, w]
    return np.clip(gaussian(x / 255., sigma=c[0], channel_axis=-1), 0, 1) * 255


def disk(radius, alias_blur=0.1, dtype=np.float32):
    if radius <= 8:
        L, ksize = np.arange(-8, 8 + 1), (3, 3)
    else:
        L, ksize = np.arange(-radius, radius + 1), (5, 5)
    X, Y = np.meshgrid(L, L)
    aliased_disk = np.array((X ** 2 + Y ** 2) <= radius ** 2, dtype=dtype)
    aliased_disk /= np.sum(aliased_disk)
    return cv2.GaussianBlur(aliased_disk, ksize=ksize, sigmaX=alias_blur)


def defocus_blur(y, rng, severity=1):
    c = [(3, 0.1), (4, 0.5), (6, 0.5), (8, 0.5), (10, 0.5)][severity - 1]
    x = np.array(y) / 255.
    kernel = disk(radius=c[0], alias_blur=c[1])
    channels = []
    for d in range(3):
        channels.append(cv2.filter2D(x[:, :, d], -1, kernel))
    channels = np.array(channels).transpose((1, 2, 0))
    return np.clip(channels, 0, 1) * 255


def gaussian_noise(y, rng, severity=1):
    c = [.08, .12, 0.18, 0.26, 0.38][severity - 1]
    x = np.array(y) / 255.
    return np.clip(x + rng.normal(size=x.shape, scale=c), 0, 1) * 255


def contrast(y, rng, severity=1):
    c = [0.4, .3, .2, .1, .05][severity - 1]
    x = np.array(y) / 255.
    means = np.mean(x, axis=(0, 1), keepdims=True)
    return np.clip((x - means) * c + means, 0, 1) * 255


def brightness(y, rng, severity=1):
    c = [.1, .2, .3, .4, .5][severity - 1]
    x = np.array(y) / 255.
    x = cl.rgb2hsv(x)
    x[:, :, 2] = np.clip(x[:, :, 2] + c, 0, 1)
    x = cl.hsv2rgb(x)
    return np.clip(x, 0, 1) * 255


def saturate(y, rng, severity=1):
    c = [(0.3, 0), (0.1, 0), (2, 0), (5, 0.1), (20, 0.2)][severity - 1]
    x = np.array(y) / 255.
    x = cl.rgb2hsv(x)
    x[:, :, 1] = np.clip(x[:, :, 1] * c[0] + c[1], 0, 1)
    x = cl.hsv2rgb(x)
    return np.clip(x, 0, 1) * 255


def pixelate(y, rng, severity=1):
    c = [0.6, 0.5, 0.4, 0.3, 0.25][severity - 1]
    x = y.resize((int(y.size[0] * c), int(y.size[1] * c)), Image.BOX)
    x = x.resize((y.size[0], y.size[1]), Image.BOX)
    return np.array(x)


FRAME_FUNCTIONS = {"gaussian_noise": gaussian_noise, "contrast": contrast, "brightness": brightness,
                   "saturate": saturate, "glass_blur": glass_blur, "defocus_blur": defocus_blur,
                   "pixelate": pixelate}


def imwrite_bytes(x: np.ndarray) -> bytes:
    """What `cv2.imwrite(name.jpg, x)` would write (float arrays are converted by OpenCV itself)."""
    ok, buf = cv2.imencode(".jpg", x)
    assert ok
    return buf.tobytes()


def frame_corruption(name: str, paths, severity: int, rng) -> list[bytes]:
    """One ImageNet-C corruption over a video's frame files, the official way; JPEG bytes per frame."""
    fn = FRAME_FUNCTIONS[name]
    out = []
    for filename in paths:
        content_img = cv2.imread(str(filename))
        img_pil = Image.fromarray(content_img)
        out.append(imwrite_bytes(fn(img_pil, rng, severity=severity)))
    return out


def motion_blur(paths, severity: int, rng=None) -> list[bytes]:
    """The official frame-list loop (float32 weighted sum, weights 1..k)."""
    motionblur_size = [0, 0, 2, 3, 4][severity - 1]
    framelist, out = [], []
    for filename in paths:
        framelist.append(Image.fromarray(cv2.imread(str(filename))))
        if len(framelist) > motionblur_size:
            framelist.pop(0)
        w = 1
        totalw = w
        x = np.array(framelist[0]).astype(np.float32)
        for j in range(1, len(framelist)):
            w += 1
            x += w * np.array(framelist[j]).astype(np.float32)
            totalw += w
        x /= totalw
        out.append(imwrite_bytes(np.array(x)))
    return out


def crf_compression(paths, severity: int, ffmpeg_exe: str) -> list[bytes]:
    """The official three ffmpeg commands on the folder of `paths` (all its *.jpg files)."""
    crf_value = [0, 0, 40, 45, 50][severity - 1]
    input_folder = Path(paths[0]).parent
    with tempfile.TemporaryDirectory(prefix="ref-crf-") as cwd:
        out_dir = Path(cwd) / "frames"
        out_dir.mkdir()
        for cmd in ([ffmpeg_exe, "-y", "-framerate", "24", "-pattern_type", "glob", "-i", f"{input_folder}/*.jpg",
                     "out.mp4"],
                    [ffmpeg_exe, "-y", "-i", "out.mp4", "-vcodec", "libx265", "-crf", str(crf_value), "out2.mp4"],
                    [ffmpeg_exe, "-y", "-i", "out2.mp4", "-r", "24", "-qscale:v", "2", "-start_number", "0",
                     f"{out_dir}/%05d.jpg"]):
            subprocess.run(cmd, cwd=cwd, check=True, capture_output=True)
        return [p.read_bytes() for p in sorted(out_dir.glob("*.jpg"))]
