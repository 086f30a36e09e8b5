"""Side by side, in one run: the classic DCGAN recipe (plain PyTorch loop) vs genart's default ``gan``.

Both train on the same MNIST images (../shared/data/mnist, t10k: 10 000 digits at 28 px, 1 channel) for
the same wall-clock budget on this machine, then draw 5000 samples each, scored by the MNIST classifier
of mnist_eval.py (FD in its feature space, classifier Inception Score, share of each digit class).

* DCGAN: the recipe most tutorials copy - transposed-conv G with BatchNorm + ReLU, conv D with BatchNorm
  + LeakyReLU, BCE, Adam lr 2e-4 beta1 0.5, z of 100, N(0, 0.02) init, no augmentation, no EMA.
* genart: ``gan:image_size=28,channels=1`` (everything else default) trained through genart's own
  training loop (genart.loop.train.train) at genart's default precision (``--precision auto``: bf16 autocast
  + channels_last on CPUs with native bf16, as ``genart run`` does; ``--precision fp32`` to compare
  like for like), sampled from its EMA generator. The DCGAN loop is the plain fp32 tutorial recipe.

Modes (both models always run with the same --threads; the documented figures use 2):
  python benchmarks/gan_vs_dcgan.py --budget 180 --threads 2                  DCGAN vs genart (seed 0)
  python benchmarks/gan_vs_dcgan.py --mode augment --subset 500 --budget 150  genart default (adaptive augment)
                                                                              vs none vs always, 500 images
                                   ... --variants none+always --curve-every 2000  any two or three of them, with FD
                                                                              and IS every 2000 steps
  python benchmarks/gan_vs_dcgan.py --mode seeds --seeds 1+2 --budget 180     genart default over other seeds
                                   ... --curve-every 5000                     with FD and IS every 5000 steps
  python benchmarks/gan_vs_dcgan.py --mode seeds --seeds 0 --extra width=24   a variant (--extra is appended
                                                                              to genart's spec in every mode, e.g.
                                                                              blocks=0 for the G of before; --batch N)
  python benchmarks/gan_vs_dcgan.py --mode seeds --seeds 0 --extra categories=10   with a categorical code,
                                                                              also a grid and a report per category
  python benchmarks/gan_vs_dcgan.py --mode sampling --budget 180              one default model, sampled with
                                                                              truncated z and with D-ranked
                                                                              selection of candidates
Grids are written to --out (default /tmp/genart-bench-gan). Run under the shared lock:
  flock /tmp/genart-heavy.lock python benchmarks/gan_vs_dcgan.py
"""

from __future__ import annotations

import argparse
import math
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch
from torch import nn

sys.path.insert(0, str(Path(__file__).resolve().parent))
from mnist_eval import Evaluator, mnist_folder  # noqa: E402

GENART_SPEC = "gan:image_size=28,channels=1"
BATCH = 64
CHUNK = 20  # steps per call of genart's training loop in train_genart


# -- the classic recipe, as a plain loop ------------------------------------------------------------
class DCGANGenerator(nn.Module):
    def __init__(self, nz: int = 100, ngf: int = 64) -> None:
        super().__init__()
        self.net = nn.Sequential(
            nn.ConvTranspose2d(nz, ngf * 4, 7, 1, 0, bias=False), nn.BatchNorm2d(ngf * 4), nn.ReLU(True),
            nn.ConvTranspose2d(ngf * 4, ngf * 2, 4, 2, 1, bias=False), nn.BatchNorm2d(ngf * 2), nn.ReLU(True),
            nn.ConvTranspose2d(ngf * 2, 1, 4, 2, 1, bias=False), nn.Tanh())

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.net(z.view(z.shape[0], -1, 1, 1))


class DCGANDiscriminator(nn.Module):
    def __init__(self, ndf: int = 64) -> None:
        super().__init__()
        self.net = nn.Sequential(
            nn.Conv2d(1, ndf, 4, 2, 1, bias=False), nn.LeakyReLU(0.2, True),
            nn.Conv2d(ndf, ndf * 2, 4, 2, 1, bias=False), nn.BatchNorm2d(ndf * 2), nn.LeakyReLU(0.2, True),
            nn.Conv2d(ndf * 2, 1, 7, 1, 0, bias=False))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x).view(-1)


def dcgan_init(module: nn.Module) -> None:
    if isinstance(module, (nn.Conv2d, nn.ConvTranspose2d)):
        nn.init.normal_(module.weight, 0.0, 0.02)
    elif isinstance(module, nn.BatchNorm2d):
        nn.init.normal_(module.weight, 1.0, 0.02)
        nn.init.zeros_(module.bias)



def dcgan_step(g: nn.Module, d: nn.Module, opt_g: torch.optim.Optimizer, opt_d: torch.optim.Optimizer,
               bce: nn.Module, real: torch.Tensor, nz: int) -> tuple[torch.Tensor, torch.Tensor]:
    """One step of the tutorial recipe: D on real vs detached fakes, then G through D on the same fakes."""
    fake = g(torch.randn(real.shape[0], nz))
    ones, zeros = torch.ones(real.shape[0]), torch.zeros(real.shape[0])
    d_loss = bce(d(real), ones) + bce(d(fake.detach()), zeros)
    opt_d.zero_grad()
    d_loss.backward()
    opt_d.step()
    g_loss = bce(d(fake), ones)
    opt_g.zero_grad()
    g_loss.backward()
    opt_g.step()
    return d_loss, g_loss

def train_dcgan(data: torch.Tensor, budget: float, seed: int, batch: int = BATCH) -> dict[str, Any]:
    torch.manual_seed(seed)
    g, d = DCGANGenerator(), DCGANDiscriminator()
    g.apply(dcgan_init)
    d.apply(dcgan_init)
    opt_g = torch.optim.Adam(g.parameters(), lr=2e-4, betas=(0.5, 0.999))
    opt_d = torch.optim.Adam(d.parameters(), lr=2e-4, betas=(0.5, 0.999))
    bce = nn.BCEWithLogitsLoss()
    n, steps = data.shape[0], 0
    started = time.perf_counter()
    order = torch.randperm(n)
    while time.perf_counter() - started < budget:
        position = (steps * batch) % max(n - batch + 1, 1)
        if position < batch:
            order = torch.randperm(n)
        real = data[order[position:position + batch]].float() / 127.5 - 1
        d_loss, g_loss = dcgan_step(g, d, opt_g, opt_d, bce, real, 100)
        steps += 1
    seconds = time.perf_counter() - started
    return {"g": g, "steps": steps, "seconds": seconds, "images_per_s": steps * batch / seconds,
            "losses": f"d {d_loss.item():.3f} g {g_loss.item():.3f}",
            "params": sum(p.numel() for p in g.parameters()) + sum(p.numel() for p in d.parameters())}


@torch.no_grad()
def sample_dcgan(g: DCGANGenerator, n: int, seed: int, train_mode_bn: bool) -> torch.Tensor:
    """The PyTorch DCGAN example samples with G left in train mode (batch statistics); both are scored."""
    g.train(train_mode_bn)
    generator = torch.Generator().manual_seed(seed)
    chunks = [g(torch.randn(min(500, n - s), 100, generator=generator)) for s in range(0, n, 500)]
    g.eval()
    return (torch.cat(chunks) + 1) / 2


# -- genart's default, through the core loop --------------------------------------------------------
def genart_context(precision: str = "auto") -> Any:
    from genart.contract.plugins import App
    from genart.runner.context import make_context

    return make_context(App.from_entry_points(only=None), "cpu", precision)


def train_genart(context: Any, data: torch.Tensor, budget: float, seed: int, spec: str = GENART_SPEC,
                 chunk: int = CHUNK, after_chunk: Callable[[Any, int, float], None] | None = None,
                 batch: int | None = BATCH) -> dict[str, Any]:
    """Train genart's model through its own loop for ``budget`` seconds of training time, ``chunk`` steps
    at a time (``after_chunk(model, steps, seconds)`` runs between chunks, outside the timed part);
    ``batch=None``: the model's own default batch size."""
    from genart.contract.protocols import default_batch_size
    from genart.loop.train import TrainConfig, train
    from genart.runner.pipeline import build_model

    torch.manual_seed(seed)
    model = build_model(context, spec)
    batch = default_batch_size(model) if batch is None else batch
    torch.manual_seed(seed)
    steps, seconds, losses = 0, 0.0, {}
    while seconds < budget:
        config = TrainConfig(steps=steps + chunk, batch_size=batch, seed=seed, checkpoint_every=0, progress=False,
                             precision=context.precision, channels_last=context.channels_last, scaler=context.scaler)
        result = train(model, data, config, device=context.device, checkpoint_path=None, start_step=steps)
        steps, seconds, losses = result.step, seconds + result.seconds, result.losses
        if after_chunk is not None:
            after_chunk(model, steps, seconds)
    return {"model": model, "steps": steps, "seconds": seconds, "images_per_s": steps * batch / seconds,
            "losses": " ".join(f"{k} {v:.3f}" for k, v in losses.items()), "params": trained_parameters(model)}


def trained_parameters(model: Any) -> int:
    """Parameters of the networks a model trains (its EMA copies, which follow them, not counted)."""
    return sum(p.numel() for name, module in vars(model).items()
               if isinstance(module, torch.nn.Module) and "ema" not in name for p in module.parameters())


def sample_genart(model: Any, n: int, seed: int) -> torch.Tensor:
    from genart.runner.pipeline import sample

    return sample(model, n, seed)


# -- reporting --------------------------------------------------------------------------------------
def save_grid(images: torch.Tensor, path: Path) -> None:
    from genart.images import make_grid, save_image

    save_image(make_grid(images[:64], nrow=8), path, overwrite=True)


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


def decode_all(model: Any, z: torch.Tensor) -> torch.Tensor:
    return torch.cat([model.decode(chunk) for chunk in z.split(1000)])


def d_selected(model: Any, n: int, seed: int, keep: float) -> torch.Tensor:
    """Draw n / keep samples and keep the n that D scores as most real (rejection by the discriminator)."""
    candidates = truncated(model, math.ceil(n / keep), seed, 1.0)
    model.d.eval()
    with torch.no_grad():
        scores = torch.cat([model.d(chunk * 2 - 1).float() for chunk in candidates.split(1000)])
    return candidates[scores.topk(n).indices.sort().values]


def by_category(model: Any, per_category: int, seed: int) -> list[torch.Tensor]:
    """Samples of each category of a model with a categorical code (``categories=K``): z's first entry is
    drawn inside the category's bin of the normal CDF, the rest of z as usual."""
    from genart_gan.nets import latents_in_category

    k = model.params.categories
    generator = torch.Generator().manual_seed(seed)
    return [decode_all(model, latents_in_category(per_category, model.latent_shape[0], category, k, generator))
            for category in range(k)]


def report_categories(model: Any, evaluator: Any, seed: int, grid: Path) -> str:
    """One grid row per category, and how purely each category draws one digit (the classifier's most
    common class among its 500 samples): K distinct modes show as K high shares spread over the digits."""
    groups = by_category(model, 500, seed)
    from genart.images import make_grid, save_image

    save_image(make_grid(torch.cat([group[:8] for group in groups]), nrow=8), grid, overwrite=True)
    parts = []
    for group in groups:
        shares = evaluator.score(group)["shares"]
        digit = int(torch.as_tensor(shares).argmax())
        parts.append(f"{digit}:{100 * float(shares[digit]):.0f}%")
    return "category -> most common digit (its share): " + " ".join(parts)


def mnist_with_threads(threads: int) -> Path | None:
    """The MNIST folder (saying so when it is missing), with torch's CPU threads set when asked."""
    folder = mnist_folder()
    if folder is None:
        print("MNIST not found (../shared/data/mnist; set GENART_DATA); nothing to do.")
    if threads:
        torch.set_num_threads(threads)
    return folder


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
    args = parser.parse_args()
    spec = GENART_SPEC + (f",{args.extra}" if args.extra else "")

    folder = mnist_with_threads(args.threads)
    if folder is None:
        return 0
    evaluator = Evaluator.load(folder)
    context = genart_context(args.precision)
    from genart.runner.context import precision_label
    from genart.runner.pipeline import load_data

    subset = args.subset or (500 if args.mode == "augment" else 0)
    data_spec = f"mnist:path={folder},which=t10k" + (f",limit={subset}" if subset else "")
    data = load_data(context, data_spec, 28, 1)
    args.out.mkdir(parents=True, exist_ok=True)
    print(f"data: {data_spec} ({data.shape[0]} images, 1x28x28); budget {args.budget:.0f} s per model; "
          f"batch {args.batch}; {args.samples} samples each; torch threads {torch.get_num_threads()}; "
          f"genart precision {precision_label(context)} (DCGAN fp32); "
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
        ours = train_genart(context, data, args.budget, args.seed, spec=spec, batch=args.batch)
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
            run = train_genart(context, data, args.budget, args.seed, spec=variant_spec, batch=args.batch,
                               after_chunk=curve_scorer(name, curve, args.seed))
            add(name, run, sample_genart(run["model"], args.samples, args.seed))
            if curve:
                lines.append(f"  {name} over training (2000 samples): " + "; ".join(curve))
    elif args.mode == "sampling":
        run = train_genart(context, data, args.budget, args.seed, spec=spec, batch=args.batch)
        for psi in (1.0, 0.9, 0.8, 0.7):
            add(f"genart psi={psi}", run, truncated(run["model"], args.samples, args.seed, psi))
        for keep in (0.8, 0.5):
            add(f"genart D-top {keep:.0%}", run, d_selected(run["model"], args.samples, args.seed, keep))
    else:
        tag = f" {args.extra}" if args.extra else ""
        for seed in (int(s) for s in args.seeds.split("+")):
            name, curve = f"genart seed={seed}{tag}", []
            run = train_genart(context, data, args.budget, seed, spec=spec, batch=args.batch,
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
