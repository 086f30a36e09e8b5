"""Test images that tile by construction, shared by the pixel plugin's tests."""

from __future__ import annotations

import torch


def periodic_noise(n: int, size: int, seed: int = 0) -> torch.Tensor:
    """Low-pass filtered noise made in the Fourier domain: periodic, so it tiles by construction."""
    noise = torch.randn(n, 3, size, size, generator=torch.Generator().manual_seed(seed))
    frequency = torch.fft.fftfreq(size)
    keep = (frequency[:, None] ** 2 + frequency[None, :] ** 2) < 0.02
    smooth = torch.fft.ifft2(torch.fft.fft2(noise) * keep).real
    return (smooth - smooth.amin()) / (smooth.amax() - smooth.amin())
