"""The default VAE's training speed over a whole default run, segment by segment, fp32 vs bf16.

    python benchmarks/vae_segments.py            # fp32, bf16, fp32, bf16: 4 runs of 8 x 200 steps

Single default-job timings differ by more than bf16's gain on this small model, because the machine's
speed drifts within a minute; pairing the precisions run by run, and printing images/s per 200-step
segment, shows both the drift and the gain under the same conditions. Each run is its own process.
"""

from __future__ import annotations

import subprocess
import sys
import time


def one(precision: str, segments: int = 8, steps: int = 200) -> None:
    import torch

    from genart.contract.plugins import App
    from genart.loop.train import TrainConfig, train
    from genart.runner.context import make_context
    from genart.runner.pipeline import build_model, load_data

    context = make_context(App.from_entry_points(), "cpu", precision)
    torch.manual_seed(0)
    model = build_model(context, "vae")
    data = load_data(context, "shapes", 32, 3)
    batch = int(model.default_batch_size)
    rates, step = [], 0
    for _ in range(segments):
        config = TrainConfig(steps=step + steps, batch_size=batch, progress=False, checkpoint_every=0,
                             precision=context.precision, channels_last=context.channels_last, scaler=context.scaler)
        start = time.perf_counter()
        train(model, data, config, device=context.device, checkpoint_path=None, start_step=step)
        rates.append(steps * batch / (time.perf_counter() - start))
        step += steps
    total = sum(steps * batch / rate for rate in rates)
    print(f"{precision:<5} img/s per {steps}-step segment: {' '.join(f'{r:.0f}' for r in rates)}  total {total:.1f} s",
          flush=True)


def main() -> None:
    if len(sys.argv) > 2 and sys.argv[1] == "--one":
        one(sys.argv[2])
        return
    for _ in range(2):
        for precision in ("fp32", "bf16"):
            subprocess.run([sys.executable, __file__, "--one", precision], check=True)


if __name__ == "__main__":
    main()
