"""Deterministic random generators for the DAVIS-C builder.

A generator is derived from (`seed`, video, corruption, severity) through SHA-256, so it is the same in every
process, on every machine and for every worker count (Python's `hash()` is salted per process and is never used).
"""

from __future__ import annotations

import hashlib

import numpy as np


def seed_entropy(seed: int, video: str, corruption: str, severity: int) -> int:
    """128-bit integer entropy for one (seed, video, corruption, severity) unit."""
    key = f"davis-c|{int(seed)}|{video}|{corruption}|{int(severity)}".encode()
    return int.from_bytes(hashlib.sha256(key).digest()[:16], "little")


def derive_rng(seed: int, video: str, corruption: str, severity: int) -> np.random.Generator:
    """A fresh PCG64 `Generator` for one unit; equal arguments give equal streams."""
    return np.random.Generator(np.random.PCG64(np.random.SeedSequence(seed_entropy(seed, video, corruption, severity))))
