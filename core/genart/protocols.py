"""What a plugin's components implement.

These are structural protocols: a plugin never has to inherit from anything in genart. Tensors are
``torch.Tensor`` with images as ``[N, C, H, W]`` floats in [0, 1] (C is 1, 3, or 4 with alpha).
Factories are called as ``factory(params, context)`` where ``params`` is the component's parameter
dataclass (or None) and ``context`` a :class:`BuildContext`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

from .amp import LossScaler

if TYPE_CHECKING:
    import torch

    from .registry import Registry


@dataclass
class BuildContext:
    """What a factory may need beyond its own parameters."""

    registry: Registry
    device: torch.device
    #: autocast dtype for training/inference on this device, or None for plain fp32
    precision: Any = None
    #: convolutions run faster in channels_last layout here (see device.prefers_channels_last); batches arrive in it
    channels_last: bool = False
    #: loss scaling for fp16 (a pass-through otherwise): models call ``scaler.backward(loss)`` and
    #: ``scaler.step(optimizer)`` so the same code trains correctly at every precision
    scaler: LossScaler = field(default_factory=LossScaler)
    extra: dict[str, Any] = field(default_factory=dict)

    def prepare(self, module: Any) -> Any:
        """Move a network to this run's device and memory layout; models call it on each network."""
        import torch

        module = module.to(self.device)
        return module.to(memory_format=torch.channels_last) if self.channels_last else module

    def build(self, kind: str, spec: str | Any) -> Any:
        """Build another component by spec, e.g. a model building the loss its params name."""
        from .components import build_component

        return build_component(self, kind, spec)


@runtime_checkable
class GenerativeModel(Protocol):
    """A trainable image generator. It owns its optimisers, so a GAN can alternate G and D steps."""

    #: (channels, height, width) of the images it trains on and samples
    image_shape: tuple[int, int, int]

    def train_step(self, batch: torch.Tensor) -> dict[str, float]:
        """One optimisation step on a batch in [0, 1]; returns named scalar losses for the log."""

    def sample(self, n: int, generator: torch.Generator) -> torch.Tensor:
        """``n`` images in [0, 1]; the same generator state gives the same images."""

    def state_dict(self) -> dict[str, Any]:
        """Everything needed to resume exactly: weights, optimiser state, EMA, counters."""

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restore what :meth:`state_dict` returned."""


@runtime_checkable
class LatentModel(Protocol):
    """Optional: a model with a latent prior, for walks (and encode for reconstructions)."""

    latent_shape: tuple[int, ...]

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        """Latents (shape ``[N, *latent_shape]``) to images in [0, 1]."""


@runtime_checkable
class Dataset(Protocol):
    """A finite, ordered image collection, decoded once into memory by the core."""

    def load(self, size: int, channels: int) -> torch.Tensor:
        """All images as uint8 ``[N, channels, size, size]`` in a fixed order (same call, same tensor)."""


@runtime_checkable
class PostProcessor(Protocol):
    """A step of the post-processing chain."""

    def __call__(self, images: torch.Tensor) -> torch.Tensor:
        """``[N, C, H, W]`` in [0, 1] to ``[N, C', H', W']`` in [0, 1]; must accept any size."""
