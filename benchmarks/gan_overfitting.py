"""Does genart's discriminator memorise a small dataset, and which signal sees it?

Trains ``gan:image_size=28,channels=1,augment=none`` on the first N MNIST t10k digits (default: 500, and
9000 for comparison) and, every 500 steps, runs D on 500 training digits, on 500 held-out digits
(t10k[9500:], never trained on) and on 500 fakes. A D that memorises its training set rates held-out digits
like fakes. Two overfitting signals are printed, each over the 500 training digits:

* ``sign``: E[sign(D(real))], ADA's original r_t (Karras et al. 2020), which assumes D's outputs are centred;
* ``vs fakes``: E[sign(D(real) - mean D(fake))], which does not depend on where D's outputs are centred
  (tried as the ``gan`` model's ADA signal and reverted: see docs/plugins/gan.md).

    python -m benchmarks.gan_overfitting --budget 200 --threads 2    # about 7 minutes: 200 s per size
"""

from __future__ import annotations

import argparse
from typing import Any

import torch

from benchmarks.common import MNIST_GAN_SPEC, add_data_root, context, mnist_folder, train_genart


def report(model: Any, train: torch.Tensor, held: torch.Tensor, step: int, latent: int) -> str:
    buffers = {name: b.clone() for name, b in model.g.named_buffers()}  # G in train mode, as D sees it
    with torch.no_grad():
        d_train = model.d(train[:500].float() / 127.5 - 1).float()
        d_held = model.d(held.float() / 127.5 - 1).float()
        d_fake = model.d(model.g(torch.randn(500, latent))).float()
    model.g.load_state_dict(buffers, strict=False)  # leave BatchNorm's running statistics as training left them
    fake_mean = d_fake.mean()
    return (f"{step:>6}{d_train.mean():>9.3f}{d_held.mean():>9.3f}{fake_mean:>9.3f}"
            f"{d_train.sign().mean():>8.2f}{(d_train - fake_mean).sign().mean():>10.2f}"
            f"{(d_held - fake_mean).sign().mean():>10.2f}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", default="500+9000", help="'+'-joined training-set sizes (at most 9500)")
    parser.add_argument("--budget", type=float, default=200, help="training seconds per size")
    parser.add_argument("--threads", type=int, default=0)
    parser.add_argument("--seed", type=int, default=0)
    add_data_root(parser)
    args = parser.parse_args()
    folder = mnist_folder()
    if args.threads:
        torch.set_num_threads(args.threads)
    from genart.api import load_data

    ctx = context("auto")
    data = load_data(ctx, f"mnist:path={folder},which=t10k", 28, 1)
    held = data[9500:10000]
    for size in (int(s) for s in args.sizes.split("+")):
        if not 0 < size <= 9500:
            parser.error("--sizes: each between 1 and 9500 (t10k[9500:] is held out)")
        print(f"\n{size} training digits, {args.budget:.0f} s; D's mean output and the overfitting signals")
        print(f"{'step':>6}{'train':>9}{'held':>9}{'fake':>9}{'sign':>8}{'vs fakes':>10}{'held vs f':>10}")

        def every_500(model: Any, step: int, seconds: float, train: torch.Tensor = data[:size]) -> None:
            if step % 500 == 0:
                print(report(model, train, held, step, model.latent_shape[0]), flush=True)

        train_genart(ctx, data[:size], args.budget, args.seed, spec=f"{MNIST_GAN_SPEC},augment=none", chunk=100,
                     after_chunk=every_500)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
