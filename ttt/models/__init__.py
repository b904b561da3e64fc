"""STCN and XMem networks (state-dict compatible with the official checkpoints)."""

from ttt.models.config import NetConfig
from ttt.models.stcn import STCN
from ttt.models.xmem import XMem

__all__ = ["NetConfig", "STCN", "XMem"]
