"""Class-conditional against unconditional at the same training budget, class by class, over guidance.

* ``train``: one run folder of genart's default diffusion model (``genart train`` in a child process, the
  command a user types) on a preset, conditional (the data's labels on) or unconditional (labels off), for
  ``--minutes`` of wall-clock or ``--steps`` steps; no snapshots, one checkpoint at the end.
* ``score RUN...``: existing run folders (any model genart can load: this bench's, ``genart train``'s, a
  GAN's), scored on the preset's real images. A conditional run is asked for each class in turn at every
  ``--guidance`` scale (drawn from the same weights, no retraining); an unconditional run draws as many
  samples as one guidance scale does and its samples are scored against every class, which is the
  comparison issue 35 asks for (does asking for a class get closer to that class than not asking?).
  Figures: genart eval's weight-free ones (precision, recall, diversity, FD in 16x16 pixels + PCA), over
  all samples and per class against that class's real images (and their unweighted average); on MNIST also
  benchmarks/mnist_eval.py's classifier: FD in its features, IS, and label accuracy (how often a sample
  asked to be digit k is classified as k), per class and overall.
* ``compare``: ``train`` unconditional, then conditional, at the same budget, then ``score`` both.

Presets (``--data``): ``mnist`` (28 px grey; trains on the t10k images less the last 2000, scored against
those 2000), ``poke32`` / ``poke64`` (../shared/data/art/pokemon, 18 type folders, 1209 images at 32 or
64 px colour: every image trains and is scored against, since the folder is too small to hold a
representative part of each type out). Per-class grids (one row per class, names written) go to ``--out``
(never into the repository: nothing made from the Pokémon art is ours to publish). Run by hand, under the
shared lock, e.g.
    python -m benchmarks.labels_bench score /tmp/runs/uncond /tmp/runs/cond --data mnist --guidance 0,1,2,4
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from benchmarks.common import add_data_root, app, data_root, mnist_folder, require

#: held-out MNIST digits (the last of the t10k files), as diffusion_bench holds them out
MNIST_HOLDOUT = 2000


@dataclass(frozen=True)
class Preset:
    """A data set the bench knows: how to train on it (with and without labels) and what to score against."""

    name: str
    size: int
    channels: int
    #: ``genart train --data`` for the conditional and the unconditional run
    train_labelled: str
    train_plain: str
    #: the real images (with labels) samples are scored against
    score_spec: str


def preset(name: str) -> Preset:
    """The preset named ``name``, its data found under the data root (exits with one line when missing)."""
    if name == "mnist":
        folder = mnist_folder()
        base = f"mnist:path={folder},which=t10k,holdout={MNIST_HOLDOUT}"
        return Preset(name, 28, 1, f"{base},split=train,labels=digits", f"{base},split=train,labels=none",
                      f"{base},split=test,labels=digits")
    if name in ("poke32", "poke64"):
        folder = require(data_root() / "art" / "pokemon", "the pokemon pictures")
        base = f"folder:path={folder}"
        return Preset(name, int(name[4:]), 3, f"{base},labels=folders", base, f"{base},labels=folders")
    raise SystemExit(f"error: unknown --data {name!r} (mnist, poke32, poke64)")


# -- training ----------------------------------------------------------------------------------------
def train_run(data: Preset, conditional: bool, out: Path, minutes: float | None, steps: int | None,
              seed: int, model_args: str) -> Path:
    """``genart train`` of the default diffusion model on ``data`` into a new folder under ``out``."""
    spec = f"diffusion:image_size={data.size},channels={data.channels}" + (f",{model_args}" if model_args else "")
    name = f"{'cond' if conditional else 'uncond'}-{data.name}"
    command = [sys.executable, "-m", "genart.cli", "train", "--model", spec,
               "--data", data.train_labelled if conditional else data.train_plain, "--seed", str(seed),
               "--out", str(out), "--name", name, "--checkpoint-every", "0", "--sample-every", "0",
               "--progress", "plain"]
    command += ["--minutes", str(minutes)] if minutes else []
    command += ["--steps", str(steps)] if steps else []
    print(f"$ {' '.join(command[2:])}", flush=True)
    before = set(out.glob(f"*-{name}")) if out.is_dir() else set()
    subprocess.run(command, check=True)
    made = sorted(set(out.glob(f"*-{name}")) - before)
    if not made:
        raise SystemExit(f"error: genart train made no run folder named *-{name} in {out}")
    return made[-1]


# -- scoring -----------------------------------------------------------------------------------------
@dataclass
class Real:
    """The real images samples are scored against, their labels and class names."""

    images: Any
    labels: Any
    names: list[str]


def load_real(data: Preset) -> Real:
    from benchmarks.common import context
    from genart.api import load_labelled_data

    loaded = load_labelled_data(context(), data.score_spec, data.size, data.channels)
    if loaded.labels is None or loaded.names is None:
        raise SystemExit(f"error: {data.score_spec!r} gave no labels")
    return Real(loaded.images, loaded.labels, list(loaded.names))


def asked_labels(real: Real, per_class: int) -> Any:
    """``per_class`` samples of each class (0: half the class's real images, as genart eval draws)."""
    import torch

    from genart_explore.class_eval import per_class_counts

    counts = per_class_counts(real.labels, len(real.names), per_class * len(real.names) if per_class else None)
    return torch.repeat_interleave(torch.arange(len(real.names)), torch.tensor(counts))


def figures(real: Real, drawn: Any, asked: Any, judge: Any) -> dict[str, Any]:
    """Overall and per-class weight-free figures of ``drawn`` (class ``asked[i]``), plus the MNIST judge's."""
    from genart_explore.sample_metrics import average_figures, evaluate_classes, evaluate_samples

    per_class = evaluate_classes(real.images, real.labels, drawn, asked, len(real.names))
    out: dict[str, Any] = {"overall": evaluate_samples(real.images, drawn)["model"],
                           "classes": {real.names[c]: f["model"] for c, f in per_class.items()},
                           "floor": {real.names[c]: f["floor"] for c, f in per_class.items()},
                           "average": average_figures(per_class).get("model", {})}
    if judge is not None:
        out["judge"] = judge.score(drawn)
        out["label_accuracy"] = judge.label_accuracy(drawn, asked)
    return out


def score_run(run: Path, data: Preset, real: Real, guidances: list[float], per_class: int, seed: int,
              judge: Any, out: Path) -> list[dict[str, Any]]:
    """Every scored setting of one run: one per guidance for a conditional run, one for an unconditional."""
    from genart import Guided
    from genart.api import load_run_model, sample, sample_classes, set_guidance
    from genart.images import class_grid, save_image
    from genart_explore.class_eval import GRID_COLUMNS, enlarged, trained_classes

    model, _, manifest = load_run_model(app(), run, "cpu")
    names = trained_classes(model, manifest)
    if names is not None and names != real.names:
        raise SystemExit(f"error: {run} trained on other classes than {data.score_spec!r} has")
    asked = asked_labels(real, per_class)
    train = manifest.get("train", {})
    base = {"run": str(run), "model": manifest["model"]["spec"], "data": manifest["data"]["spec"],
            "steps": train.get("steps_done", train.get("steps")), "train_s": manifest.get("timings", {}).get("train_s"),
            "conditional": names is not None}
    conditional = names is not None
    settings: list[float | None] = list(guidances) if conditional and isinstance(model, Guided) else [None]
    results = []
    for guidance in settings:
        set_guidance(model, guidance)
        started = time.perf_counter()
        # the unconditional model cannot be asked: its samples, cut into as many per class as asked, stand
        # against each class (they are exchangeable, so which ones go to which class does not matter)
        drawn = sample_classes(model, asked, seed) if conditional else sample(model, asked.shape[0], seed)
        seconds = time.perf_counter() - started
        result = {**base, "guidance": guidance, "samples": int(asked.shape[0]), "sampling_s": round(seconds, 1),
                  **figures(real, drawn, asked, judge)}
        if judge is not None and not conditional:
            result.pop("label_accuracy")  # nothing was asked for
        results.append(result)
        rows = [drawn[asked == c][:GRID_COLUMNS] for c in range(len(real.names))]
        tag = "uncond" if not conditional else "cond" if guidance is None else f"g{guidance:g}"
        grid = class_grid(enlarged(rows), real.names)
        save_image(grid, out / f"{data.name}-{run.name}-{tag}-classes.png", overwrite=True)
        print(line(result), flush=True)
    return results


# -- printing ----------------------------------------------------------------------------------------
KEYS = ("precision", "recall", "diversity", "fd")


def header(judged: bool) -> str:
    judge = f"{'clsFD':>7}{'IS':>6}{'acc':>7}{'worst':>7}" if judged else ""
    return (f"{'run':<34}{'steps':>6}{'guid':>5}  overall: prec  rec   div     FD   per class: prec  rec   div"
            f"     FD{judge}")


def line(result: dict[str, Any]) -> str:
    overall = " ".join(f"{result['overall'][k]:5.3f}" if k != "fd" else f"{result['overall'][k]:6.2f}"
                       for k in KEYS)
    average = " ".join(f"{result['average'][k]:5.3f}" if k != "fd" else f"{result['average'][k]:6.2f}"
                       for k in KEYS)
    guidance = ("-" if not result["conditional"] else "cond" if result["guidance"] is None
                else f"{result['guidance']:g}")
    text = f"{Path(result['run']).name[-34:]:<34}{result['steps']!s:>6}{guidance:>5}  {overall:>30}  {average:>34}"
    if "judge" in result:
        accuracy = result.get("label_accuracy")
        text += f"{result['judge']['fd']:7.2f}{result['judge']['is']:6.2f}"
        text += f"{accuracy['overall']:7.3f}{accuracy['worst']:7.3f}" if accuracy else f"{'-':>7}{'-':>7}"
    return text


def per_class_table(results: list[dict[str, Any]], names: list[str]) -> str:
    """Class by class: each setting's FD (and label accuracy where measured), the real-vs-real FD floor."""
    columns = [("uncond" if not r["conditional"] else "cond" if r["guidance"] is None else f"g={r['guidance']:g}")
               + f" {Path(r['run']).name[-12:]}"
               for r in results]
    lines = ["per-class FD (each setting's samples of the class vs the class's real images; lower is better)"
             + ("; label accuracy in brackets" if any("label_accuracy" in r for r in results) else ""),
             f"  {'class':<10}{'floor':>7}" + "".join(f"{c:>26}" for c in columns)]
    for index, name in enumerate(names):
        if name not in results[0]["classes"]:
            continue
        cells = []
        for r in results:
            shares = (r.get("label_accuracy") or {}).get("per_class", {})
            accuracy = shares.get(index, shares.get(str(index)))  # str keys once read back from --json
            cells.append(f"{r['classes'][name]['fd']:.2f}" + (f" [{accuracy:.2f}]" if accuracy is not None else ""))
        lines.append(f"  {name:<10}{results[0]['floor'][name]['fd']:>7.2f}" + "".join(f"{c:>26}" for c in cells))
    return "\n".join(lines)


def print_tables(files: list[Path]) -> int:
    """The summary lines and the per-class table of scores saved with ``--json`` (several runs together)."""
    results = [result for file in files for result in json.loads(file.read_text())]
    if not results:
        raise SystemExit("error: table needs --json files of earlier scores")
    print(header(any("judge" in r for r in results)))
    for result in results:
        print(line(result))
    print(per_class_table(results, list(results[0]["classes"])))
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    add_data_root(parser)
    parser.add_argument("what", choices=["train", "score", "compare", "table"])
    parser.add_argument("runs", nargs="*", type=Path,
                        help="score: run folders to score; table: --json files of earlier scores to print together")
    parser.add_argument("--data", default="mnist", help="mnist, poke32 or poke64")
    parser.add_argument("--conditional", action="store_true", help="train: with the data's labels")
    parser.add_argument("--minutes", type=float, default=None, help="train, compare: wall-clock per run")
    parser.add_argument("--steps", type=int, default=None, help="train, compare: steps per run (caps --minutes)")
    parser.add_argument("--model-args", default="", help="train, compare: extra diffusion parameters")
    parser.add_argument("--guidance", default="0,1,2,4", help="comma-separated guidance scales to score")
    parser.add_argument("--per-class", type=int, default=0,
                        help="samples per class (0: half each class's real images)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=0, help="torch CPU threads (0: torch's default)")
    parser.add_argument("--out", type=Path, default=Path("/tmp/labels-bench"),
                        help="run folders (train) and per-class grids (score); keep it outside the repository")
    parser.add_argument("--json", type=Path, default=None, help="also write every scored figure to this file")
    args = parser.parse_args()
    if args.what == "table":
        return print_tables(args.runs)
    data = preset(args.data)
    if args.what in ("train", "compare") and not (args.minutes or args.steps):
        parser.error("train and compare need --minutes or --steps")
    if args.what == "score" and not args.runs:
        parser.error("score needs run folders")
    import torch

    if args.threads:
        torch.set_num_threads(args.threads)
    args.out.mkdir(parents=True, exist_ok=True)
    runs = list(args.runs)
    if args.what in ("train", "compare"):
        kinds = [args.conditional] if args.what == "train" else [False, True]
        runs = [train_run(data, kind, args.out, args.minutes, args.steps, args.seed, args.model_args) for kind in kinds]
        if args.what == "train":
            print(f"run folder: {runs[0]}")
            return 0
    real = load_real(data)
    from benchmarks.mnist_eval import Evaluator

    judge = Evaluator.load() if data.name == "mnist" else None
    counts = torch.bincount(real.labels, minlength=len(real.names)).tolist()
    print(f"{time.strftime('%Y-%m-%d %H:%M:%S %Z')}; torch threads {torch.get_num_threads()}; {data.score_spec}: "
          f"{real.images.shape[0]} real images in {len(real.names)} classes ({min(counts)}-{max(counts)} each)"
          + (f"; classifier accuracy {judge.accuracy:.4f}" if judge else "") + f"; grids in {args.out}")
    print(header(judge is not None))
    guidances = [float(g) for g in args.guidance.split(",") if g.strip()]
    results = []
    for run in runs:
        results += score_run(run, data, real, guidances, args.per_class, args.seed, judge, args.out)
    print(per_class_table(results, real.names))
    if args.json:
        from genart.api import write_bytes_atomic

        write_bytes_atomic(args.json, json.dumps(results, indent=1, default=str).encode())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
