"""The VAE's refiner trained when training ends: what it learns, the global RNG, checkpoints, staleness."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import torch
import torch.nn.functional as F

from genart.plugins import App
from genart.runs import load_checkpoint, save_checkpoint
from genart.testing import build_context, make_tiny_images
from genart_vae.refiner import Refiner, train_refiner

TINY = "vae:image_size=8,width=4,latent=3"


def build(app: App, spec: str) -> Any:
    torch.manual_seed(0)
    return build_context(app).build("model", spec)


def tiny_data(n: int = 24) -> torch.Tensor:
    return (make_tiny_images(n, 3, 8, seed=3) * 255).round().to(torch.uint8)


def test_the_untrained_refiner_is_the_identity_and_training_sharpens_a_blur() -> None:
    torch.manual_seed(0)
    sharp = (torch.rand(64, 1, 1, 1) * 0.5 + (torch.arange(12) >= 6).float().view(1, 1, 1, 12) * 0.5)
    sharp = sharp.expand(64, 3, 12, 12).contiguous()  # a vertical edge between two flat colours
    blurred = F.avg_pool2d(F.pad(sharp, (2, 2, 2, 2), mode="replicate"), 5, 1)
    refiner = Refiner(3, 8)
    assert torch.equal(refiner(blurred), blurred), "starts as the identity"
    before = F.l1_loss(blurred, sharp).item()
    train_refiner(refiner, blurred, sharp, steps=150, batch=16, lr=3e-3)
    with torch.no_grad():
        after = F.l1_loss(refiner(blurred), sharp).item()
    assert after < 0.5 * before, f"the refiner should undo most of the blur ({before:.4f} -> {after:.4f})"


def test_finish_training_trains_the_refiner_without_touching_the_global_rng(builtin_app: App) -> None:
    plain = build(builtin_app, TINY)
    after_plain = torch.get_rng_state()
    refined = build(builtin_app, f"{TINY},refine=30")
    assert torch.equal(torch.get_rng_state(), after_plain), "building the refiner leaves the global RNG alone"
    data = tiny_data()
    for model in (plain, refined):
        torch.manual_seed(1)  # the same reparameterisation noise: the same VAE weights
        model.train_step(data[:8].float() / 255)
    assert all(torch.equal(a, b) for a, b in zip(plain.net.parameters(), refined.net.parameters(), strict=True))
    rng = torch.get_rng_state()
    refined.finish_training(data)
    assert torch.equal(torch.get_rng_state(), rng), "exact resume: the refiner must not draw from the global RNG"
    plain.finish_training(data)
    z = torch.randn(5, 3, generator=torch.Generator().manual_seed(1))
    unrefined, out = plain.decode(z), refined.decode(z)
    assert not torch.allclose(unrefined, out), "decode goes through the trained refiner"
    assert refined.current_refiner() is not None
    assert torch.allclose(out, refined.current_refiner()(unrefined).clamp(0, 1)), "same VAE, then the refiner"
    assert out.min() >= 0 and out.max() <= 1
    refined.train_step(data[:8].float() / 255)
    assert refined.current_refiner() is None and refined.state_dict()["refiner"] == {}, "stale after more training"


def test_the_refiner_survives_a_checkpoint_and_refine_0_reads_it_unrefined(builtin_app: App, tmp_path: Path) -> None:
    model = build(builtin_app, f"{TINY},refine=10")
    model.finish_training(tiny_data())
    save_checkpoint(tmp_path / "state.safetensors", model.state_dict())
    state, _ = load_checkpoint(tmp_path / "state.safetensors")
    assert state["refiner"], "the trained refiner is in the checkpoint"
    fresh = build(builtin_app, f"{TINY},refine=10")
    fresh.load_state_dict(state)
    z = torch.randn(4, 3, generator=torch.Generator().manual_seed(2))
    assert torch.equal(fresh.decode(z), model.decode(z))
    without = build(builtin_app, TINY)  # refine=0: the same weights, drawn without the refiner
    without.load_state_dict(state)
    assert without.current_refiner() is None
    assert not torch.equal(without.decode(z), model.decode(z))


@pytest.mark.parametrize("spec", ["refine=-1", "refine_width=0", "refine_lr=0"])
def test_bad_refiner_parameters_are_refused(builtin_app: App, spec: str) -> None:
    with pytest.raises(Exception, match="refine"):
        build(builtin_app, f"{TINY},{spec}")
