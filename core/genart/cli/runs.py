"""Commands about finished work: ``runs``, ``report``, ``recipe`` and ``reproduce``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click

from ..errors import GenartError, UsageError
from ..records.runs import MANIFEST, find_run_dir, read_json


def list_runs(folder: Path) -> list[dict[str, Any]]:
    """One row per run folder directly under ``folder`` (oldest first); unreadable manifests are skipped."""
    from ..records.report import eval_rows, summary

    rows = []
    for run in sorted(p for p in folder.iterdir() if (p / MANIFEST).is_file()):
        try:
            manifest = read_json(run / MANIFEST)
        except GenartError:
            continue
        row: dict[str, Any] = {"path": str(run), **summary(run, manifest)}
        header, evals = eval_rows(manifest)
        row["eval"] = {r[0]: dict(zip(header[1:], r[1:], strict=True)) for r in evals}
        row["losses"] = manifest.get("losses", {})
        row["train_s"] = manifest.get("timings", {}).get("train_s")
        rows.append(row)
    return rows


@click.command("runs")
@click.argument("folder", default="runs", type=click.Path(file_okay=False))
@click.option("--json", "as_json", is_flag=True, help="machine-readable output")
def runs_command(folder: str, as_json: bool) -> None:
    """A table of the runs in FOLDER (default: runs): time, model, data, steps, wall time, losses, eval."""
    root = Path(folder)
    if not root.is_dir():
        raise UsageError(f"{root} is not a folder")
    rows = list_runs(root)
    if as_json:
        click.echo(json.dumps(rows, indent=2, default=str))
        return
    if not rows:
        click.echo(f"no runs in {root}")
        return
    columns = ["run", "created", "model", "data", "steps", "train time", "last losses", "eval"]
    table = [[str(r[c]) if c != "eval" else _eval_text(r["eval"]) for c in columns] for r in rows]
    widths = [min(40, max(len(c), *(len(row[i]) for row in table))) for i, c in enumerate(columns)]
    click.echo("  ".join(c.ljust(w) for c, w in zip(columns, widths, strict=True)).rstrip())
    for row in table:
        click.echo("  ".join(_cut(v, w).ljust(w) for v, w in zip(row, widths, strict=True)).rstrip())


def _eval_text(figures: dict[str, dict[str, str]]) -> str:
    keep = ("bits_per_dim", "nll", "nelbo")
    return "; ".join(f"{spec}: " + ", ".join(f"{k} {v}" for k, v in values.items() if k in keep)
                     for spec, values in figures.items())


def _cut(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"


@click.command("report")
@click.argument("run_dirs", nargs=-1, required=True, type=click.Path(exists=True, file_okay=False))
@click.option("--out", type=click.Path(dir_okay=False), help="HTML file comparing the runs [one run: RUN/report.html]")
@click.option("--overwrite", is_flag=True, help="replace --out if it exists")
def report_command(run_dirs: tuple[str, ...], out: str | None, overwrite: bool) -> None:
    """Write a run's report.html again, or with --out one page comparing several runs side by side."""
    from ..records.monitor import Monitor
    from ..records.report import write_compare_report, write_run_report

    folders = [find_run_dir(Path(r)) for r in run_dirs]
    if out is None:
        if len(folders) > 1:
            raise UsageError("several runs need --out FILE.html for the comparison page")
        if not (folders[0] / "curves.png").exists():
            Monitor.draw(folders[0])
        click.echo(f"wrote {write_run_report(folders[0])}")
        return
    click.echo(f"wrote {write_compare_report(folders, Path(out), overwrite=overwrite)}")


@click.command("recipe")
@click.argument("image", type=click.Path(exists=True, dir_okay=False))
@click.option("--json", "as_json", is_flag=True, help="the recipe's JSON exactly as stored")
def recipe_command(image: str, as_json: bool) -> None:
    """Print how IMAGE was made: the recipe genart stored in the PNG."""
    from ..records.recipe import read_recipe, read_recipe_text

    if as_json:
        click.echo(read_recipe_text(image))
        return
    recipe = read_recipe(image)
    command = recipe.get("command")
    if isinstance(command, list):
        click.echo("command: " + " ".join(command))
    for key, value in recipe.items():
        if key != "command":
            click.echo(f"{key}: {value if isinstance(value, str) else json.dumps(value, sort_keys=True)}")


@click.command("reproduce")
@click.argument("image", type=click.Path(exists=True, dir_okay=False))
@click.option("--out", required=True, type=click.Path(file_okay=False), help="folder for the regenerated image")
@click.option("--inputs", multiple=True, type=click.Path(exists=True, file_okay=False),
              help="folder to search for moved inputs (checkpoint, images, weights) by content; repeatable")
@click.option("--device", help="device to use [default: the recipe's]")
@click.option("--overwrite", is_flag=True, help="replace an earlier reproduction in --out")
@click.pass_obj
def reproduce_command(app: Any, image: str, out: str, inputs: tuple[str, ...], device: str | None,
                      overwrite: bool) -> None:
    """Make IMAGE again from its recipe and say whether the bytes match (exit 1 when the pixels differ)."""
    from ..records.reproduce import reproduce

    outcome = reproduce(app, Path(image), Path(out), device=device, inputs=tuple(Path(p) for p in inputs),
                        overwrite=overwrite)
    if outcome.identical:
        click.echo(f"identical: {outcome.path} matches {image} byte for byte")
    elif outcome.same_pixels:
        click.echo(f"same pixels, different file bytes: {outcome.path} (encoder or chunk differences)")
    else:
        click.echo(f"differs: {outcome.path} (largest pixel difference {outcome.max_difference}/255)")
        raise SystemExit(1)


COMMANDS = [runs_command, report_command, recipe_command, reproduce_command]
