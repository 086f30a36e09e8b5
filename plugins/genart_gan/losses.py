"""Adversarial losses: objects with ``d_loss(d, real, fake)`` and ``g_loss(d, fake)``.

Each loss receives the discriminator itself (a callable image -> logits, augmentation included), not
its outputs, so a loss that needs more than the logits (WGAN-GP's gradient penalty on interpolates,
a consistency term, ...) can compute it. A third-party plugin registers an object with the same two
methods through ``register_losses`` and the built-in ``gan`` uses it unchanged.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
import torch.nn.functional as F

Discriminator = Callable[[torch.Tensor], torch.Tensor]


class NonSaturating:
    """The original GAN loss with the non-saturating generator objective (softplus form of BCE)."""

    def d_loss(self, d: Discriminator, real: torch.Tensor, fake: torch.Tensor) -> torch.Tensor:
        return F.softplus(-d(real).float()).mean() + F.softplus(d(fake).float()).mean()

    def g_loss(self, d: Discriminator, fake: torch.Tensor) -> torch.Tensor:
        return F.softplus(-d(fake).float()).mean()


class Hinge:
    def d_loss(self, d: Discriminator, real: torch.Tensor, fake: torch.Tensor) -> torch.Tensor:
        return F.relu(1 - d(real).float()).mean() + F.relu(1 + d(fake).float()).mean()

    def g_loss(self, d: Discriminator, fake: torch.Tensor) -> torch.Tensor:
        return -d(fake).float().mean()


class LeastSquares:
    def d_loss(self, d: Discriminator, real: torch.Tensor, fake: torch.Tensor) -> torch.Tensor:
        return 0.5 * ((d(real).float() - 1).pow(2).mean() + d(fake).float().pow(2).mean())

    def g_loss(self, d: Discriminator, fake: torch.Tensor) -> torch.Tensor:
        return 0.5 * (d(fake).float() - 1).pow(2).mean()


class WassersteinGP:
    """WGAN-GP: critic difference plus a penalty pulling the gradient norm on interpolates to 1."""

    def __init__(self, weight: float = 10.0, drift: float = 1e-3) -> None:
        self.weight = weight
        self.drift = drift  # small pull of real scores towards 0 keeps the critic's offset bounded

    @torch.compiler.disable  # the gradient penalty needs double backward: eager even under --compile
    def d_loss(self, d: Discriminator, real: torch.Tensor, fake: torch.Tensor) -> torch.Tensor:
        real_scores = d(real).float()
        loss = d(fake).float().mean() - real_scores.mean() + self.drift * real_scores.pow(2).mean()
        alpha = torch.rand(real.shape[0], 1, 1, 1, device=real.device, dtype=real.dtype)
        mixed = (alpha * real.detach() + (1 - alpha) * fake.detach()).requires_grad_(True)
        (grad,) = torch.autograd.grad(d(mixed).float().sum(), mixed, create_graph=True)
        penalty = (grad.flatten(1).norm(dim=1) - 1).pow(2).mean()
        return loss + self.weight * penalty

    def g_loss(self, d: Discriminator, fake: torch.Tensor) -> torch.Tensor:
        return -d(fake).float().mean()


LOSSES: dict[str, type] = {"ns": NonSaturating, "hinge": Hinge, "lsgan": LeastSquares, "wgan-gp": WassersteinGP}
