"""Diffusion with an alpha channel (channels=4): sprites on a transparent background come back transparent."""

from __future__ import annotations

from typing import Any

import pytest
import torch

from genart.api import App
from genart.testing import build_context, check_model

TINY4 = "diffusion:image_size=28,channels=4,width=8,steps=3"


def build(app: App, spec: str) -> Any:
    torch.manual_seed(0)
    return build_context(app).build("model", spec)


def sprites(n: int = 16, side: int = 28) -> torch.Tensor:
    """Opaque discs of a few colours on a transparent background whose hidden colour is random (as files
    often have: an editor's leftovers), as uint8 ``[N, 4, H, W]``."""
    generator = torch.Generator().manual_seed(0)
    yy, xx = torch.meshgrid(torch.arange(side), torch.arange(side), indexing="ij")
    images = torch.rand(n, 4, side, side, generator=generator)
    for index in range(n):
        radius = 5 + index % 4
        inside = ((yy - side / 2) ** 2 + (xx - side / 2) ** 2 < radius**2).float()
        images[index, :3] = torch.lerp(images[index, :3], torch.rand(3, 1, 1, generator=generator), inside)
        images[index, 3] = inside
    return (images * 255).round().to(torch.uint8)


def test_contract(builtin_app: App) -> None:
    check_model(build(builtin_app, TINY4), steps=2, batch_size=4)


def test_transparent_pixels_are_one_point_in_the_model_space(builtin_app: App) -> None:
    """Premultiplied: hidden colours do not reach the network, and decoding gives the visible colours back."""
    model = build(builtin_app, TINY4)
    images = sprites().float() / 255
    encoded = model.encode_images(images)
    hidden = images[:, 3:] == 0
    assert torch.equal(encoded.masked_select(hidden.expand_as(encoded)), torch.full_like(
        encoded.masked_select(hidden.expand_as(encoded)), -1.0))
    decoded = model.decode_images(encoded)
    assert torch.allclose(decoded[:, :3] * images[:, 3:], images[:, :3] * images[:, 3:], atol=1e-5)
    assert torch.equal(decoded[:, 3:], images[:, 3:])


@pytest.mark.slow
def test_trained_on_sprites_it_samples_transparent_backgrounds(builtin_app: App) -> None:
    """A 16-wide network, 100 steps (about 20 s on an idle 2-core CPU): the background is among the first
    things it learns (measured on a loaded CPU: corners 0.10, centres 0.85 mean alpha)."""
    model = build(builtin_app, "diffusion:image_size=28,channels=4,width=16,steps=8,sampler=heun,lr=0.002")
    data = sprites()
    torch.manual_seed(1)
    for _ in range(100):
        model.train_step(data[torch.randint(0, len(data), (8,))].float() / 255)
    samples = model.sample(8, torch.Generator().manual_seed(0))
    assert samples.shape == (8, 4, 28, 28)
    corners = torch.cat([samples[:, 3, :4, :4].flatten(), samples[:, 3, -4:, -4:].flatten()])
    centres = samples[:, 3, 12:16, 12:16].flatten()
    assert corners.mean() < 0.25 and (corners < 0.5).float().mean() > 0.75, corners
    assert centres.mean() > 0.75 and (centres > 0.5).float().mean() > 0.75, centres


def test_residue_under_transparent_pixels_decodes_to_black_not_to_noise(builtin_app: App) -> None:
    """A sampled background is (0, 0, 0, 0) plus a small residue in the premultiplied space: decoding must not
    blow it up into random straight colours (dividing 0.01 by 0.01 gave bright pixels under alpha 0.01), and
    the veil of alpha is cut to 0, as in the sprites."""
    model = build(builtin_app, TINY4)
    images = sprites().float() / 255
    residue = 0.02 * torch.randn(images.shape, generator=torch.Generator().manual_seed(3))
    decoded = model.decode_images(model.encode_images(images) + residue)
    hidden = (images[:, 3:] == 0).expand(-1, 3, -1, -1)
    assert decoded[:, :3][hidden].mean() < 0.03, "near-transparent pixels got random straight colours"
    assert torch.equal(decoded[:, 3:][images[:, 3:] == 0], torch.zeros(int((images[:, 3:] == 0).sum()))), \
        "a faint veil of alpha over the background is cut to fully transparent"
    visible = (images[:, 3:] == 1).expand(-1, 3, -1, -1)
    assert torch.allclose(decoded[:, :3][visible], images[:, :3][visible], atol=0.05)
    on_white = decoded[:, :3] * decoded[:, 3:] + 1 - decoded[:, 3:]
    truth = images[:, :3] * images[:, 3:] + 1 - images[:, 3:]
    assert float((on_white - truth).abs().max()) < 0.1, "what a viewer sees moves by less than the residue"
