"""The ``gan`` model family's loss contract, in the core because third-party losses implement it.

The core itself never calls a GAN loss: the built-in ``gan`` model does, and refuses a loss tagged for
another family. It lives here, beside the other protocols, so a plugin that only ships a loss depends
on genart's public contract rather than on the built-in GAN plugin.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

from ..errors import PluginAPIDeprecation

if TYPE_CHECKING:
    import torch

# A loss is whatever its model family agrees on; a family publishes that agreement as a protocol (the
# GAN's is here because third-party losses implement it; the VAE's likelihoods subclass
# ``genart_vae.likelihoods.Likelihood``) and tags its losses so a model can refuse a loss of another family.
#: a discriminator as a loss sees it: images in [-1, 1] to logits (augmentation included)
Discriminator = Callable[["torch.Tensor"], "torch.Tensor"]


@dataclass(frozen=True)
class Scored:
    """A batch and the discriminator's scores on it, as the model hands them to a GAN loss.

    The model scores the real and the fake batch itself and says which is which, so what it learns from
    those scores (the adaptive augmentation's tally of D on the reals, the categorical code's features of
    the fakes) never depends on how a loss calls ``d``."""

    #: ``[N, C, H, W]`` in [-1, 1]
    images: torch.Tensor
    #: D's logits ``[N]`` on ``images`` (augmentation included): with a graph into D in the D step and
    #: through the fakes into G in the G step
    scores: torch.Tensor

    @staticmethod
    def images_of(batch: Any) -> Any:
        """What ``d`` scores: a tensor, or the images of a :class:`Scored` that a loss in the plugin API 1
        form hands back to ``d`` (``d(real)``), with a deprecation warning. A GAN model calls it on
        whatever its ``d`` receives, so such a loss keeps working for one more major version."""
        if isinstance(batch, Scored):
            warn_old_form("calls d(real) / d(fake) on its Scored batches")
            return batch.images
        return batch

    # -- the plugin API 1 form, where real and fake were image tensors: still served, warned ----------
    def __getattr__(self, name: str) -> Any:
        if name.startswith("__"):
            raise AttributeError(name)
        warn_old_form(f"uses its Scored batch as a tensor (.{name})")
        return getattr(self.images, name)

    @classmethod
    def __torch_function__(cls, func: Any, types: Any, args: Any = (), kwargs: Any = None) -> Any:
        warn_old_form(f"passes its Scored batch to {getattr(func, '__name__', 'a torch function')}")
        return func(*_unwrap(args), **_unwrap(kwargs or {}))

    def __getitem__(self, index: Any) -> Any:
        warn_old_form("indexes its Scored batch as a tensor")
        return self.images[index]

    def __neg__(self) -> Any:
        return -Scored.images_of(self)


def _binary(name: str) -> Callable[[Scored, Any], Any]:
    def operator(self: Scored, other: Any) -> Any:
        warn_old_form(f"does arithmetic ({name}) on its Scored batch")
        return getattr(self.images, name)(_unwrap(other))

    operator.__name__ = name
    return operator


for _name in ("__add__", "__radd__", "__sub__", "__rsub__", "__mul__", "__rmul__", "__truediv__", "__rtruediv__"):
    setattr(Scored, _name, _binary(_name))


def _unwrap(value: Any) -> Any:
    if isinstance(value, Scored):
        return value.images
    if isinstance(value, (list, tuple)):
        return type(value)(_unwrap(item) for item in value)
    if isinstance(value, dict):
        return {key: _unwrap(item) for key, item in value.items()}
    return value


def warn_old_form(what: str) -> None:
    """One DeprecationWarning per call site, saying what to change (see CHANGELOG.md, plugin API 2.0)."""
    warnings.warn(f"a GAN loss {what}: that is the plugin API 1 form, where d_loss/g_loss got image tensors. "
                  "Since plugin API 2.0 they get genart.Scored batches: use real.scores / fake.scores (D's logits, "
                  "already computed) and real.images / fake.images instead of calling d on the batch; the old "
                  "form stops working in plugin API 3.0", PluginAPIDeprecation, stacklevel=3)


@runtime_checkable
class GANLoss(Protocol):
    """The ``gan`` model family's loss (tag ``gan``): it gets the real and fake batches already scored
    by the discriminator (:class:`Scored`), and ``d`` itself to score anything else it needs
    (WGAN-GP's interpolates, a consistency term)."""

    def d_loss(self, d: Discriminator, real: Scored, fake: Scored) -> torch.Tensor:
        """Discriminator loss; ``fake.images`` is detached."""
        ...

    def g_loss(self, d: Discriminator, fake: Scored) -> torch.Tensor:
        """Generator loss on ``fake`` (``fake.images`` and ``fake.scores`` carry G's graph)."""
        ...


@runtime_checkable
class RelativisticGANLoss(GANLoss, Protocol):
    """A GAN loss whose generator objective needs the real batch too (relativistic losses): the model
    calls ``g_loss_given_real`` instead of ``g_loss``."""

    def g_loss_given_real(self, d: Discriminator, fake: Scored, real: Scored) -> torch.Tensor:
        """Generator loss on ``fake`` given the real batch of the same step, scored by the frozen D."""
        ...


