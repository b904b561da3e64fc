"""Per-video inference engines (state separate from the stateless networks).

Both engines share one small API on padded model-resolution tensors:
`start(frame[1,3,H,W], masks[K,1,H,W]) -> prob[K+1,H,W]` for the annotated first frame and
`step(frame[1,3,H,W], is_last) -> prob[K+1,H,W]` for every later frame (background first).
"""

from ttt.engines.stcn import STCNEngine
from ttt.engines.xmem import XMemEngine

ENGINES = {"stcn": STCNEngine, "xmem": XMemEngine}

__all__ = ["ENGINES", "STCNEngine", "XMemEngine"]
