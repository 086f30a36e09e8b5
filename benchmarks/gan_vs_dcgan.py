"""Side by side, in one run: the classic DCGAN recipe (plain PyTorch loop) vs genart's default ``gan``.

Both train on the same MNIST images (../shared/data/mnist, t10k: 10 000 digits at 28 px, 1 channel) for
the same wall-clock budget on this machine, then draw 5000 samples each, scored by the MNIST classifier
of benchmarks/mnist_eval.py (FD in its feature space, classifier Inception Score, share of each digit class).

* DCGAN (benchmarks/dcgan.py): the recipe most tutorials copy - transposed-conv G with BatchNorm + ReLU,
  conv D with BatchNorm + LeakyReLU, BCE, Adam lr 2e-4 beta1 0.5, z of 100, N(0, 0.02) init, no
  augmentation, no EMA.
* genart: ``gan:image_size=28,channels=1`` (everything else default) trained through genart's own
  training loop (genart.api.train) at genart's default precision (``--precision auto``: bf16 autocast
  + channels_last on CPUs with native bf16, as ``genart run`` does; ``--precision fp32`` to compare
  like for like), sampled from its EMA generator. The DCGAN loop is the plain fp32 tutorial recipe.

Modes (both models always run with the same --threads; the documented figures use 2):
  python -m benchmarks.gan_vs_dcgan --budget 180 --threads 2                  DCGAN vs genart (seed 0)
  python -m benchmarks.gan_vs_dcgan --mode augment --subset 500 --budget 150  genart default (adaptive augment)
                                                                              vs none vs always, 500 images
                                   ... --variants none+always --curve-every 2000  any two or three of them, with FD
                                                                              and IS every 2000 steps
  python -m benchmarks.gan_vs_dcgan --mode seeds --seeds 1+2 --budget 180     genart default over other seeds
                                   ... --curve-every 5000                     with FD and IS every 5000 steps
  python -m benchmarks.gan_vs_dcgan --mode seeds --seeds 0 --extra width=24   a variant (--extra is appended
                                                                              to genart's spec in every mode, e.g.
                                                                              blocks=0 for the G of before; --batch N)
  python -m benchmarks.gan_vs_dcgan --mode seeds --seeds 0 --extra categories=10   with a categorical code,
                                                                              also a grid and a report per category
  python -m benchmarks.gan_vs_dcgan --mode sampling --budget 180              one default model, sampled with
                                                                              truncated z and with D-ranked
                                                                              selection of candidates
Grids are written to --out (default /tmp/genart-bench-gan). Run under the shared lock:
  flock /tmp/genart-heavy.lock python -m benchmarks.gan_vs_dcgan
"""

from __future__ import annotations

import argparse
import math
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch

from benchmarks.common import (
    BATCH,
    MNIST_GAN_SPEC,
    add_data_root,
    by_category,
    context,
    decode_all,
    mnist_folder,
    sample_genart,
    save_grid,
    train_genart,
)
from benchmarks.dcgan import sample_dcgan, train_dcgan
from benchmarks.mnist_eval import Evaluator

GENART_SPEC = MNIST_GAN_SPEC
CHUNK = 20  # steps per call of genart's training loop in train_genart


# -- reporting --------------------------------------------------------------------------------------
def row(name: str, run: dict[str, Any], score: dict[str, Any]) -> str:
    shares = " ".join(f"{100 * s:.0f}" for s in score["shares"])
    return (f"{name:<26}{score['fd']:>9.2f}{score['is']:>7.2f}{100 * score['min_share']:>7.1f}"
            f"{100 * score['max_share']:>7.1f}{run['images_per_s']:>9.0f}{run['steps']:>7}{run['params']:>10}  "
            f"[{shares}]")


HEADER = f"{'model':<26}{'FD':>9}{'IS':>7}{'min%':>7}{'max%':>7}{'img/s':>9}{'steps':>7}{'params':>10}  class % 0..9"


def healthy(score: dict[str, Any]) -> bool:
    return math.isfinite(score["fd"]) and score["min_share"] >= 0.02


def truncated(model: Any, n: int, seed: int, psi: float) -> torch.Tensor:
    """The truncation trick by scaling: z ~ N(0, psi^2 I), trading variety for typical samples."""
    z = torch.randn(n, *model.latent_shape, generator=torch.Generator().manual_seed(seed)) * psi
    return decode_all(model, z)


def d_selected(model: Any, n: int, seed: int, keep: float) -> torch.Tensor:
    """Draw n / keep samples and keep the n that D scores as most real (rejection by the discriminator)."""
    candidates = truncated(model, math.ceil(n / keep), seed, 1.0)
    model.d.eval()
    with torch.no_grad():
        scores = torch.cat([model.d(chunk * 2 - 1).float() for chunk in candidates.split(1000)])
    return candidates[scores.topk(n).indices.sort().values]


def report_categories(model: Any, evaluator: Any, seed: int, grid: Path) -> str:
    """One grid row per category, and how purely each category draws one digit (the classifier's most
    common class among its 500 samples): K distinct modes show as K high shares spread over the digits."""
    groups = by_category(model, 500, seed)
    save_grid(torch.cat([group[:8] for group in groups]), grid)
    parts = []
    for group in groups:
        shares = evaluator.score(group)["shares"]
        digit = int(torch.as_tensor(shares).argmax())
        parts.append(f"{digit}:{100 * float(shares[digit]):.0f}%")
    return "category -> most common digit (its share): " + " ".join(parts)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--mode", choices=["compare", "augment", "seeds", "sampling"], default="compare")
    parser.add_argument("--budget", type=float, default=200, help="training seconds per model")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--seeds", default="0+1+2", help="seeds for --mode seeds, '+'-joined")
    parser.add_argument("--subset", type=int, default=0, help="train on the first N images only (0: all)")
    parser.add_argument("--samples", type=int, default=5000)
    parser.add_argument("--extra", default="", help="k=v,... appended to genart's spec (blocks=0: the G of before)")
    parser.add_argument("--batch", type=int, default=BATCH, help="training batch of both models")
    parser.add_argument("--variants", default="default+none+always",
                        help="--mode augment: which of default (adaptive p), none, always (p = 1) to train")
    parser.add_argument("--curve-every", type=int, default=0,
                        help="--mode augment / seeds: also score 2000 samples every N steps (outside the timed "
                             "budget)")
    parser.add_argument("--out", type=Path, default=Path("/tmp/genart-bench-gan"))
    parser.add_argument("--threads", type=int, default=0, help="torch CPU threads (0: torch default)")
    parser.add_argument("--precision", default="auto", choices=["auto", "fp32", "bf16"],
                        help="genart's precision (auto: what `genart run` picks here; DCGAN stays fp32)")
    add_data_root(parser)
    args = parser.parse_args()
    spec = GENART_SPEC + (f",{args.extra}" if args.extra else "")

    folder = mnist_folder()
    if args.threads:
        torch.set_num_threads(args.threads)
    evaluator = Evaluator.load(folder)
    ctx = context(args.precision)
    from genart.api import load_data, precision_label

    subset = args.subset or (500 if args.mode == "augment" else 0)
    data_spec = f"mnist:path={folder},which=t10k" + (f",limit={subset}" if subset else "")
    data = load_data(ctx, data_spec, 28, 1)
    args.out.mkdir(parents=True, exist_ok=True)
    print(f"data: {data_spec} ({data.shape[0]} images, 1x28x28); budget {args.budget:.0f} s per model; "
          f"batch {args.batch}; {args.samples} samples each; torch threads {torch.get_num_threads()}; "
          f"genart precision {precision_label(ctx)} (DCGAN fp32); "
          f"classifier accuracy {evaluator.accuracy:.4f}")
    real = evaluator.score(data.float()[: args.samples] / 255)
    lines, scores = [], {}

    def add(name: str, run: dict[str, Any], images: torch.Tensor) -> None:
        score = evaluator.score(images)
        scores[name] = score
        lines.append(row(name, run, score))
        save_grid(images, args.out / f"{name.replace(' ', '_').replace('=', '-')}.png")
        print(lines[-1], f"(losses: {run['losses']})", file=sys.stderr, flush=True)

    def curve_scorer(name: str, curve: list[str], seed: int) -> Callable[[Any, int, float], None]:
        """With --curve-every N: score 2000 samples every N steps, outside the timed budget."""

        def score_now(model: Any, steps: int, seconds: float) -> None:
            if args.curve_every and steps % args.curve_every < CHUNK:  # the loop stops every CHUNK steps
                score = evaluator.score(sample_genart(model, 2000, seed))
                curve.append(f"{steps} ({seconds:.0f} s): FD {score['fd']:.1f} IS {score['is']:.2f} "
                             f"classes {100 * score['min_share']:.1f}-{100 * score['max_share']:.1f} % "
                             f"p {model.aug_p:.2f}")
                print(f"  {name} step {curve[-1]}", file=sys.stderr, flush=True)

        return score_now

    if args.mode == "compare":
        dc = train_dcgan(data, args.budget, args.seed, batch=args.batch)
        train_bn = sample_dcgan(dc["g"], args.samples, args.seed, train_mode_bn=True)
        eval_bn = sample_dcgan(dc["g"], args.samples, args.seed, train_mode_bn=False)
        add("dcgan (BN batch stats)", dc, train_bn)
        add("dcgan (BN running stats)", dc, eval_bn)
        ours = train_genart(ctx, data, args.budget, args.seed, spec=spec, batch=args.batch)
        add(f"genart gan ({args.extra or 'default'})", ours, sample_genart(ours["model"], args.samples, args.seed))
    elif args.mode == "augment":
        variants = {"default": ("genart augment=default", spec),
                    "none": ("genart augment=none", f"{spec},augment=none"),
                    "always": ("genart ada_target=0", f"{spec},ada_target=0")}  # always augment (p = 1)
        chosen = args.variants.split("+")
        if not set(chosen) <= set(variants) or "none" not in chosen or len(set(chosen)) < 2:
            parser.error("--variants: '+'-joined from default, none, always; none and at least one other")
        for name, variant_spec in (variants[key] for key in chosen):
            curve: list[str] = []
            run = train_genart(ctx, data, args.budget, args.seed, spec=variant_spec, batch=args.batch,
                               after_chunk=curve_scorer(name, curve, args.seed))
            add(name, run, sample_genart(run["model"], args.samples, args.seed))
            if curve:
                lines.append(f"  {name} over training (2000 samples): " + "; ".join(curve))
    elif args.mode == "sampling":
        run = train_genart(ctx, data, args.budget, args.seed, spec=spec, batch=args.batch)
        for psi in (1.0, 0.9, 0.8, 0.7):
            add(f"genart psi={psi}", run, truncated(run["model"], args.samples, args.seed, psi))
        for keep in (0.8, 0.5):
            add(f"genart D-top {keep:.0%}", run, d_selected(run["model"], args.samples, args.seed, keep))
    else:
        tag = f" {args.extra}" if args.extra else ""
        for seed in (int(s) for s in args.seeds.split("+")):
            name, curve = f"genart seed={seed}{tag}", []
            run = train_genart(ctx, data, args.budget, seed, spec=spec, batch=args.batch,
                               after_chunk=curve_scorer(name, curve, seed))
            add(name, run, sample_genart(run["model"], args.samples, seed))
            if curve:
                lines.append(f"  {name} over training (2000 samples): " + "; ".join(curve))
            if getattr(run["model"].params, "categories", 0):
                grid = args.out / f"genart_seed-{seed}_by-category.png"
                print(report_categories(run["model"], evaluator, seed, grid), file=sys.stderr, flush=True)

    print()
    print(HEADER)
    print(row("real data (reference)", {"images_per_s": 0, "steps": 0, "params": 0}, real))
    for line in lines:
        print(line)
    print()
    if args.mode == "compare":
        best_dc = min(scores["dcgan (BN batch stats)"]["fd"], scores["dcgan (BN running stats)"]["fd"])
        ours = scores["genart gan (default)"]
        print(f"FD ratio genart / best DCGAN: {ours['fd'] / best_dc:.3f} (target <= 0.5); genart IS {ours['is']:.2f} "
              f"(target >= 8.5); class shares {100 * ours['min_share']:.1f}-{100 * ours['max_share']:.1f} % "
              "(target 5-15 %)")
    elif args.mode == "augment":
        off = scores["genart augment=none"]
        parts = []
        labels = (("genart augment=default", "on (adaptive p)"), ("genart ada_target=0", "always on (p = 1)"))
        for name, label in labels:
            if name in scores:
                on = scores[name]
                parts.append(f"FD augment {label} / off: {on['fd']:.2f} / {off['fd']:.2f} = {on['fd'] / off['fd']:.3f}")
        print("; ".join(parts) + " (target < 1)")
    elif args.mode == "seeds":
        fds = [s["fd"] for s in scores.values()]
        print(f"FD per seed: {', '.join(f'{f:.2f}' for f in fds)}; all healthy (finite, every class >= 2 %): "
              f"{all(healthy(s) for s in scores.values())}")
    print(f"grids: {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
