"""A tiny third-party-style plugin used by the core tests."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import genart
from genart import DatasetParams, Register, param


@dataclass
class ToyModelParams:
    """A linear generator trained to match the data mean: tiny, fast and fully deterministic."""

    image_size: int = param(8, "image side")
    channels: int = param(3, "channels")
    lr: float = param(0.1, "learning rate")
    blowup: int = param(0, "make the loss NaN at this step (0: never), to test divergence handling")
    deterministic: bool = param(False, "derive z from the batch instead of noise (for distributed tests)")
    spike: int = param(0, "multiply the loss by 1e35 at this step (0: never): scaled gradients overflow")


@dataclass
class DotsParams(DatasetParams):
    """Deterministic random images."""

    count: int = param(20, "number of images")


@dataclass
class InvertParams:
    """Invert colours."""

    amount: float = param(1.0, "blend between input (0) and inverted (1)")


class ToyModel:
    default_steps = 6
    default_batch_size = 4

    def __init__(self, params: ToyModelParams, context: Any) -> None:
        import torch

        self.params = params
        self.image_shape = (params.channels, params.image_size, params.image_size)
        self.latent_shape = (4,)
        numel = params.channels * params.image_size**2
        self.net = torch.nn.Linear(4, numel).to(context.device)
        self.optimizer = torch.optim.SGD(self.net.parameters(), lr=params.lr, momentum=0.9)
        self.scaler = context.scaler
        self.steps = 0

    def train_step(self, batch: Any) -> dict[str, float]:
        import torch

        self.steps += 1
        if self.params.deterministic:
            z = batch.flatten(1)[:, :4] * 2 - 1
        else:
            z = torch.randn(batch.shape[0], 4, device=batch.device)
        out = torch.sigmoid(self.net(z)).view_as(batch)
        loss = (out - batch).pow(2).mean()
        if self.params.blowup and self.steps >= self.params.blowup:
            loss = loss * float("nan")
        if self.params.spike and self.steps == self.params.spike:
            loss = loss * 1e35
        self.optimizer.zero_grad()
        self.scaler.backward(loss)
        self.scaler.step(self.optimizer)
        return {"mse": loss.item()}

    def decode(self, z: Any) -> Any:
        import torch

        return torch.sigmoid(self.net(z)).view(-1, *self.image_shape)

    def sample(self, n: int, generator: Any) -> Any:
        import torch

        return self.decode(torch.randn(n, 4, generator=generator))

    def state_dict(self) -> dict[str, Any]:
        return {"net": self.net.state_dict(), "opt": self.optimizer.state_dict(), "steps": self.steps}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.net.load_state_dict(state["net"])
        self.optimizer.load_state_dict(state["opt"])
        self.steps = state["steps"]


class Dots:
    def __init__(self, params: DotsParams) -> None:
        self.params = params

    def load(self, size: int, channels: int) -> Any:
        import torch

        generator = torch.Generator().manual_seed(1)
        return torch.randint(0, 256, (self.params.count, channels, size, size), generator=generator,
                             dtype=torch.uint8)


def invert(params: InvertParams, context: Any) -> Any:
    def apply(images: Any) -> Any:
        return images + params.amount * (1 - 2 * images)

    return apply


@genart.hookimpl
def register_models(register: Register) -> None:
    register("toy", lambda p, c: ToyModel(p, c), params=ToyModelParams, description="tiny test model")


@genart.hookimpl
def register_datasets(register: Register) -> None:
    register("dots", lambda p, c: Dots(p), params=DotsParams, description="random test images")


@genart.hookimpl
def register_post_processors(register: Register) -> None:
    register("invert", invert, params=InvertParams, description="invert colours")
