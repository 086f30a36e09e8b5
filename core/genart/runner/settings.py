"""A run's settings in one shape: what the user asked for (:class:`RunSettings`), the manifest that
records it, and the settings read back from a manifest for ``--resume``."""

from __future__ import annotations

import dataclasses
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from ..contract.components import BuildContext, resolve_params
from ..contract.fitting import fit_model_to_data
from ..contract.params import params_to_dict, split_spec
from ..contract.plugins import App
from ..contract.registry import MODEL
from .context import precision_label, versions

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


def fit_to_data(context: BuildContext, settings: RunSettings, say: Callable[[str], None] | None) -> RunSettings:
    """``settings`` with the model's shape fitted to the data (genart.contract.fitting), saying what changed."""
    fitted = fit_model_to_data(context, settings.model, settings.data)
    if say is not None:
        for line in fitted.warnings:  # through the run's events, so --progress json stays one JSON per line
            say(line)
        message = fitted.message()
        if message:
            say(message)
    return dataclasses.replace(settings, model=fitted.spec)


def warning_to(say: Callable[[str], None]) -> Callable[..., None]:
    """``warnings.showwarning`` for a job: one line through ``say`` (its events: JSON under ``--progress json``)."""
    def show(message: Warning | str, category: type[Warning], filename: str, lineno: int, file: Any = None,
             line: str | None = None) -> None:
        say(f"warning: {category.__name__}: {message} ({filename}:{lineno})")

    return show
