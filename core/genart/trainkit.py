"""What models that train one network on image patches share (the built-in sr-trainer and
restorer-trainer, and any third-party trainer like them), so each is written once.

- :func:`cosine_lr`: warm-up then cosine decay to a floor, the schedule both trainers use;
- :func:`decay_factor`: a learning rate's share at a run's progress (constant, linear or cosine to 0),
  for models that follow the loop's progress (:class:`genart.FollowsProgress`), and
  :func:`follow_schedule`, which sets an optimiser's rate from it in their ``set_progress``;
- :func:`random_dihedral`: one random flip/90-degree turn per batch, the augmentation that makes
  eight pictures of every patch (the same symmetries :func:`genart.tiling.self_ensemble` averages);
- :func:`smooth_images`: deterministic demo pictures with edges and gradients, what ``sample`` shows;
- :class:`NetTrainer`: ``state_dict``/``load_state_dict`` of (network, optimiser, step) and the
  fp16 tensors ``export()`` ships;
- :func:`load_net_state`: a network's weights from a shipped file, an exported file, a training
  checkpoint or a run folder, cached by file; callers build a fresh network from them every time,
  so moving one to a device never moves another caller's.
"""

from __future__ import annotations

import functools
import math
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .errors import UsageError
from .records.runs import CHECKPOINT, load_checkpoint

if TYPE_CHECKING:
    import torch

__all__ = ["SCHEDULES", "NetTrainer", "cosine_lr", "decay_factor", "follow_schedule", "load_net_state",
           "random_dihedral", "smooth_images"]


#: the schedules :func:`decay_factor` knows
SCHEDULES = ("constant", "linear", "cosine")


def decay_factor(schedule: str, progress: float) -> float:
    """The learning rate's share of its peak at ``progress`` (0..1 of the run): ``constant`` 1; ``linear``
    and ``cosine`` decay to 0 at the end, which averages the last steps' noise out of the weights."""
    if schedule not in SCHEDULES:
        raise UsageError(f"unknown learning-rate schedule {schedule!r} (use {', '.join(SCHEDULES)})")
    progress = min(1.0, max(0.0, progress))
    if schedule == "linear":
        return 1.0 - progress
    if schedule == "cosine":
        return 0.5 * (1.0 + math.cos(math.pi * progress))
    return 1.0


def follow_schedule(optimizer: torch.optim.Optimizer, peak: float, schedule: str, progress: float) -> None:
    """Set every parameter group's rate to ``peak`` times :func:`decay_factor` at ``progress``: the
    whole of a ``set_progress`` for a model with one optimiser and an ``lr_schedule`` parameter."""
    rate = peak * decay_factor(schedule, progress)
    for group in optimizer.param_groups:
        group["lr"] = rate


def cosine_lr(step: int, total: int, peak: float, floor: float = 0.02, warmup: int = 50) -> float:
    """Learning rate at ``step``: linear warm-up over ``warmup`` steps, then cosine decay from ``peak``
    to ``floor * peak`` at ``total`` (short runs need the warm-up; the floor keeps late steps useful)."""
    if step < warmup:
        return peak * (step + 1) / warmup
    progress = min(1.0, (step - warmup) / max(1, total - warmup))
    return peak * (floor + (1 - floor) * 0.5 * (1 + math.cos(math.pi * progress)))


def random_dihedral(batch: torch.Tensor) -> torch.Tensor:
    """The batch turned by a random multiple of 90 degrees and mirrored half the time: one draw per
    batch from torch's global generator (so the loop's seeding makes it reproducible)."""
    import torch

    k = int(torch.randint(4, (1,)))
    batch = torch.rot90(batch, k, (2, 3))
    return batch.flip(3) if bool(torch.randint(2, (1,))) else batch


def smooth_images(n: int, size: int, generator: torch.Generator, *, stripe_some: bool = False) -> torch.Tensor:
    """``n`` RGB pictures of ``size`` pixels: smooth colour fields with fine stripes (every picture, or a
    random half of them with ``stripe_some``), in [0, 1]; the same generator state gives the same pictures."""
    import torch
    import torch.nn.functional as F

    coarse = torch.rand(n, 3, 6, 6, generator=generator)
    images = F.interpolate(coarse, size=(size, size), mode="bicubic", align_corners=False)
    stripes = (torch.arange(size).view(1, 1, 1, size) // 3 % 2).float()
    striped = images * (0.6 + 0.4 * stripes)
    if not stripe_some:
        return striped.clamp(0, 1)
    mask = torch.rand(n, 1, 1, 1, generator=generator) > 0.5
    return torch.where(mask, striped, images).clamp(0, 1)


class NetTrainer:
    """Resumable state of a model that trains one network ``net`` with one ``optimizer``."""

    net: torch.nn.Module
    optimizer: torch.optim.Optimizer
    step: int

    def state_dict(self) -> dict[str, Any]:
        return {"net": self.net.state_dict(), "optimizer": self.optimizer.state_dict(), "step": self.step}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.net.load_state_dict(state["net"])
        self.optimizer.load_state_dict(state["optimizer"])
        self.step = int(state["step"])

    def half_weights(self) -> dict[str, torch.Tensor]:
        """The network's weights as contiguous fp16 CPU tensors: half the file; inference casts back."""
        import torch

        return {k: v.detach().to("cpu", torch.float16).contiguous() for k, v in self.net.state_dict().items()}


def load_net_state(source: str | os.PathLike[str], what: str) -> tuple[dict[str, torch.Tensor], dict[str, str]]:
    """The weights (name -> tensor) and metadata in a weights file, a training checkpoint or a run folder.

    ``what`` names the weights in errors ("SR weights"). The result is cached per file and
    modification time and must not be changed in place: load it into a new network
    (``net.load_state_dict`` copies).
    """
    path = Path(source)
    if path.is_dir():
        path = path / CHECKPOINT
    if not path.is_file():
        raise UsageError(f"{what} not found: {path}")
    stat = path.stat()
    return _load_state(str(path.resolve()), stat.st_mtime_ns, stat.st_size)


@functools.lru_cache(maxsize=8)
def _load_state(path: str, mtime_ns: int, size: int) -> tuple[dict[str, torch.Tensor], dict[str, str]]:
    state, meta = load_checkpoint(path)
    if isinstance(state, dict) and "model" in state:  # a genart training checkpoint
        state = state["model"]
    if isinstance(state, dict) and "net" in state:
        state = state["net"]
    if not isinstance(state, dict):
        state = {}
    return state, meta
