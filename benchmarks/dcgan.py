"""The baseline the GAN benchmarks compare genart against: the classic DCGAN recipe as a plain loop.

The recipe most tutorials copy (the PyTorch DCGAN example): transposed-conv G with BatchNorm + ReLU,
conv D with BatchNorm + LeakyReLU, BCE, Adam lr 2e-4 beta1 0.5, z of 100, N(0, 0.02) init, no
augmentation, no EMA, fp32; at 28 px grey for MNIST (gan_vs_dcgan, gan_overfitting) and at 64 px colour
for a folder of pictures (own_images_bench). Trained for a wall-clock budget, like genart's side
(benchmarks.common.train_genart).
"""

from __future__ import annotations

import time
from typing import Any

import torch
from torch import nn

#: the recipe's batch and latent size
BATCH = 64
NZ = 100


# -- 28 px grey (MNIST) --------------------------------------------------------------------------------
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


# -- 64 px colour ------------------------------------------------------------------------------------
class DCGAN64Generator(nn.Module):
    def __init__(self, channels: int = 3, ngf: int = 64) -> None:
        super().__init__()
        layers: list[nn.Module] = [nn.ConvTranspose2d(NZ, ngf * 8, 4, 1, 0, bias=False), nn.BatchNorm2d(ngf * 8),
                                   nn.ReLU(True)]
        for c_in, c_out in ((ngf * 8, ngf * 4), (ngf * 4, ngf * 2), (ngf * 2, ngf)):
            layers += [nn.ConvTranspose2d(c_in, c_out, 4, 2, 1, bias=False), nn.BatchNorm2d(c_out), nn.ReLU(True)]
        layers += [nn.ConvTranspose2d(ngf, channels, 4, 2, 1, bias=False), nn.Tanh()]
        self.net = nn.Sequential(*layers)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.net(z.view(z.shape[0], -1, 1, 1))


class DCGAN64Discriminator(nn.Module):
    def __init__(self, channels: int = 3, ndf: int = 64) -> None:
        super().__init__()
        layers: list[nn.Module] = [nn.Conv2d(channels, ndf, 4, 2, 1, bias=False), nn.LeakyReLU(0.2, True)]
        for c_in, c_out in ((ndf, ndf * 2), (ndf * 2, ndf * 4), (ndf * 4, ndf * 8)):
            layers += [nn.Conv2d(c_in, c_out, 4, 2, 1, bias=False), nn.BatchNorm2d(c_out), nn.LeakyReLU(0.2, True)]
        layers += [nn.Conv2d(ndf * 8, 1, 4, 1, 0, bias=False)]
        self.net = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x).view(-1)


def train_dcgan64(data: torch.Tensor, budget: float, seed: int) -> dict[str, Any]:
    torch.manual_seed(seed)
    channels = data.shape[1]
    g, d = DCGAN64Generator(channels), DCGAN64Discriminator(channels)
    g.apply(dcgan_init)
    d.apply(dcgan_init)
    opt_g = torch.optim.Adam(g.parameters(), lr=2e-4, betas=(0.5, 0.999))
    opt_d = torch.optim.Adam(d.parameters(), lr=2e-4, betas=(0.5, 0.999))
    bce = nn.BCEWithLogitsLoss()
    n, steps, position = data.shape[0], 0, 0
    order = torch.randperm(n)
    started = time.perf_counter()
    while time.perf_counter() - started < budget:
        if position + BATCH > n:
            order, position = torch.randperm(n), 0
        real = data[order[position:position + BATCH]].float() / 127.5 - 1
        position += BATCH
        dcgan_step(g, d, opt_g, opt_d, bce, real, NZ)
        steps += 1
    seconds = time.perf_counter() - started
    return {"g": g, "steps": steps, "seconds": seconds, "images_per_s": steps * BATCH / seconds}


@torch.no_grad()
def sample_dcgan64(g: nn.Module, n: int, seed: int) -> torch.Tensor:
    g.train()  # batch statistics, as the PyTorch example samples
    generator = torch.Generator().manual_seed(seed)
    chunks = [g(torch.randn(min(BATCH, n - s), NZ, generator=generator)) for s in range(0, n, BATCH)]
    return ((torch.cat(chunks) + 1) / 2).clamp(0, 1)
