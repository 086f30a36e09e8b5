"""Can a learned prior over a VAE's latents give shapes with edges? A flow-matching MLP, scored.

    genart run --model vae:latent_grid=8,latent=128 --post restore --out /tmp/vae-grid8
    flock /tmp/genart-heavy.lock python benchmarks/vae_flow_prior.py /tmp/vae-grid8/<run> \
        --marks 30,90,180 --out /tmp/flow-prior

The run's weights stay as trained. The posterior means of the ``shapes`` training images are
standardised per dimension and a rectified-flow MLP (three residual blocks of ``--width``, a sine time
embedding, EMA 0.995) is trained on them for ``--marks``' last value of seconds; at each mark the EMA
weights draw 2048 latents (Heun, 30 steps, seed 0), which are decoded and scored with ``genart
eval``'s weight-free figures against the data, and 32 of them are written as ``samples-<mark>.png``.
An experiment (issue 20, docs/notes/vae-edges-2026-12-02.md), not a product feature: it asks
whether the fitted Gaussian mixture is what stands between the spatial latent and coherent samples.
"""

from __future__ import annotations

import argparse
import copy
import math
import time
from pathlib import Path
from typing import Any


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("run", type=Path)
    parser.add_argument("--marks", default="30,90,180", help="comma-joined seconds of prior training to score at")
    parser.add_argument("--width", type=int, default=512)
    parser.add_argument("--out", type=Path, default=Path("/tmp/genart-flow-prior"))
    args = parser.parse_args()

    import torch
    from torch import nn

    from genart.api import load_data, load_run_model
    from genart.images import make_grid, save_image
    from genart.plugins import App
    from genart_explore.sample_metrics import evaluate_samples

    torch.manual_seed(0)
    args.out.mkdir(parents=True, exist_ok=True)
    model, context, _ = load_run_model(App.from_entry_points(), args.run, "cpu")
    data = load_data(context, "shapes", model.image_shape[1], model.image_shape[0])
    with torch.no_grad():
        points = torch.cat([model.encode(data[s:s + 256].float() / 255).float().cpu()
                            for s in range(0, data.shape[0], 256)])
    centre, spread = points.mean(0), points.std(0) + 1e-3
    dims = points.shape[1]

    class VelocityNet(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.register_buffer("freq", torch.exp(torch.linspace(0, math.log(1000), 16)))
            self.inp = nn.Linear(dims + 32, args.width)
            self.blocks = nn.ModuleList([nn.Sequential(nn.SiLU(), nn.Linear(args.width, args.width), nn.SiLU(),
                                                       nn.Linear(args.width, args.width)) for _ in range(3)])
            self.embed = nn.ModuleList([nn.Linear(32, args.width) for _ in range(3)])
            self.outp = nn.Sequential(nn.SiLU(), nn.Linear(args.width, dims))

        def forward(self, z: Any, t: Any) -> Any:
            angle = t[:, None] * self.freq
            e = torch.cat([torch.sin(angle), torch.cos(angle)], 1)
            h = self.inp(torch.cat([z, e], 1))
            for block, embed in zip(self.blocks, self.embed, strict=True):
                h = h + block(h + embed(e))
            return self.outp(h)

    net, ema = VelocityNet(), VelocityNet()
    ema.load_state_dict(net.state_dict())
    optimizer = torch.optim.Adam(net.parameters(), lr=1e-3)
    marks = [float(m) for m in args.marks.split(",")]
    snapshots: dict[float, tuple[dict[str, Any], int]] = {}
    trained, step = 0.0, 0
    while trained < marks[-1]:
        started = time.perf_counter()
        target = (points[torch.randint(0, points.shape[0], (256,))] - centre) / spread
        noise = torch.randn_like(target)
        t = torch.rand(target.shape[0])
        loss = (net((1 - t[:, None]) * noise + t[:, None] * target, t) - (target - noise)).pow(2).mean()
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        step += 1
        with torch.no_grad():
            for averaged, current in zip(ema.parameters(), net.parameters(), strict=True):
                averaged.lerp_(current, 1 - 0.995)
        trained += time.perf_counter() - started
        for mark in marks:
            if mark not in snapshots and trained >= mark:
                snapshots[mark] = (copy.deepcopy(ema.state_dict()), step)

    def draw(n: int, steps: int = 30) -> Any:
        z = torch.randn(n, dims, generator=torch.Generator().manual_seed(0))
        with torch.no_grad():
            for i in range(steps):
                v = ema(z, torch.full((n,), i / steps))
                if i == steps - 1:
                    z = z + v / steps
                else:
                    v_next = ema(z + v / steps, torch.full((n,), (i + 1) / steps))
                    z = z + (v + v_next) / (2 * steps)
        return z * spread + centre

    print(f"{args.run}: {points.shape[0]} posterior means of {dims} dims; MLP width {args.width}")
    print(f"{'seconds':>8} {'steps':>6} {'precision':>9} {'recall':>7} {'diversity':>9} {'FD':>7}")
    for mark, (state, at_step) in snapshots.items():
        ema.load_state_dict(state)
        z = draw(2048)
        images = torch.cat([model.decode(z[s:s + 256]).cpu() for s in range(0, z.shape[0], 256)]).clamp(0, 1)
        figures = evaluate_samples(data, images)["model"]
        print(f"{mark:8.0f} {at_step:6d} {figures['precision']:9.3f} {figures['recall']:7.3f} "
              f"{figures['diversity']:9.3f} {figures['fd']:7.2f}")
        grid = make_grid(images[:32], nrow=8).repeat_interleave(3, 1).repeat_interleave(3, 2)  # 3x, nearest
        save_image(grid, args.out / f"samples-{int(mark)}.png", overwrite=True)


if __name__ == "__main__":
    main()
