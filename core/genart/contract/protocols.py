"""The plugin contract, written once in types: what a plugin's components implement.

These are structural protocols: a plugin never has to inherit from anything in genart, and the core
checks an optional capability with ``isinstance(model, LatentDecoder)`` and friends rather than
probing attributes. Tensors are ``torch.Tensor`` with images as ``[N, C, H, W]`` floats in [0, 1]
(C is 1, 3, or 4 with alpha). Factories are called as ``factory(params, context)`` where ``params``
is the component's parameter dataclass (or None) and ``context`` a :class:`BuildContext`.

Where things live: the loop hands ``train_step`` batches on ``context.device`` (in channels_last
layout when ``context.channels_last``) inside ``torch.autocast`` at ``context.precision``; a model
keeps a sensitive computation in fp32 by casting (``logits.float()``) or with
``torch.autocast(device.type, enabled=False)``. ``sample`` receives a CPU ``torch.Generator`` and
may return its images on any device (the core moves them to the CPU). A dataset's parameters that
subclass ``DatasetParams`` get ``split``/``holdout`` applied by the core after ``load``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

if TYPE_CHECKING:
    from pathlib import Path

    import torch

    from .components import BuildContext


# -- models ---------------------------------------------------------------------------------------
@runtime_checkable
class GenerativeModel(Protocol):
    """A trainable image generator. It owns its optimisers, so a GAN can alternate G and D steps."""

    #: (channels, height, width) of the images it trains on and samples, in that order
    image_shape: tuple[int, int, int]

    def train_step(self, batch: torch.Tensor) -> dict[str, float]:
        """One optimisation step on a batch in [0, 1] (on the run's device); named scalar losses for the log."""
        ...

    def sample(self, n: int, generator: torch.Generator) -> torch.Tensor:
        """``n`` images in [0, 1]; the same (CPU) generator state gives the same images."""
        ...

    def state_dict(self) -> dict[str, Any]:
        """Everything needed to resume exactly: weights, optimiser state, EMA, counters."""
        ...

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restore what :meth:`state_dict` returned."""
        ...


@runtime_checkable
class LatentDecoder(Protocol):
    """Optional: a latent space to walk (``genart walk``) and decode from."""

    #: shape of one latent, e.g. ``(32,)``; a batch is ``[N, *latent_shape]``
    latent_shape: tuple[int, ...]

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        """Latents (shape ``[N, *latent_shape]``) to images in [0, 1]."""
        ...


@runtime_checkable
class LatentPrior(Protocol):
    """Optional: which prior the latents follow; walks interpolate on a sphere for ``"gaussian"``
    (the default when a model does not say) and linearly in [-1, 1] for ``"uniform"``."""

    latent_prior: str


@runtime_checkable
class LatentSampler(Protocol):
    """Optional, with :class:`LatentDecoder`: draws from the distribution ``sample`` decodes (e.g. a
    prior fitted after training), so ``genart walk`` walks between latents the model would sample
    instead of standard normal ones."""

    def sample_latents(self, n: int, generator: torch.Generator) -> torch.Tensor:
        """``n`` latents ``[n, *latent_shape]``; the same (CPU) generator state gives the same latents."""
        ...


@runtime_checkable
class FinishesTraining(Protocol):
    """Optional: one pass over the training images when the loop stops (steps done, ``--minutes``
    up, or Ctrl-C), before the last checkpoint, e.g. to fit a density to a VAE's posterior means.

    It must be a pure function of the weights and the data (no global RNG draws), so an interrupted
    and resumed run ends in the same state as an uninterrupted one; state that describes the weights
    it was computed from should stop being used once training changes them again."""

    def finish_training(self, data: torch.Tensor) -> None:
        """``data``: the training images, uint8 ``[N, C, H, W]`` (on the run's device when they fit)."""
        ...


@runtime_checkable
class FollowsProgress(Protocol):
    """Optional: told before every step how far through its run the loop is, so a schedule (a learning
    rate decaying to the end, an EMA horizon) can end where the run ends, also when a ``--minutes``
    budget and not a step count ends it.

    ``progress`` is the share of the run done before this step, in [0, 1]: ``step / steps``, or, with
    a wall-clock budget, the larger of that and the share of ``minutes`` already trained (the same
    value on every process of a distributed run). Counted by steps it is a pure function of the step,
    so exact resume holds; counted by time it is not reproducible, and a resumed ``--minutes`` run
    starts its budget, and so its schedule, afresh. A model that is never told (another loop, a
    test calling ``train_step``) should train as it would without a schedule."""

    def set_progress(self, progress: float) -> None: ...


@runtime_checkable
class Encoder(Protocol):
    """Optional, with :class:`LatentDecoder`: images to latents, for ``genart reconstruct``."""

    def encode(self, images: torch.Tensor) -> torch.Tensor:
        """Images ``[N, C, H, W]`` in [0, 1] to latents ``[N, *latent_shape]`` (the posterior mean)."""
        ...


@runtime_checkable
class Evaluator(Protocol):
    """Optional: held-out likelihood figures, for ``genart eval``."""

    def evaluate(self, images: torch.Tensor, k: int, generator: torch.Generator) -> dict[str, float]:
        """Per-batch figures (e.g. bits per dimension) from ``k`` importance samples."""
        ...


@runtime_checkable
class Exportable(Protocol):
    """Optional: a network worth shipping on its own, for ``genart export-weights``."""

    def export(self) -> tuple[dict[str, torch.Tensor], dict[str, str]]:
        """Tensors and string metadata to write as a safetensors file."""
        ...


@runtime_checkable
class DefaultSteps(Protocol):
    """Optional: training steps when the user gives no ``--steps`` (else 1000)."""

    default_steps: int


@runtime_checkable
class DefaultBatchSize(Protocol):
    """Optional: batch size when the user gives no ``--batch-size`` (else 64)."""

    default_batch_size: int


@runtime_checkable
class CompileAware(Protocol):
    """Optional: ``supports_compile = False`` makes ``--compile`` train eagerly (a step that branches
    on Python-side state would recompile every step)."""

    supports_compile: bool


@runtime_checkable
class SampleEvery(Protocol):
    """Optional: ``default_sample_every`` steps between snapshot grids when the user gives no
    ``--sample-every`` (else about ten per run; 0: none)."""

    default_sample_every: int


@runtime_checkable
class ExtraMetrics(Protocol):
    """Optional: ``extra_metrics()`` adds values (learning rates, ...) to every line of ``metrics.jsonl``
    beside what ``train_step`` returns."""

    def extra_metrics(self) -> dict[str, float]: ...


#: what every model gets when it does not say otherwise
DEFAULT_STEPS = 1000
DEFAULT_BATCH_SIZE = 64


def default_steps(model: object) -> int:
    return int(model.default_steps) if isinstance(model, DefaultSteps) else DEFAULT_STEPS


def default_batch_size(model: object) -> int:
    return int(model.default_batch_size) if isinstance(model, DefaultBatchSize) else DEFAULT_BATCH_SIZE


def supports_compile(model: object) -> bool:
    return bool(model.supports_compile) if isinstance(model, CompileAware) else True


# -- datasets and post-processors -------------------------------------------------------------------
@runtime_checkable
class Dataset(Protocol):
    """A finite, ordered image collection, decoded once into memory by the core."""

    def load(self, size: int, channels: int) -> torch.Tensor:
        """All images as uint8 ``[N, channels, size, size]`` in a fixed order (same call, same tensor)."""
        ...


@runtime_checkable
class NativeShape(Protocol):
    """An optional dataset capability: the shape its images have before any resizing."""

    def native_shape(self) -> tuple[int, int] | None:
        """``(channels, side)`` the images are best trained at, or None where any shape suits them."""


@runtime_checkable
class PostProcessor(Protocol):
    """A step of the post-processing chain."""

    def __call__(self, images: torch.Tensor) -> torch.Tensor:
        """``[N, C, H, W]`` in [0, 1] to ``[N, C', H', W']`` in [0, 1]; must accept any size."""
        ...


@runtime_checkable
class OutputSize(Protocol):
    """An optional post-processor capability: the size it makes of an image, known without running it.

    A chain's memory is checked with it before any image is processed (``genart post`` of a 512 px photo
    through three x4 upsamples is refused in one line instead of being killed by the system); a
    post-processor without it is taken to keep the size."""

    def output_size(self, height: int, width: int) -> tuple[int, int]:
        """``(height, width)`` of the output for an input of ``height`` x ``width``."""
        ...


@runtime_checkable
class WorkingMemory(Protocol):
    """An optional post-processor capability: the memory it needs of its own, known without running it.

    The chain's memory check counts each step's input and output; a processor that builds much more
    (style transfer's patch banks and pyramids: about 240 bytes per output pixel) says so here, so a
    size the memory cannot hold is refused up front (exit 7) instead of the process being killed.
    Return a lower bound: a refusal must never be wrong."""

    def working_bytes(self, count: int, channels: int, height: int, width: int) -> int:
        """Bytes beyond its input and output for a batch of ``count`` images of ``channels`` x ``height``
        x ``width`` (its input)."""
        ...


@runtime_checkable
class Bands(Protocol):
    """An optional post-processor capability: its output in full-width horizontal bands, top to bottom.

    When such a post-processor is the last of a ``genart post`` chain and the output is a PNG, each band
    is encoded into the file as it comes, so a result larger than memory (a 4096 px photo through a x4
    model is 16384 px) is never held whole. The bands, stacked, must equal ``__call__(images)``; a
    processor that cannot split a given input may yield its whole output as one band. With
    ``OutputSize`` the output's height is known before the first band (otherwise the input's)."""

    def bands(self, images: Any) -> Iterator[Any]:
        """``[N, C, h, W]`` pieces of the ``[N, C, H, W]`` output, top to bottom, together H rows."""
        ...


@runtime_checkable
class WritesBeside(Protocol):
    """An optional post-processor capability: files of its own beside a batch's outputs.

    ``finish(folder)`` is called once after a ``genart run``/``sample`` batch (folder: the run or
    ``--out`` folder) or a ``genart post`` batch (its ``--out``) is written, e.g. to save the palette the
    batch was locked to; it returns the paths it wrote. It must not overwrite a file it did not write."""

    def finish(self, folder: Path) -> list[Path]:
        """Write this processor's files for the finished batch into ``folder``; the paths written."""
        ...


# -- registration -----------------------------------------------------------------------------------
#: ``factory(params, context)``: params is the registered dataclass's instance (or None)
Factory = Callable[[Any, "BuildContext"], Any]


class Register(Protocol):
    """The ``register`` callback of ``register_models/losses/datasets/post_processors``."""

    def __call__(self, name: str, factory: Factory, *, params: type | None = None, description: str = "",
                 tags: tuple[str, ...] | frozenset[str] = ()) -> None: ...


class RegisterComponent(Protocol):
    """The ``register`` callback of ``register_components``: the kind comes first."""

    def __call__(self, kind: str, name: str, factory: Factory, *, params: type | None = None,
                 description: str = "", tags: tuple[str, ...] | frozenset[str] = ()) -> None: ...
