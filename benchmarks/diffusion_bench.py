"""The diffusion model beside genart's GAN and VAE at equal wall-clock, and its sampling cost.

* ``speed``:  training images/s, and seconds for 64 samples at 32 px against sampler steps (Euler, Heun).
* ``shapes``: each model trained for ``--budget`` seconds on ``shapes`` at 32 px (held-out split kept out),
  scored with ``genart eval``'s weight-free figures (precision, recall, diversity, FD; real-vs-real floor).
  ``--edm`` adds the diffusion model trained with EDM's preconditioning instead of rectified flow.
* ``mnist``:  the same at 28 px grey on MNIST (../shared/data/mnist, the t10k images less the last
  2 x ``--samples``, held out), judged by benchmarks/mnist_eval.py's classifier (FD, IS, class shares) and
  by the weight-free figures against half of the held-out digits.
* ``pokemon``: the same at ``--size`` px colour on ../shared/data/art/pokemon (all 1209 images train; the
  weight-free figures compare samples with them, since the folder is too small to hold some out).
* ``seeds``: ``--seed-steps`` steps of the default diffusion model on ``shapes`` for seeds 0, 1, 2; fails
  (exit 1) unless every logged loss, every weight and every sample is finite.
* ``grid``: training images/s of the diffusion model at ``--size`` px, ``--channels`` channels over every
  combination of ``--grid-widths``, ``--grid-batches``, ``--grid-precisions`` and ``--grid-layouts``,
  ``--grid-seconds`` each (the network is small, so on a CPU its cost per image is not proportional to
  its size or batch: measure before choosing).

``--models`` picks the models (diffusion, gan, vae; shapes also takes ``diffusion edm``, spelled
``diffusion-edm``); ``--diffusion-args`` adds parameters to the diffusion specs (``lr_schedule=constant``),
``--diffusion-batch`` replaces the diffusion model's batch size. ``--sample-variants`` (mnist, shapes,
pokemon) also scores the trained ``diffusion`` model under other sample-time settings
(``steps=40;sampler=euler``; ``raw``: the training weights instead of their EMA), which costs sampling
time but no retraining. The weight-free parts also print each sample set's contrast and colour spread
over the real images' (see ``tone_figures``), which say why a diversity ratio is low.
Each model trains in one call of genart's loop with ``minutes`` = the budget, so a model that follows
the run's progress (the diffusion model's learning rate) sees the wall-clock share. Grids go to
``--out`` (never into the repo). Run by hand, e.g.
    python -m benchmarks.diffusion_bench --what speed+shapes+mnist --budget 90
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import math
import sys
import time
from pathlib import Path
from typing import Any

import torch

from benchmarks.common import (
    add_data_root,
    context,
    data_root,
    default_batch_size,
    mnist_folder,
    require,
    save_grid,
    train_config,
    with_options,
)
from benchmarks.mnist_eval import Evaluator

#: ``steps`` when only the wall-clock budget bounds a run
UNLIMITED = 2**62
SHAPES_TRAIN = "shapes:count=4096,split=train,holdout=512"
SHAPES_TEST = "shapes:count=4096,split=test,holdout=512"
CHUNK = 10


class LossLog:
    """The loop's monitor interface, keeping every logged loss (the mean of each ``CHUNK`` steps)."""

    def __init__(self) -> None:
        self.history: list[dict[str, float]] = []
        self.window: dict[str, list[float]] = {}

    def start(self, start_step: int) -> None:
        pass

    def step(self, step: int, losses: dict[str, float]) -> None:
        for name, value in losses.items():
            self.window.setdefault(name, []).append(float(value))
        if step % CHUNK == 0:
            self.history.append({k: sum(v) / len(v) for k, v in self.window.items()})
            self.window = {}


def train_for(ctx: Any, spec: str, data: torch.Tensor, budget: float, seed: int = 0,
              max_steps: int | None = None, batch_size: int = 0) -> dict[str, Any]:
    """Train through genart's own loop, in one call, for ``budget`` seconds (its ``minutes``: a model that
    follows the run's progress sees the wall-clock share) or ``max_steps`` steps, at ``batch_size`` (0: the
    model's own default); ``history`` keeps the mean loss of every ``CHUNK`` steps."""
    from genart.api import build_model, train

    torch.manual_seed(seed)
    model = build_model(ctx, spec)
    batch = batch_size or default_batch_size(model)
    log = LossLog()
    config = train_config(ctx, UNLIMITED if max_steps is None else max_steps, batch, seed=seed,
                          minutes=None if max_steps is not None else budget / 60, monitor=log)
    result = train(model, data, config, device=ctx.device, checkpoint_path=None)
    return {"model": model, "steps": result.step, "seconds": result.seconds, "batch": batch,
            "images_per_s": result.step * batch / result.seconds,
            "losses": " ".join(f"{k} {v:.3f}" for k, v in result.losses.items()), "history": log.history}


def draw(model: Any, n: int, seed: int = 0) -> tuple[torch.Tensor, float]:
    from genart.api import sample

    started = time.perf_counter()
    images = sample(model, n, seed)
    return images, time.perf_counter() - started


def speed(ctx: Any, label: str) -> None:
    model = context_model(ctx, "diffusion:image_size=32,channels=3")
    batch = torch.rand(model.default_batch_size, 3, 32, 32)
    autocast = torch.autocast("cpu", dtype=ctx.precision) if ctx.precision is not None else torch.autocast(
        "cpu", enabled=False)
    with autocast:
        model.train_step(batch)
    started = time.perf_counter()
    for _ in range(5):
        with autocast:
            model.train_step(batch)
    rate = 5 * batch.shape[0] / (time.perf_counter() - started)
    print(f"[{label}] diffusion 32 px training: {rate:.0f} img/s (batch {batch.shape[0]})")
    for name in ("euler", "heun", "stochastic"):
        model.sampler = ctx.build("sampler", name)
        for steps in (5, 10, 20, 40):
            model.params.steps = steps
            _, seconds = draw(model, 64)
            evals = steps if name == "euler" else 2 * steps - 1
            print(f"[{label}] 64 samples at 32 px, {name:<5} {steps:>2} steps ({evals:>2} evaluations): "
                  f"{seconds:6.2f} s")
    model.params.steps = 20


def speed_grid(size: int, channels: int, widths: list[int], batches: list[int], precisions: list[str],
               layouts: list[str], seconds: float) -> list[dict[str, Any]]:
    """Training images/s of ``diffusion:width=W`` at each batch, precision and memory layout (``nhwc``:
    channels_last, ``nchw``: contiguous): a few warm-up steps, then steps for ``seconds``, each step as the
    loop runs it (batch from uint8 data, layout, autocast)."""
    rows = []
    for precision in precisions:
        base = context(precision)
        autocast = (torch.autocast("cpu", dtype=base.precision) if base.precision is not None
                    else contextlib.nullcontext())
        for layout in layouts:
            ctx = dataclasses.replace(base, channels_last=layout == "nhwc")
            memory_format = torch.channels_last if ctx.channels_last else torch.contiguous_format
            for width in widths:
                for batch in batches:
                    model = context_model(ctx, f"diffusion:image_size={size},channels={channels},width={width},"
                                                    f"layout={layout}")
                    data = torch.randint(0, 256, (batch, channels, size, size), dtype=torch.uint8)
                    steps, started = -2, 0.0
                    while steps < 1 or time.perf_counter() - started < seconds:
                        if steps == 0:
                            started = time.perf_counter()
                        with autocast:
                            model.train_step(data.float().div_(255).contiguous(memory_format=memory_format))
                        steps += 1
                    elapsed = time.perf_counter() - started
                    params = sum(p.numel() for p in model.net.parameters())
                    rows.append({"precision": precision, "layout": layout, "width": width, "batch": batch,
                                 "params": params, "steps": steps, "ms_per_step": 1000 * elapsed / steps,
                                 "images_per_s": steps * batch / elapsed})
                    r = rows[-1]
                    print(f"grid {size} px x{channels}: {precision:<4} {layout} width {width:>3} "
                          f"({params / 1e6:.2f} M) batch {batch:>4}: {r['ms_per_step']:7.1f} ms/step "
                          f"{r['images_per_s']:6.0f} img/s ({steps} steps)", flush=True)
    return rows


def context_model(ctx: Any, spec: str) -> Any:
    from genart.api import build_model

    torch.manual_seed(0)
    return build_model(ctx, spec)


SPECS = {"diffusion": "diffusion:image_size={size},channels={channels}",
         "gan": "gan:image_size={size},channels={channels}",
         "vae": "vae:image_size={size},channels={channels}",
         "diffusion edm": "diffusion:image_size={size},channels={channels},objective=edm"}


@dataclasses.dataclass(frozen=True)
class Tuning:
    """How the command line changes the diffusion model in the comparisons."""

    #: extra parameters for the diffusion specs (``--diffusion-args``), e.g. "lr_schedule=constant"
    args: tuple[str, ...] = ()
    #: its batch size (``--diffusion-batch``; 0: the model's default)
    batch: int = 0
    #: sample-time settings the trained ``diffusion`` model is also scored under (``--sample-variants``)
    variants: tuple[str, ...] = ()
    #: also write every sample set as uint8 safetensors beside its grid (``--keep-samples``)
    keep: bool = False


TUNING = Tuning()


def chosen(models: list[str], size: int, channels: int) -> dict[str, str]:
    specs = {name: SPECS[name].format(size=size, channels=channels) for name in models}
    return {name: ",".join([spec, *TUNING.args]) if name.startswith("diffusion") else spec
            for name, spec in specs.items()}


def variant_model(ctx: Any, spec: str, trained: Any, variant: str) -> Any:
    """The trained diffusion model under other sample-time settings: ``key=value,...`` rebuilds it with
    these parameters (what ``genart sample --model-args`` does) and its trained weights; ``raw`` samples
    with the training weights instead of their EMA."""
    from genart.api import build_model

    if variant == "raw":
        model = build_model(ctx, spec)
        state = trained.state_dict()
        model.load_state_dict({**state, "ema": state["net"]})
        return model
    model = build_model(ctx, with_options(spec, variant))
    model.load_state_dict(trained.state_dict())
    return model


def tone_figures(images: torch.Tensor) -> dict[str, float]:
    """Why a diversity ratio is what it is, in pixels: ``contrast``, the mean over images of each one's
    pixel standard deviation (washed-out samples score low), and ``spread``, the standard deviation over
    images of their mean colour (samples that share one background tone score low)."""
    x = images.float() / 255 if images.dtype == torch.uint8 else images.float()
    return {"contrast": float(x.flatten(1).std(1).mean()), "spread": float(x.mean((2, 3)).std(0).mean())}


def keep_samples(images: torch.Tensor, path: Path) -> None:
    """All samples as uint8 in a safetensors file (``--keep-samples``), for looking at them afterwards."""
    from safetensors.torch import save_file

    from genart.api import atomic_path

    with atomic_path(path) as temp:
        save_file({"images": (images.clamp(0, 1) * 255).round().to(torch.uint8).contiguous()}, str(temp))


def file_label(name: str) -> str:
    """A model or variant name in a file name: ``sampler=stochastic,steps=40`` -> ``samplerstochastic-steps40``."""
    return name.replace(" ", "-").replace(",", "-").replace("=", "")


def weight_free(ctx: Any, specs: dict[str, str], train_data: torch.Tensor, real: torch.Tensor, budget: float,
                out: Path, prefix: str) -> list[dict[str, Any]]:
    """Each model trained for ``budget`` s, ``len(real) // 2`` samples scored against half of ``real``; the
    ``diffusion`` model also under each of ``TUNING.variants`` (same weights, other sample-time settings).
    Returns one row per scored sample set, with its figures relative to the real half's contrast/spread."""
    from genart_explore.sample_metrics import evaluate_samples, split_halves

    save_grid(real.float() / 255, out / f"{prefix}-real.png")
    reference = tone_figures(split_halves(real)[1])
    print(f"{'model':<15}{'steps':>7}{'img/s':>7}{'prec':>7}{'recall':>7}{'divers':>7}{'FD':>8}{'sample s':>9}"
          f"{'contr':>7}{'spread':>7}  (contrast, spread: over the real half's)")
    rows: list[dict[str, Any]] = []
    floor = None

    def report(name: str, label: str, images: torch.Tensor, seconds: float, run: dict[str, Any] | None) -> None:
        nonlocal floor
        figures = evaluate_samples(real, images)
        floor = figures["floor"]
        m = figures["model"]
        tones = tone_figures(images)
        ratio = {k: tones[k] / reference[k] for k in tones}
        save_grid(images, out / f"{prefix}-{label}.png")
        if TUNING.keep:
            keep_samples(images, out / f"{prefix}-{label}.safetensors")
        steps = f"{run['steps']:>7}{run['images_per_s']:>7.0f}" if run else f"{'':>14}"
        losses = f"   ({run['losses']})" if run else ""
        print(f"{name:<15}{steps}{m['precision']:>7.3f}{m['recall']:>7.3f}{m['diversity']:>7.3f}{m['fd']:>8.2f}"
              f"{seconds:>9.1f}{ratio['contrast']:>7.2f}{ratio['spread']:>7.2f}{losses}", flush=True)
        rows.append({"name": name, **m, **ratio})

    for name, spec in specs.items():
        run = train_for(ctx, spec, train_data, budget,
                        batch_size=TUNING.batch if name.startswith("diffusion") else 0)
        images, seconds = draw(run["model"], real.shape[0] // 2)
        report(name, file_label(name), images, seconds, run)
        for variant in TUNING.variants if name == "diffusion" else ():
            images, seconds = draw(variant_model(ctx, spec, run["model"], variant), real.shape[0] // 2)
            report(f"  {variant}", f"{file_label(name)}-{file_label(variant)}", images, seconds, None)
    if floor is not None:
        print(f"{'real vs real':<29}{floor['precision']:>7.3f}{floor['recall']:>7.3f}{floor['diversity']:>7.3f}"
              f"{floor['fd']:>8.2f}")
    return rows


def shapes(ctx: Any, budget: float, out: Path, models: list[str]) -> None:
    from genart.api import load_data

    train_data = load_data(ctx, SHAPES_TRAIN, 32, 3)
    held_out = load_data(ctx, SHAPES_TEST, 32, 3)
    print(f"shapes 32 px: {train_data.shape[0]} training images, {held_out.shape[0]} held out; {budget:.0f} s each")
    weight_free(ctx, chosen(models, 32, 3), train_data, held_out, budget, out, "shapes")


def pokemon(ctx: Any, budget: float, out: Path, models: list[str], size: int) -> None:
    from genart.api import load_data

    folder = require(data_root() / "art" / "pokemon", "the pokemon pictures")
    data = load_data(ctx, f"folder:path={folder}", size, 3)
    print(f"pokemon {size} px: {data.shape[0]} images (trained on and scored against); {budget:.0f} s each")
    weight_free(ctx, chosen([m for m in models if m != "diffusion edm"], size, 3), data, data, budget, out,
                f"pokemon{size}")


def seeds(ctx: Any, steps: int, out: Path) -> bool:
    """The default diffusion model for ``steps`` steps on ``shapes`` under seeds 0, 1, 2: all finite?"""
    from genart import TrainingDiverged
    from genart.api import load_data

    data = load_data(ctx, SHAPES_TRAIN, 32, 3)
    print(f"seeds: diffusion on shapes 32 px, {steps} steps each; losses logged every {CHUNK} steps")
    healthy = True
    for seed in (0, 1, 2):
        try:
            run = train_for(ctx, SPECS["diffusion"].format(size=32, channels=3), data, 0, seed, max_steps=steps)
        except TrainingDiverged as error:
            print(f"seed {seed}: diverged: {error}")
            healthy = False
            continue
        losses = [v for chunk in run["history"] for v in chunk.values()]
        model = run["model"]
        weights = all(bool(torch.isfinite(p).all()) for net in (model.net, model.ema) for p in net.parameters())
        images, seconds = draw(model, 64, seed)
        finite = bool(torch.isfinite(images).all())
        save_grid(images, out / f"seeds-{seed}.png")
        ok = all(map(math.isfinite, losses)) and weights and finite
        healthy = healthy and ok
        print(f"seed {seed}: {run['steps']} steps, {run['images_per_s']:.0f} img/s, loss first/min/last "
              f"{losses[0]:.3f}/{min(losses):.3f}/{losses[-1]:.3f}, {len(losses)} logged losses finite "
              f"{all(map(math.isfinite, losses))}, weights finite {weights}, 64 samples finite {finite} "
              f"(std {images.std():.3f}, {seconds:.1f} s)", flush=True)
    print("seeds: all finite" if healthy else "seeds: NOT all finite")
    return healthy


def mnist(ctx: Any, budget: float, out: Path, samples: int, models: list[str]) -> None:
    from genart.api import load_data
    from genart_explore.sample_metrics import evaluate_samples

    folder = mnist_folder()
    evaluator = Evaluator.load(folder)
    spec = f"mnist:path={folder},which=t10k,holdout={2 * samples}"
    data = load_data(ctx, f"{spec},split=train", 28, 1)
    unseen = load_data(ctx, f"{spec},split=test", 28, 1)
    real = evaluator.score(data.float()[:samples] / 255)
    print(f"mnist 28 px: {data.shape[0]} images; {budget:.0f} s each; {samples} samples judged by the classifier "
          f"(accuracy {evaluator.accuracy:.4f}) and, weight-free, against half of the last {2 * samples} (held out)")
    print(f"{'model':<15}{'steps':>7}{'img/s':>7}{'FD':>8}{'IS':>7}{'min%':>7}{'max%':>7}  class % 0..9"
          f"{'':>20}prec recall divers  pixFD")

    def line(name: str, score: dict[str, Any], run: dict[str, Any] | None) -> str:
        shares = " ".join(f"{100 * s:.0f}" for s in score["shares"])
        steps = f"{run['steps']:>7}{run['images_per_s']:>7.0f}" if run else f"{'':>14}"
        return (f"{name:<15}{steps}{score['fd']:>8.2f}{score['is']:>7.2f}{100 * score['min_share']:>7.1f}"
                f"{100 * score['max_share']:>7.1f}  [{shares}]")

    def free(figures: dict[str, float]) -> str:
        return "".join(f"{figures[k]:>7.3f}" for k in ("precision", "recall", "diversity")) + f"{figures['fd']:>7.2f}"

    floor = evaluate_samples(unseen, data[:samples])["floor"]
    print(line("real digits", real, None) + f"  {'(training vs held-out half)':<28}" + free(floor))
    for name, spec in chosen([m for m in models if m != "diffusion edm"], 28, 1).items():
        run = train_for(ctx, spec, data, budget, batch_size=TUNING.batch if name == "diffusion" else 0)
        images, seconds = draw(run["model"], samples)
        save_grid(images, out / f"mnist-{name}.png")
        print(line(name, evaluator.score(images), run) + f"  sampling {seconds:>5.1f} s          "
              + free(evaluate_samples(unseen, images)["model"]) + f"   ({run['losses']}, batch {run['batch']})",
              flush=True)
        for variant in TUNING.variants if name == "diffusion" else ():
            images, seconds = draw(variant_model(ctx, spec, run["model"], variant), samples)
            save_grid(images, out / f"mnist-{name}-{file_label(variant)}.png")
            print(line(f"  {variant}", evaluator.score(images), None) + f"  sampling {seconds:>5.1f} s          "
                  + free(evaluate_samples(unseen, images)["model"]), flush=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--what", default="speed+shapes+mnist",
                        help="'+'-joined: speed, shapes, mnist, pokemon, seeds, grid")
    parser.add_argument("--models", default="diffusion,gan,vae",
                        help="comma-joined: diffusion, gan, vae, diffusion-edm (shapes only)")
    parser.add_argument("--size", type=int, default=32, help="pokemon, grid: image side in px")
    parser.add_argument("--channels", type=int, default=3, help="grid: image channels")
    parser.add_argument("--grid-widths", default="16,24,32", help="grid: comma-joined U-Net widths")
    parser.add_argument("--grid-batches", default="32,64,128", help="grid: comma-joined batch sizes")
    parser.add_argument("--grid-precisions", default="bf16,fp32", help="grid: comma-joined, of bf16, fp32")
    parser.add_argument("--grid-layouts", default="nhwc,nchw",
                        help="grid: comma-joined memory layouts, nhwc (channels_last) and/or nchw")
    parser.add_argument("--grid-seconds", type=float, default=3.0, help="grid: timed seconds per combination")
    parser.add_argument("--seed-steps", type=int, default=200, help="seeds: training steps per seed")
    parser.add_argument("--budget", type=float, default=600, help="training seconds per model")
    parser.add_argument("--samples", type=int, default=1000, help="MNIST samples judged per model")
    parser.add_argument("--edm", action="store_true", help="shapes: also train the EDM objective")
    parser.add_argument("--precision", default="auto", choices=["auto", "fp32", "bf16"])
    parser.add_argument("--diffusion-args", default="",
                        help="comma-joined parameters added to every diffusion spec, e.g. lr_schedule=constant")
    parser.add_argument("--diffusion-batch", type=int, default=0,
                        help="batch size of the diffusion models (0: the model's default)")
    parser.add_argument("--sample-variants", default="",
                        help="mnist, shapes, pokemon: ';'-joined sample-time settings to score the trained "
                             "diffusion model under too, e.g. 'steps=40;sampler=euler,steps=40;raw' (raw: no EMA)")
    parser.add_argument("--keep-samples", action="store_true",
                        help="shapes, pokemon: also write each sample set to --out as uint8 safetensors")
    parser.add_argument("--threads", type=int, default=0, help="torch CPU threads (0: torch's default)")
    parser.add_argument("--out", type=Path, default=Path("/tmp/genart-bench-diffusion"))
    add_data_root(parser)
    args = parser.parse_args()
    parts = set(args.what.split("+"))
    models = [m.strip().replace("-", " ") for m in args.models.split(",") if m.strip()]
    if args.edm and "diffusion edm" not in models:
        models.append("diffusion edm")
    unknown = sorted(set(models) - set(SPECS)) + sorted(parts - {"speed", "shapes", "mnist", "pokemon", "seeds",
                                                                 "grid"})
    if unknown:
        print(f"diffusion_bench: unknown model or part: {', '.join(unknown)}", file=sys.stderr)
        return 2
    try:
        grid = {"widths": [int(w) for w in args.grid_widths.split(",")],
                "batches": [int(b) for b in args.grid_batches.split(",")],
                "precisions": args.grid_precisions.split(","), "layouts": args.grid_layouts.split(",")}
    except ValueError as error:
        print(f"diffusion_bench: --grid-widths and --grid-batches take integers ({error})", file=sys.stderr)
        return 2
    if not set(grid["precisions"]) <= {"bf16", "fp32"} or not set(grid["layouts"]) <= {"nhwc", "nchw"}:
        print("diffusion_bench: --grid-precisions takes bf16/fp32, --grid-layouts nhwc/nchw", file=sys.stderr)
        return 2
    global TUNING
    TUNING = Tuning(args=tuple(a for a in args.diffusion_args.split(",") if a.strip()), batch=args.diffusion_batch,
                    variants=tuple(v.strip() for v in args.sample_variants.split(";") if v.strip()),
                    keep=args.keep_samples)
    healthy = True
    if args.threads:
        torch.set_num_threads(args.threads)
    args.out.mkdir(parents=True, exist_ok=True)
    ctx = context(args.precision)
    from genart.api import precision_label

    if "mnist" in parts:  # missing data stops the run before anything is trained
        mnist_folder()
    if "pokemon" in parts:
        require(data_root() / "art" / "pokemon", "the pokemon pictures")

    label = precision_label(ctx)
    print(f"torch threads {torch.get_num_threads()}, precision {label}; grids in {args.out}")
    if "speed" in parts:
        speed(ctx, label)
        if label != "fp32":
            speed(context("fp32"), "fp32")
    if "grid" in parts:
        speed_grid(args.size, args.channels, grid["widths"], grid["batches"], grid["precisions"],
                   grid["layouts"], args.grid_seconds)
    if "seeds" in parts:
        healthy = seeds(ctx, args.seed_steps, args.out)
    if "shapes" in parts:
        shapes(ctx, args.budget, args.out, models)
    if "mnist" in parts:
        mnist(ctx, args.budget, args.out, args.samples, models)
    if "pokemon" in parts:
        pokemon(ctx, args.budget, args.out, models, args.size)
    return 0 if healthy else 1


if __name__ == "__main__":
    raise SystemExit(main())
