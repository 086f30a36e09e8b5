"""The job behind ``genart sample``: new samples from a trained run, through an optional chain, into a
folder of their own, each PNG carrying the recipe that makes it again."""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

from ..contract.labels import resolve_labels
from ..contract.plugins import App
from ..contract.registry import MODEL
from ..errors import Interrupted, UsageError, blame
from ..records.reproduce import sample_recipe
from .class_samples import LabelPlan, label_recipe, set_guidance, write_labelled_samples
from .labelled import recorded_classes
from .loading import find_checkpoint, load_run_model, model_name, with_options
from .pipeline import SAMPLE_BATCH, build_chain
from .sampling import check_samples, write_samples


@dataclass
class SampleRequest:
    """What ``genart sample`` was asked for."""

    run_dir: Path
    num_samples: int = 16
    seed: int = 0
    post: tuple[str, ...] = ()
    #: ``key=value,...`` sampling-time model parameters replacing the trained ones
    model_args: str = ""
    #: the output folder (None: RUN_DIR/sample-seedS)
    out: Path | None = None
    overwrite: bool = False
    device: str = "auto"
    precision: str = "auto"
    #: ``--label`` values (names, indices or ``all``): ``num_samples`` of each, and a class grid
    labels: tuple[str, ...] = ()
    #: ``--guidance``: the classifier-free guidance scale (None: the model's own)
    guidance: float | None = None

    @property
    def target(self) -> Path:
        return self.out if self.out is not None else self.run_dir / f"sample-seed{self.seed}"


def sample_job(app: App, request: SampleRequest) -> Path:
    """Write the samples (and grids) into ``request.target``; returns it."""
    model, context, manifest = load_run_model(app, request.run_dir, request.device, request.precision,
                                              request.model_args)
    if request.model_args.strip():  # the recipe rebuilds the model as sampled, not as trained
        manifest = {**manifest, "model": {**manifest["model"],
                                          "spec": with_options(manifest["model"]["spec"], request.model_args)}}
    chain = build_chain(context, request.post)
    names = recorded_classes(manifest)
    plan = label_plan(request, names)
    guidance = set_guidance(model, request.guidance) if names else None
    if request.guidance is not None and not names:
        raise UsageError("--guidance: this run's model trained without labels (guidance steers toward a class)")
    total = plan.total if plan is not None else request.num_samples
    target = request.target
    if target.exists() and not target.is_dir():
        raise UsageError(f"--out {target} is a file, not a folder")
    if target.exists() and any(target.iterdir()) and not request.overwrite:
        raise UsageError(f"{target} already exists and is not empty (use --overwrite or another --out)")
    check_samples(total, tuple(model.image_shape), target, chain)
    recipe = label_recipe(sample_recipe(app, context, manifest, find_checkpoint(request.run_dir), request.post,
                                        request.seed, total), names, guidance, plan)
    name = model_name(manifest)
    plugin = context.registry.get(MODEL, name).plugin if name in context.registry.names(MODEL) else None
    before = set(target.rglob("*")) if target.exists() else None
    try:
        with blame("model", name, plugin, "sampling", "lower -n"):
            if plan is not None:
                write_labelled_samples(target, model, chain, plan, request.seed, context.device, recipe=recipe,
                                       progress=total > SAMPLE_BATCH)
            else:
                write_samples(target, model, chain, total, request.seed, context.device, recipe=recipe,
                              progress=total > SAMPLE_BATCH)  # a bar once there is more than one batch
    except KeyboardInterrupt:
        _remove_new(target, before)
        raise Interrupted(f"interrupted; nothing was kept in {target}, so the same command runs again") from None
    except BaseException:  # a full disk or a failing model: a partial folder would only block the rerun
        _remove_new(target, before)
        raise
    return target


def label_plan(request: SampleRequest, names: list[str] | None) -> LabelPlan | None:
    """The classes ``--label`` asks for, ``num_samples`` each (None without ``--label``); a one-line error for
    an unconditional run or a label the run does not have (listing the names)."""
    if not request.labels:
        return None
    if not names:
        raise UsageError("--label: this run's model trained without labels (its data had none, or the model "
                         "takes none); train on labelled data, e.g. --data folder:path=DIR,labels=folders")
    return LabelPlan(tuple(resolve_labels(request.labels, names)), request.num_samples, tuple(names))


def _remove_new(target: Path, before: set[Path] | None) -> None:
    """Undo an interrupted job's writes: the whole folder when the job made it, else only the new files,
    so a rerun is not refused as "not empty" and a user's own files stay."""
    if before is None:
        shutil.rmtree(target, ignore_errors=True)
        return
    new = sorted(set(target.rglob("*")) - before, key=lambda p: len(p.parts), reverse=True)
    for path in new:  # deepest first, so folders are empty when their turn comes
        if path.is_dir():
            shutil.rmtree(path, ignore_errors=True)
        else:
            path.unlink(missing_ok=True)
