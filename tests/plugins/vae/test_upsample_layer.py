"""The VAE decoder's transposed convolution with its own bf16 backward: the same function and gradients."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from genart_vae.upsample import Upsample2x


def _grads(layer: nn.Module, x: torch.Tensor, bf16: bool) -> tuple[torch.Tensor, ...]:
    x = x.clone().requires_grad_(True)
    layer.zero_grad(set_to_none=True)
    with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
        y = layer(x)
    (y.float() * torch.linspace(-1, 1, y.numel()).view_as(y)).sum().backward()
    return y.float(), x.grad, layer.weight.grad, layer.bias.grad


@pytest.mark.parametrize("bf16", [False, True])
def test_same_output_and_gradients_as_conv_transpose(bf16: bool) -> None:
    torch.manual_seed(0)
    reference = nn.ConvTranspose2d(6, 5, 4, 2, 1)
    layer = Upsample2x(6, 5)
    layer.load_state_dict(reference.state_dict())
    x = torch.randn(3, 6, 7, 5).contiguous(memory_format=torch.channels_last)
    ours, theirs = _grads(layer, x, bf16), _grads(reference, x, bf16)
    assert ours[0].shape == (3, 5, 14, 10)
    for a, b in zip(ours, theirs, strict=True):
        assert a.dtype == b.dtype and a.shape == b.shape
        tolerance = 2e-2 * b.abs().max().item() if bf16 else 1e-5
        torch.testing.assert_close(a, b, atol=tolerance, rtol=0)


def test_the_bf16_path_is_the_one_taken_and_keeps_fp32_parameters() -> None:
    layer = Upsample2x(4, 2)
    x = torch.randn(2, 4, 4, 4, requires_grad=True)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        y = layer(x)
    assert y.dtype == torch.bfloat16 and type(y.grad_fn).__name__ == "_TransposedConvBackward"
    y.float().sum().backward()
    assert layer.weight.grad.dtype == torch.float32 and x.grad.dtype == torch.float32


def test_state_dict_is_that_of_conv_transpose() -> None:
    """Checkpoints written before the layer existed load into it unchanged."""
    assert Upsample2x(8, 4).state_dict().keys() == nn.ConvTranspose2d(8, 4, 4, 2, 1).state_dict().keys()
