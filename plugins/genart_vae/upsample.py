"""The decoder's 2x upsampling step: a 4x4 stride-2 transposed convolution, with a faster bf16 backward on CPUs.

oneDNN's bf16 kernel for the *weight* gradient of a transposed convolution is barely faster than fp32
at the VAE's sizes (measured in docs/scaling.md), so under CPU bf16 autocast this layer computes its
own gradients from the two operations that are fast there: the input gradient is an ordinary strided
convolution of the output gradient, and the weight gradient is the weight gradient of that same
convolution (a transposed convolution is the adjoint of a strided one). Same function, same
parameters and state dict as ``nn.ConvTranspose2d``; everywhere else (fp32, CUDA) it is exactly that.
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

STRIDE, PADDING = 2, 1


class _TransposedConv(torch.autograd.Function):
    """conv_transpose2d(x, w, b) at stride 2, padding 1, in ``dtype``, with the adjoint-based backward."""

    @staticmethod
    def forward(ctx: Any, x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None,
                dtype: torch.dtype) -> torch.Tensor:
        ctx.dtypes = (x.dtype, weight.dtype)
        x, weight = x.to(dtype), weight.to(dtype)
        ctx.save_for_backward(x, weight)
        return F.conv_transpose2d(x, weight, None if bias is None else bias.to(dtype), stride=STRIDE,
                                  padding=PADDING)

    @staticmethod
    def backward(ctx: Any, grad: torch.Tensor) -> tuple[torch.Tensor | None, ...]:
        x, weight = ctx.saved_tensors
        grad = grad.to(x.dtype)
        grad_x = grad_weight = grad_bias = None
        if ctx.needs_input_grad[0]:
            grad_x = F.conv2d(grad, weight, stride=STRIDE, padding=PADDING).to(ctx.dtypes[0])
        if ctx.needs_input_grad[1]:
            # d<grad, convT(x, w)>/dw = d<x, conv(grad, w)>/dw: the weight gradient of conv(grad, w) given x
            grad_weight = torch.ops.aten.convolution_backward(
                x, grad, weight, None, [STRIDE] * 2, [PADDING] * 2, [1, 1], False, [0, 0], 1,
                [False, True, False])[1].to(ctx.dtypes[1])
        if ctx.needs_input_grad[2]:
            # summed in ``dtype`` (accumulated in fp32 inside, rounded once at the end, like the weight
            # gradient): asking sum() for an fp32 result would first copy the whole gradient to fp32
            grad_bias = grad.sum((0, 2, 3)).to(ctx.dtypes[1])
        return grad_x, grad_weight, grad_bias, None


class Upsample2x(nn.ConvTranspose2d):
    """``nn.ConvTranspose2d(c_in, c_out, 4, 2, 1)`` whose backward is faster under CPU bf16 autocast."""

    def __init__(self, c_in: int, c_out: int) -> None:
        super().__init__(c_in, c_out, 4, STRIDE, PADDING)

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # type: ignore[override]
        device = x.device.type
        if device == "cpu" and torch.is_autocast_enabled(device) and \
                torch.get_autocast_dtype(device) == torch.bfloat16 and torch.is_grad_enabled():
            with torch.autocast(device, enabled=False):
                return _TransposedConv.apply(x, self.weight, self.bias, torch.bfloat16)
        return super().forward(x)
