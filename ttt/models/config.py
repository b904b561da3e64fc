"""Width/depth configuration shared by the full-size and tiny STCN/XMem networks."""

from __future__ import annotations

from dataclasses import asdict, dataclass, replace
from typing import Any


@dataclass(frozen=True)
class NetConfig:
    """Widths and depths of a matching network; the defaults are the official full-size models.

    `key_*` describe the ResNet-50-style key encoder (bottleneck mid widths; outputs are 4x),
    `value_*` the ResNet-18-style value encoder. `dec16/dec8/dec4` are the decoder widths at
    stride 16/8/4 (official: 512/256/256); `hidden_mid` is XMem's hidden-updater width (256).
    """

    key_stem: int = 64
    key_widths: tuple[int, int, int] = (64, 128, 256)
    key_blocks: tuple[int, int, int] = (3, 4, 6)
    value_stem: int = 64
    value_widths: tuple[int, int, int] = (64, 128, 256)
    value_blocks: tuple[int, int, int] = (2, 2, 2)
    key_dim: int = 64
    value_dim: int = 512
    hidden_dim: int = 64
    dec16: int = 512
    dec8: int = 256
    dec4: int = 256
    hidden_mid: int = 256
    single_object: bool = False

    @property
    def f16_dim(self) -> int:
        return self.key_widths[2] * 4

    @property
    def f8_dim(self) -> int:
        return self.key_widths[1] * 4

    @property
    def f4_dim(self) -> int:
        return self.key_widths[0] * 4

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def with_(self, **changes: Any) -> NetConfig:
        """A copy with some fields changed."""
        return replace(self, **changes)


FULL = NetConfig()
TINY = NetConfig(key_stem=8, key_widths=(8, 16, 32), key_blocks=(1, 1, 1), value_stem=8,
                 value_widths=(8, 16, 32), value_blocks=(1, 1, 1), key_dim=16, value_dim=32,
                 hidden_dim=8, dec16=32, dec8=16, dec4=16, hidden_mid=16)
