"""Can a learned prior over a VAE's latents give shapes with edges? Two learned priors, scored.

    genart run --model vae:latent_grid=8,latent=128 --post restore --out /tmp/vae-grid8
    flock /tmp/genart-heavy.lock python -m benchmarks.vae_learned_prior /tmp/vae-grid8/<run> \
        --prior flow --marks 30,90,180 --out /tmp/flow-prior

The run's weights stay as trained. The posterior means of the ``shapes`` training images are
standardised per dimension and a prior is trained on them for ``--marks``' last value of seconds:

* ``flow``: a rectified-flow MLP (three residual blocks of ``--width``, a sine time embedding, EMA
  0.995), drawn with Heun's method in 30 steps;
* ``made``: an autoregressive MADE (Germain et al. 2015; two masked hidden layers of ``--width``) whose
  every conditional is a mixture of 5 Gaussians, drawn one dimension at a time, so a sharp choice (a
  shape here or not) is a choice between components rather than an average.

At each mark the prior draws 2048 latents (seed 0), which are decoded and scored with ``genart
eval``'s weight-free figures against the data, and 32 of them are written as ``samples-<mark>.png``.
An experiment (issue 20, docs/notes/2026-12-02-vae-edges.md), not a product feature: it asks
whether the fitted Gaussian mixture is what stands between the spatial latent and coherent samples.
"""

from __future__ import annotations

import argparse
import copy
import math
import time
from pathlib import Path
from typing import Any

#: mixture components of each MADE conditional
MADE_COMPONENTS = 5


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("run", type=Path)
    parser.add_argument("--prior", choices=("flow", "made"), default="flow")
    parser.add_argument("--marks", default="30,90,180", help="comma-joined seconds of prior training to score at")
    parser.add_argument("--width", type=int, default=0, help="hidden width (0: 512 for flow, 1024 for made)")
    parser.add_argument("--out", type=Path, default=Path("/tmp/genart-learned-prior"))
    args = parser.parse_args()

    import torch

    from benchmarks.common import app
    from genart.api import load_data, load_run_model
    from genart.images import make_grid, save_image
    from genart_explore.sample_metrics import evaluate_samples

    torch.manual_seed(0)
    args.out.mkdir(parents=True, exist_ok=True)
    model, context, _ = load_run_model(app(), args.run, "cpu")
    data = load_data(context, "shapes", model.image_shape[1], model.image_shape[0])
    with torch.no_grad():
        points = torch.cat([model.encode(data[s:s + 256].float() / 255).float().cpu()
                            for s in range(0, data.shape[0], 256)])
    centre, spread = points.mean(0), points.std(0) + 1e-3
    dims = points.shape[1]
    width = args.width or (512 if args.prior == "flow" else 1024)
    prior = FlowPrior(dims, width) if args.prior == "flow" else MadePrior(dims, width)

    marks = [float(m) for m in args.marks.split(",")]
    snapshots: dict[float, tuple[dict[str, Any], int]] = {}
    trained, step = 0.0, 0
    while trained < marks[-1]:
        started = time.perf_counter()
        prior.train_step((points[torch.randint(0, points.shape[0], (256,))] - centre) / spread)
        step += 1
        trained += time.perf_counter() - started
        for mark in marks:
            if mark not in snapshots and trained >= mark:
                snapshots[mark] = (copy.deepcopy(prior.sampler().state_dict()), step)

    print(f"{args.run}: {points.shape[0]} posterior means of {dims} dims; {args.prior} prior, width {width}")
    print(f"{'seconds':>8} {'steps':>6} {'precision':>9} {'recall':>7} {'diversity':>9} {'FD':>7}")
    for mark, (state, at_step) in snapshots.items():
        prior.sampler().load_state_dict(state)
        z = prior.draw(2048, torch.Generator().manual_seed(0)) * spread + centre
        images = torch.cat([model.decode(z[s:s + 256]).cpu() for s in range(0, z.shape[0], 256)]).clamp(0, 1)
        figures = evaluate_samples(data, images)["model"]
        print(f"{mark:8.0f} {at_step:6d} {figures['precision']:9.3f} {figures['recall']:7.3f} "
              f"{figures['diversity']:9.3f} {figures['fd']:7.2f}")
        grid = make_grid(images[:32], nrow=8).repeat_interleave(3, 1).repeat_interleave(3, 2)  # 3x, nearest
        save_image(grid, args.out / f"samples-{int(mark)}.png", overwrite=True)


class FlowPrior:
    """Rectified flow from N(0, I) to the standardised latents; samples from its EMA weights."""

    def __init__(self, dims: int, width: int) -> None:
        import torch

        self.net, self.ema = _velocity_net(dims, width), _velocity_net(dims, width)
        self.ema.load_state_dict(self.net.state_dict())
        self.optimizer = torch.optim.Adam(self.net.parameters(), lr=1e-3)
        self.dims = dims

    def train_step(self, target: Any) -> None:
        import torch

        noise = torch.randn_like(target)
        t = torch.rand(target.shape[0])
        loss = (self.net((1 - t[:, None]) * noise + t[:, None] * target, t) - (target - noise)).pow(2).mean()
        self.optimizer.zero_grad()
        loss.backward()
        self.optimizer.step()
        with torch.no_grad():
            for averaged, current in zip(self.ema.parameters(), self.net.parameters(), strict=True):
                averaged.lerp_(current, 1 - 0.995)

    def sampler(self) -> Any:
        return self.ema

    def draw(self, n: int, generator: Any, steps: int = 30) -> Any:
        import torch

        z = torch.randn(n, self.dims, generator=generator)
        with torch.no_grad():
            for i in range(steps):
                v = self.ema(z, torch.full((n,), i / steps))
                if i == steps - 1:
                    z = z + v / steps
                else:
                    v_next = self.ema(z + v / steps, torch.full((n,), (i + 1) / steps))
                    z = z + (v + v_next) / (2 * steps)
        return z


def _velocity_net(dims: int, width: int) -> Any:
    import torch
    from torch import nn

    class VelocityNet(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.register_buffer("freq", torch.exp(torch.linspace(0, math.log(1000), 16)))
            self.inp = nn.Linear(dims + 32, width)
            self.blocks = nn.ModuleList([nn.Sequential(nn.SiLU(), nn.Linear(width, width), nn.SiLU(),
                                                       nn.Linear(width, width)) for _ in range(3)])
            self.embed = nn.ModuleList([nn.Linear(32, width) for _ in range(3)])
            self.outp = nn.Sequential(nn.SiLU(), nn.Linear(width, dims))

        def forward(self, z: Any, t: Any) -> Any:
            angle = t[:, None] * self.freq
            e = torch.cat([torch.sin(angle), torch.cos(angle)], 1)
            h = self.inp(torch.cat([z, e], 1))
            for block, embed in zip(self.blocks, self.embed, strict=True):
                h = h + block(h + embed(e))
            return self.outp(h)

    return VelocityNet()


class MadePrior:
    """MADE: masked linear layers make output d depend only on inputs before d (a seeded random
    degree per hidden unit), so one pass gives every conditional p(z_d | z_<d) of a training batch."""

    def __init__(self, dims: int, width: int) -> None:
        import torch
        from torch import nn

        generator = torch.Generator().manual_seed(0)
        degree_in = torch.arange(1, dims + 1)
        degree_1 = torch.randint(1, max(dims, 2), (width,), generator=generator)
        degree_2 = torch.randint(1, max(dims, 2), (width,), generator=generator)
        degree_out = degree_in.repeat(3 * MADE_COMPONENTS)  # [weights | means | log-scales] x components x dims
        self.net = nn.Sequential(_masked(dims, width, degree_1[:, None] >= degree_in[None]), nn.ReLU(),
                                 _masked(width, width, degree_2[:, None] >= degree_1[None]), nn.ReLU(),
                                 _masked(width, 3 * MADE_COMPONENTS * dims, degree_out[:, None] > degree_2[None]))
        self.optimizer = torch.optim.Adam(self.net.parameters(), lr=1e-3)
        self.dims = dims

    def _conditionals(self, z: Any) -> tuple[Any, Any, Any]:
        """Log mixture weights, means and log-scales of every dimension's conditional, ``[N, K, D]`` each."""
        import torch

        out = self.net(z).view(-1, 3, MADE_COMPONENTS, self.dims)
        return torch.log_softmax(out[:, 0], 1), out[:, 1], out[:, 2].clamp(-7, 3)

    def train_step(self, target: Any) -> None:
        import torch

        log_weights, means, log_scales = self._conditionals(target)
        log_normal = (-0.5 * ((target[:, None] - means) * torch.exp(-log_scales)).pow(2) - log_scales
                      - 0.5 * math.log(2 * math.pi))
        loss = -torch.logsumexp(log_weights + log_normal, 1).mean()
        self.optimizer.zero_grad()
        loss.backward()
        self.optimizer.step()

    def sampler(self) -> Any:
        return self.net

    def draw(self, n: int, generator: Any) -> Any:
        import torch

        z = torch.zeros(n, self.dims)
        rows = torch.arange(n)
        with torch.no_grad():
            for d in range(self.dims):
                log_weights, means, log_scales = self._conditionals(z)
                component = torch.multinomial(log_weights[:, :, d].exp(), 1, generator=generator)[:, 0]
                noise = torch.randn(n, generator=generator)
                z[:, d] = means[rows, component, d] + torch.exp(log_scales[rows, component, d]) * noise
        return z


def _masked(c_in: int, c_out: int, mask: Any) -> Any:
    import torch.nn.functional as F
    from torch import nn

    class MaskedLinear(nn.Linear):
        def __init__(self) -> None:
            super().__init__(c_in, c_out)
            self.register_buffer("mask", mask.float())

        def forward(self, x: Any) -> Any:  # type: ignore[override]
            return F.linear(x, self.weight * self.mask, self.bias)

    return MaskedLinear()


if __name__ == "__main__":
    main()
