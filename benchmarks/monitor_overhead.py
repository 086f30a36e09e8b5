"""What the run monitor (metrics.jsonl + snapshots at the defaults) costs the training loop.

    python -m benchmarks.monitor_overhead                  # default gan and vae, 2 pairs of segments each
    python -m benchmarks.monitor_overhead --models "gan;vae:width=16" --pairs 1

One process per model; the model trains through genart.api.train in segments of ``sample_every``
steps (the model's default snapshot interval, so each monitored segment holds exactly one snapshot
and one metrics line per step), alternating monitor off / on (ABBA order), on the same model and
data, no checkpoints. Two figures, side by side in the same run:

- measured: the monitor's own time (perf_counter around every Monitor.step call, snapshot included)
  as a share of the monitored segments' time — exact, unaffected by other load;
- paired: (monitored segment time / unmonitored) - 1, median over pairs — the end-to-end view, but
  as noisy as the machine.
The one-off end-of-run drawing (progress.png, curves.png over a full default run's metrics) is timed
apart. Synthetic ``shapes`` data, so no shared data is needed. Target: at most 2 % of step time.
"""

from __future__ import annotations

import argparse
import math
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from benchmarks.common import context, default_batch_size, train_config


def segment(model: Any, data: Any, ctx: Any, start: int, steps: int, batch: int, monitor: Any) -> float:
    from genart.api import train

    config = train_config(ctx, start + steps, batch, monitor=monitor)
    begun = time.perf_counter()
    train(model, data, config, device=ctx.device, checkpoint_path=None, start_step=start)
    return time.perf_counter() - begun


class Timed:
    """A Monitor whose step() calls are timed."""

    def __init__(self, monitor: Any) -> None:
        self.monitor = monitor
        self.seconds = 0.0

    def start(self, step: int) -> None:
        self.monitor.start(step)

    def step(self, step: int, losses: dict[str, float]) -> None:
        begun = time.perf_counter()
        self.monitor.step(step, losses)
        self.seconds += time.perf_counter() - begun


def snapshot_interval(model: Any) -> int:
    """The interval ``genart run`` snapshots a model at by default: the model's own ``default_sample_every``,
    else about ten snapshots over its default steps at a round step count (1, 2 or 5 x 10^k)."""
    from genart import SampleEvery

    if isinstance(model, SampleEvery) and int(model.default_sample_every) > 0:
        return int(model.default_sample_every)
    target = max(1.0, int(getattr(model, "default_steps", 1000)) / 10)
    power = 10 ** math.floor(math.log10(target))
    return int(max(m * power for m in (1, 2, 5) if m * power <= target))


def bench(spec: str, pairs: int) -> dict[str, Any]:
    import torch

    from genart.api import Events, Monitor, build_model, load_data

    ctx = context("auto", device="auto")
    torch.manual_seed(0)
    model = build_model(ctx, spec)
    channels, size, _ = model.image_shape
    data = load_data(ctx, "shapes", size, channels)
    batch = default_batch_size(model)
    every = snapshot_interval(model)
    step = 10
    segment(model, data, ctx, 0, step, batch, None)  # warm-up
    off, on, shares = [], [], []
    with tempfile.TemporaryDirectory() as folder:
        for pair in range(pairs):
            for monitored in ((False, True) if pair % 2 == 0 else (True, False)):
                timed = Timed(Monitor(Path(folder), model, seed=0, batch_size=batch, steps=None,
                                      sample_every=every, events=Events("none"))) if monitored else None
                seconds = segment(model, data, ctx, step, every, batch, timed)
                step += every
                if timed is not None:
                    timed.monitor.close()
                    on.append(seconds)
                    shares.append(timed.seconds / seconds)
                else:
                    off.append(seconds)
        lines = len((Path(folder) / "metrics.jsonl").read_bytes().splitlines())
        begun = time.perf_counter()
        Monitor.draw(Path(folder))
        draw = time.perf_counter() - begun
    ratios = [a / b - 1 for a, b in zip(on, off, strict=True)]
    return {"model": spec, "batch": batch, "sample_every": every, "ms_per_step": 1000 * statistics.median(off) / every,
            "measured": statistics.median(shares), "paired": statistics.median(ratios), "pairs": pairs,
            "draw_s": draw, "lines": lines}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", default="gan;vae", help="model specs separated by ;")
    parser.add_argument("--pairs", type=int, default=2)
    args = parser.parse_args()
    print(f"{'model':6} {'batch':>5} {'every':>5} {'ms/step':>8} {'measured':>9} {'paired':>8}  end-of-run drawing")
    for spec in args.models.split(";"):
        r = bench(spec, args.pairs)
        print(f"{r['model']:6} {r['batch']:5d} {r['sample_every']:5d} {r['ms_per_step']:8.1f} {r['measured']:9.2%} "
              f"{r['paired']:8.2%}  {r['draw_s']:.2f} s ({r['lines']} lines)", flush=True)


if __name__ == "__main__":
    main()
