"""The embedded default dataset: compositions of coloured shapes, drawn procedurally.

Every image is a pure function of (seed, index, size), so the dataset needs no files, is identical
on every machine, and renders at any resolution with anti-aliased edges.
"""

from __future__ import annotations

import math
import random
from typing import Any

PALETTES = [
    ["#264653", "#2a9d8f", "#e9c46a", "#f4a261", "#e76f51"],
    ["#003049", "#d62828", "#f77f00", "#fcbf49", "#eae2b7"],
    ["#0b132b", "#1c2541", "#3a506b", "#5bc0be", "#ffffff"],
    ["#f72585", "#7209b7", "#3a0ca3", "#4361ee", "#4cc9f0"],
    ["#606c38", "#283618", "#fefae0", "#dda15e", "#bc6c25"],
    ["#ffbe0b", "#fb5607", "#ff006e", "#8338ec", "#3a86ff"],
]
SUPERSAMPLE = 4
#: the shape kinds, in the order of their label indices (``labels=largest``)
KINDS = ("circle", "square", "triangle", "bar")
#: each kind's area per squared radius (the polygons are inscribed in the radius; a bar is a squashed square)
AREA = {"circle": math.pi, "square": 2.0, "triangle": 3 * 3 ** 0.5 / 4, "bar": 2.0 * 0.35}


class ShapesDataset:
    def __init__(self, params: Any) -> None:
        self.params = params

    def __len__(self) -> int:
        return self.params.count

    def load(self, size: int, channels: int) -> Any:
        import numpy as np
        import torch

        images = np.stack([self.render(index, size) for index in range(self.params.count)])
        tensor = torch.from_numpy(images).permute(0, 3, 1, 2).contiguous()
        if channels == 1:
            grey = (tensor.float() * torch.tensor([0.299, 0.587, 0.114]).view(1, 3, 1, 1)).sum(1, keepdim=True)
            tensor = grey.round().clamp(0, 255).to(torch.uint8)
        elif channels == 4:
            tensor = torch.cat([tensor, torch.full_like(tensor[:, :1], 255)], 1)
        return tensor

    def render(self, index: int, size: int) -> Any:
        """One image as uint8 HxWx3."""
        import numpy as np
        from PIL import Image, ImageDraw

        big = size * SUPERSAMPLE
        background, shapes = self.composition(index)
        image = Image.new("RGB", (big, big), background)
        draw = ImageDraw.Draw(image)
        for kind, colour, radius, cx, cy, angle in shapes:
            radius, cx, cy = radius * big, cx * big, cy * big
            if kind == "circle":
                draw.ellipse([cx - radius, cy - radius, cx + radius, cy + radius], fill=colour)
            else:
                sides = {"square": 4, "triangle": 3, "bar": 4}[kind]
                stretch = 0.35 if kind == "bar" else 1.0
                points = []
                for j in range(sides):
                    theta = angle + 2 * math.pi * j / sides + math.pi / sides
                    x, y = math.cos(theta) * radius, math.sin(theta) * radius * stretch
                    points.append((cx + x * math.cos(angle) - y * math.sin(angle),
                                   cy + x * math.sin(angle) + y * math.cos(angle)))
                draw.polygon(points, fill=colour)
        image = image.resize((size, size), Image.Resampling.LANCZOS if size < big else Image.Resampling.NEAREST)
        return np.asarray(image, dtype=np.uint8)

    def composition(self, index: int) -> tuple[str, list[tuple[str, str, float, float, float, float]]]:
        """Image ``index``'s background colour and shapes (kind, colour, radius, centre x, y as shares of
        the side, angle), drawn from its own generator in a fixed order, so rendering and labelling agree."""
        rng = random.Random(self.params.seed * 1_000_003 + index)
        palette = rng.choice(PALETTES)
        colours = rng.sample(palette, len(palette))
        shapes = []
        count = rng.randint(self.params.min_shapes, self.params.max_shapes)
        for k in range(count):
            colour = colours[1 + k % (len(colours) - 1)]
            kind = rng.choice(KINDS)
            radius = rng.uniform(0.15, 0.32)
            cx, cy = rng.uniform(0.25, 0.75), rng.uniform(0.25, 0.75)
            angle = 0.0 if kind == "circle" else rng.uniform(0, 2 * math.pi)
            shapes.append((kind, colour, radius, cx, cy, angle))
        return colours[0], shapes

    # -- labels (genart.Labelled) -------------------------------------------------------------------
    def label_names(self) -> list[str]:
        """With ``labels=largest``: the shape kinds; else none (unlabelled)."""
        return list(KINDS) if self.params.labels == "largest" else []

    def labels(self) -> Any:
        """Each image's largest shape's kind (by drawn area; a later, smaller shape may cover part of it)."""
        import torch

        largest = []
        for index in range(self.params.count):
            _, shapes = self.composition(index)
            biggest = max(shapes, key=lambda shape: AREA[shape[0]] * shape[2] ** 2)
            largest.append(KINDS.index(biggest[0]))
        return torch.tensor(largest, dtype=torch.int64)
