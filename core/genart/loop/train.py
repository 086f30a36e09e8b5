"""The one training loop every model uses.

It owns what every model would otherwise get subtly wrong: seeding, batch order, autocast,
progress, atomic checkpoints, exact resume, Ctrl-C, and stopping on a NaN loss with the last good
checkpoint kept. The model owns only its ``train_step`` (and so its optimisers).
"""

from __future__ import annotations

import contextlib
import math
import signal
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..contract.labels import Conditional
from ..contract.protocols import FinishesTraining, FollowsProgress, GenerativeModel, supports_compile
from ..errors import GenartError, TrainingDiverged
from ..records.runs import save_checkpoint
from .amp import autocast_for
from .checkpoints import checkpoint_state

#: ``steps`` when only ``minutes`` bounds a run
UNLIMITED = 2**62


def tell_stderr(message: str) -> None:
    """Where the loop's messages go when no job routes them through its events."""
    print(message, file=sys.stderr)


@dataclass
class TrainConfig:
    steps: int
    batch_size: int
    seed: int = 0
    checkpoint_every: int = 200
    progress: bool = True
    #: autocast dtype (torch.bfloat16/float16) or None for fp32
    precision: Any = None
    #: hand batches to the model in channels_last layout (faster convolutions, see device.prefers_channels_last)
    channels_last: bool = False
    #: the context's loss scaler (fp16); the loop updates it once per step and checkpoints it
    scaler: Any = None
    #: run ``model.train_step`` through torch.compile (see compiled_step)
    compile: bool = False
    #: written into every checkpoint's metadata, e.g. the model's name and params (see model_metadata)
    checkpoint_metadata: dict[str, str] | None = None
    #: stop at the first step after this many minutes of training (None: run to ``steps``)
    minutes: float | None = None
    #: a genart.api.Monitor (metrics, snapshots, progress events), main process only
    monitor: Any = None
    #: where the loop's messages to the user go (the run's events, so ``--progress json`` stays JSON)
    notify: Callable[[str], None] = field(default=lambda message: tell_stderr(message))


@dataclass
class TrainResult:
    step: int
    losses: dict[str, float] = field(default_factory=dict)
    seconds: float = 0.0
    images_per_second: float = 0.0
    interrupted: bool = False


def batch_indices(step: int, n: int, batch_size: int, seed: int, cache: dict[int, Any] | None = None) -> Any:
    """Indices of the batch used at ``step``: a fresh permutation each epoch, a pure function of
    (seed, step), so resuming needs no data-loader state and gives exactly the same batches.
    ``cache`` (a dict) keeps the current epoch's permutation between calls."""
    import torch

    if n <= 0:
        raise GenartError("the dataset is empty")
    per_epoch = max(1, n // batch_size)
    epoch, position = divmod(step, per_epoch)
    order = cache.get(epoch) if cache is not None else None
    if order is None:
        generator = torch.Generator().manual_seed(seed * 1_000_003 + epoch)
        order = torch.randperm(n, generator=generator)
        if n < batch_size:
            order = order.repeat(math.ceil(batch_size / n))
        if cache is not None:
            cache.clear()
            cache[epoch] = order
    return order[position * batch_size:(position + 1) * batch_size]


def compiled_step(model: GenerativeModel, notify: Callable[[str], None] | None = None,
                  method: str = "train_step") -> Callable[..., dict[str, float]]:
    """``model.train_step`` through torch.compile, so a third-party model gets it without any code.

    The whole step is compiled, optimiser included; ``.item()`` calls and anything a model marks with
    ``torch.compiler.disable`` (e.g. a double-backward penalty) run eagerly between compiled parts.
    ``method`` names the step to compile (``train_step_labelled`` for a conditional run).
    A model whose step branches on Python-side state that changes every step (counters, running
    tallies) would be recompiled every step; it says so with ``supports_compile = False`` and trains
    eagerly. A compiler failure becomes a one-line error instead of a page of inductor traceback.
    """
    import logging

    import torch

    if not supports_compile(model):
        (notify or tell_stderr)(f"--compile: {type(model).__name__} opts out (its step keeps Python-side state "
                                "that would recompile every step); training eagerly")
        return getattr(model, method)  # type: ignore[no-any-return]

    # graph breaks at .item() and friends are expected here, not news for the user
    for name in ("torch._dynamo", "torch._logging", "torch._inductor"):
        logging.getLogger(name).setLevel(logging.ERROR)
    compiled: Callable[..., dict[str, float]] = torch.compile(getattr(model, method))

    def step(*batch: Any) -> dict[str, float]:
        try:  # compilation happens on the first call, and again whenever a guard fails
            return compiled(*batch)
        except Exception as error:
            if type(error).__module__.startswith(("torch._dynamo", "torch._inductor")):
                message = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
                raise GenartError(f"--compile failed ({message[:200]}); run without --compile") from error
            raise

    return step


@contextlib.contextmanager
def _graceful_interrupt(notify: Callable[[str], None]) -> Iterator[Callable[[], bool]]:
    """First Ctrl-C asks the loop to stop after the current step; a second one aborts at once."""
    requested = {"stop": False}
    previous = None

    def handler(signum: int, frame: Any) -> None:
        if requested["stop"]:
            raise KeyboardInterrupt
        requested["stop"] = True
        notify("interrupt: finishing this step and saving a checkpoint (Ctrl-C again to abort)")

    try:
        previous = signal.signal(signal.SIGINT, handler)
    except ValueError:  # not in the main thread: leave default handling
        previous = None
    try:
        yield lambda: requested["stop"]
    finally:
        if previous is not None:
            signal.signal(signal.SIGINT, previous)


def train(model: GenerativeModel, data: Any, config: TrainConfig, *, device: Any, checkpoint_path: str | Path | None,
          start_step: int = 0, on_checkpoint: Callable[[int], None] | None = None,
          labels: Any = None) -> TrainResult:
    """Train ``model`` on ``data`` (uint8 ``[N, C, H, W]``) from ``start_step`` to ``config.steps``.

    ``labels`` (int64 ``[N]``, aligned with ``data``): each batch's labels go to the model's
    ``train_step_labelled`` (genart.Conditional, told its classes already); None trains unconditionally.

    The caller has already restored the model (and RNG) when ``start_step`` > 0, and seeded torch
    otherwise. Checkpoints go to ``checkpoint_path`` every ``checkpoint_every`` steps and at the end.
    """
    import torch
    from tqdm.auto import tqdm

    from . import distributed
    from .allocator import keep_freed_memory

    world = distributed.current()
    if config.steps < 0 or config.batch_size < 1:
        raise GenartError("steps must be >= 0 and batch size >= 1")
    if config.batch_size % world.size:
        raise GenartError(f"batch size {config.batch_size} is not divisible by the {world.size} processes")
    if world.distributed:  # distinct noise per rank; weights stay identical through averaged gradients
        torch.manual_seed(config.seed * 1_000_003 + start_step * 7919 + world.rank)
    if device.type == "cpu":  # no page faults for the activations every step reallocates
        keep_freed_memory()
    memory_format = torch.channels_last if config.channels_last else torch.contiguous_format
    data = data.to(device) if data.device != device and _fits_on_device(data, device) else data
    autocast = autocast_for(device, config.precision)
    window: dict[str, list[float]] = {}
    result = TrainResult(step=start_step)
    last_saved = start_step
    started = time.perf_counter()
    total = config.steps if config.steps < UNLIMITED else None
    bar = tqdm(total=total, initial=start_step, disable=not config.progress or not world.is_main, unit="step",
               dynamic_ncols=True, mininterval=0.5, file=sys.stderr)

    def save(step: int) -> None:
        nonlocal last_saved
        if checkpoint_path is not None and world.is_main:
            save_checkpoint(checkpoint_path, checkpoint_state(model, step, config.seed, config.scaler),
                            config.checkpoint_metadata)
            last_saved = step
            if on_checkpoint is not None:
                on_checkpoint(step)

    order_cache: dict[int, Any] = {}
    if config.monitor is not None:
        config.monitor.start(start_step)
    method = "train_step" if labels is None else "train_step_labelled"
    if labels is not None and (not isinstance(model, Conditional) or labels.shape[0] != data.shape[0]):
        raise GenartError(f"labels for {labels.shape[0]} images given to a {type(model).__name__} training on "
                          f"{data.shape[0]} (it needs genart.Conditional and one label per image)")
    train_step = compiled_step(model, config.notify, method) if config.compile else getattr(model, method)
    follows = model if isinstance(model, FollowsProgress) else None
    elapsed = 0.0
    with _graceful_interrupt(config.notify) as stop_requested:
        step = start_step
        while step < config.steps:
            if follows is not None:
                follows.set_progress(run_progress(step, config.steps, elapsed, config.minutes))
            index = batch_indices(step, data.shape[0], config.batch_size, config.seed, order_cache)
            index = index[world.rank::world.size]
            batch = data[index.to(data.device)].to(device, non_blocking=True).float().div_(255)
            batch = batch.contiguous(memory_format=memory_format)
            inputs = (batch,) if labels is None else (batch, labels[index].to(device, non_blocking=True))
            with autocast:
                losses = train_step(*inputs)
            if config.scaler is not None:
                config.scaler.update()
            losses = distributed.average_scalars({k: float(v) for k, v in losses.items()}, world)
            for name, value in losses.items():
                value = float(value)
                if not math.isfinite(value):
                    where = f"; last good checkpoint: {checkpoint_path} (step {last_saved})" \
                        if checkpoint_path is not None and last_saved > 0 else ""
                    raise TrainingDiverged(f"loss {name!r} became {value} at step {step + 1}{where}; "
                                           "try a lower learning rate or another loss")
                window.setdefault(name, []).append(value)
                del window[name][:-50]
            step += 1
            result.step = step
            bar.update(1)
            if config.monitor is not None:
                config.monitor.step(step, losses)
            if step % 10 == 0 or step == config.steps:
                elapsed = time.perf_counter() - started
                rate = (step - start_step) * config.batch_size / max(elapsed, 1e-9)
                bar.set_postfix({**{k: f"{sum(v) / len(v):.4g}" for k, v in window.items()},
                                 "img/s": f"{rate:.0f}"}, refresh=False)
            if config.checkpoint_every and step % config.checkpoint_every == 0 and step < config.steps:
                save(step)
            if stop_requested():
                result.interrupted = True
                break
            if config.minutes is not None:
                elapsed = _elapsed(started, world)
                if elapsed >= config.minutes * 60:
                    break
    bar.close()
    finished = False
    if step > start_step and isinstance(model, FinishesTraining):  # e.g. a prior fitted to the final weights
        model.finish_training(data)
        finished = True  # saved with them below, even where the loop's last save was at this step
    missing = checkpoint_path is not None and world.is_main and not Path(checkpoint_path).exists()
    if finished or step != last_saved or missing:
        save(step)
    result.seconds = time.perf_counter() - started
    result.images_per_second = (step - start_step) * config.batch_size / max(result.seconds, 1e-9)
    result.losses = {k: sum(v) / len(v) for k, v in window.items()}
    return result


def _elapsed(started: float, world: Any) -> float:
    """Seconds trained; every process gets the same value (their mean), so all take the same decisions."""
    from . import distributed

    elapsed = time.perf_counter() - started
    if world.distributed:
        elapsed = float(distributed.average_scalars({"elapsed": elapsed}, world)["elapsed"])
    return elapsed


def run_progress(step: int, steps: int, elapsed: float, minutes: float | None) -> float:
    """Share of the run done before ``step`` (see FollowsProgress): by steps, or by time when a
    ``minutes`` budget will end it sooner; in [0, 1]."""
    done = step / steps if steps < UNLIMITED else 0.0
    if minutes is not None:
        done = max(done, elapsed / (minutes * 60) if minutes > 0 else 1.0)
    return min(1.0, max(0.0, done))


def _fits_on_device(data: Any, device: Any) -> bool:
    """Keep the whole (uint8) dataset on an accelerator when it is small, so batches never wait."""
    return bool(device.type != "cpu" and data.numel() < 2**31)
