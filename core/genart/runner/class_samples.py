"""Samples of the classes a user asks for: which label each sample gets (a :class:`LabelPlan`, recorded in
every recipe so ``genart reproduce`` draws the same), and a model seen through that plan as a plain
``sample(n, generator)`` model, so the batching, chains and grids of unconditional sampling apply as
they are (sample ``i`` gets label ``plan.label(i)`` whatever the batch size)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..contract.labels import Conditional, Guided
from ..errors import UsageError


@dataclass(frozen=True)
class LabelPlan:
    """Sample ``i`` is of class ``classes[(i // each) % len(classes)]``: ``each`` samples of every asked class
    in turn (``genart sample --label``), or with ``each=1`` the classes in a cycle (a run's own samples)."""

    classes: tuple[int, ...]
    each: int = 1
    #: every class name of the run's model (index -> name)
    names: tuple[str, ...] = field(default=())

    def label(self, index: int) -> int:
        return self.classes[(index // self.each) % len(self.classes)]

    def labels(self, start: int, n: int) -> Any:
        import torch

        return torch.tensor([self.label(i) for i in range(start, start + n)], dtype=torch.int64)

    @property
    def total(self) -> int:
        """Samples in a class-major plan: ``each`` per asked class."""
        return self.each * len(self.classes)

    def to_recipe(self) -> dict[str, Any]:
        return {"classes": list(self.classes), "each": self.each,
                "names": [self.names[k] for k in self.classes] if self.names else []}

    @classmethod
    def from_recipe(cls, entry: dict[str, Any], names: list[str] | tuple[str, ...] = ()) -> LabelPlan:
        return cls(tuple(int(k) for k in entry["classes"]), int(entry.get("each", 1)), tuple(names))


class PlannedSampler:
    """A conditional model seen as a plain ``sample(n, generator)`` model that follows a plan: consecutive
    calls continue where the last one stopped (``restart()`` goes back to sample 0)."""

    def __init__(self, model: Any, plan: LabelPlan) -> None:
        if not _conditional(model):
            raise UsageError(f"{type(model).__name__} does not take labels (it is not genart.Conditional)")
        self.model = model
        self.plan = plan
        self.image_shape = model.image_shape
        self.position = 0

    def restart(self) -> None:
        self.position = 0

    def sample(self, n: int, generator: Any) -> Any:
        labels = self.plan.labels(self.position, n)
        self.position += n
        return self.model.sample_labelled(labels, generator)


#: samples per class shown in a class grid's row
CLASS_COLUMNS = 16


def render_labelled(model: Any, chain: list[Any], plan: LabelPlan, seed: int, device: Any,
                    each: Callable[[int, Any], None] | None = None, progress: bool = False) -> Any:
    """Draw ``plan.total`` samples of the plan's classes (through the chain, each handed to ``each(index,
    image)``) and return their class grid: one row per asked class, its first CLASS_COLUMNS samples, the
    class names written on the left. ``genart sample --label`` and ``reproduce`` share it."""
    import torch

    from ..images import class_grid
    from .sampling import render_samples

    rows: list[list[Any]] = [[] for _ in plan.classes]

    def keep(index: int, image: Any) -> None:
        if each is not None:
            each(index, image)
        row = rows[index // plan.each]
        if len(row) < CLASS_COLUMNS:
            row.append(image)

    render_samples(PlannedSampler(model, plan), chain, plan.total, seed, device, keep, progress=progress)
    names = [plan.names[k] if plan.names else str(k) for k in plan.classes]
    return class_grid([torch.stack(row) for row in rows], names)


def write_labelled_samples(folder: Path, model: Any, chain: list[Any], plan: LabelPlan, seed: int, device: Any,
                           recipe: dict[str, Any] | None = None, progress: bool = False) -> None:
    """samples/NNNN.png (sample ``i`` of class ``plan.label(i)``, after the chain) and grid.png, the class
    grid (see render_labelled); each PNG carries ``recipe`` with its kind (and index and label)."""
    from ..images import save_image
    from .pipeline import finish_chain
    from .sampling import DiskWatch

    samples = folder / "samples"
    samples.mkdir(parents=True, exist_ok=True)

    watch = DiskWatch(folder, plan.total)

    def write(index: int, image: Any) -> None:
        tagged = None if recipe is None else {**recipe, "kind": "sample", "index": index,
                                              "label": plan.names[plan.label(index)] if plan.names else None}
        path = samples / f"{index:04d}.png"
        save_image(image, path, overwrite=True, recipe=tagged)
        watch.wrote(path)

    grid = render_labelled(model, chain, plan, seed, device, write, progress)
    save_image(grid, folder / "grid.png", overwrite=True, recipe=None if recipe is None else {**recipe, "kind": "grid"})
    finish_chain(chain, folder)


def label_recipe(recipe: dict[str, Any], names: list[str] | None, guidance: float | None,
                 plan: LabelPlan | None = None) -> dict[str, Any]:
    """A sample recipe with what a conditional model needs to draw it again: its classes, its guidance,
    and the label plan of a ``--label`` request (nothing added for an unconditional run)."""
    if not names:
        return recipe
    out = {**recipe, "classes": list(names), "guidance": guidance}
    if plan is not None:
        out["labels"] = plan.to_recipe()
    return out


def sample_classes(model: Any, labels: Any, seed: int, batch_size: int = 64) -> Any:
    """``len(labels)`` samples on the CPU in [0, 1], sample ``i`` of class ``labels[i]``, drawn ``batch_size`` at a
    time from one generator seeded with ``seed`` (as ``genart.api.sample`` draws unconditional ones)."""
    import torch

    from .pipeline import sample

    listed = [int(k) for k in torch.as_tensor(labels).tolist()]
    if not listed:
        return torch.empty(0)
    plan = LabelPlan(tuple(listed), 1)
    return sample(PlannedSampler(model, plan), len(listed), seed, batch_size)  # type: ignore[arg-type]


def set_guidance(model: Any, guidance: float | None) -> float | None:
    """Set a guided model's scale (None: keep its own); the scale it samples with (None: it has none).
    Asking a model without a guidance scale for one is a one-line error."""
    if isinstance(model, Guided):
        if guidance is not None:
            model.guidance = float(guidance)
        return float(model.guidance)
    if guidance is not None:
        raise UsageError(f"--guidance: {type(model).__name__} has no guidance scale")
    return None


def _conditional(model: Any) -> bool:
    return isinstance(model, Conditional)
