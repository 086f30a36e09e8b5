"""The new-job forms (train, sample, post, stylize, eval) and the argument list each submission becomes.

The component slots and the ``stylize`` parameters come from the registry (:mod:`.forms`); the few
command options listed here are the core commands' own (``genart run --help``). Every path a form
names must lie inside the runs folder; the job's output goes to a new folder there.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path

from genart import DATASET, MODEL, POST, UsageError
from genart.api import Registry

from .forms import params_fields, spec_from_form
from .security import Forbidden, safe_path

POST_SLOTS = 3
STYLE_SKIP = ("image", "weights", "encoder_weights", "progress")


@dataclass
class Option:
    flag: str
    label: str
    input: str  # "number" or "text" or "run" or "image"
    default: str
    help: str
    kind: str = "str"  # "int", "float", "str", "path"
    required: bool = False


@dataclass
class JobForm:
    kind: str
    title: str
    what: str
    slots: list[tuple[str, str, str]]  # (slot prefix, component kind, default name)
    options: list[Option] = field(default_factory=list)
    post_chain: bool = False
    style_params: bool = False


FORMS = {
    "train": JobForm("train", "Train a model", "Trains on a dataset, then draws a grid of samples (genart run).",
                     [("model", MODEL, "vae"), ("data", DATASET, "shapes")], [
                         Option("--steps", "steps", "number", "", "training steps (blank: the model's default)", "int"),
                         Option("--minutes", "minutes", "number", "", "train for this many minutes instead", "float"),
                         Option("--batch-size", "batch size", "number", "", "blank: the model's default", "int"),
                         Option("--seed", "seed", "number", "0", "random seed", "int"),
                         Option("--num-samples", "samples", "number", "16", "images to sample at the end", "int"),
                         Option("--sample-every", "snapshot every", "number", "",
                                "steps between snapshot grids (blank: about 10 per run)", "int"),
                         Option("--name", "name", "text", "", "label for the run folder (blank: the model)"),
                     ], post_chain=True),
    "sample": JobForm("sample", "Sample a trained run", "New images from a run's weights (genart sample).", [], [
        Option("RUN", "run", "run", "", "the trained run", "path", required=True),
        Option("--num-samples", "samples", "number", "16", "images to draw", "int"),
        Option("--seed", "seed", "number", "0", "random seed (another seed: other images)", "int"),
    ], post_chain=True),
    "post": JobForm("post", "Process images", "Runs a chain of post-processors over images (genart post).", [], [
        Option("IMAGES", "images", "image", "", "uploaded images or a folder of them", "path", required=True),
    ], post_chain=True),
    "stylize": JobForm("stylize", "Stylise an image", "Paints an image in the style of another (genart stylize).", [], [
        Option("CONTENT", "content image", "image", "", "the picture to repaint", "path", required=True),
        Option("--style", "style image", "image", "", "the painting whose style to copy", "path", required=True),
    ], style_params=True),
    "eval": JobForm("eval", "Evaluate a run", "Held-out figures of a trained run (genart eval).",
                    [("data", DATASET, "shapes")], [
                        Option("RUN", "run", "run", "", "the trained run", "path", required=True),
                        Option("--k", "k", "number", "500", "importance samples per image (NLL)", "int"),
                        Option("--samples", "samples", "number", "", "samples scored (blank: half the images)", "int"),
                    ]),
}


def _number(option: Option, raw: str) -> str:
    try:
        value = int(raw) if option.kind == "int" else float(raw)
    except ValueError:
        kind = "integer" if option.kind == "int" else "number"
        raise UsageError(f"Invalid value for '{option.flag}': {raw!r} is not a valid {kind}.") from None
    if option.flag != "--seed" and value < 0:
        raise UsageError(f"Invalid value for '{option.flag}': {raw} is not in the range x>=0.")
    return raw


def _inside(runs_dir: Path, raw: str, option: Option) -> str:
    try:
        path = safe_path(runs_dir, raw)
    except Forbidden as error:
        raise UsageError(f"{option.label}: {error}") from None
    if not path.exists():
        raise UsageError(f"{option.label}: {raw!r} does not exist in the runs folder")
    return str(path)


def _stamp(runs_dir: Path, folder: str, suffix: str = "") -> Path:
    base = runs_dir / folder / time.strftime("%Y%m%d-%H%M%S")
    path, n = Path(str(base) + suffix), 1
    while path.exists():
        n += 1
        path = Path(f"{base}-{n}{suffix}")
    return path


def build_argv(kind: str, form: dict[str, str], registry: Registry, runs_dir: Path) -> tuple[list[str], bool]:
    """The ``genart`` argument list for a submitted form, and whether the job can be resumed.

    Raises UsageError with the CLI's message for any bad value; nothing here touches a shell.
    """
    spec = FORMS.get(kind)
    if spec is None:
        raise UsageError(f"unknown job kind {kind!r}; kinds: {', '.join(FORMS)}")
    args: list[str] = []
    positional: list[str] = []
    for prefix, component_kind, _ in spec.slots:
        name = form.get(prefix, "").strip()
        if not name:
            raise UsageError(f"choose a {prefix}")
        args += [f"--{prefix}", spec_from_form(registry, component_kind, name, form, prefix)]
    for option in spec.options:
        raw = form.get(option.flag, "").strip()
        if not raw:
            if option.required:
                raise UsageError(f"Missing {option.label}")
            continue
        if option.kind in ("int", "float"):
            raw = _number(option, raw)
        elif option.kind == "path":
            raw = _inside(runs_dir, raw, option)
        if option.flag.startswith("--"):
            args += [option.flag, raw]
        else:
            positional.append(raw)
    chain = []
    if spec.post_chain:
        for slot in range(POST_SLOTS):
            name = form.get(f"post{slot}", "").strip()
            if name:
                chain += ["--post", spec_from_form(registry, POST, name, form, f"post{slot}")]
    if kind == "post" and not chain:
        raise UsageError("give at least one --post SPEC (choose a post-processor)")
    if spec.style_params:
        args += _style_args(registry, form)
    out = {"train": ["--out", str(runs_dir), "--progress", "json"],
           "sample": ["--out", str(_stamp(Path(positional[0]), "sampled"))] if positional else [],
           "post": ["--out", str(_stamp(runs_dir, "posts"))],
           "stylize": ["--out", str(_stamp(runs_dir, "stylized", ".png"))],
           "eval": []}[kind]
    command = "run" if kind == "train" else kind
    return ["genart", command, *positional, *args, *chain, *out], kind == "train"


def _style_args(registry: Registry, form: dict[str, str]) -> list[str]:
    """``genart stylize`` takes the ``style`` post-processor's parameters as options (--field-name)."""
    if "style" not in registry.names(POST):
        raise UsageError("the style plugin is not loaded")
    args = []
    for item in params_fields(registry.get(POST, "style").params, STYLE_SKIP):
        raw = form.get(f"style.{item.name}", item.default).strip()
        if raw == item.default and item.name != "size":
            continue
        flag = "--" + item.name.replace("_", "-")
        if item.input == "number":
            raw = _number(Option(flag, item.name, "number", "", "", "int" if item.step == "1" else "float"), raw)
        elif item.choices and raw not in item.choices:
            raise UsageError(f"Invalid value for '{flag}': {raw!r} is not one of {', '.join(item.choices)}.")
        if item.label == "bool":
            args.append(flag if raw == "true" else "--no-" + flag[2:])
        else:
            args += [flag, raw]
    return args
