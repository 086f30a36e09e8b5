"""The job behind ``genart sample``: new samples from a trained run, through an optional chain, into a
folder of their own, each PNG carrying the recipe that makes it again."""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

from ..contract.plugins import App
from ..contract.registry import MODEL
from ..errors import Interrupted, UsageError, blame
from ..records.reproduce import sample_recipe
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
    target = request.target
    if target.exists() and not target.is_dir():
        raise UsageError(f"--out {target} is a file, not a folder")
    if target.exists() and any(target.iterdir()) and not request.overwrite:
        raise UsageError(f"{target} already exists and is not empty (use --overwrite or another --out)")
    check_samples(request.num_samples, tuple(model.image_shape), target)
    recipe = sample_recipe(app, context, manifest, find_checkpoint(request.run_dir), request.post, request.seed,
                           request.num_samples)
    name = model_name(manifest)
    plugin = context.registry.get(MODEL, name).plugin if name in context.registry.names(MODEL) else None
    before = set(target.rglob("*")) if target.exists() else None
    try:
        with blame("model", name, plugin, "sampling", "lower -n"):
            write_samples(target, model, chain, request.num_samples, request.seed, context.device, recipe=recipe,
                          progress=request.num_samples > SAMPLE_BATCH)  # a bar once there is more than one batch
    except KeyboardInterrupt:
        _remove_new(target, before)
        raise Interrupted(f"interrupted; nothing was kept in {target}, so the same command runs again") from None
    return target


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
