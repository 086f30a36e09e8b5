"""tileable=true for the GAN, VAE and diffusion models: circular networks, wrapping training crops."""

from __future__ import annotations

from typing import Any

import pytest
import torch
from torch import nn

from genart.api import App
from genart.testing import build_context
from genart.tiling import circular_padding, wrap_crops
from genart_pixel.seams import seam_ratio


@pytest.fixture(scope="module")
def app() -> App:
    return App.from_entry_points(only=None)


def test_circular_padding_makes_a_network_commute_with_rolling() -> None:
    torch.manual_seed(0)
    net = circular_padding(nn.Sequential(nn.Conv2d(3, 8, 4, 2, 1), nn.SiLU(), nn.Conv2d(8, 8, 3, 1, 1),
                                         nn.ConvTranspose2d(8, 8, 4, 2, 1), nn.ConvTranspose2d(8, 3, 4, 2, 1)))
    x = torch.randn(2, 3, 16, 16)
    out = net(x)  # 16 -> 8 -> 8 -> 16 -> 32
    assert out.shape == (2, 3, 32, 32)
    assert torch.allclose(net(torch.roll(x, (2, 4), (-2, -1))), torch.roll(out, (4, 8), (-2, -1)), atol=1e-5)
    plain = nn.Conv2d(3, 3, 3, 1, 1)
    assert list(circular_padding(nn.Sequential(plain)).state_dict()) == ["0.weight", "0.bias"]


def test_wrap_crops_roll_each_image_by_its_own_offset() -> None:
    batch = torch.rand(6, 3, 5, 7, generator=torch.Generator().manual_seed(0))
    rolled = wrap_crops(batch, torch.Generator().manual_seed(1))
    for original, image in zip(batch, rolled, strict=True):
        matches = [(dy, dx) for dy in range(5) for dx in range(7)
                   if torch.equal(torch.roll(original, (dy, dx), (-2, -1)), image)]
        assert matches
    assert not torch.equal(rolled, batch)


@pytest.mark.parametrize("spec", ["gan:image_size=32,width=8", "vae:image_size=16,width=8",
                                  "diffusion:image_size=32,width=16,steps=3"])
def test_tileable_models_train_and_sample_without_a_seam(app: App, spec: str) -> None:
    context = build_context(app)
    torch.manual_seed(0)
    model = context.build("model", f"{spec},tileable=true")
    default = context.build("model", spec)
    assert list(model.state_dict()) == list(default.state_dict())  # same checkpoint layout
    size = model.image_shape[-1]
    losses = model.train_step(torch.rand(4, 3, size, size))
    assert all(torch.isfinite(torch.tensor(v)) for v in losses.values())
    samples = model.sample(32, torch.Generator().manual_seed(0))
    assert samples.shape == (32, 3, size, size) and 0.9 <= seam_ratio(samples) <= 1.1


def test_diffusion_edits_refuse_non_square_images_from_a_tileable_run(app: App, genart_cli: Any,
                                                                      tmp_path: Any) -> None:
    from genart.images import save_image
    from genart.testing import make_tiny_images, make_tiny_run

    run = make_tiny_run(app, tmp_path / "runs", "diffusion:image_size=32,width=16,steps=2,tileable=true",
                        "shapes:count=8", steps=1, num_samples=1)
    save_image(make_tiny_images(1, 3, (32, 48))[0], tmp_path / "wide.png")
    result = genart_cli(["post", str(tmp_path / "wide.png"), "--post", f"diffuse-vary:run={run}",
                         "--out", str(tmp_path / "out"), "-q"], app=app)
    assert result.exit_code == 2 and "square" in result.output and len(result.output.strip().splitlines()) == 1
