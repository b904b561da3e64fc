"""STCN (Cheng et al., NeurIPS 2021) as a stateless module; keys/shapes equal the official checkpoints.

Per-object tensors are batched along dim 0 ([K, C, H, W] for one frame, or [B*K, ...] in training);
image features (f16_thin, f8, f4) of batch 1 broadcast over the objects.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from ttt.models import memory
from ttt.models.config import NetConfig
from ttt.models.modules import FeatureFusionBlock, KeyEncoder, ResBlock, UpsampleBlock, ValueTrunk


class STCNValueEncoder(ValueTrunk):
    """STCN's ResNet-18 (every conv biased) on cat(RGB, mask, others) + fuser(cat(value, f16))."""

    def __init__(self, cfg: NetConfig):
        super().__init__(cfg, in_ch=4 if cfg.single_object else 5, bias=True)
        self.fuser = FeatureFusionBlock(cfg.value_widths[2] + cfg.f16_dim, cfg.value_dim)

    def forward(self, image: torch.Tensor, f16: torch.Tensor, mask: torch.Tensor,
                others: torch.Tensor | None) -> torch.Tensor:
        parts = [image, mask] if others is None else [image, mask, others]
        x = self.trunk(torch.cat(parts, 1))
        return self.fuser(torch.cat([x, f16], 1))


class KeyProjection(nn.Module):
    """3x3 conv f16 -> key (orthogonal init, zero bias)."""

    def __init__(self, cin: int, key_dim: int):
        super().__init__()
        self.key_proj = nn.Conv2d(cin, key_dim, 3, padding=1)
        nn.init.orthogonal_(self.key_proj.weight.data)
        nn.init.zeros_(self.key_proj.bias.data)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.key_proj(x)


class STCNDecoder(nn.Module):
    """compress(cat(readout, f16_thin)) -> up 16->8 -> up 8->4 -> pred(relu) -> bilinear x4."""

    def __init__(self, cfg: NetConfig):
        super().__init__()
        self.compress = ResBlock(2 * cfg.value_dim, cfg.dec16)
        self.up_16_8 = UpsampleBlock(cfg.f8_dim, cfg.dec16, cfg.dec8)
        self.up_8_4 = UpsampleBlock(cfg.f4_dim, cfg.dec8, cfg.dec4)
        self.pred = nn.Conv2d(cfg.dec4, 1, 3, padding=1)

    def forward(self, x: torch.Tensor, f8: torch.Tensor, f4: torch.Tensor) -> torch.Tensor:
        x = self.up_8_4(f4, self.up_16_8(f8, self.compress(x)))
        x = self.pred(F.relu(x))
        return F.interpolate(x, scale_factor=4, mode="bilinear", align_corners=False)


class STCN(nn.Module):
    """The STCN network (no state; memory lives in the inference engine or the training loop)."""

    arch = "stcn"

    def __init__(self, cfg: NetConfig | None = None):
        super().__init__()
        self.cfg = cfg = cfg or NetConfig()
        self.key_encoder = KeyEncoder(cfg)
        self.value_encoder = STCNValueEncoder(cfg)
        self.key_proj = KeyProjection(cfg.f16_dim, cfg.key_dim)
        self.key_comp = nn.Conv2d(cfg.f16_dim, cfg.value_dim, 3, padding=1)
        self.decoder = STCNDecoder(cfg)

    def encode_key(self, frames: torch.Tensor) -> tuple[torch.Tensor, ...]:
        """frames [N, 3, H, W] -> (k16, f16_thin, f16, f8, f4), strides 16, 16, 16, 8, 4."""
        f16, f8, f4 = self.key_encoder(frames)
        return self.key_proj(f16), self.key_comp(f16), f16, f8, f4

    def encode_value(self, frame: torch.Tensor, f16: torch.Tensor, mask: torch.Tensor,
                     other_masks: torch.Tensor | None = None) -> torch.Tensor:
        """Value of each object: frame [N|1, 3, H, W], f16 [N|1, C, h, w], masks [N, 1, H, W] -> [N, CV, h, w]."""
        n = mask.shape[0]
        if frame.shape[0] != n:
            frame = frame.expand(n, -1, -1, -1)
        if f16.shape[0] != n:
            f16 = f16.expand(n, -1, -1, -1)
        if self.cfg.single_object:
            other_masks = None
        elif other_masks is None:
            other_masks = torch.zeros_like(mask)
        return self.value_encoder(frame, f16, mask, other_masks)

    def encode_value_multi(self, frame: torch.Tensor, f16: torch.Tensor, masks: torch.Tensor) -> torch.Tensor:
        """All K objects of one frame: masks [K, 1, H, W]; others = sum of the other objects' masks."""
        return self.encode_value(frame, f16, masks, memory.others_sum(masks, 0))

    @staticmethod
    def read_memory(mem_key: torch.Tensor, mem_value: torch.Tensor, query_key: torch.Tensor,
                    top_k: int | None = None) -> torch.Tensor:
        """Readout [Bv, CV, h, w] of query keys [Bk, CK, h, w] from memory keys [Bk, CK, ...] / values [Bv, CV, ...].

        `top_k=None`: full softmax over all memory (the official training network);
        an int: the inference top-k softmax without max-subtraction (`softmax_w_top`).
        """
        h, w = query_key.shape[-2:]
        sim = memory.l2_similarity(memory.flat(mem_key), memory.flat(query_key))
        out = memory.readout(memory.softmax(sim, top_k), memory.flat(mem_value))
        return out.view(out.shape[0], out.shape[1], h, w)

    def decode(self, readout: torch.Tensor, f16_thin: torch.Tensor, f8: torch.Tensor,
               f4: torch.Tensor) -> torch.Tensor:
        """Per-object logits [N, 1, H, W] at the padded input size; image features broadcast over N."""
        if f16_thin.shape[0] != readout.shape[0]:
            f16_thin = f16_thin.expand(readout.shape[0], -1, -1, -1)
        return self.decoder(torch.cat([readout, f16_thin], 1), f8, f4)

    def segment(self, readout: torch.Tensor, f16_thin: torch.Tensor, f8: torch.Tensor, f4: torch.Tensor,
                num_objects: int | None = None, selector: torch.Tensor | None = None
                ) -> tuple[torch.Tensor, torch.Tensor]:
        """Decode, sigmoid, (x selector), aggregate -> (logits with bg, probabilities with bg).

        `num_objects=None`: readout is [K, CV, h, w] for one frame; outputs [K+1, 1, H, W].
        Else readout is [B*K, ...] and outputs are [B, K+1, H, W] (selector [B, K, 1, 1] optional).
        """
        prob = torch.sigmoid(self.decode(readout, f16_thin, f8, f4))
        if num_objects is None:
            return self.aggregate(prob, dim=0)
        prob = prob.view(-1, num_objects, *prob.shape[-2:])
        if selector is not None:
            prob = prob * selector
        return self.aggregate(prob, dim=1)

    @staticmethod
    def aggregate(prob: torch.Tensor, dim: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
        """Soft aggregation (see `ttt.models.memory.aggregate`)."""
        return memory.aggregate(prob, dim)
