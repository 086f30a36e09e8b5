"""What a person (or a script) sees of a run while it trains: metrics, snapshots, progress events, curves.

The training loop calls :class:`Monitor` once per step and at each checkpoint; everything here works
for any model, built-in or third-party, with no code in the model:

- ``metrics.jsonl`` (see :mod:`genart.records.metrics`): step, wall time, every value ``train_step`` returns
  (losses and extras such as an augmentation probability), images/s, and whatever the optional
  ``model.extra_metrics()`` returns (e.g. learning rates).
- ``snapshots/step-NNNNNN.png`` every ``sample_every`` steps: a grid from fixed latents (the run's
  seed, so the last snapshot shows the same latents as the final ``grid.png``); sampling runs with
  the global RNG saved and restored, so snapshots never change what is trained.
- at the end ``progress.png`` (the snapshots in a strip) and ``curves.png``.
- progress events on stderr: ``plain`` lines for logs and CI, or ``json``, one event per line.
"""

from __future__ import annotations

import json
import math
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

from ..contract.protocols import ExtraMetrics, GenerativeModel, SampleEvery
from ..errors import UsageError
from .metrics import METRICS, MetricsLog, continue_log, read_metrics

SNAPSHOTS = "snapshots"
PROGRESS = "progress.png"
CURVES = "curves.png"
PROGRESS_MODES = ("bar", "plain", "json")
#: latents in each snapshot grid
SNAPSHOT_COUNT = 16


def default_sample_every(model: Any, steps: int | None) -> int:
    """The model's ``default_sample_every`` if it has one, else about ten snapshots per run at a round step count."""
    if isinstance(model, SampleEvery) and int(model.default_sample_every) >= 0:
        return int(model.default_sample_every)
    if not steps:
        return 200
    target = max(1.0, steps / 10)
    power = 10 ** math.floor(math.log10(target))
    return int(max(m * power for m in (1, 2, 5) if m * power <= target))


def default_progress(quiet: bool, stream: TextIO | None = None) -> str:
    """``bar`` in a terminal, ``plain`` lines otherwise (logs, CI); ``none`` with -q."""
    if quiet:
        return "none"
    stream = stream or sys.stderr
    return "bar" if getattr(stream, "isatty", lambda: False)() else "plain"


class Events:
    """Progress reporting for ``--progress plain|json`` (the bar itself is tqdm's, in the loop)."""

    def __init__(self, mode: str, stream: TextIO | None = None) -> None:
        self.mode = mode
        self.stream = stream

    def emit(self, event: str, **fields: Any) -> None:
        if self.mode != "json":
            return
        stream = self.stream or sys.stderr
        stream.write(json.dumps({"event": event, **fields}, default=str, allow_nan=False) + "\n")
        stream.flush()

    def line(self, text: str) -> None:
        if self.mode in ("plain", "bar"):
            stream = self.stream or sys.stderr
            stream.write(text + "\n")
            stream.flush()

    def message(self, text: str) -> None:
        """An informational line (run folder, device): a ``message`` event in json mode, else text, even with -q."""
        if self.mode == "json":
            self.emit("message", text=text)
        else:
            stream = self.stream or sys.stderr
            stream.write(text + "\n")
            stream.flush()

    def error(self, text: str) -> bool:
        """An ``error`` event in json mode (True: reported, the CLI then prints no text line)."""
        self.emit("error", message=text)
        return self.mode == "json"


def _clean(values: dict[str, Any]) -> dict[str, Any]:
    """Floats to 7 significant digits (a learning rate of 1e-7 stays 1e-7), non-finite ones to None."""
    out: dict[str, Any] = {}
    for key, value in values.items():
        if isinstance(value, float):
            out[key] = float(f"{value:.7g}") if math.isfinite(value) else None
        else:
            out[key] = value
    return out


def _duration(seconds: float) -> str:
    seconds = max(0, int(seconds))
    hours, rest = divmod(seconds, 3600)
    return f"{hours}h{rest // 60:02d}m" if hours else f"{rest // 60}m{rest % 60:02d}s"


@dataclass
class Watch:
    """What a run asks of its monitor beyond the loop's own numbers."""

    #: carried by every snapshot and plot PNG (see genart.records.recipe)
    recipe: dict[str, Any] | None = None
    #: the wall-clock budget that ends the run, for the ETA
    minutes: float | None = None
    #: also write TensorBoard event files
    tensorboard: bool = False


class Monitor:
    """One run's metrics, snapshots and progress events; only the main process makes one."""

    def __init__(self, run_dir: Path, model: Any, *, seed: int, batch_size: int, steps: int | None,
                 sample_every: int, events: Events, watch: Watch | None = None) -> None:
        watch = watch or Watch()
        self.run_dir = Path(run_dir)
        self.model = model
        self.seed = seed
        self.batch_size = batch_size
        self.steps = steps
        self.minutes = watch.minutes
        self.sample_every = sample_every if isinstance(model, GenerativeModel) else 0
        self.events = events
        self.recipe = watch.recipe or {}
        self.log: MetricsLog | None = None
        self.writer: Any = None
        if watch.tensorboard:
            self.writer = _summary_writer(self.run_dir / "tensorboard")
        self.offset = 0.0
        self.start_step = 0
        self.started = time.perf_counter()
        self.last_step = 0
        self.last_time = self.started
        self.last_report = 0.0
        self.last_snapshot = -1
        self.plain_every = max(1, (steps or 1000) // 20)

    # -- the loop's calls ---------------------------------------------------------------------------
    def start(self, start_step: int) -> None:
        """Continue ``metrics.jsonl`` from ``start_step`` (dropping lines past it) and snapshot the start."""
        kept = continue_log(self.run_dir / METRICS, start_step)
        self.offset = float(kept[-1].get("time", 0.0)) if kept else 0.0
        self.log = MetricsLog(self.run_dir / METRICS)
        self.start_step = self.last_step = start_step
        self.started = self.last_time = time.perf_counter()
        self.events.emit("start", run=str(self.run_dir), start_step=start_step, steps=self.steps,
                         minutes=self.minutes, batch_size=self.batch_size, sample_every=self.sample_every)
        if self.sample_every and start_step == 0:
            self.snapshot(0)

    def step(self, step: int, losses: dict[str, float]) -> None:
        now = time.perf_counter()
        rate = (step - self.last_step) * self.batch_size / max(now - self.last_time, 1e-9)
        self.last_step, self.last_time = step, now
        record: dict[str, Any] = {"step": step, "time": round(self.offset + now - self.started, 4),
                                  "unix": round(time.time(), 3), **_clean(losses)}
        if isinstance(self.model, ExtraMetrics):
            extra = self.model.extra_metrics()
            record.update(_clean({k: float(v) for k, v in extra.items() if k not in record}))
        record["images_per_second"] = round(rate, 2)
        if self.log is not None:
            self.log.append(record)
        if self.writer is not None:
            for name, value in record.items():
                if name not in ("step", "time", "unix") and isinstance(value, (int, float)):
                    self.writer.add_scalar(name, value, step)
        self._report(step, record, now)
        if self.sample_every and step % self.sample_every == 0:
            self.snapshot(step)
        self.last_time = time.perf_counter()  # images/s measures training, not the monitor's own work

    def checkpoint(self, step: int) -> None:
        """Make the metrics up to this checkpoint durable with it, and say so."""
        if self.log is not None:
            self.log.sync()
        self.events.emit("checkpoint", step=step, path=str(self.run_dir / "checkpoint.safetensors"))

    def finish(self, step: int, *, interrupted: bool = False) -> None:
        """Last snapshot, ``progress.png``, ``curves.png``; the ``done`` event is the job's (after sampling)."""
        if self.sample_every and self.last_snapshot != step and step > 0:
            self.snapshot(step)
        self.close()
        self.draw(self.run_dir, self.recipe)
        if interrupted:
            self.events.message(f"stopped at step {step}")

    def close(self) -> None:
        if self.log is not None:
            self.log.close()
            self.log = None
        if self.writer is not None:
            self.writer.close()
            self.writer = None

    # -- pieces ---------------------------------------------------------------------------------------
    def eta(self, step: int, now: float) -> float | None:
        done = step - self.start_step
        elapsed = now - self.started
        estimates = []
        if self.steps and done > 0:
            estimates.append((self.steps - step) * elapsed / done)
        if self.minutes is not None:
            estimates.append(self.minutes * 60 - elapsed)
        return max(0.0, min(estimates)) if estimates else None

    def _report(self, step: int, record: dict[str, Any], now: float) -> None:
        mode = self.events.mode
        final = self.steps is not None and step >= self.steps
        if mode == "json" and (now - self.last_report >= 0.5 or final):
            self.last_report = now
            losses = {k: v for k, v in record.items() if k not in ("step", "time", "unix", "images_per_second")}
            self.events.emit("step", step=step, steps=self.steps, losses=losses,
                             images_per_second=record["images_per_second"], eta_s=_round(self.eta(step, now)))
        elif mode == "plain" and (step % self.plain_every == 0 or final or now - self.last_report >= 30):
            self.last_report = now
            values = "  ".join(f"{k} {v:.4g}" for k, v in record.items()
                               if k not in ("step", "time", "unix", "images_per_second") and isinstance(v, float))
            eta = self.eta(step, now)
            total = f"/{self.steps}" if self.steps else ""
            self.events.line(f"step {step}{total}  {values}  {record['images_per_second']:.0f} img/s"
                             + (f"  eta {_duration(eta)}" if eta is not None else ""))

    def snapshot(self, step: int) -> Path | None:
        """A grid of the fixed latents at ``step``, without touching the training RNG."""
        from ..images import make_grid, save_image
        from ..loop.checkpoints import rng_state, set_rng_state
        from ..runner.pipeline import sample

        state = rng_state()
        try:
            images = sample(self.model, SNAPSHOT_COUNT, self.seed)
        except (NotImplementedError, AttributeError) as error:
            self.sample_every = 0
            self.events.message(f"snapshots off: the model cannot sample ({type(error).__name__})")
            return None
        finally:
            set_rng_state(state)
        grid = make_grid(images)
        path = self.run_dir / SNAPSHOTS / f"step-{step:06d}.png"
        path.parent.mkdir(parents=True, exist_ok=True)
        from .recipe import base_recipe

        recipe = {**self.recipe, "step": step, "seed": self.seed, "num_samples": SNAPSHOT_COUNT}
        save_image(grid, path, overwrite=True, recipe=base_recipe("snapshot", **recipe))
        if self.writer is not None:
            self.writer.add_image("snapshots", grid.clamp(0, 1), step)
        self.last_snapshot = step
        self.events.emit("sample", step=step, path=str(path))
        return path

    @staticmethod
    def draw(run_dir: Path, recipe: dict[str, Any] | None = None) -> None:
        """``progress.png`` from the snapshots on disk and ``curves.png`` from ``metrics.jsonl``."""
        from .plots import draw_curves, progress_strip
        from .recipe import base_recipe, dumps, matplotlib_metadata, png_info
        from .runs import write_bytes_atomic

        recipe = recipe or {}
        snapshots = sorted((int(p.stem.split("-")[1]), p) for p in (run_dir / SNAPSHOTS).glob("step-*.png")
                           if p.stem.split("-")[1].isdigit())
        if snapshots:
            import io

            buffer = io.BytesIO()
            strip = progress_strip(snapshots)
            strip.save(buffer, format="PNG", pnginfo=png_info(dumps(base_recipe("progress", **recipe))))
            write_bytes_atomic(run_dir / PROGRESS, buffer.getvalue())
        records = read_metrics(run_dir / METRICS)
        draw_curves(records, run_dir / CURVES, title=run_dir.name,
                    metadata=matplotlib_metadata(base_recipe("curves", **recipe)))


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 1)


def _summary_writer(folder: Path) -> Any:
    import importlib

    try:
        importlib.import_module("tensorboard")  # torch's SummaryWriter needs it
        from torch.utils.tensorboard import SummaryWriter
    except ImportError:
        raise UsageError("--tensorboard needs the 'tensorboard' package (pip install tensorboard)") from None
    return SummaryWriter(log_dir=str(folder))
