"""Official side of `bench/ttt_loss_official.py`: one TTT loss and its gradients, per method.

Executed by the official environment's Python in the STCN directory of a ttt_matching_vos copy:
`python _loss_driver.py IN.pt OUT.pt`. IN holds the weights and one training sample in the official
dataset's format; for each method it runs the official forward (`STCN_TTT.do_cycle_pass` /
`do_single_pass`, as `eval_all_datasets_ttt.py` calls them) and the official loss expression, back-propagates
into every parameter, and saves the loss and the gradients.
"""

from __future__ import annotations

import sys

import torch
import torch.nn as nn


def official_loss(model, data: dict, method: str) -> torch.Tensor:
    """The loss lines of the official `test_time_train_one_video` for one batch."""
    from model.losses import EntropyLoss

    ce = nn.CrossEntropyLoss()
    if method == "ae":
        logits_f, _ = model.do_single_pass(data)
        return ce(logits_f[0], data["cls_gt"][:, 0])
    logits_f, logits_b, _, _ = model.do_cycle_pass(data, backwards=method == "mcc", encode_first=False)
    if method == "mcc":
        return ce(logits_b[-1], data["cls_gt"][:, 0])
    return EntropyLoss(dim=1)(torch.cat(logits_f, 0))


def main(src: str, dst: str) -> int:
    sys.path.insert(0, ".")
    from ttt.model.model_ttt import STCN_TTT

    payload = torch.load(src, weights_only=True)
    model = STCN_TTT().eval()
    model.copy_weights_from(payload["weights"])
    out = {"torch": str(torch.__version__)}
    for method, data in payload["samples"].items():
        model.zero_grad(set_to_none=True)
        loss = official_loss(model, dict(data), method)
        loss.backward()
        grads = {n: p.grad.detach().clone() for n, p in model.named_parameters() if p.grad is not None}
        out[method] = {"loss": loss.detach(), "grads": grads}
    torch.save(out, dst)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], sys.argv[2]))
