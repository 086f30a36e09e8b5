"""Commands that do work: run, train, sample, post."""

from __future__ import annotations

import functools
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from ..contract.plugins import App
from ..errors import UsageError
from ..records.console import echo
from ..runner.jobs import train_job
from ..runner.settings import DEFAULT_DATA, DEFAULT_MODEL, RunSettings
from .config import apply_config, read_config
from .options import device_options, image_files_options, post_option

#: torch seeds its generators from 64 bits; a larger --seed was "an unexpected ValueError, a bug"
SEED = click.IntRange(0, 2**63 - 1)

monitor_options = [
    click.option("--sample-every", type=click.IntRange(min=0), metavar="N",
                 help="snapshot grid every N steps into snapshots/ (0: off) [default: about 10 per run]"),
    click.option("--minutes", type=click.FloatRange(min=0, min_open=True), metavar="M",
                 help="train for M minutes of wall-clock time (--steps, if given, still caps it)"),
    click.option("--progress", type=click.Choice(["bar", "plain", "json"]),
                 help="bar, a plain line every few steps, or JSON events on stderr [default: bar in a terminal, "
                      "else plain]"),
    click.option("--tensorboard", is_flag=True, help="also write TensorBoard event files (needs tensorboard)"),
]


class ListsPostProcessors(click.Command):
    """A command with ``--post``: its ``--help`` ends with the post-processors installed, so a user need not
    guess names (``genart describe NAME`` gives a post-processor's parameters)."""

    def format_epilog(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        super().format_epilog(ctx, formatter)
        registry = getattr(ctx.find_object(App), "registry", None)
        if registry is None:
            return
        rows = [(name, registry.get("post", name).description) for name in registry.names("post")]
        with formatter.section("Post-processors for --post (genart describe NAME lists the parameters)"):
            formatter.write_dl(rows or [("(none)", "no installed plugin registers one")])


def training_options(func: Callable[..., Any]) -> Callable[..., Any]:
    options: list[Callable[[Callable[..., Any]], Callable[..., Any]]] = [
        click.option("-c", "--config", type=click.Path(dir_okay=False), help="TOML file with these settings"),
        click.option("--model", default=DEFAULT_MODEL, show_default=True, metavar="SPEC",
                      help="model, e.g. vae or gan:loss=hinge"),
        click.option("--data", default=DEFAULT_DATA, show_default=True, metavar="SPEC",
                      help="dataset, e.g. shapes, folder:path=DIR or mnist:path=DIR"),
        click.option("--steps", type=click.IntRange(min=0), help="training steps [default: the model's]"),
        click.option("--batch-size", type=click.IntRange(min=1), help="batch size [default: the model's]"),
        click.option("--seed", default=0, show_default=True, type=SEED, help="random seed"),
        click.option("--out", default="runs", show_default=True, type=click.Path(file_okay=False),
                     help="folder in which a new run folder is created"),
        click.option("--name", help="label for the run folder [default: the model name]"),
        click.option("--resume", type=click.Path(exists=True, file_okay=False),
                     help="continue the run in this folder from its last checkpoint"),
        click.option("--checkpoint-every", default=200, show_default=True, type=click.IntRange(min=0),
                     help="write a checkpoint every N steps (0: only at the end)"),
        click.option("-q", "--quiet", is_flag=True, help="no progress bar"),
        click.option("--compile", is_flag=True,
                     help="compile the training step with torch.compile (one-off compile time)"),
        *monitor_options,
        device_options,
    ]
    for option in reversed(options):
        func = option(func)
    return func


def with_config(func: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(func)
    def wrapper(app: Any, **values: Any) -> Any:
        ctx = click.get_current_context()
        if values.get("config"):
            values = apply_config(ctx, values, read_config(values["config"]))
        return func(app, **values)

    return wrapper


def settings_from(values: dict[str, Any]) -> RunSettings:
    return RunSettings(
        model=values["model"], data=values["data"], post=tuple(values.get("post") or ()),
        steps=values["steps"], batch_size=values["batch_size"],
        num_samples=values.get("num_samples", 16), seed=values["seed"], device=values["device"],
        precision=values["precision"], compile=bool(values.get("compile")), out=values["out"],
        checkpoint_every=values["checkpoint_every"],
        progress=not values["quiet"], name=values["name"],
        sample_every=values.get("sample_every"), minutes=values.get("minutes"),
        progress_mode=values.get("progress"), tensorboard=bool(values.get("tensorboard")),
    )


@click.command(cls=ListsPostProcessors)
@training_options
@post_option
@click.option("-n", "--num-samples", default=16, show_default=True, type=click.IntRange(min=1),
              help="images to sample")
@click.option("--checkpoint", "weights", type=click.Path(exists=True),
              help="skip training: load this run folder's (or file's) checkpoint")
@click.pass_obj
@with_config
def run(app: Any, **values: Any) -> None:
    """Train a model (or load --checkpoint), sample it, apply the --post chain, write a run folder."""
    if values["resume"] and values["weights"]:
        raise UsageError("--resume and --checkpoint cannot be combined")
    train_job(app, settings_from(values), resume=_path(values["resume"]), weights=_path(values["weights"]),
              given=given_options(values))


@click.command("train")
@training_options
@click.pass_obj
@with_config
def train_command(app: Any, **values: Any) -> None:
    """Train a model into a new run folder (checkpoint and manifest), without sampling."""
    train_job(app, settings_from(values), resume=_path(values["resume"]), sample_after=False,
              given=given_options(values))


@click.command("sample", cls=ListsPostProcessors)
@click.argument("run_dir", type=click.Path(exists=True, file_okay=False))
@click.option("-n", "--num-samples", default=16, show_default=True, type=click.IntRange(min=1),
              help="images to sample (of each class with --label)")
@click.option("--seed", default=0, show_default=True, type=SEED)
@post_option
@click.option("--model-args", default="", metavar="KEY=VALUE,...",
              help="sampling-time model parameters replacing the trained ones, e.g. steps=20")
@click.option("--out", type=click.Path(file_okay=False), help="output folder [default: RUN_DIR/sample-seedS]")
@click.option("--overwrite", is_flag=True, help="replace files in an existing output folder")
@click.option("--label", "labels", multiple=True, metavar="NAME",
              help="draw -n samples of this class (a name or index the run trained on; repeatable; all: every "
                   "class); grid.png then has one row per class, named")
@click.option("--guidance", type=click.FloatRange(min=0), default=None, metavar="G",
              help="classifier-free guidance scale of a model trained on labels (0: unconditional; 1: "
                   "conditional; more: stronger class) [default: the model's]")
@device_options
@click.pass_obj
def sample_command(app: Any, /, run_dir: str, **options: Any) -> None:
    """Draw new samples from a trained run (optionally through a --post chain)."""
    from ..runner.sample_job import SampleRequest, sample_job

    out = options.pop("out")
    request = SampleRequest(run_dir=Path(run_dir), out=Path(out) if out else None, post=tuple(options.pop("post")),
                            **options)
    target = sample_job(app, request)
    echo(f"wrote {request.num_samples} samples{' per label' if request.labels else ''} to {target}")


@click.command("post", cls=ListsPostProcessors)
@image_files_options
@post_option
@click.pass_obj
def post_command(app: Any, /, images: tuple[str, ...], post: tuple[str, ...], out: str, **options: Any) -> None:
    """Apply a --post chain to image files and folders, mirroring folders into --out.

    Junk and non-image files are skipped; a file that fails is reported at the end (non-zero exit) and
    the rest are done. Rerunning the same command after a stop redoes nothing already written."""
    from ..runner.post_job import PostRequest, post_job

    post_job(app, PostRequest(images=images, post=post, out=Path(out), **options))


def given_options(values: dict[str, Any]) -> set[str]:
    """Options the user set, on the command line or in a config file (a value other than the default)."""
    ctx = click.get_current_context()
    given = set()
    for param in ctx.command.params:
        name = param.name
        if not name or values.get(name) in (None, ()):
            continue
        source = ctx.get_parameter_source(name)
        default = param.default if not callable(param.default) else None
        if source not in (click.core.ParameterSource.DEFAULT, None) or values[name] != default:
            given.add(name)
    return given


def _path(value: str | None) -> Path | None:
    return Path(value) if value else None


COMMANDS = [run, train_command, sample_command, post_command]
