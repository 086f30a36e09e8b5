"""The convolutional VAE."""

from __future__ import annotations

from typing import Any

import torch
from torch import nn


def _encoder(channels: int, width: int, levels: int) -> nn.Sequential:
    layers: list[nn.Module] = []
    c_in = channels
    for level in range(levels):
        c_out = width * 2**level
        layers += [nn.Conv2d(c_in, c_out, 4, 2, 1), nn.GroupNorm(min(8, c_out), c_out), nn.SiLU(),
                   nn.Conv2d(c_out, c_out, 3, 1, 1), nn.SiLU()]
        c_in = c_out
    return nn.Sequential(*layers)


def _decoder(channels: int, width: int, levels: int) -> nn.Sequential:
    layers: list[nn.Module] = []
    for level in reversed(range(levels)):
        c_in = width * 2**level
        c_out = width * 2 ** max(level - 1, 0)
        layers += [nn.ConvTranspose2d(c_in, c_out, 4, 2, 1), nn.GroupNorm(min(8, c_out), c_out), nn.SiLU(),
                   nn.Conv2d(c_out, c_out, 3, 1, 1), nn.SiLU()]
    layers.append(nn.Conv2d(width, channels, 3, 1, 1))
    return nn.Sequential(*layers)


class VAENet(nn.Module):
    def __init__(self, channels: int, size: int, latent: int, width: int) -> None:
        super().__init__()
        self.levels = 3 if size % 8 == 0 else 2
        self.base = size // 2**self.levels
        self.top = width * 2 ** (self.levels - 1)
        self.encoder = _encoder(channels, width, self.levels)
        flat = self.top * self.base * self.base
        self.to_stats = nn.Linear(flat, 2 * latent)
        self.from_latent = nn.Linear(latent, flat)
        self.decoder = _decoder(channels, width, self.levels)

    def encode(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        mean, log_var = self.to_stats(self.encoder(x).flatten(1)).chunk(2, dim=1)
        return mean, log_var.clamp(-12, 8)

    def decode_logits(self, z: torch.Tensor) -> torch.Tensor:
        h = self.from_latent(z).view(-1, self.top, self.base, self.base)
        return self.decoder(torch.nn.functional.silu(h))


class VAE:
    """Trains by maximising the ELBO; samples by decoding draws from the standard normal prior."""

    default_steps = 1000
    default_batch_size = 64

    def __init__(self, params: Any, context: Any) -> None:
        self.params = params
        self.device = context.device
        self.image_shape = (params.channels, params.image_size, params.image_size)
        self.latent_shape = (params.latent,)
        self.net = VAENet(params.channels, params.image_size, params.latent, params.width).to(self.device)
        self.recon_nll = context.build("loss", params.loss)
        self.optimizer = torch.optim.Adam(self.net.parameters(), lr=params.lr)

    def elbo_terms(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        mean, log_var = self.net.encode(x)
        z = mean + torch.randn_like(mean) * (0.5 * log_var).exp()
        recon = self.recon_nll(self.net.decode_logits(z), x)
        kl = 0.5 * (mean.float().pow(2) + log_var.float().exp() - 1 - log_var.float()).sum(1)
        return recon, kl

    def train_step(self, batch: torch.Tensor) -> dict[str, float]:
        self.net.train()
        recon, kl = self.elbo_terms(batch)
        loss = (recon + self.params.beta * kl).mean()
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        self.optimizer.step()
        return {"loss": loss.item(), "recon": recon.mean().item(), "kl": kl.mean().item()}

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        self.net.eval()
        return torch.sigmoid(self.net.decode_logits(z.to(self.device)).float())

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        self.net.eval()
        return self.net.encode(x.to(self.device))[0]

    def sample(self, n: int, generator: torch.Generator) -> torch.Tensor:
        z = torch.randn(n, *self.latent_shape, generator=generator)
        return self.decode(z)

    def state_dict(self) -> dict[str, Any]:
        return {"net": self.net.state_dict(), "optimizer": self.optimizer.state_dict()}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.net.load_state_dict(state["net"])
        self.optimizer.load_state_dict(state["optimizer"])
