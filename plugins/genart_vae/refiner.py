"""A learned refiner: a small convolutional network trained after the VAE to turn what its decoder
draws into what the training images look like.

Why: after a CPU minute the decoder knows where a shape is and what colour it has, but draws its
outline as a soft, round patch (the reconstructions of real images show it). Edges are a local
property: given the decoder's soft patch and the real image it came from, a few dilated 3x3
convolutions learn in seconds where the boundary goes and that both sides are flat. Trained with an L1
loss, the refiner predicts each pixel's conditional median, which is one side of an edge or the
other, never the average of both colours. It sees only the decoder's images, so it applies the same
way to samples, walks and reconstructions.

Training is deterministic and draws nothing from the global RNG (its own seeded generator picks
the batches), so a resumed run that ends in the same VAE weights ends with the same refiner.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch import nn

#: dilations of the body's 3x3 convolutions: a 21 px receptive field, most of a 32 px image
DILATIONS = (1, 2, 4, 2, 1)


class Refiner(nn.Module):
    """image -> image + correction (images in [0, 1]); the last layer starts at zero, so the
    untrained refiner is the identity and training starts from the decoder's own picture."""

    def __init__(self, channels: int, width: int) -> None:
        super().__init__()
        layers: list[nn.Module] = [nn.Conv2d(channels, width, 3, 1, 1), nn.SiLU()]
        for dilation in DILATIONS:
            layers += [nn.Conv2d(width, width, 3, 1, dilation, dilation=dilation), nn.SiLU()]
        last = nn.Conv2d(width, channels, 3, 1, 1)
        nn.init.zeros_(last.weight)
        nn.init.zeros_(last.bias)
        self.body = nn.Sequential(*layers, last)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.body(x * 2 - 1)


def train_refiner(refiner: Refiner, inputs: torch.Tensor, targets: torch.Tensor, steps: int, batch: int,
                  lr: float, progress: Callable[[int], None] | None = None) -> float:
    """Fit ``refiner`` to map ``inputs`` to ``targets`` (both ``[N, C, H, W]`` in [0, 1], on the
    refiner's device) by L1 with Adam, the rate decaying linearly to 0; returns the last loss."""
    with torch.enable_grad():
        return _fit(refiner, inputs, targets, steps, batch, lr, progress)


def _fit(refiner: Refiner, inputs: torch.Tensor, targets: torch.Tensor, steps: int, batch: int, lr: float,
         progress: Callable[[int], None] | None) -> float:
    generator = torch.Generator().manual_seed(0)
    optimizer = torch.optim.Adam(refiner.parameters(), lr=lr)
    refiner.train()
    loss = torch.zeros(())
    for step in range(steps):
        for group in optimizer.param_groups:
            group["lr"] = lr * (1 - step / steps)
        index = torch.randint(0, inputs.shape[0], (min(batch, inputs.shape[0]),), generator=generator)
        index = index.to(inputs.device)
        loss = F.l1_loss(refiner(inputs[index]), targets[index])
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        if progress is not None:
            progress(step)
    refiner.eval()
    return float(loss.detach())
