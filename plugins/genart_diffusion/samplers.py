"""Samplers: integrate the probability-flow ODE (or its SDE) of a denoiser from noise to an image.

Every sampler sees the model only through a *denoiser* in the variance-exploding parametrisation of
Karras et al. 2022 (EDM): ``x = x0 + sigma * eps`` and ``denoise(x, sigma) ~ E[x0 | x]``. Any training
objective maps onto it (rectified flow: ``sigma = t / (1 - t)``), so a sampler a plugin registers
works with every model that offers a denoiser. Noise levels follow EDM's step schedule, which spends
its steps where the ODE bends most, at low noise.
"""

from __future__ import annotations

from collections.abc import Callable

import torch

Denoiser = Callable[[torch.Tensor, float], torch.Tensor]


def edm_sigmas(steps: int, sigma_min: float, sigma_max: float, rho: float = 7.0) -> list[float]:
    """EDM's schedule: ``steps`` levels evenly spaced in sigma^(1/rho) from sigma_max to sigma_min, then 0."""
    if steps == 1:
        return [sigma_max, 0.0]
    hi, lo = sigma_max ** (1 / rho), sigma_min ** (1 / rho)
    return [(hi + i / (steps - 1) * (lo - hi)) ** rho for i in range(steps)] + [0.0]


class EulerSampler:
    """First-order ODE steps (DDIM's update): one network evaluation per step."""

    deterministic = True

    def __call__(self, denoise: Denoiser, x: torch.Tensor, sigmas: list[float],
                 generator: torch.Generator | None = None) -> torch.Tensor:
        for sigma, sigma_next in zip(sigmas[:-1], sigmas[1:], strict=True):
            d = (x - denoise(x, sigma)) / sigma
            x = x + (sigma_next - sigma) * d
        return x


class HeunSampler:
    """EDM's Algorithm 1: Euler step, then the trapezoidal correction (2 evaluations per step, 1 for the last)."""

    deterministic = True

    def __call__(self, denoise: Denoiser, x: torch.Tensor, sigmas: list[float],
                 generator: torch.Generator | None = None) -> torch.Tensor:
        for sigma, sigma_next in zip(sigmas[:-1], sigmas[1:], strict=True):
            x = heun_step(denoise, x, sigma, sigma_next)
        return x


def heun_step(denoise: Denoiser, x: torch.Tensor, sigma: float, sigma_next: float) -> torch.Tensor:
    d = (x - denoise(x, sigma)) / sigma
    x_next = x + (sigma_next - sigma) * d
    if sigma_next > 0:
        d_next = (x_next - denoise(x_next, sigma_next)) / sigma_next
        x_next = x + (sigma_next - sigma) * 0.5 * (d + d_next)
    return x_next


class StochasticSampler:
    """EDM's Algorithm 2: before each Heun step, add fresh noise to raise sigma by a factor (1 + gamma),
    which corrects errors of earlier steps (Langevin-like "churn"). Noise comes from the caller's
    generator, so a seed still gives the same images."""

    deterministic = False

    def __init__(self, churn: float, s_min: float, s_max: float, s_noise: float) -> None:
        self.churn, self.s_min, self.s_max, self.s_noise = churn, s_min, s_max, s_noise

    def __call__(self, denoise: Denoiser, x: torch.Tensor, sigmas: list[float],
                 generator: torch.Generator | None = None) -> torch.Tensor:
        steps = len(sigmas) - 1
        gamma_max = min(self.churn / steps, 2 ** 0.5 - 1)
        for sigma, sigma_next in zip(sigmas[:-1], sigmas[1:], strict=True):
            gamma = gamma_max if self.s_min <= sigma <= self.s_max else 0.0
            sigma_hat = sigma * (1 + gamma)
            if gamma > 0:
                noise = torch.randn(x.shape, generator=generator, dtype=torch.float32).to(x.device)
                x = x + (sigma_hat ** 2 - sigma ** 2) ** 0.5 * self.s_noise * noise
            x = heun_step(denoise, x, sigma_hat, sigma_next)
        return x


