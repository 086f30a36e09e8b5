"""The contract check of a ``sampler`` component (the kind the built-in diffusion plugin defines).

The contract, in full (docs/plugins/diffusion.md, "Writing a sampler"): a sampler is called as
``sampler(denoise, x, sigmas, generator) -> x0`` under ``torch.no_grad``, where

- ``x`` is a float32 ``[N, C, H, W]`` tensor on the model's device, ``x0 + sigmas[0] * eps``: images
  scaled to [-1, 1] plus Gaussian noise of standard deviation ``sigmas[0]`` (at the start of sampling,
  pure noise times ``sigma_max``);
- ``sigmas`` is a Python list of floats, strictly decreasing, that ends in ``0.0``; a sampler takes
  one step per consecutive pair and must return the estimate at the last one (sigma 0);
- ``denoise(x, sigma)`` takes such an ``x`` and a Python float ``sigma > 0`` and returns the model's
  estimate of ``x0``, float32, same shape and device; it runs the network under the run's autocast
  itself, so a sampler does its own arithmetic in float32 and never enters autocast;
- ``generator`` is a CPU ``torch.Generator`` (or None where the caller wants a deterministic path):
  a stochastic sampler draws its noise from it on the CPU and moves it to ``x.device``, so a seed gives
  the same images on every device;
- the optional attribute ``deterministic = True`` says the sampler draws no noise; walks and
  interpolations need one and use Heun where the chosen sampler is not.
"""

from __future__ import annotations

from typing import Any


def check_sampler(sampler: Any, *, steps: int = 40, n: int = 64, size: int = 4) -> None:
    """A sampler honours the contract above, tested on data whose exact denoiser is known.

    For Gaussian data ``x0 ~ N(0, s^2)`` the ideal denoiser is ``x * s^2 / (s^2 + sigma^2)`` and the
    probability-flow ODE ends at ``x0 = x * s / sqrt(s^2 + sigma_max^2)``; for one fixed image it is
    that image. So a correct sampler must end close to these, whatever its order or noise."""
    import torch

    sigmas = _schedule(steps)
    target = torch.linspace(-0.8, 0.8, 3 * size * size).reshape(1, 3, size, size)
    seen: list[tuple[Any, Any]] = []

    def fixed_image(x: Any, sigma: Any) -> Any:
        seen.append((x, sigma))
        assert isinstance(sigma, float) and sigma > 0, f"denoise got sigma {sigma!r}: a Python float > 0"
        assert x.dtype == torch.float32, f"denoise got {x.dtype}: samplers work in float32"
        return target.expand_as(x).clone()

    noise = torch.randn(n, 3, size, size, generator=torch.Generator().manual_seed(0)) * sigmas[0]
    with torch.no_grad():
        out = sampler(fixed_image, noise.clone(), sigmas, torch.Generator().manual_seed(1))
    assert isinstance(out, torch.Tensor) and out.shape == noise.shape, "a sampler returns x0 of x's shape"
    assert out.dtype == torch.float32 and torch.isfinite(out).all(), "a sampler returns finite float32 x0"
    assert seen, "the sampler never called denoise"
    assert all(x.shape == noise.shape for x, _ in seen), "denoise must get the whole batch"
    assert all(s in sigmas[:-1] or sigmas[-2] <= s <= sigmas[0] * 2 for _, s in seen), \
        "denoise was called at a noise level outside the schedule"
    assert (out - target).abs().max() < 1e-3, \
        "with a denoiser that always answers one image, sampling must end at that image (sigma 0)"
    _check_gaussian(sampler, sigmas, n)
    _check_determinism(sampler, sigmas, size)


def _schedule(steps: int, sigma_min: float = 0.002, sigma_max: float = 80.0, rho: float = 7.0) -> list[float]:
    hi, lo = sigma_max ** (1 / rho), sigma_min ** (1 / rho)
    return [(hi + i / (steps - 1) * (lo - hi)) ** rho for i in range(steps)] + [0.0]


def _check_gaussian(sampler: Any, sigmas: list[float], n: int, spread: float = 0.5) -> None:
    import torch

    def gaussian(x: Any, sigma: float) -> Any:
        return x * spread**2 / (spread**2 + sigma**2)

    noise = torch.randn(n, 3, 8, 8, generator=torch.Generator().manual_seed(2)) * sigmas[0]
    with torch.no_grad():
        out = sampler(gaussian, noise.clone(), sigmas, torch.Generator().manual_seed(3))
    std = float(out.std())
    assert abs(std - spread) < 0.15 * spread, \
        f"on N(0, {spread}^2) data the samples' spread is {std:.3f}: the sampler does not follow its sigmas"


def _check_determinism(sampler: Any, sigmas: list[float], size: int) -> None:
    import torch

    def denoise(x: Any, sigma: float) -> Any:
        return torch.tanh(x / (1 + sigma))

    noise = torch.randn(2, 3, size, size, generator=torch.Generator().manual_seed(4)) * sigmas[0]
    with torch.no_grad():
        first = sampler(denoise, noise.clone(), sigmas, torch.Generator().manual_seed(5))
        again = sampler(denoise, noise.clone(), sigmas, torch.Generator().manual_seed(5))
    assert torch.equal(first, again), "the same generator seed must give the same samples"
    if getattr(sampler, "deterministic", False):
        with torch.no_grad():
            unseeded = sampler(denoise, noise.clone(), sigmas, None)
        assert torch.equal(first, unseeded), "deterministic = True, but the result depends on the generator"
