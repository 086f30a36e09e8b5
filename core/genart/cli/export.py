"""``genart export-weights``: turn a run folder into a small, self-describing weights file.

A core command over a model capability (:class:`genart.Exportable`): any model with ``export()``
gets it, the built-in sr-trainer and restorer-trainer included. The shipped weights are made
exactly this way, so anyone can check how they were made: the file's safetensors metadata carries
the training command, seed, steps, data and the trainer's parameters.
"""

from __future__ import annotations

import json
from pathlib import Path

import click

from ..contract.plugins import App
from ..contract.protocols import Exportable
from ..errors import UsageError
from ..records.runs import atomic_path


def export_run(app: App, run_dir: Path, out: Path, overwrite: bool = False, command: str = "") -> dict[str, str]:
    from safetensors.torch import save_file

    from ..runner.loading import load_run_model

    if out.exists() and not overwrite:
        raise UsageError(f"{out} already exists (use --overwrite to replace it)")
    model, _, manifest = load_run_model(app, run_dir, "cpu")
    if not isinstance(model, Exportable):
        raise UsageError(f"model {manifest['model']['name']!r} has no exportable weights (it has no export "
                         "method; sr-trainer and restorer-trainer runs have)")
    tensors, meta = model.export()
    train = manifest.get("train", {})
    meta = {
        **meta,
        "genart.command": command or manifest.get("command", ""),
        "genart.model": manifest["model"]["spec"],
        "genart.model_params": json.dumps(manifest["model"].get("params", {})),
        "genart.data": manifest["data"]["spec"],
        "genart.seed": str(manifest.get("seed", 0)),
        "genart.steps": str(train.get("steps_done", train.get("steps", ""))),
        "genart.batch_size": str(train.get("batch_size", "")),
        "genart.created": manifest.get("created", ""),
        "genart.versions": json.dumps(manifest.get("versions", {})),
        "genart.losses": json.dumps(manifest.get("losses", {})),
    }
    with atomic_path(out) as tmp:
        save_file(tensors, str(tmp), metadata=meta)
    return meta


@click.command("export-weights")
@click.argument("run_dir", type=click.Path(exists=True, file_okay=False))
@click.argument("out", type=click.Path(dir_okay=False))
@click.option("--overwrite", is_flag=True, help="replace OUT if it exists")
@click.option("--command", default="", help="training command to record [default: the run's last command; "
              "give the original one when the run was continued with --resume]")
@click.pass_obj
def export_weights(app: App, run_dir: str, out: str, overwrite: bool, command: str) -> None:
    """Write the network of a run whose model exports one (sr-trainer, restorer-trainer) to OUT (safetensors
    with provenance)."""
    meta = export_run(app, Path(run_dir), Path(out), overwrite, command)
    size = Path(out).stat().st_size
    click.echo(f"wrote {out} ({size / 1024:.0f} KiB) from {meta['genart.model']} trained "
               f"{meta['genart.steps']} steps on {meta['genart.data']}", err=True)


COMMANDS = [export_weights]
