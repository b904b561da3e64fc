"""XMem (Cheng & Schwing, ECCV 2022) as a stateless module; keys/shapes equal the official checkpoints.

Per-object ("group") tensors are [B, K, C, H, W]; image features are [B, C, H, W].
`hidden_dim == 0` builds the no-sensory model (no hidden updater / reinforcer).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from ttt.models import memory
from ttt.models.config import NetConfig
from ttt.models.modules import (
    FeatureFusionBlock,
    HiddenReinforcer,
    HiddenUpdater,
    KeyEncoder,
    UpsampleBlock,
    ValueTrunk,
)


def _groups(x: torch.Tensor, k: int) -> torch.Tensor:
    """[B, C, ...] image features repeated for K objects and flattened to [B*K, C, ...]."""
    return x.unsqueeze(1).expand(-1, k, *x.shape[1:]).flatten(0, 1)


class XMemValueEncoder(ValueTrunk):
    """ResNet-18 (no conv bias) on cat(RGB, mask, others); fuser(cat(f16, value)); optional deep update."""

    def __init__(self, cfg: NetConfig):
        super().__init__(cfg, in_ch=4 if cfg.single_object else 5, bias=False)
        self.fuser = FeatureFusionBlock(cfg.f16_dim + cfg.value_widths[2], cfg.value_dim)
        self.hidden_reinforce = HiddenReinforcer(cfg.value_dim, cfg.hidden_dim) if cfg.hidden_dim > 0 else None

    def forward(self, image: torch.Tensor, f16: torch.Tensor, h: torch.Tensor | None, masks: torch.Tensor,
                others: torch.Tensor | None, is_deep_update: bool = True
                ) -> tuple[torch.Tensor, torch.Tensor | None]:
        b, k = masks.shape[:2]
        g = masks.unsqueeze(2) if others is None else torch.stack([masks, others], 2)
        g = torch.cat([_groups(image, k), g.flatten(0, 1)], 1)
        g = self.trunk(g)
        g = self.fuser(torch.cat([_groups(f16, k), g], 1))
        if is_deep_update and self.hidden_reinforce is not None:
            h = self.hidden_reinforce(g, h.flatten(0, 1)).view(b, k, *h.shape[2:])
        return g.view(b, k, *g.shape[1:]), h


class XMemKeyProjection(nn.Module):
    """key (orthogonal init), shrinkage s = d^2 + 1 and selection e = sigmoid(.) from f16."""

    def __init__(self, cin: int, key_dim: int):
        super().__init__()
        self.key_proj = nn.Conv2d(cin, key_dim, 3, padding=1)
        self.d_proj = nn.Conv2d(cin, 1, 3, padding=1)
        self.e_proj = nn.Conv2d(cin, key_dim, 3, padding=1)
        nn.init.orthogonal_(self.key_proj.weight.data)
        nn.init.zeros_(self.key_proj.bias.data)

    def forward(self, x: torch.Tensor, need_s: bool, need_e: bool):
        shrinkage = self.d_proj(x) ** 2 + 1 if need_s else None
        selection = torch.sigmoid(self.e_proj(x)) if need_e else None
        return self.key_proj(x), shrinkage, selection


class XMemDecoder(nn.Module):
    """fuser(cat(f16, readout, hidden)) -> up 16->8 -> up 8->4 -> pred; GRU update of the hidden state."""

    def __init__(self, cfg: NetConfig):
        super().__init__()
        self.fuser = FeatureFusionBlock(cfg.f16_dim + cfg.value_dim + cfg.hidden_dim, cfg.dec16)
        self.hidden_update = (HiddenUpdater((cfg.dec16, cfg.dec8, cfg.dec4 + 1), cfg.hidden_mid, cfg.hidden_dim)
                              if cfg.hidden_dim > 0 else None)
        self.up_16_8 = UpsampleBlock(cfg.f8_dim, cfg.dec16, cfg.dec8)
        self.up_8_4 = UpsampleBlock(cfg.f4_dim, cfg.dec8, cfg.dec4)
        self.pred = nn.Conv2d(cfg.dec4, 1, 3, padding=1)

    def forward(self, f16: torch.Tensor, f8: torch.Tensor, f4: torch.Tensor, hidden: torch.Tensor | None,
                readout: torch.Tensor, h_out: bool = True) -> tuple[torch.Tensor | None, torch.Tensor]:
        b, k = readout.shape[:2]
        g = readout if self.hidden_update is None else torch.cat([readout, hidden], 2)
        g16 = self.fuser(torch.cat([_groups(f16, k), g.flatten(0, 1)], 1))
        g8 = self.up_16_8(_groups(f8, k) if b > 1 else f8, g16)
        g4 = self.up_8_4(_groups(f4, k) if b > 1 else f4, g8)
        logits = self.pred(F.relu(g4))
        if h_out and self.hidden_update is not None:
            hidden = self.hidden_update(g16, g8, torch.cat([g4, logits], 1), hidden.flatten(0, 1))
            hidden = hidden.view(b, k, *hidden.shape[1:])
        else:
            hidden = None
        logits = F.interpolate(logits, scale_factor=4, mode="bilinear", align_corners=False)
        return hidden, logits.view(b, k, *logits.shape[-2:])


class XMem(nn.Module):
    """The XMem network (no state; working/long-term memory live in the inference engine)."""

    arch = "xmem"

    def __init__(self, cfg: NetConfig | None = None):
        super().__init__()
        self.cfg = cfg = cfg or NetConfig()
        self.key_dim, self.value_dim, self.hidden_dim = cfg.key_dim, cfg.value_dim, cfg.hidden_dim
        self.key_encoder = KeyEncoder(cfg)
        self.value_encoder = XMemValueEncoder(cfg)
        self.key_proj = XMemKeyProjection(cfg.f16_dim, cfg.key_dim)
        self.decoder = XMemDecoder(cfg)

    def encode_key(self, frame: torch.Tensor, need_sk: bool = True, need_ek: bool = True):
        """frame [B, 3, H, W] or [B, T, 3, H, W] -> (key, shrinkage, selection, f16, f8, f4).

        For 5-D input, key/shrinkage/selection are [B, C, T, h, w] and features [B, T, C, h, w].
        """
        five = frame.dim() == 5
        if five:
            b, t = frame.shape[:2]
            frame = frame.flatten(0, 1)
        f16, f8, f4 = self.key_encoder(frame)
        key, shrinkage, selection = self.key_proj(f16, need_sk, need_ek)
        if five:
            def bt(x):
                return None if x is None else x.view(b, t, *x.shape[-3:]).transpose(1, 2).contiguous()
            key, shrinkage, selection = bt(key), bt(shrinkage), bt(selection)
            f16, f8, f4 = (f.view(b, t, *f.shape[-3:]) for f in (f16, f8, f4))
        return key, shrinkage, selection, f16, f8, f4

    def encode_value(self, frame: torch.Tensor, f16: torch.Tensor, hidden: torch.Tensor | None,
                     masks: torch.Tensor, is_deep_update: bool = True):
        """masks [B, K, H, W] -> (value [B, K, CV, h, w], hidden [B, K, CH, h, w])."""
        others = None if self.cfg.single_object else memory.others_sum(masks, 1)
        return self.value_encoder(frame, f16, hidden, masks, others, is_deep_update)

    def read_memory(self, query_key: torch.Tensor, query_selection: torch.Tensor | None,
                    memory_key: torch.Tensor, memory_shrinkage: torch.Tensor | None,
                    memory_value: torch.Tensor, top_k: int | None = None) -> torch.Tensor:
        """Readout [B, K, CV, h, w]; memory_key [B, CK, T, h, w] (or [B, CK, N]), memory_value [B, K, CV, ...].

        `top_k=None` is the training network's full softmax; an int is the inference top-k softmax.
        """
        b, k, cv = memory_value.shape[:3]
        h, w = query_key.shape[-2:]
        ms = None if memory_shrinkage is None else memory.flat(memory_shrinkage, 1).unsqueeze(1)
        qe = None if query_selection is None else memory.flat(query_selection)
        sim = memory.xmem_similarity(memory.flat(memory_key), ms, memory.flat(query_key), qe)
        aff = memory.softmax(sim, top_k)
        out = memory.readout(aff, memory_value.flatten(1, 2).flatten(2))
        return out.view(b, k, cv, h, w)

    def segment(self, multi_scale_features, memory_readout: torch.Tensor, hidden: torch.Tensor | None,
                selector: torch.Tensor | None = None, h_out: bool = True, strip_bg: bool = True):
        """Decode -> sigmoid -> (x selector) -> aggregate(dim=1) -> (hidden, logits with bg, prob)."""
        hidden, logits = self.decoder(*multi_scale_features, hidden, memory_readout, h_out=h_out)
        prob = torch.sigmoid(logits)
        if selector is not None:
            prob = prob * selector
        logits, prob = self.aggregate(prob, dim=1)
        return hidden, logits, (prob[:, 1:] if strip_bg else prob)

    @staticmethod
    def aggregate(prob: torch.Tensor, dim: int = 1) -> tuple[torch.Tensor, torch.Tensor]:
        """Soft aggregation (see `ttt.models.memory.aggregate`)."""
        return memory.aggregate(prob, dim)
