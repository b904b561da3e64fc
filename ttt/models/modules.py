"""Network blocks shared by STCN and XMem (parameter names as in the official code).

Tensors carrying per-object features ("groups") are [B, K, C, H, W] in XMem; the blocks here work
on plain [N, C, H, W] batches and callers flatten B*K, which is what the official group modules do.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from ttt.models.config import NetConfig
from ttt.models.resnet import BasicBlock, Bottleneck, stem, trunk_layers


def conv3(cin: int, cout: int) -> nn.Conv2d:
    return nn.Conv2d(cin, cout, 3, padding=1)


class ResBlock(nn.Module):
    """Pre-activation residual block; a 3x3 `downsample` conv when the widths differ."""

    def __init__(self, cin: int, cout: int | None = None):
        super().__init__()
        cout = cin if cout is None else cout
        self.downsample = conv3(cin, cout) if cin != cout else None
        self.conv1 = conv3(cin, cout)
        self.conv2 = conv3(cout, cout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        r = self.conv2(F.relu(self.conv1(F.relu(x))))
        return r + (x if self.downsample is None else self.downsample(x))


class ChannelGate(nn.Module):
    """CBAM channel attention: shared MLP on global avg- and max-pool, summed, sigmoid."""

    def __init__(self, channels: int, reduction: int = 16):
        super().__init__()
        self.mlp = nn.Sequential(nn.Flatten(), nn.Linear(channels, channels // reduction), nn.ReLU(),
                                 nn.Linear(channels // reduction, channels))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        att = self.mlp(F.adaptive_avg_pool2d(x, 1)) + self.mlp(F.adaptive_max_pool2d(x, 1))
        return x * torch.sigmoid(att)[:, :, None, None]


class _SpatialConv(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(2, 1, 7, padding=3)


class SpatialGate(nn.Module):
    """CBAM spatial attention: 7x7 conv over the channel-wise [max, mean], sigmoid."""

    def __init__(self):
        super().__init__()
        self.spatial = _SpatialConv()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        pooled = torch.cat([x.amax(1, keepdim=True), x.mean(1, keepdim=True)], 1)
        return x * torch.sigmoid(self.spatial.conv(pooled))


class CBAM(nn.Module):
    """Convolutional block attention (channel then spatial gate)."""

    def __init__(self, channels: int, reduction: int = 16):
        super().__init__()
        self.ChannelGate = ChannelGate(channels, reduction)
        self.SpatialGate = SpatialGate()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.SpatialGate(self.ChannelGate(x))


class FeatureFusionBlock(nn.Module):
    """block1(cat) -> x; block2(x + CBAM(x)). The caller concatenates in its own order."""

    def __init__(self, cin: int, cmid: int, cout: int | None = None):
        super().__init__()
        self.block1 = ResBlock(cin, cmid)
        self.attention = CBAM(cmid)
        self.block2 = ResBlock(cmid, cmid if cout is None else cout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.block1(x)
        return self.block2(x + self.attention(x))


class UpsampleBlock(nn.Module):
    """skip_conv(skip) + bilinear x2 (align_corners=False) of the coarse input, then a ResBlock."""

    def __init__(self, skip_c: int, up_c: int, out_c: int, scale_factor: int = 2):
        super().__init__()
        self.skip_conv = conv3(skip_c, up_c)
        self.out_conv = ResBlock(up_c, out_c)
        self.scale_factor = scale_factor

    def forward(self, skip: torch.Tensor, up: torch.Tensor) -> torch.Tensor:
        """`skip` [N or 1, C, H, W]; `up` [N, C', H/2, W/2] (skip broadcasts over objects)."""
        up = F.interpolate(up, scale_factor=self.scale_factor, mode="bilinear", align_corners=False)
        x = self.skip_conv(skip)
        if x.shape[0] not in (1, up.shape[0]):
            x = x.repeat_interleave(up.shape[0] // x.shape[0], 0)
        return self.out_conv(x + up)


def gru_update(values: torch.Tensor, h: torch.Tensor, hidden_dim: int) -> torch.Tensor:
    """XMem's GRU variant: h' = forget*h*(1-update) + update*tanh(candidate)."""
    forget = torch.sigmoid(values[:, :hidden_dim])
    update = torch.sigmoid(values[:, hidden_dim:2 * hidden_dim])
    new = torch.tanh(values[:, 2 * hidden_dim:])
    return forget * h * (1 - update) + update * new


class HiddenUpdater(nn.Module):
    """XMem decoder GRU: 1x1 convs of g16, area-down g8 (1/2), area-down cat(g4, logits) (1/4)."""

    def __init__(self, g_dims: tuple[int, int, int], mid_dim: int, hidden_dim: int):
        super().__init__()
        self.hidden_dim = hidden_dim
        self.g16_conv = nn.Conv2d(g_dims[0], mid_dim, 1)
        self.g8_conv = nn.Conv2d(g_dims[1], mid_dim, 1)
        self.g4_conv = nn.Conv2d(g_dims[2], mid_dim, 1)
        self.transform = conv3(mid_dim + hidden_dim, hidden_dim * 3)
        nn.init.xavier_normal_(self.transform.weight)

    def forward(self, g16: torch.Tensor, g8: torch.Tensor, g4: torch.Tensor, h: torch.Tensor) -> torch.Tensor:
        """All inputs flattened to [N, C, ., .]; returns the new hidden state [N, hidden, H16, W16]."""
        g = (self.g16_conv(g16) + self.g8_conv(F.interpolate(g8, scale_factor=0.5, mode="area"))
             + self.g4_conv(F.interpolate(g4, scale_factor=0.25, mode="area")))
        return gru_update(self.transform(torch.cat([g, h], 1)), h, self.hidden_dim)


class HiddenReinforcer(nn.Module):
    """XMem value-encoder GRU on cat(value, hidden) (the "deep update")."""

    def __init__(self, g_dim: int, hidden_dim: int):
        super().__init__()
        self.hidden_dim = hidden_dim
        self.transform = conv3(g_dim + hidden_dim, hidden_dim * 3)
        nn.init.xavier_normal_(self.transform.weight)

    def forward(self, g: torch.Tensor, h: torch.Tensor) -> torch.Tensor:
        return gru_update(self.transform(torch.cat([g, h], 1)), h, self.hidden_dim)


class KeyEncoder(nn.Module):
    """ResNet-50 trunk up to layer3 (`layer1` named `res2`); returns f16, f8, f4."""

    def __init__(self, cfg: NetConfig):
        super().__init__()
        self.conv1, self.bn1 = stem(3, cfg.key_stem, bias=False)
        self.relu = nn.ReLU(inplace=True)
        self.maxpool = nn.MaxPool2d(3, stride=2, padding=1)
        (self.res2, self.layer2, self.layer3), _ = trunk_layers(
            Bottleneck, cfg.key_stem, cfg.key_widths, cfg.key_blocks)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
        f4 = self.res2(x)
        f8 = self.layer2(f4)
        return self.layer3(f8), f8, f4


class ValueTrunk(nn.Module):
    """ResNet-18 trunk on cat(RGB, masks...) up to layer3 (stride 16); base of both value encoders."""

    def __init__(self, cfg: NetConfig, in_ch: int, bias: bool):
        super().__init__()
        self.conv1, self.bn1 = stem(in_ch, cfg.value_stem, bias=bias)
        self.relu = nn.ReLU(inplace=True)
        self.maxpool = nn.MaxPool2d(3, stride=2, padding=1)
        (self.layer1, self.layer2, self.layer3), _ = trunk_layers(
            BasicBlock, cfg.value_stem, cfg.value_widths, cfg.value_blocks, bias=bias)

    def trunk(self, x: torch.Tensor) -> torch.Tensor:
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
        return self.layer3(self.layer2(self.layer1(x)))
