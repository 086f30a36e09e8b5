"""The train job behind ``genart run`` and ``genart train``: train a model into a run folder (or resume
it, or load weights), then sample it, post-process, and write everything.

A run folder is the unit of work: ``manifest.json`` says exactly how it was made (so ``--resume``
and ``genart sample`` rebuild the same model), ``checkpoint.safetensors`` holds the state. The job's
state travels through its steps as one :class:`Job`, built once everything that can fail cheaply
(a typo in the last ``--post``, a batch that cannot fit) has been checked.
"""

from __future__ import annotations

import dataclasses
import sys
import time
import warnings
from collections.abc import Collection
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..contract.components import BuildContext, resolve_params
from ..contract.params import split_spec
from ..contract.plugins import App
from ..contract.protocols import GenerativeModel, default_batch_size, default_steps
from ..contract.registry import DATASET, MODEL
from ..errors import Interrupted, PluginAPIDeprecation, UsageError, blame, failure_line, mark_reported
from ..loop import distributed
from ..loop.checkpoints import model_metadata, restore_checkpoint
from ..loop.device import describe_device
from ..loop.probe import check_training_memory
from ..loop.resume import check_resume, resume_history
from ..loop.train import UNLIMITED, TrainConfig, train
from ..records import console, plots, runs
from ..records.monitor import Events, Monitor, Watch, default_progress, default_sample_every
from ..records.reproduce import run_recipe, sample_recipe
from .class_samples import label_recipe, set_guidance
from .context import make_context, precision_label
from .labelled import attach_classes, labels_metadata, load_labelled_data, recorded_classes, restore_classes
from .loading import find_checkpoint, pin_recorded_params
from .manifest import RunManifest
from .pipeline import SAMPLE_BATCH, Chain, build_chain, build_model
from .sampling import check_samples, write_samples
from .settings import RunSettings, base_manifest, fit_to_data, settings_from_manifest, warning_to

#: what to lower when training runs out of memory
TRAINING_ADVICE = "lower --batch-size or the model's image size"


@dataclass
class Job:
    """One train job's state, from the moment its parts are built until its run folder is complete."""

    app: App
    settings: RunSettings
    context: BuildContext
    model: GenerativeModel
    chain: Chain
    #: the training images (uint8), or None when the job loads ``weights`` instead
    data: Any
    run_dir: Path
    record: RunManifest
    world: Any
    events: Events
    steps: int
    batch_size: int
    #: {"name", "params"} of the model, as checkpoints record it
    identity: dict[str, Any]
    resume: Path | None = None
    weights: Path | None = None
    sample_after: bool = True
    #: the --steps the user gave (None: the model's default or the clock decides)
    explicit_steps: int | None = None
    #: each training image's label (int64 [N]) for a conditional model, or None
    labels: Any = None

    @property
    def manifest(self) -> dict[str, Any]:
        return self.record.fields

    @property
    def checkpoint(self) -> Path:
        return self.run_dir / runs.CHECKPOINT

    @property
    def plugin(self) -> str:
        return self.context.registry.get(MODEL, self.identity["name"]).plugin

    def say(self, message: str) -> None:
        """A line for the user, from the main process only (through the events: JSON under --progress json)."""
        if self.world.is_main:
            self.events.message(message)


def train_job(app: App, settings: RunSettings, *, resume: Path | None = None, sample_after: bool = True,
              weights: Path | None = None, given: Collection[str] = ()) -> Path:
    """Train (or resume, or load ``weights``), then sample and post-process. Returns the run folder.

    ``given`` names the options the user set (so ``--resume`` can refuse ones it would ignore)."""
    events = Events(settings.progress_mode or default_progress(not settings.progress))
    bars = console.set_bars(events.mode == "bar")  # plugins' bars too: no carriage returns in a plain log
    try:
        job = _prepare(app, settings, resume=resume, sample_after=sample_after, weights=weights, given=given,
                       events=events)
        try:
            with warnings.catch_warnings():  # a plugin's warnings reach the user as the job's own lines
                warnings.simplefilter("default", PluginAPIDeprecation)
                warnings.showwarning = warning_to(job.say)
                return _run(job)
        except BaseException as error:
            job.record.record_failure(error, job.run_dir if resume is None and job.world.is_main else None)
            raise
    except Exception as error:
        if events.error(failure_line(error)[0]):
            mark_reported(error)
        raise
    finally:
        console.set_bars(bars)
        distributed.shutdown()


def _prepare(app: App, settings: RunSettings, *, resume: Path | None, sample_after: bool,
             weights: Path | None, given: Collection[str], events: Events) -> Job:
    """Everything that can fail before training, checked before the run folder exists."""
    import torch

    previous: dict[str, Any] | None = None
    explicit_steps = settings.steps
    run_dir: Path | None = None
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
        settings = fit_to_data(context, settings, events.message if world.is_main else None)
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
    if explicit_steps == 0 and weights is None and resume is None and world.is_main:
        events.message("note: --steps 0 trains nothing: the samples come from the untrained model")
    if sample_after:
        check_samples(settings.num_samples, tuple(model.image_shape), run_dir if run_dir is not None else settings.out,
                      chain)
    if steps == UNLIMITED:
        manifest["train"]["steps"] = None  # until the clock stops it
    data = labels = None
    if weights is None:  # before the run folder exists: a dataset error leaves no empty folder behind
        started = time.perf_counter()
        channels, size, _ = model.image_shape
        loaded = load_labelled_data(context, settings.data, size, channels)
        data = loaded.images
        labels = attach_classes(model, loaded, manifest, events.message if world.is_main else _quiet,
                                previous)
        manifest.setdefault("timings", {})["load_data_s"] = round(time.perf_counter() - started, 3)
        manifest["data"]["images"] = int(data.shape[0])
        if batch_size > data.shape[0]:  # a batch can hold each image once: more only costs memory
            if world.is_main:
                events.message(f"note: batch size {batch_size} is more than the {data.shape[0]} training images; "
                               f"using {data.shape[0]}")
            batch_size = int(data.shape[0])
            manifest["train"]["batch_size"] = batch_size
        check_training_memory(model, data, labels, max(1, batch_size // world.size), context.device,
                              context.precision, context.channels_last)
    if run_dir is None:
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
    assert run_dir is not None
    return Job(app=app, settings=settings, context=context, model=model, chain=chain, data=data, run_dir=run_dir,
               record=RunManifest(run_dir / runs.MANIFEST, manifest, world.is_main), world=world, events=events,
               steps=steps, batch_size=batch_size, identity=identity, resume=resume, weights=weights,
               sample_after=sample_after, explicit_steps=explicit_steps, labels=labels)


def _run(job: Job) -> Path:
    manifest = job.manifest
    timings: dict[str, float] = manifest.pop("timings", {})
    job.say(f"run folder: {job.run_dir}")
    job.say(f"device: {describe_device(job.context.device)}, precision: {precision_label(job.context)}"
            + (f", {job.world.size} processes" if job.world.distributed else ""))
    manifest["world_size"] = job.world.size
    if job.weights is not None:
        _load_weights(job)
    else:
        _train(job, timings)
    manifest["timings"] = timings
    job.record.write()
    if job.sample_after and job.world.is_main:
        started = time.perf_counter()
        _sample(job)
        timings["sample_and_post_s"] = round(time.perf_counter() - started, 3)
        manifest["status"] = "complete"
        manifest["timings"] = timings
        job.record.write()
    if job.world.is_main:
        from ..records.report import write_run_report

        write_run_report(job.run_dir)
    job.say(f"done: {job.run_dir}")
    job.events.emit("done", run=str(job.run_dir), step=manifest["train"].get("steps_done"), timings=timings)
    return job.run_dir


def _load_weights(job: Job) -> None:
    assert job.weights is not None
    source = find_checkpoint(job.weights)
    names = restore_classes(job.model, None, source)
    if names:
        job.manifest["labels"] = {"names": names, "conditional": True}
    restore_checkpoint(job.model, source, expected=job.identity)
    job.manifest["weights_from"] = str(job.weights)
    if job.world.is_main:  # the run keeps its own copy of the weights it sampled from, byte for byte
        runs.write_bytes_atomic(job.checkpoint, source.read_bytes())
    job.manifest["status"] = "trained"


def _train(job: Job, timings: dict[str, float]) -> None:
    manifest, settings, model = job.manifest, job.settings, job.model
    job.say(f"data: {settings.data} ({job.data.shape[0]} images of {'x'.join(map(str, model.image_shape))})")
    start_step = 0
    if job.resume is not None:
        start_step = restore_checkpoint(model, job.checkpoint, job.context.scaler, expected=job.identity)
        job.say(f"resuming at step {start_step}")
    manifest["train"]["steps_done"] = start_step
    job.record.write()
    distributed.attach(model, job.world)
    monitor = _monitor(job)
    config = _train_config(job, monitor)
    try:
        with blame("model", job.identity["name"], job.plugin, "training", TRAINING_ADVICE):
            result = train(model, job.data, config, device=job.context.device, checkpoint_path=job.checkpoint,
                           start_step=start_step, on_checkpoint=monitor.checkpoint if monitor else None,
                           labels=job.labels)
    except BaseException:
        if monitor is not None:
            monitor.close()  # the lines so far stay, synced, for --resume
        raise
    if monitor is not None:
        monitor.finish(result.step, interrupted=result.interrupted)
    if settings.minutes is not None:
        manifest["train"]["minutes"] = settings.minutes
        if job.explicit_steps is None:
            manifest["train"]["steps"] = result.step
    timings["train_s"] = round(result.seconds, 3)
    manifest["train"]["images_per_second"] = round(result.images_per_second, 1)
    manifest["train"]["steps_done"] = result.step
    manifest["losses"] = {k: round(v, 6) for k, v in result.losses.items()}
    if result.interrupted:
        manifest["status"] = "interrupted"
        manifest["timings"] = timings
        job.record.write()
        raise Interrupted(f"interrupted at step {result.step}; checkpoint saved. "
                          f"Continue with: genart run --resume {job.run_dir}")
    manifest["status"] = "trained"


def _monitor(job: Job) -> Monitor | None:
    """Metrics, snapshots, progress events and real.png of the run (main process only)."""
    steps = None if job.steps == UNLIMITED else job.steps
    sample_every = (job.settings.sample_every if job.settings.sample_every is not None
                    else default_sample_every(job.model, steps))
    job.manifest["train"]["sample_every"] = sample_every
    if not job.world.is_main:
        return None
    plots.write_real_grid(job.run_dir, job.data, job.settings.seed)
    watch = Watch(recipe=run_recipe(job.app, job.context, job.manifest, job.checkpoint),
                  minutes=job.settings.minutes, tensorboard=job.settings.tensorboard)
    return Monitor(job.run_dir, job.model, seed=job.settings.seed, batch_size=job.batch_size, steps=steps,
                   sample_every=sample_every, events=job.events, watch=watch)


def _train_config(job: Job, monitor: Monitor | None) -> TrainConfig:
    settings, context = job.settings, job.context
    return TrainConfig(steps=job.steps, batch_size=job.batch_size, seed=settings.seed,
                       checkpoint_every=settings.checkpoint_every,
                       progress=settings.progress and job.events.mode == "bar",
                       precision=context.precision, channels_last=context.channels_last,
                       scaler=context.scaler, compile=settings.compile, minutes=settings.minutes,
                       monitor=monitor, notify=job.say,
                       checkpoint_metadata={**model_metadata(job.identity["name"], job.identity["params"]),
                                            **labels_metadata(recorded_classes(job.manifest))})


def _sample(job: Job) -> None:
    settings = job.settings
    names = recorded_classes(job.manifest)
    recipe = label_recipe(sample_recipe(job.app, job.context, job.manifest, job.checkpoint, settings.post,
                                        settings.seed, settings.num_samples), names,
                          set_guidance(job.model, None) if names else None)
    with blame("model", job.identity["name"], job.plugin, "sampling", "lower -n"):
        write_samples(job.run_dir, job.model, job.chain, settings.num_samples, settings.seed, job.context.device,
                      recipe=recipe, progress=job.events.mode == "bar" and settings.num_samples > SAMPLE_BATCH)


def _quiet(message: str) -> None:
    """Where the other processes of a distributed run say what the main process says."""
