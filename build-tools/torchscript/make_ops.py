"""Writes the TorchScript operators peft4j calls through DJL for ops DJL 0.36 does not expose.

DJL's Java API has no fused scaled-dot-product attention. A module scripted here runs inside libtorch with autograd,
so Java hands it tensors and gets tensors back while the work inside runs in libtorch's fused kernel. Run it with
the Python reference stack (see this folder's README):

    python build-tools/torchscript/make_ops.py peft-core/src/main/resources/io/github/peft4j/core/nn/ops

Each file holds one module whose `forward` is the operator; the Java side is io.github.peft4j.core.nn.ScriptedOp
(loading) and Attention (the call). The files are small (2 KB) and committed; rerun this after changing a module.
"""
import os
import sys

import torch
import torch.nn.functional as F
from torch import Tensor


class Attention(torch.nn.Module):
    """softmax(q kᵀ / sqrt(d) + mask) v with dropout p on the probabilities (libtorch's fused kernel where it
    applies); mask is additive and broadcasts to [batch, heads, q, k]."""

    def forward(self, q: Tensor, k: Tensor, v: Tensor, mask: Tensor, p: Tensor) -> Tensor:
        return F.scaled_dot_product_attention(q, k, v, attn_mask=mask.to(q.dtype), dropout_p=float(p.item()))


class LinearBf16(torch.nn.Module):
    """x Wᵀ + b with the product in bfloat16: x is rounded to bf16, W arrives as float16 holding bf16 values (exact
    there: DJL 0.36's stock natives cannot hold a bf16 tensor, so the weight crosses into libtorch in a 2-byte type
    they know), the product accumulates in fp32 inside libtorch's bf16 GEMM and comes back as x's dtype; b (fp32, [out]
    or a 0-d zero) is added after. Autograd records the casts, so the gradient of x flows back in x's dtype."""

    def forward(self, x: Tensor, w: Tensor, b: Tensor) -> Tensor:
        return F.linear(x.to(torch.bfloat16), w.to(torch.bfloat16)).to(x.dtype) + b


def main(out_dir: str) -> None:
    os.makedirs(out_dir, exist_ok=True)
    for name, module in {
        "attention.pt": Attention(),
        "linear_bf16.pt": LinearBf16(),
    }.items():
        path = os.path.join(out_dir, name)
        torch.jit.script(module).save(path)
        print(f"wrote {path} ({os.path.getsize(path)} bytes) with torch {torch.__version__}")


if __name__ == "__main__":
    main(sys.argv[1])
