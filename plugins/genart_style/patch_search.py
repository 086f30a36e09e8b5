"""Patch banks and nearest-neighbour patch search for example-based style transfer.

A bank holds the patches of the style image(s) at one patch size: their top-left positions (the
pixels are gathered from the style canvas only when a patch is chosen, so a bank of tens of
thousands of 33 px patches costs a few MB) and their coordinates in a PCA basis of a few dozen
dimensions, in which the search runs. Search is a chunked matrix product (``|b|^2 - 2 q.b``) with
a running minimum, so memory is bounded by the chunk sizes whatever the image and bank sizes;
everything is plain torch and runs on whichever device the tensors are on.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence

import torch
import torch.nn.functional as F

BANK_LIMIT = 24_000  # most style patches per bank: the style grid's stride grows to stay under it
BANK_ELEMENTS = 2 ** 25  # and most patch pixels: large patches vary slowly, a coarser grid of them suffices
BUSY_QUANTILE = 0.75  # a bank patch whose contrast reaches this quantile of the bank's counts as a motif, not ground
PCA_SAMPLE = 2_000  # patches the PCA basis is estimated from
CANDIDATE_ELEMENTS = 2 ** 22  # patch pixels gathered at once when costing arbitrary source positions (``cost_at``)
SEARCH_ELEMENTS = 2 ** 24  # queries x bank entries per distance block (64 MiB of float32)
USAGE_BLOCKS = 256  # with the reuse penalty, queries are matched in about this many blocks (of at least
USAGE_BLOCK = 64  # this many queries), the style's coverage updated after each


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
        ys, xs, owners, cells = [], [], [], []
        grid_w = 0
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
            cells.append(torch.stack([yy.flatten() // stride, xx.flatten() // stride + grid_w]))
            grid_w += grid_x.numel() + math.ceil(size / stride)  # a gap, so coverage does not leak between styles
        if not ys:
            raise ValueError(f"no style image is at least {size} px on both sides")
        device = canvas.device
        self.ys, self.xs = torch.cat(ys).to(device), torch.cat(xs).to(device)
        # each patch's cell in a grid of the bank's positions (the styles side by side), where coverage is kept
        cell = torch.cat(cells, 1)
        self.grid = (int(cell[0].max()) + 1, grid_w)
        self.cell = (cell[0] * grid_w + cell[1]).to(device)
        self.overlap = _tent(size, stride).to(canvas)
        self.area = float(sum(h * w for (_, w, h), wt in zip(regions, weights, strict=True)
                              if h >= size and w >= size and wt > 0))
        owner = torch.cat(owners)
        top = max(weights)
        self.scale = torch.tensor([top / weights[i] for i in owner.tolist()], device=device)
        # each style's left edge and its last top-left corner (-1: too small or weight 0, no patch there) and
        # distance scale, so ``cost_at`` can price a patch at any position, on the bank's grid or not
        usable = [h >= size and w >= size and wt > 0 for (_, w, h), wt in zip(regions, weights, strict=True)]
        self.region_x0 = torch.tensor([x0 for x0, _, _ in regions], device=device)
        self.region_last = torch.tensor([[h - size, x0 + w - size] if ok else [-1, -1]
                                         for (x0, w, h), ok in zip(regions, usable, strict=True)], device=device)
        self.region_scale = torch.tensor([top / wt if ok else math.inf for wt, ok in zip(weights, usable, strict=True)],
                                         device=device)

        pick = torch.randperm(self.ys.shape[0], generator=generator)[:PCA_SAMPLE].to(device)
        sample = gather(canvas, self.ys[pick], self.xs[pick], size)
        self.mean = sample.mean(0, keepdim=True)
        self.axes = principal_axes(sample - self.mean, dims, generator)
        projected = list(self._project_regions(regions, weights, stride))
        self.coords = torch.cat([coords for coords, _ in projected])  # [m, dims]
        # 1 for a flat patch of the painting (its bare paper), 0 for one as busy as its busy quarter: what the
        # motif cost (``search``) charges, so a flat sky can be painted with the painting's motifs
        contrast = torch.cat([var for _, var in projected])
        busy = torch.quantile(contrast, BUSY_QUANTILE).clamp_min(1e-8)
        self.busy = float(busy)
        self.plainness = (1 - contrast / busy).clamp(0, 1)
        self.norms = self.coords.pow(2).sum(1)
        # mean squared distance of the bank's patches to their mean (PCA space): the unit of the reuse
        # penalty, so one setting means the same for a flat and for a busy painting
        self.spread = float(self.norms.mean().clamp_min(1e-8))

    def _project_regions(self, regions: Sequence[tuple[int, int, int]], weights: Sequence[float],
                         stride: int) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        """PCA coordinates of every bank patch, in the order of ``ys``/``xs``: each style is unfolded (im2col,
        far faster than gathering) a band of patch rows at a time, so memory stays bounded; with each, its
        contrast (pixel variance, mean over channels)."""
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
                unfolded = F.unfold(strip, size, stride=stride)[0].T
                yield self.project(unfolded), unfolded.view(unfolded.shape[0], 3, -1).var(2).mean(1)

    def __len__(self) -> int:
        return int(self.ys.shape[0])

    def project(self, patches: torch.Tensor) -> torch.Tensor:
        return (patches - self.mean) @ self.axes

    def nearest(self, patches: torch.Tensor) -> torch.Tensor:
        """Index of the nearest bank patch for each row of ``patches`` ``[n, d]`` (full pixels)."""
        return self.search(self.project(patches))

    def search(self, q: torch.Tensor, penalty: float = 0.0, generator: torch.Generator | None = None,
               regions: torch.Tensor | None = None, scale: torch.Tensor | None = None,
               plain_cost: torch.Tensor | None = None) -> torch.Tensor:
        """Index of the nearest bank patch for each row of ``q`` ``[n, dims]`` (PCA coordinates).

        With ``penalty`` > 0 the search spreads over the painting instead of copying its best-fitting area
        everywhere (a flat sky would otherwise take one flat patch of the painting's sky, and nothing else):
        the queries are matched in a random order (``generator``), a block at a time, and after each block
        every style pixel knows how many chosen patches cover it. A candidate's distance grows by ``penalty``
        times the bank's spread times its mean coverage over the coverage a uniform use of the style would
        give. After the uniform patch usage of Jamriska et al. (2015, "LazyFluids") and the occurrence
        penalty of Kaspar et al. (2015, "Self tuning texture optimization"); counting pixels rather than
        patches matters, as the overlapping neighbours of a chosen patch are nearly the same patch.
        ``regions`` (``[n]`` ints) keeps a coverage per region of the output, so each region on its own
        has to use the painting evenly (a sky region cannot be all sky); ``scale`` (``[n]``) weighs the
        penalty per query. Queries of one block do not see each other's choices, so identical queries in a
        block still take the same patch: the blocks are kept small (``USAGE_BLOCK``).

        ``plain_cost`` (``[n]``) adds that much times a candidate's ``plainness`` to its distance: a query
        with a high cost (a flat sky) takes the painting's busy patches (its motifs: crests, swirls) rather
        than its bare ground, which is the nearest match in colour. It depends on each query alone, so
        it keeps the result independent of the matching order."""
        q_norms = q.pow(2).sum(1, keepdim=True)
        m, n = self.coords.shape[0], q.shape[0]
        block = max(1, SEARCH_ELEMENTS // m)
        order = None
        if regions is None:
            regions = torch.zeros(n, dtype=torch.long, device=q.device)
        if penalty > 0:
            count = int(regions.max()) + 1
            per_region = torch.bincount(regions, minlength=count).to(q.dtype)
            # style pixel coverage if each region used all of the style alike (at least once)
            uniform = (per_region * self.size ** 2 / self.area).clamp_min(1.0)
            cost = (penalty * self.spread / uniform)[:, None]
            block = min(block, max(USAGE_BLOCK, math.ceil(n / USAGE_BLOCKS)))
            order = torch.randperm(n, generator=generator).to(q.device)
            cells = self.grid[0] * self.grid[1]
            cover = torch.zeros(count * cells, device=q.device, dtype=q.dtype)
            costs = torch.zeros(count, m, device=q.device, dtype=q.dtype)
        best = torch.empty(n, dtype=torch.long, device=q.device)
        for start in range(0, n, block):
            rows = order[start:start + block] if order is not None else slice(start, start + block)
            dist = torch.addmm(self.norms[None, :], q[rows], self.coords.T, alpha=-2.0)
            dist = (dist + q_norms[rows]).clamp_min_(0) * self.scale[None, :]
            if plain_cost is not None:
                dist += plain_cost[rows, None] * self.plainness[None, :]
            if order is not None:
                dist += costs[regions[rows]] if scale is None else costs[regions[rows]] * scale[rows, None]
            found = dist.argmin(1)
            best[rows] = found
            if order is not None:
                cover += torch.bincount(regions[rows] * cells + self.cell[found], minlength=cover.numel()).to(cover)
                spread = F.conv2d(cover.view(count, 1, *self.grid), self.overlap, padding=self.overlap.shape[-1] // 2)
                costs = cost * spread.view(count, cells)[:, self.cell]
        return best

    def cost_at(self, q: torch.Tensor, ys: torch.Tensor, xs: torch.Tensor,
                plain_cost: torch.Tensor | None = None) -> torch.Tensor:
        """``[n]`` cost of copying the style patch with top-left corner ``(ys, xs)`` (any canvas position,
        not only the bank's grid) for the query of PCA coordinates ``q`` ``[n, dims]``: the squared PCA
        distance times its style's weight scale, plus ``plain_cost`` times the patch's plainness, as in
        ``search`` (without the reuse penalty); ``inf`` where the patch does not lie inside one style."""
        size, canvas = self.size, self.canvas
        owner = (torch.searchsorted(self.region_x0, xs, right=True) - 1).clamp_min(0)
        last = self.region_last[owner]
        valid = (ys >= 0) & (ys <= last[:, 0]) & (xs >= self.region_x0[owner]) & (xs <= last[:, 1])
        scale = self.region_scale[owner]
        out = torch.full((q.shape[0],), math.inf, device=q.device, dtype=q.dtype)
        chunk = max(1, CANDIDATE_ELEMENTS // (canvas.shape[0] * size * size))
        for start in range(0, q.shape[0], chunk):
            rows = slice(start, start + chunk)
            patches = self.patches_at(ys[rows], xs[rows])
            cost = (q[rows] - self.project(patches)).pow(2).sum(1) * scale[rows]
            if plain_cost is not None:
                contrast = patches.view(patches.shape[0], canvas.shape[0], -1).var(2).mean(1)
                cost = cost + plain_cost[rows] * (1 - contrast / self.busy).clamp(0, 1)
            out[rows] = torch.where(valid[rows], cost, math.inf)
        return out

    def patches(self, index: torch.Tensor) -> torch.Tensor:
        """The full-resolution bank patches ``[n, d]`` at ``index``."""
        return gather(self.canvas, self.ys[index], self.xs[index], self.size)

    def patches_at(self, ys: torch.Tensor, xs: torch.Tensor) -> torch.Tensor:
        """The full-resolution style patches ``[n, d]`` with top-left corners ``(ys, xs)`` (clamped to the canvas)."""
        size = self.size
        return gather(self.canvas, ys.clamp(0, self.canvas.shape[-2] - size), xs.clamp(0, self.canvas.shape[-1] - size),
                      size)


def _tent(size: int, stride: int) -> torch.Tensor:
    """``[1, 1, k, k]``: the share of a ``size`` px patch that a patch ``(dy, dx)`` grid steps away overlaps,
    ``(1 - |dy| stride / size)(1 - |dx| stride / size)``: convolved with the chosen patches' cells it gives each
    candidate its mean coverage (1: it lies exactly on one chosen patch)."""
    reach = max(0, math.ceil(size / stride) - 1)
    steps = torch.arange(-reach, reach + 1, dtype=torch.float32)
    line = (1 - steps.abs() * stride / size).clamp_min(0)
    return (line[:, None] * line[None, :])[None, None]
