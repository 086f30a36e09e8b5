"""Loading a trained run back: its checkpoint, and its model rebuilt exactly as it was trained."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ..contract.components import BuildContext, resolve_params
from ..contract.params import LIST_SEPARATOR, params_to_dict, split_spec
from ..contract.plugins import App
from ..contract.protocols import GenerativeModel
from ..contract.registry import MODEL
from ..errors import UsageError
from ..loop.checkpoints import restore_checkpoint
from ..records import runs
from .context import make_context
from .labelled import restore_classes
from .pipeline import build_model


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
    """Rebuild a run's model from its manifest (told its classes, where it trained on labels: see
    genart.Conditional) and load its checkpoint. ``model_args`` (``key=value,...``)
    replaces parameters of the trained spec that only matter at sampling time (e.g. a sampler's steps)."""
    run_dir = runs.find_run_dir(run_dir)
    manifest = runs.read_json(run_dir / runs.MANIFEST)
    context = make_context(app, device, precision)
    spec = pin_recorded_params(context, manifest["model"]["spec"], manifest["model"].get("params", {}))
    model = build_model(context, with_options(spec, model_args))
    expected = {"name": model_name(manifest), "params": manifest["model"].get("params", {})}
    checkpoint = find_checkpoint(run_dir)
    restore_classes(model, manifest, checkpoint)  # a conditional model sizes its label embedding first
    restore_checkpoint(model, checkpoint, expected=expected)
    return model, context, manifest


def model_name(manifest: dict[str, Any]) -> str:
    """The name of the model a run's manifest records (older manifests record only its spec)."""
    return str(manifest["model"].get("name") or split_spec(manifest["model"]["spec"]).name)


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
