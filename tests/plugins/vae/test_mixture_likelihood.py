"""The per-pixel mixture of discretised logistics (``loss=mixlogistic``): a proper pmf, the single
logistic as its one-component case, and the image it shows (mode or mean)."""

from __future__ import annotations

import pytest
import torch

from genart.contract.plugins import App
from genart.testing import build_context, check_model


def mixture(app: App, options: str = "") -> torch.nn.Module:
    return build_context(app).build("loss", f"mixlogistic:{options}" if options else "mixlogistic")


@pytest.mark.parametrize("scale", ["component", "shared"])
def test_it_is_a_distribution_over_the_256_levels_of_each_colour(builtin_app: App, scale: str) -> None:
    """The probabilities of all colours of one pixel sum to 1: with two channels, all 65,536 pairs of
    levels, under random weights, means and scales."""
    likelihood = mixture(builtin_app, f"components=3,scale={scale}")
    torch.manual_seed(1)
    with torch.no_grad():
        likelihood.log_scale.normal_(-3, 1)
        out = torch.randn(1, 3 * 3, 1, 1) * 2  # 3 logits, then 3 components x 2 channels of means
        levels = torch.arange(256, dtype=torch.float32) / 255
        pairs = torch.cartesian_prod(levels, levels).view(-1, 2, 1, 1)
        probabilities = torch.exp(-likelihood.nll(out.expand(pairs.shape[0], -1, -1, -1), pairs))
    assert torch.isfinite(probabilities).all()
    assert abs(float(probabilities.sum()) - 1) < 2e-3, float(probabilities.sum())


def test_one_component_is_the_single_logistic(builtin_app: App) -> None:
    single = build_context(builtin_app).build("loss", "logistic")
    one = mixture(builtin_app, "components=1")
    with torch.no_grad():
        single.log_scale.copy_(torch.tensor([-2.5, -3.0, -1.5, -2.0]))
        one.log_scale.copy_(single.log_scale[None])
    torch.manual_seed(0)
    means = torch.rand(4, 3, 5, 5) * 2 - 1
    x = torch.randint(0, 256, (4, 3, 5, 5)).float() / 255
    out = torch.cat([torch.randn(4, 1, 5, 5), means], 1)  # the one logit cancels in the softmax
    assert torch.allclose(one.nll(out, x), single.nll(means, x), rtol=1e-5)
    assert torch.allclose(one.mean(out), single.mean(means))


def test_the_mode_shows_the_likeliest_components_colour_and_the_mean_averages() -> None:
    from genart_vae.likelihoods import LogisticMixture

    logits = torch.tensor([[0.0, 2.0], [3.0, 0.0]]).view(2, 2, 1, 1)  # pixel 0 picks component 1, pixel 1 component 0
    colours = torch.tensor([[-1.0, -1.0, -1.0], [1.0, 0.0, -0.5]])  # component 0 black, component 1 orange
    out = torch.cat([logits, colours.reshape(1, 6, 1, 1).expand(2, 6, 1, 1)], 1)
    mode = LogisticMixture(2, "mode").mean(out)
    assert torch.allclose(mode[0, :, 0, 0], torch.tensor([1.0, 0.5, 0.25]))
    assert torch.allclose(mode[1, :, 0, 0], torch.tensor([0.0, 0.0, 0.0]))
    mean = LogisticMixture(2, "mean").mean(out)
    weights = torch.softmax(logits[0, :, 0, 0], 0)
    expected = (weights[:, None] * (colours + 1) / 2).sum(0)
    assert torch.allclose(mean[0, :, 0, 0], expected)


def test_smooth_removes_a_stray_pixel_but_keeps_an_edge() -> None:
    """One pixel that narrowly prefers component 1 inside a field of component 0 is shown in component
    0's colour with ``smooth=1``, and in its own colour per pixel; a straight edge stays where it was."""
    from genart_vae.likelihoods import LogisticMixture

    logits = torch.zeros(1, 2, 7, 7)
    logits[0, 0] = 1.0
    logits[0, 0, 3, 3], logits[0, 1, 3, 3] = 0.0, 0.2  # the stray pixel
    logits[0, 1, :, 5:] = 3.0  # an edge: the last two columns are component 1
    colours = torch.tensor([-1.0, 1.0]).view(1, 2, 1, 1, 1).expand(1, 2, 1, 7, 7).reshape(1, 2, 7, 7)
    out = torch.cat([logits, colours], 1)  # one channel: component 0 black, component 1 white
    per_pixel = LogisticMixture(2, "mode", smooth=0).mean(out)[0, 0]
    smoothed = LogisticMixture(2, "mode", smooth=1).mean(out)[0, 0]
    assert per_pixel[3, 3] == 1 and smoothed[3, 3] == 0
    assert torch.equal(smoothed[:, 5:], torch.ones(7, 2)) and torch.equal(smoothed[:, :3], torch.zeros(7, 3))


def test_it_prefers_two_sharp_colours_to_their_blur(builtin_app: App) -> None:
    """At a pixel that is dark (level 51) or light (level 204) with even odds, two sharp components
    score better than one logistic at the average grey, whatever its scale: the reason the mixture
    keeps edges where a single logistic blurs them."""
    single = build_context(builtin_app).build("loss", "logistic")
    two = mixture(builtin_app, "components=2,scale=shared")
    x = torch.tensor([51.0, 204.0]).view(2, 1, 1, 1) / 255
    grey = torch.zeros(2, 1, 1, 1)
    with torch.no_grad():
        single_nats = []
        for log_scale in torch.linspace(-6, 1, 29).tolist():
            single.log_scale.fill_(log_scale)
            single_nats.append(float(single.nll(grey, x).mean()))
        two.log_scale.fill_(-5.0)
        out = torch.tensor([0.0, 0.0, 51 / 127.5 - 1, 204 / 127.5 - 1]).view(1, 4, 1, 1).expand(2, 4, 1, 1)
        mixture_nats = float(two.nll(out, x).mean())
    assert mixture_nats < min(single_nats) - 0.5, (mixture_nats, min(single_nats))


@pytest.mark.parametrize("options", ["", "components=2,scale=shared,show=mean"])
def test_the_vae_trains_with_it(builtin_app: App, options: str) -> None:
    loss = f'"mixlogistic:{options}"' if options else "mixlogistic"
    torch.manual_seed(0)
    model = build_context(builtin_app).build("model", f"vae:image_size=8,width=4,latent=3,loss={loss}")
    check_model(model, steps=2, batch_size=4)


@pytest.mark.parametrize("options", ["components=0", "show=median", "scale=pixel", "smooth=-1"])
def test_bad_options_are_refused(builtin_app: App, options: str) -> None:
    with pytest.raises(Exception, match="components|show|scale|smooth"):
        mixture(builtin_app, options)
