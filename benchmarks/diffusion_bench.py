"""The diffusion model beside genart's GAN and VAE at equal wall-clock, and its sampling cost.

* ``speed``:  training images/s, and seconds for 64 samples at 32 px against sampler steps (Euler, Heun).
* ``shapes``: each model trained for ``--budget`` seconds on ``shapes`` at 32 px (held-out split kept out),
  scored with ``genart eval``'s weight-free figures (precision, recall, diversity, FD; real-vs-real floor).
  ``--edm`` adds the diffusion model trained with EDM's preconditioning instead of rectified flow.
* ``mnist``:  the same at 28 px grey on MNIST (../shared/data/mnist), judged by benchmarks/mnist_eval.py's
  classifier (FD, IS, class shares).

Grids go to ``--out`` (never into the repo). Run by hand, e.g.
    python benchmarks/diffusion_bench.py --what speed+shapes+mnist --budget 90
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Any

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))

SHAPES_TRAIN = "shapes:count=4096,split=train,holdout=512"
SHAPES_TEST = "shapes:count=4096,split=test,holdout=512"
CHUNK = 10


def context(precision: str = "auto") -> Any:
    from genart.jobs import make_context
    from genart.plugins import App

    return make_context(App.from_entry_points(only=None), "cpu", precision)


def train_for(ctx: Any, spec: str, data: torch.Tensor, budget: float, seed: int = 0) -> dict[str, Any]:
    """Train through genart's own loop for ``budget`` seconds of training time (CHUNK steps at a time)."""
    from genart.pipeline import build_model
    from genart.train import TrainConfig, train

    torch.manual_seed(seed)
    model = build_model(ctx, spec)
    batch = int(getattr(model, "default_batch_size", 64))
    steps, seconds, losses = 0, 0.0, {}
    while seconds < budget:
        config = TrainConfig(steps=steps + CHUNK, batch_size=batch, seed=seed, checkpoint_every=0, progress=False,
                             precision=ctx.precision, channels_last=ctx.channels_last, scaler=ctx.scaler)
        result = train(model, data, config, device=ctx.device, checkpoint_path=None, start_step=steps)
        steps, seconds, losses = result.step, seconds + result.seconds, result.losses
    return {"model": model, "steps": steps, "seconds": seconds, "images_per_s": steps * batch / seconds,
            "losses": " ".join(f"{k} {v:.3f}" for k, v in losses.items())}


def draw(model: Any, n: int, seed: int = 0) -> tuple[torch.Tensor, float]:
    from genart.pipeline import sample

    started = time.perf_counter()
    images = sample(model, n, seed)
    return images, time.perf_counter() - started


def save_grid(images: torch.Tensor, path: Path) -> None:
    from genart.images import make_grid, save_image

    save_image(make_grid(images[:64], nrow=8), path, overwrite=True)


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
    for name in ("euler", "heun"):
        model.sampler = ctx.build("sampler", name)
        for steps in (5, 10, 20, 40):
            model.params.steps = steps
            _, seconds = draw(model, 64)
            evals = steps if name == "euler" else 2 * steps - 1
            print(f"[{label}] 64 samples at 32 px, {name:<5} {steps:>2} steps ({evals:>2} evaluations): "
                  f"{seconds:6.2f} s")
    model.params.steps = 20


def context_model(ctx: Any, spec: str) -> Any:
    from genart.pipeline import build_model

    torch.manual_seed(0)
    return build_model(ctx, spec)


def shapes(ctx: Any, budget: float, out: Path, edm: bool) -> None:
    from genart.pipeline import load_data
    from genart_explore.sample_metrics import evaluate_samples

    train_data = load_data(ctx, SHAPES_TRAIN, 32, 3)
    held_out = load_data(ctx, SHAPES_TEST, 32, 3)
    save_grid(held_out.float() / 255, out / "shapes-real.png")
    specs = {"diffusion": "diffusion:image_size=32,channels=3", "gan": "gan:image_size=32,channels=3",
             "vae": "vae:image_size=32,channels=3"}
    if edm:
        specs["diffusion edm"] = "diffusion:image_size=32,channels=3,objective=edm"
    print(f"shapes 32 px: {train_data.shape[0]} training images, {held_out.shape[0]} held out; {budget:.0f} s each")
    print(f"{'model':<15}{'steps':>7}{'img/s':>7}{'prec':>7}{'recall':>7}{'divers':>7}{'FD':>8}{'sample s':>9}")
    floor = None
    for name, spec in specs.items():
        run = train_for(ctx, spec, train_data, budget)
        images, seconds = draw(run["model"], held_out.shape[0] // 2)
        figures = evaluate_samples(held_out, images)
        floor = figures["floor"]
        m = figures["model"]
        save_grid(images, out / f"shapes-{name.replace(' ', '-')}.png")
        print(f"{name:<15}{run['steps']:>7}{run['images_per_s']:>7.0f}{m['precision']:>7.3f}{m['recall']:>7.3f}"
              f"{m['diversity']:>7.3f}{m['fd']:>8.2f}{seconds:>9.1f}   ({run['losses']})", flush=True)
    if floor is not None:
        print(f"{'real vs real':<29}{floor['precision']:>7.3f}{floor['recall']:>7.3f}{floor['diversity']:>7.3f}"
              f"{floor['fd']:>8.2f}")


def mnist(ctx: Any, budget: float, out: Path, samples: int) -> None:
    from mnist_eval import Evaluator, mnist_folder

    from genart.pipeline import load_data

    folder = mnist_folder()
    if folder is None:
        print("mnist: no data in ../shared/data/mnist; skipped")
        return
    evaluator = Evaluator.load(folder)
    data = load_data(ctx, f"mnist:path={folder},which=t10k", 28, 1)
    real = evaluator.score(data.float()[:samples] / 255)
    print(f"mnist 28 px: {data.shape[0]} images; {budget:.0f} s each; {samples} samples judged by the classifier "
          f"(accuracy {evaluator.accuracy:.4f})")
    print(f"{'model':<15}{'steps':>7}{'img/s':>7}{'FD':>8}{'IS':>7}{'min%':>7}{'max%':>7}  class % 0..9")

    def line(name: str, score: dict[str, Any], run: dict[str, Any] | None) -> str:
        shares = " ".join(f"{100 * s:.0f}" for s in score["shares"])
        steps = f"{run['steps']:>7}{run['images_per_s']:>7.0f}" if run else f"{'':>14}"
        return (f"{name:<15}{steps}{score['fd']:>8.2f}{score['is']:>7.2f}{100 * score['min_share']:>7.1f}"
                f"{100 * score['max_share']:>7.1f}  [{shares}]")

    print(line("real digits", real, None))
    for name, spec in {"diffusion": "diffusion:image_size=28,channels=1", "gan": "gan:image_size=28,channels=1",
                       "vae": "vae:image_size=28,channels=1"}.items():
        run = train_for(ctx, spec, data, budget)
        images, seconds = draw(run["model"], samples)
        save_grid(images, out / f"mnist-{name}.png")
        print(line(name, evaluator.score(images), run) + f"  sampling {seconds:.1f} s", flush=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--what", default="speed+shapes+mnist", help="'+'-joined: speed, shapes, mnist")
    parser.add_argument("--budget", type=float, default=600, help="training seconds per model")
    parser.add_argument("--samples", type=int, default=1000, help="MNIST samples judged per model")
    parser.add_argument("--edm", action="store_true", help="shapes: also train the EDM objective")
    parser.add_argument("--precision", default="auto", choices=["auto", "fp32", "bf16"])
    parser.add_argument("--threads", type=int, default=0, help="torch CPU threads (0: torch's default)")
    parser.add_argument("--out", type=Path, default=Path("/tmp/genart-bench-diffusion"))
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    args.out.mkdir(parents=True, exist_ok=True)
    ctx = context(args.precision)
    from genart.jobs import precision_label

    label = precision_label(ctx)
    print(f"torch threads {torch.get_num_threads()}, precision {label}; grids in {args.out}")
    parts = set(args.what.split("+"))
    if "speed" in parts:
        speed(ctx, label)
        if label != "fp32":
            speed(context("fp32"), "fp32")
    if "shapes" in parts:
        shapes(ctx, args.budget, args.out, args.edm)
    if "mnist" in parts:
        mnist(ctx, args.budget, args.out, args.samples)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
