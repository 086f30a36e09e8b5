"""The runner's jobs: train a model into a run folder, sample it, post-process, write everything.

A run folder is the unit of work: ``manifest.json`` says exactly how it was made (so ``--resume``
and ``genart sample`` rebuild the same model), ``checkpoint.safetensors`` holds the state.
"""

from __future__ import annotations

import contextlib
import dataclasses
import platform
import sys
import time
from collections.abc import Callable, Collection
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import click

from ..contract.components import resolve_params
from ..contract.fitting import fit_model_to_data
from ..contract.params import LIST_SEPARATOR, params_to_dict, split_spec
from ..contract.plugins import App
from ..contract.protocols import BuildContext, GenerativeModel, default_batch_size, default_steps
from ..contract.registry import DATASET, MODEL
from ..errors import Interrupted, UsageError, blame, explain, failure_line, mark_reported, one_line
from ..loop import distributed
from ..loop.amp import LossScaler
from ..loop.device import describe_device, prefers_channels_last, resolve_device, resolve_precision
from ..loop.memory import check_samples, check_training_batch
from ..loop.resume import check_resume, resume_history
from ..loop.train import TrainConfig, model_metadata, restore_checkpoint, train
from ..records import runs
from .pipeline import SAMPLE_BATCH, Chain, build_chain, build_model, load_data

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
    #: snapshot interval (None: the model's default, 0: off), wall-clock budget, progress style, TensorBoard
    sample_every: int | None = None
    minutes: float | None = None
    progress_mode: str | None = None
    tensorboard: bool = False


def make_context(app: App, device: str, precision: str) -> BuildContext:
    import torch

    from ..loop import distributed

    dev = distributed.local_device(resolve_device(device), distributed.from_environment())
    dtype = resolve_precision(precision, dev)
    return BuildContext(registry=app.registry, device=dev, precision=dtype,
                        channels_last=prefers_channels_last(dev, dtype),
                        scaler=LossScaler(enabled=dtype == torch.float16))


def versions(app: App) -> dict[str, Any]:
    import torch

    from ..version import __version__

    return {
        "genart": __version__,
        "python": platform.python_version(),
        "torch": torch.__version__,
        "plugins": {r.name: r.version for r in app.records.values() if r.status == "loaded"},
    }


def echo(message: str) -> None:
    click.echo(message, err=True)


def train_job(app: App, settings: RunSettings, *, resume: Path | None = None, sample_after: bool = True,
              weights: Path | None = None, given: Collection[str] = ()) -> Path:
    """Train (or resume, or load ``weights``), then sample and post-process. Returns the run folder.

    ``given`` names the options the user set (so ``--resume`` can refuse ones it would ignore)."""
    from ..records.monitor import Events, default_progress

    events = Events(settings.progress_mode or default_progress(not settings.progress))
    try:
        return _train_job(app, settings, resume=resume, sample_after=sample_after, weights=weights, given=given,
                          events=events)
    except Exception as error:
        if events.error(failure_line(error)[0]):
            mark_reported(error)
        raise
    finally:
        distributed.shutdown()


def _train_job(app: App, settings: RunSettings, *, resume: Path | None, sample_after: bool,
               weights: Path | None, given: Collection[str], events: Any) -> Path:
    import torch

    from ..loop.train import UNLIMITED

    previous: dict[str, Any] | None = None
    explicit_steps = settings.steps
    if resume is not None:
        run_dir = runs.find_run_dir(resume)
        previous = runs.read_json(run_dir / runs.MANIFEST)
        if not isinstance(previous, dict) or not isinstance(previous.get("model"), dict):
            raise UsageError(f"{run_dir / runs.MANIFEST} is not a genart run manifest")
        check_resume(run_dir, previous, dataclasses.asdict(settings), given, settings.steps)
        settings = settings_from_manifest(previous, settings)
    context = make_context(app, settings.device, settings.precision)
    if previous is not None:  # resume the model the run was trained as, even where a default changed since
        settings = dataclasses.replace(settings, model=pin_recorded_params(
            context, settings.model, previous["model"].get("params") or {}))
    world = distributed.init(context.device)
    if resume is None and weights is None:  # a resumed run keeps the shape its manifest recorded
        settings = _fit_to_data(context, settings, events.message if world.is_main else None)
    # Seed before building so weight initialisation is reproducible too.
    torch.manual_seed(settings.seed)
    # Build everything first so a typo in the last --post fails before minutes of training.
    model = build_model(context, settings.model)
    chain = build_chain(context, settings.post)
    data_params = resolve_params(context, DATASET, settings.data) if weights is None else None
    steps = settings.steps if settings.steps is not None else default_steps(model)
    batch_size = settings.batch_size or default_batch_size(model)
    if settings.minutes is not None and explicit_steps is None:
        steps = UNLIMITED  # the clock decides
    manifest = base_manifest(app, context, settings, steps, batch_size, data_params, trains=weights is None)
    identity = {"name": manifest["model"]["name"], "params": manifest["model"]["params"]}
    model_label = f"model {identity['name']!r}"
    if weights is None:
        check_training_batch(batch_size, tuple(model.image_shape), context.device)
    if sample_after:
        check_samples(settings.num_samples, tuple(model.image_shape), run_dir if resume is not None else settings.out)
    if steps == UNLIMITED:
        manifest["train"]["steps"] = None  # until the clock stops it
    data = None
    if weights is None:  # before the run folder exists: a dataset error leaves no empty folder behind
        started = time.perf_counter()
        channels, size, _ = model.image_shape
        data = load_data(context, settings.data, size, channels)
        manifest.setdefault("timings", {})["load_data_s"] = round(time.perf_counter() - started, 3)
        manifest["data"]["images"] = int(data.shape[0])
    if resume is None:
        label = settings.name or split_spec(settings.model).name
        run_dir = distributed.broadcast_object(
            runs.new_run_dir(settings.out, label) if world.is_main else None, world)
    elif world.is_main:
        runs.remove_stale_temp_files(run_dir)  # a kill -9 mid-write leaves a temporary file
    if previous is not None:
        manifest["created"] = previous.get("created", manifest["created"])
        manifest["command"] = previous.get("command", manifest["command"])
        manifest["resumed"] = resume_history(previous, " ".join(["genart", *sys.argv[1:]]),
                                             int(previous.get("train", {}).get("steps_done") or 0))
    record = RunManifest(run_dir / runs.MANIFEST, manifest, world.is_main)
    try:
        return _run(app, run_dir, record, world, context, model, chain, data, settings, steps,
                    batch_size, identity, model_label, resume, weights, sample_after, events, explicit_steps)
    except BaseException as error:
        record.record_failure(error, run_dir if resume is None and world.is_main else None)
        raise


@dataclass
class RunManifest:
    """A run's ``manifest.json`` while the job runs: its fields, and where and whether it is written
    (only the main process writes it; a failure is recorded only once the folder has a manifest)."""

    path: Path
    fields: dict[str, Any]
    main: bool = True
    written: bool = False

    def write(self) -> None:
        if self.main:
            runs.write_json_atomic(self.path, self.fields)
            self.written = True

    def record_failure(self, error: BaseException, new_run: Path | None) -> None:
        """A crash, a divergence, a full disk: the manifest says ``failed`` and why (an interrupt has
        already said ``interrupted``). A new run folder that got nothing written is removed again."""
        if not self.written:
            if new_run is not None:
                with contextlib.suppress(OSError):
                    new_run.rmdir()  # only succeeds when empty
            return
        if self.fields.get("status") not in ("running", "trained", "complete"):  # complete: its write failed
            return
        if isinstance(error, KeyboardInterrupt):
            self.fields["status"] = "interrupted"
            self.fields["error"] = "aborted by a second Ctrl-C; the last checkpoint is kept"
        else:
            known = explain(error) if isinstance(error, Exception) else None
            self.fields["status"], self.fields["error"] = "failed", str(known) if known is not None else one_line(error)
        with contextlib.suppress(Exception):  # the disk may be the thing that failed
            self.write()


def _run(app: App, run_dir: Path, record: RunManifest, world: Any,
         context: BuildContext, model: Any, chain: list[Any], data: Any, settings: RunSettings, steps: int,
         batch_size: int, identity: dict[str, Any], model_label: str, resume: Path | None,
         weights: Path | None, sample_after: bool, events: Any, explicit_steps: int | None) -> Path:
    manifest = record.fields
    from ..loop.train import UNLIMITED
    from ..records.monitor import Monitor, default_sample_every

    checkpoint = run_dir / runs.CHECKPOINT
    timings: dict[str, float] = manifest.pop("timings", {})
    say: Callable[[str], None] = events.message if world.is_main else (lambda message: None)
    say(f"run folder: {run_dir}")
    say(f"device: {describe_device(context.device)}, precision: {precision_label(context)}"
        + (f", {world.size} processes" if world.distributed else ""))
    manifest["world_size"] = world.size
    plugin = context.registry.get(MODEL, identity["name"]).plugin
    advice = "lower --batch-size or the model's image size"

    if weights is not None:
        source = find_checkpoint(weights)
        restore_checkpoint(model, source, expected=identity)
        manifest["weights_from"] = str(weights)
        if world.is_main:  # the run keeps its own copy of the weights it sampled from, byte for byte
            runs.write_bytes_atomic(checkpoint, source.read_bytes())
        manifest["status"] = "trained"
    else:
        say(f"data: {settings.data} ({data.shape[0]} images of {model.image_shape[0]}x{model.image_shape[1]}x"
            f"{model.image_shape[2]})")
        start_step = 0
        if resume is not None:
            start_step = restore_checkpoint(model, checkpoint, context.scaler, expected=identity)
            say(f"resuming at step {start_step}")
        manifest["train"]["steps_done"] = start_step
        record.write()
        distributed.attach(model, world)
        sample_every = (settings.sample_every if settings.sample_every is not None
                        else default_sample_every(model, None if steps == UNLIMITED else steps))
        manifest["train"]["sample_every"] = sample_every
        monitor = Monitor(run_dir, model, seed=settings.seed, batch_size=batch_size,
                          steps=None if steps == UNLIMITED else steps, sample_every=sample_every, events=events,
                          recipe=_monitor_recipe(app, context, manifest, run_dir), minutes=settings.minutes,
                          tensorboard=settings.tensorboard) if world.is_main else None
        config = TrainConfig(steps=steps, batch_size=batch_size, seed=settings.seed,
                             checkpoint_every=settings.checkpoint_every,
                             progress=settings.progress and events.mode == "bar",
                             precision=context.precision, channels_last=context.channels_last,
                             scaler=context.scaler, compile=settings.compile, minutes=settings.minutes,
                             monitor=monitor,
                             checkpoint_metadata=model_metadata(identity["name"], identity["params"]))
        try:
            with blame("model", identity["name"], plugin, "training", advice):
                result = train(model, data, config, device=context.device, checkpoint_path=checkpoint,
                               start_step=start_step, on_checkpoint=monitor.checkpoint if monitor else None)
        except BaseException:
            if monitor is not None:
                monitor.close()  # the lines so far stay, synced, for --resume
            raise
        if monitor is not None:
            monitor.finish(result.step, interrupted=result.interrupted)
        if settings.minutes is not None:
            manifest["train"]["minutes"] = settings.minutes
            if explicit_steps is None:
                manifest["train"]["steps"] = result.step
        timings["train_s"] = round(result.seconds, 3)
        manifest["train"]["images_per_second"] = round(result.images_per_second, 1)
        manifest["train"]["steps_done"] = result.step
        manifest["losses"] = {k: round(v, 6) for k, v in result.losses.items()}
        if result.interrupted:
            manifest["status"] = "interrupted"
            manifest["timings"] = timings
            record.write()
            raise Interrupted(f"interrupted at step {result.step}; checkpoint saved. "
                              f"Continue with: genart run --resume {run_dir}")
        manifest["status"] = "trained"
    manifest["timings"] = timings
    record.write()
    if sample_after and world.is_main:
        started = time.perf_counter()
        from ..records.reproduce import sample_recipe

        recipe = sample_recipe(app, context, manifest, checkpoint, settings.post, settings.seed,
                               settings.num_samples)
        with blame("model", identity["name"], plugin, "sampling", "lower -n"):
            write_samples(run_dir, model, chain, settings.num_samples, settings.seed, context.device,
                          recipe=recipe, progress=events.mode == "bar" and settings.num_samples > SAMPLE_BATCH)
        timings["sample_and_post_s"] = round(time.perf_counter() - started, 3)
        manifest["status"] = "complete"
        manifest["timings"] = timings
        record.write()
    if world.is_main:
        from ..records.report import write_run_report

        write_run_report(run_dir)
    say(f"done: {run_dir}")
    events.emit("done", run=str(run_dir), step=manifest["train"].get("steps_done"), timings=timings)
    return run_dir


def _monitor_recipe(app: App, context: BuildContext, manifest: dict[str, Any], run_dir: Path) -> dict[str, Any]:
    from ..records.reproduce import run_recipe

    return run_recipe(app, context, manifest, run_dir / runs.CHECKPOINT)
def _fit_to_data(context: BuildContext, settings: RunSettings, say: Any) -> RunSettings:
    fitted = fit_model_to_data(context, settings.model, settings.data)
    if say is not None:
        for line in fitted.warnings:  # through the run's events, so --progress json stays one JSON per line
            say(line)
        if fitted.message():
            say(fitted.message())
    return dataclasses.replace(settings, model=fitted.spec)


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
                   model_args: str = "") -> tuple[GenerativeModel, BuildContext, dict[str, Any]]:
    """Rebuild a run's model from its manifest and load its checkpoint. ``model_args`` (``key=value,...``)
    replaces parameters of the trained spec that only matter at sampling time (e.g. a sampler's steps)."""
    run_dir = runs.find_run_dir(run_dir)
    manifest = runs.read_json(run_dir / runs.MANIFEST)
    context = make_context(app, device, precision)
    spec = pin_recorded_params(context, manifest["model"]["spec"], manifest["model"].get("params", {}))
    model = build_model(context, with_options(spec, model_args))
    expected = {"name": manifest["model"].get("name", split_spec(manifest["model"]["spec"]).name),
                "params": manifest["model"].get("params", {})}
    restore_checkpoint(model, find_checkpoint(run_dir), expected=expected)
    return model, context, manifest


def pin_recorded_params(context: BuildContext, spec: str, recorded: dict[str, Any]) -> str:
    """``spec`` with every parameter it leaves to a default pinned to the value the run recorded, where
    today's default differs: a run made before a default changed (e.g. the VAE's likelihood) still
    rebuilds the model its checkpoint was trained as. Parameters the model no longer has are left out."""
    if not recorded:
        return spec
    current = params_to_dict(resolve_params(context, MODEL, spec))
    given = split_spec(spec).options
    changed = {key: value for key, value in recorded.items()
               if key in current and key not in given and current[key] != value}
    if not changed:
        return spec
    return with_options(spec, ",".join(f'{key}="{_option_text(value)}"' for key, value in changed.items()))


def _option_text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return LIST_SEPARATOR.join(_option_text(item) for item in value)
    return str(value)


def with_options(spec: str, options: str) -> str:
    """``spec`` with the ``key=value`` pairs of ``options`` added or replacing its own (values kept quoted)."""
    if not options.strip():
        return spec
    base, extra = split_spec(spec), split_spec("x:" + options)
    merged = {**base.options, **extra.options}
    return base.name + ":" + ",".join(f'{key}="{value}"' for key, value in merged.items())


def write_samples(folder: Path, model: GenerativeModel, chain: Chain, n: int, seed: int, device: Any,
                  overwrite: bool = True, recipe: dict[str, Any] | None = None, progress: bool = False) -> None:
    """samples/NNNN.png (after the chain), written batch by batch, then grid.png, and grid-raw.png +
    comparison.png with a chain (of the first ``GRID_MAX`` samples, see genart.records.reproduce.render_samples).

    Each PNG carries ``recipe`` (see genart.records.reproduce.sample_recipe) with its own kind and index."""
    from ..images import save_image
    from ..records.reproduce import render_samples

    def tagged(kind: str, **more: Any) -> dict[str, Any] | None:
        return {**recipe, "kind": kind, **more} if recipe is not None else None

    samples = folder / "samples"
    samples.mkdir(parents=True, exist_ok=True)

    def write(index: int, image: Any) -> None:
        save_image(image, samples / f"{index:04d}.png", overwrite=overwrite, recipe=tagged("sample", index=index))

    pictures = render_samples(model, chain, n, seed, device, write, progress=progress)
    for kind in ("grid", "grid-raw", "comparison"):
        if kind in pictures:
            save_image(pictures[kind], folder / f"{kind}.png", overwrite=overwrite, recipe=tagged(kind))
