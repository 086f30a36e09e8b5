"""Patch banks and nearest-neighbour patch search for example-based style transfer.

A bank holds the patches of the style image(s) at one patch size: their top-left positions (the
pixels are gathered from the style canvas only when a patch is chosen, so a bank of tens of
thousands of 33 px patches costs a few MB) and their coordinates in a PCA basis of a few dozen
dimensions, in which the search runs. Search is a chunked matrix product (``|b|^2 - 2 q.b``) with
a running minimum, so memory is bounded by the chunk sizes whatever the image and bank sizes;
everything is plain torch and runs on whichever device the tensors are on.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

import torch
import torch.nn.functional as F

BANK_LIMIT = 24_000  # most style patches per bank: the style grid's stride grows to stay under it
BANK_ELEMENTS = 2 ** 25  # and most patch pixels: large patches vary slowly, a coarser grid of them suffices
PCA_SAMPLE = 2_000  # patches the PCA basis is estimated from
SEARCH_ELEMENTS = 2 ** 24  # queries x bank entries per distance block (64 MiB of float32)


def gather(canvas: torch.Tensor, ys: torch.Tensor, xs: torch.Tensor, size: int) -> torch.Tensor:
    """``[n, C*size*size]`` patches of ``canvas`` ``[C, H, W]`` with top-left corners ``(ys, xs)``,
    flattened in the order ``F.unfold`` uses (channel, row, column)."""
    offsets = torch.arange(size, device=canvas.device)
    rows = (ys[:, None] + offsets)[:, :, None]
    cols = (xs[:, None] + offsets)[:, None, :]
    patches = canvas[:, rows, cols]  # [C, n, size, size]
    return patches.permute(1, 0, 2, 3).reshape(ys.shape[0], -1)


def principal_axes(sample: torch.Tensor, dims: int, generator: torch.Generator) -> torch.Tensor:
    """The ``dims`` leading principal directions (``[d, dims]``) of centred rows, by a randomised range
    finder with one power iteration (Halko et al. 2011): a full eigendecomposition of a 3267 x 3267
    covariance (33 px RGB patches) would cost seconds, this costs milliseconds, and the seeded
    generator keeps it deterministic."""
    d = sample.shape[1]
    dims = min(dims, d, sample.shape[0])
    probe = torch.randn(d, min(d, dims + 8), generator=generator).to(sample)
    basis = torch.linalg.qr(sample @ probe).Q
    for _ in range(1):
        basis = torch.linalg.qr(sample @ torch.linalg.qr(sample.T @ basis).Q).Q
    small = basis.T @ sample  # [q, d]
    _, _, vh = torch.linalg.svd(small, full_matrices=False)
    return vh[:dims].T.contiguous()


class PatchBank:
    """The style patches of one size, searchable by nearest neighbour in PCA space.

    ``canvas`` ``[3, H, W]`` holds the style images side by side; ``regions`` gives each style's
    ``(x0, width, height)`` in it and ``weights`` its blend weight. A style of weight w has its
    squared distances divided by ``w / max(w)``, so a heavier style's patches win more often.
    """

    def __init__(self, canvas: torch.Tensor, regions: Sequence[tuple[int, int, int]], weights: Sequence[float],
                 size: int, dims: int, generator: torch.Generator) -> None:
        self.canvas, self.size = canvas, size
        ys, xs, owners = [], [], []
        total = sum((h - size + 1) * (w - size + 1) for _, w, h in regions if h >= size and w >= size)
        stride = 1
        limit = min(BANK_LIMIT, BANK_ELEMENTS // (canvas.shape[0] * size * size))
        while total / stride ** 2 > limit:
            stride += 1
        for index, (x0, w, h) in enumerate(regions):
            if h < size or w < size or weights[index] <= 0:
                continue
            grid_y = torch.arange(0, h - size + 1, stride)
            grid_x = torch.arange(0, w - size + 1, stride)
            yy, xx = torch.meshgrid(grid_y, grid_x, indexing="ij")
            ys.append(yy.flatten())
            xs.append(xx.flatten() + x0)
            owners.append(torch.full((yy.numel(),), index))
        if not ys:
            raise ValueError(f"no style image is at least {size} px on both sides")
        device = canvas.device
        self.ys, self.xs = torch.cat(ys).to(device), torch.cat(xs).to(device)
        owner = torch.cat(owners)
        top = max(weights)
        self.scale = torch.tensor([top / weights[i] for i in owner.tolist()], device=device)

        pick = torch.randperm(self.ys.shape[0], generator=generator)[:PCA_SAMPLE].to(device)
        sample = gather(canvas, self.ys[pick], self.xs[pick], size)
        self.mean = sample.mean(0, keepdim=True)
        self.axes = principal_axes(sample - self.mean, dims, generator)
        self.coords = torch.cat(list(self._project_regions(regions, weights, stride)))  # [m, dims]
        self.norms = self.coords.pow(2).sum(1)

    def _project_regions(self, regions: Sequence[tuple[int, int, int]], weights: Sequence[float],
                         stride: int) -> Iterator[torch.Tensor]:
        """PCA coordinates of every bank patch, in the order of ``ys``/``xs``: each style is unfolded (im2col,
        far faster than gathering) a band of patch rows at a time, so memory stays bounded."""
        size = self.size
        for (x0, w, h), weight in zip(regions, weights, strict=True):
            if h < size or w < size or weight <= 0:
                continue
            rows = (h - size) // stride + 1
            cols = (w - size) // stride + 1
            band = max(1, SEARCH_ELEMENTS // (cols * 3 * size * size))
            for first in range(0, rows, band):
                count = min(band, rows - first)
                top = first * stride
                strip = self.canvas[None, :, top:top + (count - 1) * stride + size, x0:x0 + (cols - 1) * stride + size]
                yield self.project(F.unfold(strip, size, stride=stride)[0].T)

    def __len__(self) -> int:
        return int(self.ys.shape[0])

    def project(self, patches: torch.Tensor) -> torch.Tensor:
        return (patches - self.mean) @ self.axes

    def nearest(self, patches: torch.Tensor) -> torch.Tensor:
        """Index of the nearest bank patch for each row of ``patches`` ``[n, d]`` (full pixels)."""
        q = self.project(patches)
        q_norms = q.pow(2).sum(1, keepdim=True)
        m = self.coords.shape[0]
        block = max(1, SEARCH_ELEMENTS // m)
        best = torch.empty(q.shape[0], dtype=torch.long, device=q.device)
        for start in range(0, q.shape[0], block):
            chunk = q[start:start + block]
            dist = torch.addmm(self.norms[None, :], chunk, self.coords.T, alpha=-2.0)
            dist = (dist + q_norms[start:start + block]).clamp_min_(0) * self.scale[None, :]
            best[start:start + block] = dist.argmin(1)
        return best

    def patches(self, index: torch.Tensor) -> torch.Tensor:
        """The full-resolution bank patches ``[n, d]`` at ``index``."""
        return gather(self.canvas, self.ys[index], self.xs[index], self.size)
