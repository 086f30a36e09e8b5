"""D's minibatch standard deviation: over the whole batch (the default up to 32 px) or in groups."""

from __future__ import annotations

import torch

from genart_gan.nets import Discriminator, MinibatchStd


def test_whole_batch_std_is_one_figure_for_every_image() -> None:
    torch.manual_seed(0)
    x = torch.randn(8, 3, 4, 4)
    out = MinibatchStd(0)(x)
    assert out.shape == (8, 4, 4, 4) and torch.equal(out[:, :3], x)
    expected = (x.var(dim=0, unbiased=False) + 1e-8).sqrt().mean()
    assert torch.allclose(out[:, 3], expected.expand(8, 4, 4))


def test_grouped_std_shows_the_group_with_copies_in_it() -> None:
    """Images i, i + 2, i + 4, i + 6 form group i % 2 (StyleGAN's layout); a group of four copies of one
    image gets ~0, the varied group a clearly positive figure, each image its own group's."""
    torch.manual_seed(0)
    x = torch.randn(8, 3, 4, 4)
    x[0::2] = x[0]  # group 0: copies
    out = MinibatchStd(4)(x)[:, 3]
    assert torch.allclose(out[0::2], torch.full_like(out[0::2], 1e-4), atol=1e-6)
    varied = (x[1::2].var(dim=0, unbiased=False) + 1e-8).sqrt().mean()
    assert torch.allclose(out[1::2], varied.expand(4, 4, 4)) and varied > 0.5
    # the whole-batch figure mixes both groups and hides the copies
    assert float(MinibatchStd(0)(x)[0, 3, 0, 0]) > 0.5


def test_grouped_std_falls_back_to_the_batch_when_groups_do_not_divide_it() -> None:
    x = torch.randn(6, 2, 4, 4)
    assert torch.equal(MinibatchStd(4)(x), MinibatchStd(0)(x))
    assert torch.equal(MinibatchStd(4)(x[:1])[:, 2], torch.zeros(1, 4, 4))  # one image: no spread


def test_grouped_std_survives_r1_second_derivative() -> None:
    torch.manual_seed(0)
    x = torch.randn(8, 3, 4, 4)
    x[:, 1] = 0.0
    x.requires_grad_(True)
    out = MinibatchStd(4)(x)
    (grad,) = torch.autograd.grad((out * torch.randn(out.shape)).sum(), x, create_graph=True)
    (second,) = torch.autograd.grad(grad.pow(2).sum(), x)
    assert torch.isfinite(second).all()


def test_discriminator_takes_the_group_size() -> None:
    d = Discriminator(4, 32, 3, True, mbstd_group=4)
    assert [m.group for m in d.body if isinstance(m, MinibatchStd)] == [4]
    assert d(torch.randn(8, 3, 32, 32)).shape == (8,)
