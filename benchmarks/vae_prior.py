"""Which prior to sample a trained VAE from: N(0, I) against mixtures fitted to its posterior means.

    genart run --model vae --post restore --out /tmp/vae-default      # the main job
    flock /tmp/genart-heavy.lock python -m benchmarks.vae_prior /tmp/vae-default/<run> --components 1 10 50

Same weights for every row (the run's checkpoint): only the distribution the latents are drawn from
changes. Each row is scored with ``genart eval``'s weight-free figures (precision, recall, diversity,
FD in 16x16-pixel PCA space) against the data, 2048 samples at ``--seed``. The last row decodes the
posterior means of training images themselves: the ceiling any prior can reach with this decoder
(and a look at how sharp its reconstructions are).
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("run", type=Path)
    parser.add_argument("--data", default="shapes")
    parser.add_argument("--components", type=int, nargs="+", default=[1, 10, 50])
    parser.add_argument("--samples", type=int, default=2048)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    import torch

    from benchmarks.common import app
    from genart.api import load_data, load_run_model
    from genart_explore.sample_metrics import evaluate_samples
    from genart_vae.prior import fit_mixture

    model, context, _ = load_run_model(app(), args.run, "cpu", model_args="prior=normal")
    channels, size, _ = model.image_shape
    real = load_data(context, args.data, size, channels)
    started = time.perf_counter()
    with torch.no_grad():
        means = torch.cat([model.encode(real[i:i + 256].float() / 255) for i in range(0, real.shape[0], 256)])
    encode_s = time.perf_counter() - started
    print(f"{args.run} on {args.data}: {real.shape[0]} images encoded in {encode_s:.2f} s; "
          f"posterior means' std per dimension {means.std(0).mean():.2f}; {args.samples} samples, seed {args.seed}")
    print(f"{'latents from':<34} {'fit s':>6} {'precision':>9} {'recall':>7} {'diversity':>9} {'FD':>7}")

    def report(label: str, z: torch.Tensor, fit_s: float | None = None) -> None:
        images = torch.cat([model.decode(z[i:i + 256]).cpu() for i in range(0, z.shape[0], 256)])
        figures = evaluate_samples(real, images)
        m = figures["model"]
        fit = f"{fit_s:6.2f}" if fit_s is not None else f"{'':6}"
        print(f"{label:<34} {fit} {m['precision']:9.3f} {m['recall']:7.3f} {m['diversity']:9.3f} {m['fd']:7.2f}",
              flush=True)
        if label.startswith("real"):
            f = figures["floor"]
            print(f"{'(real vs real floor)':<34} {'':6} {f['precision']:9.3f} {f['recall']:7.3f} "
                  f"{f['diversity']:9.3f} {f['fd']:7.2f}")

    generator = torch.Generator().manual_seed(args.seed)
    report("N(0, I)", torch.randn(args.samples, means.shape[1], generator=generator))
    for k in args.components:
        started = time.perf_counter()
        prior = fit_mixture(means, k)
        fit_s = time.perf_counter() - started
        report(f"mixture, {k} component{'s' if k > 1 else ''}", prior.sample(args.samples,
               torch.Generator().manual_seed(args.seed)), fit_s)
    pick = torch.randint(0, means.shape[0], (args.samples,), generator=torch.Generator().manual_seed(args.seed))
    report("real images' posterior means", means[pick])


if __name__ == "__main__":
    main()
