"""The runner's jobs: train a model into a run folder, sample it, post-process, write everything.

A run folder is the unit of work: ``manifest.json`` says exactly how it was made (so ``--resume``
and ``genart sample`` rebuild the same model), ``checkpoint.safetensors`` holds the state.
"""

from __future__ import annotations

import dataclasses
import platform
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import click

from . import distributed, runs
from .amp import LossScaler
from .components import resolve_params
from .device import describe_device, prefers_channels_last, resolve_device, resolve_precision
from .errors import GenartError, UsageError
from .params import params_to_dict, split_spec
from .pipeline import apply_chain, build_chain, build_model, load_data, sample
from .plugins import App
from .protocols import BuildContext
from .registry import DATASET, MODEL
from .train import TrainConfig, restore_checkpoint, train

DEFAULT_MODEL = "vae"
DEFAULT_DATA = "shapes"


@dataclass
class RunSettings:
    model: str = DEFAULT_MODEL
    data: str = DEFAULT_DATA
    post: tuple[str, ...] = ()
    steps: int | None = None
    batch_size: int | None = None
    num_samples: int = 16
    seed: int = 0
    device: str = "auto"
    precision: str = "auto"
    compile: bool = False
    out: str = "runs"
    checkpoint_every: int = 200
    progress: bool = True
    name: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)


def make_context(app: App, device: str, precision: str) -> BuildContext:
    import torch

    from . import distributed

    dev = distributed.local_device(resolve_device(device), distributed.from_environment())
    dtype = resolve_precision(precision, dev)
    return BuildContext(registry=app.registry, device=dev, precision=dtype,
                        channels_last=prefers_channels_last(dev, dtype),
                        scaler=LossScaler(enabled=dtype == torch.float16))


def versions(app: App) -> dict[str, Any]:
    import torch

    from . import __version__

    return {
        "genart": __version__,
        "python": platform.python_version(),
        "torch": torch.__version__,
        "plugins": {r.name: r.version for r in app.records.values() if r.status == "loaded"},
    }


def echo(message: str) -> None:
    click.echo(message, err=True)


def train_job(app: App, settings: RunSettings, *, resume: Path | None = None, sample_after: bool = True,
              weights: Path | None = None) -> Path:
    """Train (or resume, or load ``weights``), then sample and post-process. Returns the run folder."""
    try:
        return _train_job(app, settings, resume=resume, sample_after=sample_after, weights=weights)
    finally:
        distributed.shutdown()


def _train_job(app: App, settings: RunSettings, *, resume: Path | None, sample_after: bool,
               weights: Path | None) -> Path:
    import torch

    if resume is not None:
        run_dir = runs.find_run_dir(resume)
        settings = settings_from_manifest(runs.read_json(run_dir / runs.MANIFEST), settings)
    context = make_context(app, settings.device, settings.precision)
    world = distributed.init(context.device)
    # Seed before building so weight initialisation is reproducible too.
    torch.manual_seed(settings.seed)
    # Build everything first so a typo in the last --post fails before minutes of training.
    model = build_model(context, settings.model)
    chain = build_chain(context, settings.post)
    data_params = resolve_params(context, DATASET, settings.data) if weights is None else None
    steps = settings.steps if settings.steps is not None else int(getattr(model, "default_steps", 1000))
    batch_size = settings.batch_size or int(getattr(model, "default_batch_size", 64))
    if resume is None:
        label = settings.name or split_spec(settings.model).name
        run_dir = distributed.broadcast_object(
            runs.new_run_dir(settings.out, label) if world.is_main else None, world)
    manifest = base_manifest(app, context, settings, steps, batch_size, data_params, trains=weights is None)
    manifest_path = run_dir / runs.MANIFEST
    checkpoint = run_dir / runs.CHECKPOINT
    timings: dict[str, float] = {}
    say = echo if world.is_main else (lambda message: None)
    say(f"run folder: {run_dir}")
    say(f"device: {describe_device(context.device)}, precision: {precision_label(context)}"
        + (f", {world.size} processes" if world.distributed else ""))
    manifest["world_size"] = world.size
    write_manifest = (lambda: runs.write_json_atomic(manifest_path, manifest)) if world.is_main else (lambda: None)

    if weights is not None:
        source = find_checkpoint(weights)
        restore_checkpoint(model, source)
        manifest["weights_from"] = str(weights)
        if world.is_main:  # the run keeps its own copy of the weights it sampled from, byte for byte
            runs.write_bytes_atomic(checkpoint, source.read_bytes())
        manifest["status"] = "trained"
    else:
        started = time.perf_counter()
        channels, size, _ = model.image_shape
        data = load_data(context, settings.data, size, channels)
        timings["load_data_s"] = round(time.perf_counter() - started, 3)
        manifest["data"]["images"] = int(data.shape[0])
        say(f"data: {settings.data} ({data.shape[0]} images of {channels}x{size}x{size})")
        start_step = 0
        if resume is not None and checkpoint.exists():
            start_step = restore_checkpoint(model, checkpoint, context.scaler)
            say(f"resuming at step {start_step}")
        write_manifest()
        distributed.attach(model, world)
        config = TrainConfig(steps=steps, batch_size=batch_size, seed=settings.seed,
                             checkpoint_every=settings.checkpoint_every, progress=settings.progress,
                             precision=context.precision, channels_last=context.channels_last,
                             scaler=context.scaler, compile=settings.compile)
        result = train(model, data, config, device=context.device, checkpoint_path=checkpoint,
                       start_step=start_step)
        timings["train_s"] = round(result.seconds, 3)
        manifest["train"]["images_per_second"] = round(result.images_per_second, 1)
        manifest["train"]["steps_done"] = result.step
        manifest["losses"] = {k: round(v, 6) for k, v in result.losses.items()}
        if result.interrupted:
            manifest["status"] = "interrupted"
            manifest["timings"] = timings
            write_manifest()
            raise GenartError(f"interrupted at step {result.step}; checkpoint saved. "
                              f"Continue with: genart run --resume {run_dir}")
        manifest["status"] = "trained"
    manifest["timings"] = timings
    write_manifest()
    if sample_after and world.is_main:
        started = time.perf_counter()
        write_samples(run_dir, model, chain, settings.num_samples, settings.seed, context.device)
        timings["sample_and_post_s"] = round(time.perf_counter() - started, 3)
        manifest["status"] = "complete"
        manifest["timings"] = timings
        write_manifest()
    say(f"done: {run_dir}")
    return run_dir


def precision_label(context: BuildContext) -> str:
    import torch

    return {None: "fp32", torch.bfloat16: "bf16", torch.float16: "fp16"}.get(context.precision, str(context.precision))


def base_manifest(app: App, context: BuildContext, settings: RunSettings, steps: int, batch_size: int,
                  data_params: Any, trains: bool = True) -> dict[str, Any]:
    model_params = resolve_params(context, MODEL, settings.model)
    return {
        "format": "genart-run-1",
        "status": "running",
        "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "command": " ".join(["genart", *sys.argv[1:]]) if sys.argv else "",
        "seed": settings.seed,
        "device": str(context.device),
        "precision": precision_label(context),
        "model": {"spec": settings.model, "name": split_spec(settings.model).name,
                  "params": params_to_dict(model_params)},
        "data": ({"spec": settings.data, "name": split_spec(settings.data).name,
                  "params": params_to_dict(data_params)} if trains else {"spec": None}),
        "post": list(settings.post),
        "num_samples": settings.num_samples,
        "train": {"steps": steps, "batch_size": batch_size, "checkpoint_every": settings.checkpoint_every,
                  "compile": settings.compile},
        "versions": versions(app),
        "metrics": {},
    }


def settings_from_manifest(manifest: dict[str, Any], overrides: RunSettings) -> RunSettings:
    """The settings a run was made with; ``--steps`` may extend it, device/progress may change."""
    train_info = manifest.get("train", {})
    steps = overrides.steps if overrides.steps is not None else train_info.get("steps")
    return dataclasses.replace(
        overrides,
        model=manifest["model"]["spec"],
        data=manifest["data"].get("spec") or overrides.data,
        post=tuple(overrides.post) or tuple(manifest.get("post", ())),
        steps=steps,
        batch_size=train_info.get("batch_size"),
        seed=manifest.get("seed", 0),
        num_samples=manifest.get("num_samples", overrides.num_samples),
        checkpoint_every=train_info.get("checkpoint_every", overrides.checkpoint_every),
    )


def find_checkpoint(path: Path) -> Path:
    """A run folder or a checkpoint file."""
    path = Path(path)
    if path.is_dir():
        path = path / runs.CHECKPOINT
    if not path.is_file():
        raise UsageError(f"no checkpoint at {path}")
    return path


def load_run_model(app: App, run_dir: Path, device: str, precision: str = "auto",
                   model_args: str = "") -> tuple[Any, Any, dict]:
    """Rebuild a run's model from its manifest and load its checkpoint. ``model_args`` (``key=value,...``)
    replaces parameters of the trained spec that only matter at sampling time (e.g. a sampler's steps)."""
    run_dir = runs.find_run_dir(run_dir)
    manifest = runs.read_json(run_dir / runs.MANIFEST)
    context = make_context(app, device, precision)
    model = build_model(context, with_options(manifest["model"]["spec"], model_args))
    restore_checkpoint(model, find_checkpoint(run_dir))
    return model, context, manifest


def with_options(spec: str, options: str) -> str:
    """``spec`` with the ``key=value`` pairs of ``options`` added or replacing its own (values kept quoted)."""
    if not options.strip():
        return spec
    base, extra = split_spec(spec), split_spec("x:" + options)
    merged = {**base.options, **extra.options}
    return base.name + ":" + ",".join(f'{key}="{value}"' for key, value in merged.items())


def write_samples(folder: Path, model: Any, chain: list, n: int, seed: int, device: Any,
                  overwrite: bool = True) -> None:
    """samples/NNNN.png (after the chain), grid.png, and grid-raw.png + comparison.png with a chain."""
    from .images import make_grid, save_image, side_by_side

    raw = sample(model, n, seed)
    final = apply_chain(chain, raw, device) if chain else raw
    samples = folder / "samples"
    samples.mkdir(parents=True, exist_ok=True)
    for index, image in enumerate(final):
        save_image(image, samples / f"{index:04d}.png", overwrite=overwrite)
    grid_final = make_grid(final)
    save_image(grid_final, folder / "grid.png", overwrite=overwrite)
    if chain:
        grid_raw = make_grid(raw)
        save_image(grid_raw, folder / "grid-raw.png", overwrite=overwrite)
        if grid_raw.shape[1:] != grid_final.shape[1:]:
            import torch.nn.functional as F

            grid_raw = F.interpolate(grid_raw[None], size=grid_final.shape[1:], mode="nearest")[0]
        save_image(side_by_side(grid_raw, grid_final), folder / "comparison.png", overwrite=overwrite)
