"""The default ``restore``: look at each picture, then denoise, deblock, or leave it alone.

A fixed chain of filters cannot be safe on every input (sharpening amplifies noise and draws halos), so the
default only runs a learned task when ``detect.diagnose`` finds the damage it was trained to remove, and
returns the picture unchanged otherwise: it never makes a clean picture worse.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import torch

from .detect import diagnose


class AutoRestorer:
    def __init__(self, params: Any, device: torch.device) -> None:
        self.params = params
        self.device = device
        self._learned: dict[str, Any] = {}
        self.last_choices: list[str] = []  # per image of the last call, for tests and reports

    def learned(self, task: str) -> Any:
        """Load a task's network the first time a picture needs it (clean batches load nothing)."""
        if task not in self._learned:
            from .learned import LearnedRestorer

            self._learned[task] = LearnedRestorer(dataclasses.replace(self.params, task=task), self.device)
        return self._learned[task]

    def __call__(self, images: torch.Tensor) -> torch.Tensor:
        images = images.float()
        c = images.shape[1]
        colour = images[:, : c - 1] if c in (2, 4) else images
        choices = diagnose(colour) if self.params.strength > 0 else ["none"] * images.shape[0]
        self.last_choices = choices
        out = images.clamp(0, 1).clone()
        for task in ("denoise", "jpeg"):
            index = [i for i, choice in enumerate(choices) if choice == task]
            if index:
                picked = torch.tensor(index)
                out[picked] = self.learned(task)(images[picked])
        return out
