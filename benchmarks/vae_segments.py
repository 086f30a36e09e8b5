"""The default VAE's training speed over a whole default run, segment by segment, fp32 vs bf16.

    python -m benchmarks.vae_segments            # fp32, bf16, fp32, bf16: 4 runs of 8 x 200 steps

Single default-job timings differ by more than bf16's gain on this small model, because the machine's
speed drifts within a minute; pairing the precisions run by run, and printing images/s per 200-step
segment, shows both the drift and the gain under the same conditions. Each run is its own process.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time

from benchmarks.common import REPO, context, default_batch_size, train_config


def one(precision: str, segments: int = 8, steps: int = 200) -> None:
    import torch

    from genart.api import build_model, load_data, train

    ctx = context(precision)
    torch.manual_seed(0)
    model = build_model(ctx, "vae")
    data = load_data(ctx, "shapes", 32, 3)
    batch = default_batch_size(model)
    rates, step = [], 0
    for _ in range(segments):
        config = train_config(ctx, step + steps, batch)
        start = time.perf_counter()
        train(model, data, config, device=ctx.device, checkpoint_path=None, start_step=step)
        rates.append(steps * batch / (time.perf_counter() - start))
        step += steps
    total = sum(steps * batch / rate for rate in rates)
    print(f"{precision:<5} img/s per {steps}-step segment: {' '.join(f'{r:.0f}' for r in rates)}  total {total:.1f} s",
          flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=2, help="fp32 and bf16 runs, paired, this many times")
    parser.add_argument("--one", choices=["fp32", "bf16"], help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        one(args.one)
        return
    for _ in range(args.rounds):
        for precision in ("fp32", "bf16"):
            subprocess.run([sys.executable, "-m", "benchmarks.vae_segments", "--one", precision], check=True, cwd=REPO)


if __name__ == "__main__":
    main()
