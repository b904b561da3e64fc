"""ResNet trunks with torchvision parameter names (no pretrained download).

`Bottleneck`/`BasicBlock` follow torchvision (stride on the 3x3 conv, `downsample.0` conv +
`downsample.1` BN). `conv_bias=True` gives STCN's own ResNet-18 where every conv has a bias.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn


def _conv(cin: int, cout: int, k: int, stride: int = 1, bias: bool = False) -> nn.Conv2d:
    return nn.Conv2d(cin, cout, k, stride=stride, padding=k // 2, bias=bias)


def _downsample(cin: int, cout: int, stride: int, bias: bool) -> nn.Sequential | None:
    if stride == 1 and cin == cout:
        return None
    return nn.Sequential(_conv(cin, cout, 1, stride, bias), nn.BatchNorm2d(cout))


class BasicBlock(nn.Module):
    """ResNet-18/34 block: two 3x3 convs with BN, identity or projected shortcut."""

    expansion = 1

    def __init__(self, cin: int, width: int, stride: int = 1, bias: bool = False):
        super().__init__()
        self.conv1 = _conv(cin, width, 3, stride, bias)
        self.bn1 = nn.BatchNorm2d(width)
        self.relu = nn.ReLU(inplace=True)
        self.conv2 = _conv(width, width, 3, 1, bias)
        self.bn2 = nn.BatchNorm2d(width)
        self.downsample = _downsample(cin, width, stride, bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        skip = x if self.downsample is None else self.downsample(x)
        return self.relu(out + skip)


class Bottleneck(nn.Module):
    """ResNet-50 bottleneck (torchvision v1.5: the stride sits on the 3x3 conv)."""

    expansion = 4

    def __init__(self, cin: int, width: int, stride: int = 1, bias: bool = False):
        super().__init__()
        self.conv1 = _conv(cin, width, 1, 1, bias)
        self.bn1 = nn.BatchNorm2d(width)
        self.conv2 = _conv(width, width, 3, stride, bias)
        self.bn2 = nn.BatchNorm2d(width)
        self.conv3 = _conv(width, width * 4, 1, 1, bias)
        self.bn3 = nn.BatchNorm2d(width * 4)
        self.relu = nn.ReLU(inplace=True)
        self.downsample = _downsample(cin, width * 4, stride, bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.relu(self.bn2(self.conv2(out)))
        out = self.bn3(self.conv3(out))
        skip = x if self.downsample is None else self.downsample(x)
        return self.relu(out + skip)


def make_layer(block: type[BasicBlock] | type[Bottleneck], cin: int, width: int, blocks: int,
               stride: int, bias: bool = False) -> tuple[nn.Sequential, int]:
    """A stage of `blocks` blocks; returns it and its output channel count."""
    layers = []
    for i in range(blocks):
        layers.append(block(cin, width, stride if i == 0 else 1, bias))
        cin = width * block.expansion
    return nn.Sequential(*layers), cin


def stem(in_ch: int, out_ch: int, bias: bool) -> tuple[nn.Conv2d, nn.BatchNorm2d]:
    """The 7x7/2 conv and its BN (maxpool and ReLU carry no parameters)."""
    return nn.Conv2d(in_ch, out_ch, 7, stride=2, padding=3, bias=bias), nn.BatchNorm2d(out_ch)


def trunk_layers(block: type[BasicBlock] | type[Bottleneck], stem_ch: int, widths: Sequence[int],
                 blocks: Sequence[int], bias: bool = False) -> tuple[list[nn.Sequential], list[int]]:
    """Three stages (strides 1, 2, 2 after the stem) and their output channel counts."""
    layers, dims, cin = [], [], stem_ch
    for width, n, stride in zip(widths, blocks, (1, 2, 2)):
        layer, cin = make_layer(block, cin, width, n, stride, bias)
        layers.append(layer)
        dims.append(cin)
    return layers, dims
