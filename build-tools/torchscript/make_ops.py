"""Writes the TorchScript operators peft4j calls through DJL for ops DJL 0.36 does not expose.

DJL's Java API has no fused scaled-dot-product attention, and its stock natives abort on any bfloat16 tensor. A
module scripted here runs inside libtorch with autograd, so Java hands it float32 tensors and gets float32 back while
the work inside runs fused or in bfloat16. Run with the Python reference stack (see this folder's README):

    python build-tools/torchscript/make_ops.py peft-core/src/main/resources/io/github/peft4j/core/nn/ops

Each file holds one module whose `forward` is the operator; the Java side is io.github.peft4j.core.nn.ScriptedOps.
"""
import os
import sys
from typing import Optional

import torch
import torch.nn.functional as F
from torch import Tensor


class LinearBf16(torch.nn.Module):
    """y = x Wᵀ (+ b) computed in bfloat16, returned in x's dtype; gradients flow to x, W and b in float32."""

    def forward(self, x: Tensor, w: Tensor, b: Optional[Tensor] = None) -> Tensor:
        bb: Optional[Tensor] = None
        if b is not None:
            bb = b.to(torch.bfloat16)
        return F.linear(x.to(torch.bfloat16), w.to(torch.bfloat16), bb).to(x.dtype)


class Attention(torch.nn.Module):
    """softmax(q kᵀ / sqrt(d) + mask) v with dropout p on the probabilities (libtorch's fused kernel where it
    applies); mask is additive and broadcasts to [batch, heads, q, k]."""

    def forward(self, q: Tensor, k: Tensor, v: Tensor, mask: Tensor, p: Tensor) -> Tensor:
        return F.scaled_dot_product_attention(q, k, v, attn_mask=mask.to(q.dtype), dropout_p=float(p.item()))


class AttentionBf16(torch.nn.Module):
    """Attention above with q, k, v and the mask cast to bfloat16; the result in q's dtype."""

    def forward(self, q: Tensor, k: Tensor, v: Tensor, mask: Tensor, p: Tensor) -> Tensor:
        t = torch.bfloat16
        out = F.scaled_dot_product_attention(
            q.to(t), k.to(t), v.to(t), attn_mask=mask.to(t), dropout_p=float(p.item()))
        return out.to(q.dtype)


def main(out_dir: str) -> None:
    os.makedirs(out_dir, exist_ok=True)
    for name, module in {
        "linear_bf16.pt": LinearBf16(),
        "attention.pt": Attention(),
        "attention_bf16.pt": AttentionBf16(),
    }.items():
        path = os.path.join(out_dir, name)
        torch.jit.script(module).save(path)
        print(f"wrote {path} ({os.path.getsize(path)} bytes) with torch {torch.__version__}")


if __name__ == "__main__":
    main(sys.argv[1])
