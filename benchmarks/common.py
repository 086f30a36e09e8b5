"""What the benchmarks share, so each script holds only what it measures.

- the data root: ``../shared/data`` beside the repository, or ``$GENART_DATA``, or ``--data-root DIR``
  (:func:`add_data_root`); :func:`require` ends a script with one line and exit status 1 when data is
  missing, so a by-hand run never prints a table of nothing;
- the build context every benchmark starts from (:func:`context`, through ``genart.api.make_context``);
- MNIST's test set (:func:`mnist_folder`, :func:`load_mnist_test`), read with genart's own IDX reader;
- training through genart's public loop (``genart.api.train``) for a wall-clock budget
  (:func:`train_genart`), the batch order a plain loop would use (:func:`epoch_batches`), and the
  allocator setting genart's loop applies (:func:`keep_freed_memory`);
- small helpers on genart's models: spec options (:func:`with_options`), samples per category of a GAN
  (:func:`by_category`), a grid file (:func:`save_grid`).

Benchmarks import only genart's public modules (tests/test_benchmarks_help.py checks it), so a change
inside the core cannot break them silently. Run them from the repository root as modules:
``python -m benchmarks.NAME``.
"""

from __future__ import annotations

import argparse
import functools
import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import torch

    from genart import BuildContext
    from genart.api import App

#: the environment variable that names the data root
DATA_ENV = "GENART_DATA"
REPO = Path(__file__).resolve().parents[1]
#: where the data lives when nothing says otherwise: ``shared/data`` beside the repository
DEFAULT_DATA_ROOT = REPO.parent / "shared" / "data"


# -- the data root -----------------------------------------------------------------------------------
class _SetDataRoot(argparse.Action):
    """``--data-root DIR`` sets ``$GENART_DATA``, so helpers and child processes see the same root."""

    def __call__(self, parser: argparse.ArgumentParser, namespace: argparse.Namespace, values: Any,
                 option_string: str | None = None) -> None:
        os.environ[DATA_ENV] = str(values)
        setattr(namespace, self.dest, Path(values))


def add_data_root(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--data-root", type=Path, action=_SetDataRoot, metavar="DIR",
                        help=f"benchmark data (default: ${DATA_ENV}, else {DEFAULT_DATA_ROOT})")


def data_root() -> Path:
    return Path(os.environ.get(DATA_ENV) or DEFAULT_DATA_ROOT)


def require(path: Path, what: str) -> Path:
    """``path`` if it exists, else exit with one line saying what is missing and how to point at it."""
    if not path.exists():
        raise SystemExit(f"error: {what} not found at {path} (give --data-root DIR or set {DATA_ENV})")
    return path


# -- contexts ----------------------------------------------------------------------------------------
@functools.cache
def app() -> App:
    """Every installed plugin, loaded once per process."""
    from genart.api import App

    return App.from_entry_points(only=None)


def context(precision: str = "auto", device: str = "cpu") -> BuildContext:
    """The build context ``genart run --device DEVICE --precision PRECISION`` would use."""
    from genart.api import make_context

    return make_context(app(), device, precision)


# -- MNIST -------------------------------------------------------------------------------------------
def mnist_folder() -> Path:
    """The MNIST folder under the data root (the t10k files are enough); exits when it is missing."""
    return require(data_root() / "mnist", "MNIST (the t10k IDX files)")


def load_mnist_test(folder: Path) -> tuple[torch.Tensor, torch.Tensor]:
    """The t10k images (uint8 [N,1,28,28]) and labels, read with genart's own IDX reader."""
    import torch

    from genart_data.mnist import find_idx, read_idx

    images = torch.from_numpy(read_idx(find_idx(folder, "images", "t10k")).copy()).unsqueeze(1)
    labels = torch.from_numpy(read_idx(find_idx(folder, "labels", "t10k")).astype("int64"))
    return images, labels


# -- training through genart's loop ------------------------------------------------------------------
#: genart's default GAN at MNIST's shape, as the GAN benchmarks train it
MNIST_GAN_SPEC = "gan:image_size=28,channels=1"
#: the batch the classic recipe uses, and the GAN benchmarks with it
BATCH = 64


def default_batch_size(model: Any) -> int:
    """The model's own default batch size (what ``genart run`` uses without ``--batch-size``)."""
    from genart import DefaultBatchSize

    return int(model.default_batch_size) if isinstance(model, DefaultBatchSize) else 64


def train_config(ctx: BuildContext, steps: int, batch: int, **options: Any) -> Any:
    """A TrainConfig with the context's precision, layout and loss scaler, no checkpoints, no bar."""
    from genart.api import TrainConfig

    return TrainConfig(**{"steps": steps, "batch_size": batch, "checkpoint_every": 0, "progress": False,
                          "precision": ctx.precision, "channels_last": ctx.channels_last, "scaler": ctx.scaler,
                          **options})


def train_genart(ctx: BuildContext, data: torch.Tensor, budget: float, seed: int, spec: str = MNIST_GAN_SPEC,
                 chunk: int = 20, after_chunk: Callable[[Any, int, float], None] | None = None,
                 batch: int | None = BATCH) -> dict[str, Any]:
    """Train genart's model through its own loop for ``budget`` seconds of training time, ``chunk`` steps
    at a time (``after_chunk(model, steps, seconds)`` runs between chunks, outside the timed part);
    ``batch=None``: the model's own default batch size."""
    import torch

    from genart import FollowsProgress
    from genart.api import build_model, train

    torch.manual_seed(seed)
    model: Any = build_model(ctx, spec)
    batch = default_batch_size(model) if batch is None else batch
    torch.manual_seed(seed)
    steps, seconds, losses = 0, 0.0, {}
    # A model that follows the run's progress (a learning-rate schedule: diffusion, vae) would be told by each
    # chunk's loop that the run is nearly over (step / (step + chunk)), so its rate would sit near 0 after the
    # first chunk. It is told the share of the budget spent instead, once per chunk, as a --minutes run does.
    follows = isinstance(model, FollowsProgress)
    if follows:
        model.set_progress = lambda progress: None  # the loop's calls; the instance attribute shadows the method
    try:
        while seconds < budget:
            if follows:
                type(model).set_progress(model, seconds / budget)
            config = train_config(ctx, steps + chunk, batch, seed=seed)
            result = train(model, data, config, device=ctx.device, checkpoint_path=None, start_step=steps)
            steps, seconds, losses = result.step, seconds + result.seconds, result.losses
            if after_chunk is not None:
                after_chunk(model, steps, seconds)
    finally:
        if follows:
            del model.set_progress
    return {"model": model, "steps": steps, "seconds": seconds, "images_per_s": steps * batch / seconds,
            "losses": " ".join(f"{k} {v:.3f}" for k, v in losses.items()), "params": trained_parameters(model)}


def sample_genart(model: Any, n: int, seed: int) -> torch.Tensor:
    """``n`` samples in [0, 1], as ``genart sample`` draws them."""
    from genart.api import sample

    return sample(model, n, seed)


def trained_parameters(model: Any) -> int:
    """Parameters of the networks a model trains (its EMA copies, which follow them, not counted)."""
    import torch

    return sum(p.numel() for name, module in vars(model).items()
               if isinstance(module, torch.nn.Module) and "ema" not in name for p in module.parameters())


def epoch_batches(n: int, batch: int, seed: int = 0) -> Iterator[torch.Tensor]:
    """Index batches as a plain loop draws them: a fresh permutation each epoch, the last partial
    batch dropped; endless."""
    import torch

    generator = torch.Generator().manual_seed(seed)
    while True:
        order = torch.randperm(n, generator=generator)
        for start in range(0, n - batch + 1, batch):
            yield order[start:start + batch]


def keep_freed_memory(ctx: BuildContext) -> None:
    """Apply, in this process, the malloc setting genart's loop applies on a CPU when it starts (keep
    freed memory for reuse, docs/scaling.md), by starting the public loop for zero steps."""
    import torch

    from genart.api import train

    class Idle:  # a zero-step run looks its step up but never calls it
        def train_step(self, batch: torch.Tensor) -> dict[str, float]:
            raise AssertionError("a zero-step run trains nothing")

    train(Idle(), torch.zeros(1, 1, 1, 1, dtype=torch.uint8), train_config(ctx, 0, 1), device=ctx.device,  # type: ignore[arg-type]
          checkpoint_path=None)


# -- genart's models ---------------------------------------------------------------------------------
def with_options(spec: str, options: str) -> str:
    """``spec`` with the ``key=value`` pairs of ``options`` added or replacing its own (what
    ``genart sample --model-args`` does to a run's model spec)."""
    from genart.api import split_spec

    if not options.strip():
        return spec
    base, extra = split_spec(spec), split_spec("x:" + options)
    merged = {**base.options, **extra.options}
    return base.name + ":" + ",".join(f'{key}="{value}"' for key, value in merged.items())


def decode_all(model: Any, z: torch.Tensor) -> torch.Tensor:
    import torch

    return torch.cat([model.decode(chunk) for chunk in z.split(1000)])


def by_category(model: Any, per_category: int, seed: int) -> list[torch.Tensor]:
    """Samples of each category of a GAN with a categorical code (``categories=K``): z's first entry is
    drawn inside the category's bin of the normal CDF, the rest of z as usual."""
    import torch

    from genart_gan.nets import latents_in_category

    k = model.params.categories
    generator = torch.Generator().manual_seed(seed)
    return [decode_all(model, latents_in_category(per_category, model.latent_shape[0], category, k, generator))
            for category in range(k)]


def save_grid(images: torch.Tensor, path: Path, n: int = 64, nrow: int = 8) -> None:
    """The first ``n`` images as one grid PNG (replacing an earlier benchmark's grid)."""
    from genart.images import make_grid, save_image

    save_image(make_grid(images[:n], nrow=nrow), path, overwrite=True)
