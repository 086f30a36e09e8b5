"""Per-size defaults: what is measured to help at 64 px must leave 28-32 px (MNIST, shapes) as they were."""

from __future__ import annotations

import dataclasses

import pytest

from genart_gan.plugin import GANParams

#: every default of ``gan`` at 28 and 32 px as it was before the 64 px defaults (the MNIST figures of
#: docs/plugins/gan.md were measured with exactly these)
BEFORE = {"latent": 64, "width": 16, "blocks": 2, "mbstd_group": 0, "categories": 0, "info_weight": 1.0,
          "upsample": "transposed", "loss": "hinge", "spectral_norm": True, "r1_gamma": 0.2, "r1_every": 16,
          "augment": "color+translation", "ada_target": 0.6, "ada_images": 50000, "ema": 0.999, "ema_warmup": 0,
          "lr_g": 1.5e-3, "lr_d": 1.5e-3, "beta1": 0.0, "beta2": 0.99, "tileable": False}


@pytest.mark.parametrize(("size", "channels"), [(28, 1), (32, 3), (32, 1)])
def test_small_image_defaults_are_unchanged(size: int, channels: int) -> None:
    params = dataclasses.asdict(GANParams(image_size=size, channels=channels))
    assert {key: params[key] for key in BEFORE} == BEFORE
    assert set(params) == set(BEFORE) | {"image_size", "channels"}  # a new parameter must be added above


@pytest.mark.parametrize(("size", "expected"), [(28, 0), (32, 0), (36, 4), (64, 4), (128, 4)])
def test_minibatch_std_groups_by_default_follow_the_image_size(size: int, expected: int) -> None:
    from genart_gan.nets import Discriminator, MinibatchStd

    params = GANParams(image_size=size)
    assert params.mbstd_group == expected
    assert GANParams(image_size=size, mbstd_group=2).mbstd_group == 2
    d = Discriminator(4, size, 3, True, mbstd_group=params.mbstd_group)
    assert [m.group for m in d.body if isinstance(m, MinibatchStd)] == [expected]
