"""The job behind ``genart sample``: new samples from a trained run, through an optional chain, into a
folder of their own, each PNG carrying the recipe that makes it again."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from ..contract.plugins import App
from ..contract.registry import MODEL
from ..errors import UsageError, blame
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
    with blame("model", name, plugin, "sampling", "lower -n"):
        write_samples(target, model, chain, request.num_samples, request.seed, context.device, recipe=recipe,
                      progress=request.num_samples > SAMPLE_BATCH)  # a bar once there is more than one batch
    return target
