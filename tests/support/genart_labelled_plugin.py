"""A third-party-style plugin with labels: the ``tiles`` dataset (flat colour squares, one colour per class)
and the ``toy-cond`` model (a linear generator plus a learned image per class), for the core's label tests."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import genart
from genart import DatasetParams, Register, param

#: the tiles' colours, one per class
COLOURS = {"red": (230, 40, 30), "green": (30, 200, 60), "blue": (40, 60, 220), "yellow": (240, 220, 30)}


@dataclass
class TilesParams(DatasetParams):
    """Squares of one flat colour (with a little noise), labelled by colour."""

    count: int = param(24, "number of images")
    classes: int = param(3, "number of colours (classes), 1 to 4")
    labelled: bool = param(True, "give labels (false: label_names() is empty)")


@dataclass
class ToyCondParams:
    """A linear generator plus a learned image per class: learns each class's mean colour."""

    image_size: int = param(8, "image side")
    channels: int = param(3, "channels")
    lr: float = param(0.1, "Adam learning rate")
    deterministic: bool = param(False, "derive z from the batch instead of noise (for distributed tests)")


class Tiles:
    def __init__(self, params: TilesParams) -> None:
        self.params = params
        self.names = list(COLOURS)[: params.classes]

    def load(self, size: int, channels: int) -> Any:
        import torch

        generator = torch.Generator().manual_seed(2)
        colours = torch.tensor([COLOURS[name] for name in self.names], dtype=torch.float32)
        base = colours[self.classes()][:, :, None, None].expand(-1, -1, size, size)
        noisy = base + torch.randn(base.shape, generator=generator) * 6
        images = noisy.round().clamp(0, 255).to(torch.uint8)
        return images[:, :channels] if channels <= 3 else torch.cat([images, images[:, :1] * 0 + 255], 1)

    def label_names(self) -> list[str]:
        return list(self.names) if self.params.labelled else []

    def labels(self) -> Any:
        return self.classes()

    def classes(self) -> Any:
        import torch

        return torch.arange(self.params.count, dtype=torch.int64) % len(self.names)


class ToyCond:
    default_steps = 6
    default_batch_size = 4

    def __init__(self, params: ToyCondParams, context: Any) -> None:
        import torch

        self.params = params
        self.device = context.device
        self.image_shape = (params.channels, params.image_size, params.image_size)
        self.latent_shape = (4,)
        self.numel = params.channels * params.image_size**2
        self.net = torch.nn.Linear(4, self.numel).to(context.device)
        self.optimizer = torch.optim.Adam(self.net.parameters(), lr=params.lr)
        self.scaler = context.scaler
        self.names: list[str] = []
        self.classes: torch.nn.Embedding | None = None
        self.told = 0

    def set_classes(self, names: Sequence[str]) -> None:
        import torch

        self.told += 1
        self.names = list(names)
        self.classes = torch.nn.Embedding(len(self.names), self.numel).to(self.device)
        torch.nn.init.zeros_(self.classes.weight)
        self.optimizer.add_param_group({"params": self.classes.parameters()})

    def _images(self, z: Any, labels: Any = None) -> Any:
        import torch

        out = self.net(z)
        if labels is not None and self.classes is not None:
            out = out + self.classes(labels.to(out.device))
        return torch.sigmoid(out).view(-1, *self.image_shape)

    def _step(self, batch: Any, labels: Any) -> dict[str, float]:
        import torch

        if self.params.deterministic:
            z = batch.flatten(1)[:, :4] * 2 - 1
        else:
            z = torch.randn(batch.shape[0], 4, device=batch.device)
        loss = (self._images(z, labels) - batch).pow(2).mean()
        self.optimizer.zero_grad()
        self.scaler.backward(loss)
        self.scaler.step(self.optimizer)
        return {"mse": loss.item()}

    def train_step(self, batch: Any) -> dict[str, float]:
        return self._step(batch, None)

    def train_step_labelled(self, batch: Any, labels: Any) -> dict[str, float]:
        assert self.classes is not None, "train_step_labelled before set_classes"
        return self._step(batch, labels)

    def sample(self, n: int, generator: Any) -> Any:
        import torch

        return self._images(torch.randn(n, 4, generator=generator).to(self.device)).cpu()

    def sample_labelled(self, labels: Any, generator: Any) -> Any:
        import torch

        z = torch.randn(len(labels), 4, generator=generator).to(self.device)
        return self._images(z, labels).cpu()

    def decode(self, z: Any) -> Any:
        return self._images(z.to(self.device)).cpu()

    def decode_labelled(self, z: Any, weights: Any) -> Any:
        import torch

        assert self.classes is not None
        out = self.net(z.to(self.device)) + weights.to(self.device) @ self.classes.weight
        return torch.sigmoid(out).view(-1, *self.image_shape).cpu()

    def state_dict(self) -> dict[str, Any]:
        state = {"net": self.net.state_dict(), "opt": self.optimizer.state_dict()}
        if self.classes is not None:
            state["classes"] = self.classes.state_dict()
        return state

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.net.load_state_dict(state["net"])
        if self.classes is not None:
            self.classes.load_state_dict(state["classes"])
        self.optimizer.load_state_dict(state["opt"])


@genart.hookimpl
def register_models(register: Register) -> None:
    register("toy-cond", lambda p, c: ToyCond(p, c), params=ToyCondParams, description="tiny conditional model")


@genart.hookimpl
def register_datasets(register: Register) -> None:
    register("tiles", lambda p, c: Tiles(p), params=TilesParams, description="labelled colour squares")
