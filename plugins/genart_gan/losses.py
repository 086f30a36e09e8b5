"""Adversarial losses: objects with ``d_loss(d, real, fake)`` and ``g_loss(d, fake)`` (``genart.GANLoss``).

The model scores the real and the fake batch itself and hands each over as a ``genart.Scored`` (the
images and D's logits on them), so a loss never has to tell the model which batch it is scoring. ``d``
(a callable image -> logits, augmentation included) is there for a loss that needs D on other images,
such as WGAN-GP's gradient penalty on interpolates. A third-party plugin registers an object with the
same two methods through ``register_losses`` and the built-in ``gan`` uses it unchanged.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from genart import Discriminator, Scored


class NonSaturating:
    """The original GAN loss with the non-saturating generator objective (softplus form of BCE)."""

    def d_loss(self, d: Discriminator, real: Scored, fake: Scored) -> torch.Tensor:
        return F.softplus(-real.scores.float()).mean() + F.softplus(fake.scores.float()).mean()

    def g_loss(self, d: Discriminator, fake: Scored) -> torch.Tensor:
        return F.softplus(-fake.scores.float()).mean()


class Hinge:
    def d_loss(self, d: Discriminator, real: Scored, fake: Scored) -> torch.Tensor:
        return F.relu(1 - real.scores.float()).mean() + F.relu(1 + fake.scores.float()).mean()

    def g_loss(self, d: Discriminator, fake: Scored) -> torch.Tensor:
        return -fake.scores.float().mean()


class LeastSquares:
    def d_loss(self, d: Discriminator, real: Scored, fake: Scored) -> torch.Tensor:
        return 0.5 * ((real.scores.float() - 1).pow(2).mean() + fake.scores.float().pow(2).mean())

    def g_loss(self, d: Discriminator, fake: Scored) -> torch.Tensor:
        return 0.5 * (fake.scores.float() - 1).pow(2).mean()


class WassersteinGP:
    """WGAN-GP: critic difference plus a penalty pulling the gradient norm on interpolates to 1."""

    def __init__(self, weight: float = 10.0, drift: float = 1e-3) -> None:
        self.weight = weight
        self.drift = drift  # small pull of real scores towards 0 keeps the critic's offset bounded

    @torch.compiler.disable  # the gradient penalty needs double backward: eager even under --compile
    def d_loss(self, d: Discriminator, real: Scored, fake: Scored) -> torch.Tensor:
        real_scores = real.scores.float()
        loss = fake.scores.float().mean() - real_scores.mean() + self.drift * real_scores.pow(2).mean()
        images = real.images
        alpha = torch.rand(images.shape[0], 1, 1, 1, device=images.device, dtype=images.dtype)
        mixed = (alpha * images.detach() + (1 - alpha) * fake.images.detach()).requires_grad_(True)
        (grad,) = torch.autograd.grad(d(mixed).float().sum(), mixed, create_graph=True)
        penalty = (grad.flatten(1).norm(dim=1) - 1).pow(2).mean()
        return loss + self.weight * penalty

    def g_loss(self, d: Discriminator, fake: Scored) -> torch.Tensor:
        return -fake.scores.float().mean()


LOSSES: dict[str, type] = {"ns": NonSaturating, "hinge": Hinge, "lsgan": LeastSquares, "wgan-gp": WassersteinGP}
