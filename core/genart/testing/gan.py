"""The contract check of the ``gan`` model family's losses (see genart.GANLoss)."""

from __future__ import annotations

from typing import Any

from .checks import make_tiny_images


def check_gan_loss(loss: Any, *, batch_size: int = 4, image_size: int = 8) -> None:
    """A loss for the ``gan`` model family (:class:`genart.GANLoss`): both objectives are finite scalars
    that send gradients into the discriminator (D step) or through the fakes (G step), and a
    relativistic loss's ``g_loss_given_real`` depends on the real batch it is given."""
    import torch

    from ..contract.gan import GANLoss, RelativisticGANLoss, Scored

    assert isinstance(loss, GANLoss), "a GAN loss needs d_loss(d, real, fake) and g_loss(d, fake)"
    torch.manual_seed(0)
    d_net = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(3 * image_size**2, 1))

    def d(x: Any) -> Any:
        return d_net(x).squeeze(1)

    real = make_tiny_images(batch_size, 3, image_size, seed=1) * 2 - 1
    fake = make_tiny_images(batch_size, 3, image_size, seed=2) * 2 - 1
    d_loss = loss.d_loss(d, Scored(real, d(real)), Scored(fake.detach(), d(fake.detach())))
    assert isinstance(d_loss, torch.Tensor) and d_loss.dim() == 0, "d_loss must return a scalar tensor"
    assert torch.isfinite(d_loss), "d_loss is not finite"
    assert d_loss.requires_grad, "d_loss sends no gradient into the discriminator"
    d_loss.backward()  # type: ignore[no-untyped-call]
    assert all(p.grad is not None and torch.isfinite(p.grad).all() for p in d_net.parameters()), \
        "d_loss sends no gradient into the discriminator"
    generated = fake.clone().requires_grad_(True)
    scored_fake = Scored(generated, d(generated))
    if isinstance(loss, RelativisticGANLoss):
        real_images = real.clone().requires_grad_(True)  # a leaf, to see whether the loss depends on it
        real_scores = d(real).detach().requires_grad_(True)
        g_loss = loss.g_loss_given_real(d, scored_fake, Scored(real_images, real_scores))
    else:
        g_loss = loss.g_loss(d, scored_fake)
    assert isinstance(g_loss, torch.Tensor) and g_loss.dim() == 0, "g_loss must return a scalar tensor"
    assert torch.isfinite(g_loss), "g_loss is not finite"
    assert g_loss.requires_grad, "g_loss sends no gradient to the generator"
    if isinstance(loss, RelativisticGANLoss):
        uses = torch.autograd.grad(g_loss, (real_scores, real_images), retain_graph=True, allow_unused=True)
        assert any(g is not None and g.abs().sum() > 0 for g in uses), \
            "g_loss_given_real does not depend on the real batch it is given"
    (grad,) = torch.autograd.grad(g_loss, generated, allow_unused=True)
    assert grad is not None and torch.isfinite(grad).all() and grad.abs().sum() > 0, \
        "g_loss sends no gradient to the generator"
