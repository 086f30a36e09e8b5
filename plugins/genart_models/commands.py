"""``genart models`` (what is in the models folder) and ``genart convert-weights``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click

from genart.errors import UsageError


@click.command("models")
@click.option("--json", "as_json", is_flag=True, help="one JSON object per file on stdout")
@click.option("--extra", is_flag=True, help="also detect spandrel_extra_arches' architectures (if installed)")
def models_command(as_json: bool, extra: bool) -> None:
    """List the model files in $GENART_MODELS with architecture, scale, size, licence and SHA-256.

    Put .safetensors/.pth/.pt files there (sub-folders are fine) and use them with
    --post model:file=NAME. genart never downloads a model."""
    from genart.api import echo

    from .detect import describe
    from .files import model_files, models_dir, sha256_of

    root = models_dir()
    files = model_files(root)
    if not files and not as_json:
        echo(f"no model files in {root} (set GENART_MODELS or copy .safetensors/.pth files there)")
        return
    if not as_json:
        echo(f"models in {root}:")
    for file in files:
        row: dict[str, Any] = {"name": str(file.relative_to(root)), "size": file.stat().st_size}
        try:
            info = describe(file, extra)
            row.update(architecture=info.architecture, scale=info.scale, purpose=info.purpose,
                       channels=f"{info.input_channels}->{info.output_channels}", licence=info.licence,
                       sha256=info.sha256)
        except UsageError as error:
            row.update(error=str(error).replace(str(file), "").lstrip(": "), sha256=sha256_of(file))
        if as_json:
            click.echo(json.dumps(row, sort_keys=True))
        elif "error" in row:
            echo(f"  {row['name']}  {_size(row['size'])}  unusable: {row['error']}  sha256 {row['sha256'][:16]}")
        else:
            echo(f"  {row['name']}  {row['architecture']} x{row['scale']} {row['purpose']} {row['channels']}  "
                 f"{_size(row['size'])}  {row['licence'].split(' (')[0]}  sha256 {row['sha256'][:16]}")


def _size(count: int) -> str:
    return f"{count / 2**20:.1f} MiB" if count >= 2**20 else f"{count / 2**10:.0f} KiB"


@click.command("convert-weights")
@click.argument("source", type=click.Path(exists=True, dir_okay=False))
@click.argument("target", type=click.Path(dir_okay=False))
@click.option("--overwrite", is_flag=True, help="replace TARGET if it exists")
def convert_command(source: str, target: str, overwrite: bool) -> None:
    """Copy a .pth/.pt checkpoint's tensors into a .safetensors file, running no code from it.

    Globals the checkpoint names (training options, numpy scalars, anything else) are replaced by
    inert stand-ins while reading, and only tensors are written."""
    from genart.api import echo

    from .convert import convert

    count, replaced = convert(Path(source), Path(target), overwrite)
    note = f"; ignored {len(replaced)} non-tensor global(s) ({', '.join(replaced[:3])})" if replaced else ""
    echo(f"wrote {count} tensors to {target}{note}")


COMMANDS = [models_command, convert_command]
