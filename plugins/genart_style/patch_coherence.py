"""Coherent patch matching: neighbouring output patches copy neighbouring parts of the painting.

A plain nearest-neighbour search picks every output patch on its own, so a wave crest in the output is
averaged from fragments of unrelated crests and comes out as a blob. Coherence (Ashikhmin 2001,
"Synthesizing natural textures"; Hertzmann et al. 2001, "Image analogies") prefers, for each output
patch, the painting position its already-matched neighbours imply (the neighbour's source shifted by
the grid step) whenever that costs at most ``1 + kappa`` times the best match: the overlapping copies
then agree pixel for pixel and a motif larger than one patch is copied whole.

The scanline order of those papers does not vectorise, so here the grid of query patches is updated in
red-black order (a checkerboard, each colour from its neighbours of the other colour, a few passes:
PatchMatch's propagation, Barnes et al. 2009, made parallel). The matches of the previous round are kept
in a ``MatchField`` and offered as one more candidate, so coherent copies survive from round to round,
from large patches to small ones and from a coarse level to the next (where they are scaled up): a
crest laid out at the coarse level is then copied at full resolution as one piece.
"""

from __future__ import annotations

import torch

from .patch_search import PatchBank

NEIGHBOURS = ((-1, 0), (1, 0), (0, -1), (0, 1))
PASSES = 3  # red-black propagation passes per search (coherent areas grow by about two patches per pass)


class MatchField:
    """The last search's matches: the query grid's centres (output pixels) and each query's source centre
    (style canvas pixels), with the sizes they were taken at, so a later grid (another offset, patch size
    or level) can ask what they imply for its own queries."""

    def __init__(self) -> None:
        self.cy: torch.Tensor | None = None

    def record(self, cy: torch.Tensor, cx: torch.Tensor, src_y: torch.Tensor, src_x: torch.Tensor,
               out_shape: tuple[int, int], canvas_shape: tuple[int, int]) -> None:
        """``cy`` ``[rows]``, ``cx`` ``[cols]``: output centres; ``src_y``, ``src_x`` ``[rows, cols]``: sources."""
        self.cy, self.cx = cy.float(), cx.float()
        self.src_y, self.src_x = src_y.float(), src_x.float()
        self.out_shape, self.canvas_shape = out_shape, canvas_shape

    def prior(self, cy: torch.Tensor, cx: torch.Tensor, out_shape: tuple[int, int],
              canvas_shape: tuple[int, int]) -> tuple[torch.Tensor, torch.Tensor] | None:
        """Source centres ``[rows, cols]`` the recorded matches imply for queries centred at ``cy`` x ``cx``
        (long): the nearest recorded query's source, moved by the distance to it. A field recorded at a
        coarser level is scaled first (output and canvas each by their own ratio; patches copy pixels 1:1
        within a level, so the move itself is not scaled). None if nothing is recorded."""
        if self.cy is None:
            return None
        fy, fx = out_shape[0] / self.out_shape[0], out_shape[1] / self.out_shape[1]
        gy, gx = canvas_shape[0] / self.canvas_shape[0], canvas_shape[1] / self.canvas_shape[1]
        old_y, old_x = self.cy * fy, self.cx * fx
        iy, ix = _nearest(old_y, cy.float()), _nearest(old_x, cx.float())
        src_y = self.src_y[iy][:, ix] * gy + (cy.float() - old_y[iy])[:, None]
        src_x = self.src_x[iy][:, ix] * gx + (cx.float() - old_x[ix])[None, :]
        return src_y.round().long(), src_x.round().long()


def _nearest(grid: torch.Tensor, values: torch.Tensor) -> torch.Tensor:
    """Index of the nearest entry of the evenly spaced, increasing ``grid`` for each of ``values``."""
    if grid.numel() < 2:
        return torch.zeros(values.shape, dtype=torch.long, device=values.device)
    step = grid[1] - grid[0]
    return ((values - grid[0]) / step).round().long().clamp(0, grid.numel() - 1)


def propagate(bank: PatchBank, q: torch.Tensor, ys: torch.Tensor, xs: torch.Tensor, shape: tuple[int, int],
              stride: int, kappa: float | torch.Tensor, plain_cost: torch.Tensor | None = None,
              prior: tuple[torch.Tensor, torch.Tensor] | None = None,
              passes: int | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """Coherent top-left corners ``(ys, xs)`` ``[n]`` for the query grid ``shape`` = (rows, cols) (row-major,
    ``stride`` px apart) of PCA coordinates ``q`` ``[n, dims]``, starting from the nearest-neighbour matches
    ``(ys, xs)``.

    Each pass visits the two colours of a checkerboard in turn; a query takes the cheapest of the sources
    its four neighbours imply (and the ``prior`` top-left corners, ``[rows, cols]``, from an earlier round)
    if that costs at most ``1 + kappa`` times its own nearest match, and its nearest match otherwise. Costs
    are ``PatchBank.cost_at``'s, so the motif cost (``plain_cost``) counts as in the search. Deterministic:
    no randomness, and the result does not depend on how the work is chunked. ``kappa`` may be one value per
    query; a query whose ``kappa`` is 0 keeps its nearest match (the search's, which paid the reuse penalty:
    a neighbour's cheaper implied source would undo that penalty's spreading); ``passes`` defaults to
    ``PASSES``."""
    rows, cols = shape
    if isinstance(kappa, torch.Tensor):
        kappa = kappa.view(rows, cols)
    own_y, own_x = ys.view(rows, cols), xs.view(rows, cols)
    limit = (1 + kappa) * bank.cost_at(q, ys, xs, plain_cost).view(rows, cols)
    ii, jj = torch.meshgrid(torch.arange(rows, device=q.device), torch.arange(cols, device=q.device), indexing="ij")
    # the two checkerboard colours' query indices, the same in every pass
    colours = [cells for c in (0, 1) if (cells := ((ii + jj) % 2 == c).flatten().nonzero().squeeze(1)).numel()]
    fixed: list[tuple[torch.Tensor, torch.Tensor, torch.Tensor]] = []
    if prior is not None:
        fixed.append((*prior, bank.cost_at(q, prior[0].flatten(), prior[1].flatten(), plain_cost).view(rows, cols)))
    cur_y, cur_x = own_y.clone(), own_x.clone()
    for _ in range(PASSES if passes is None else passes):
        for cells in colours:
            ci, cj = cells // cols, cells % cols
            cand_y, cand_x, costs = [], [], []
            for di, dj in NEIGHBOURS:
                ni, nj = ci + di, cj + dj
                inside = (ni >= 0) & (ni < rows) & (nj >= 0) & (nj < cols)
                ni, nj = ni.clamp(0, rows - 1), nj.clamp(0, cols - 1)
                y = cur_y[ni, nj] - di * stride
                x = cur_x[ni, nj] - dj * stride
                cost = bank.cost_at(q[cells], y, x, None if plain_cost is None else plain_cost[cells])
                cand_y.append(y)
                cand_x.append(x)
                costs.append(torch.where(inside, cost, torch.inf))
            for y_f, x_f, cost_f in fixed:
                cand_y.append(y_f[ci, cj])
                cand_x.append(x_f[ci, cj])
                costs.append(cost_f[ci, cj])
            cost_all = torch.stack(costs)  # [k, cells]
            best, pick = cost_all.min(0)
            take = (best <= limit[ci, cj]) & (kappa[ci, cj] > 0 if isinstance(kappa, torch.Tensor) else kappa > 0)
            pick_y = torch.stack(cand_y).gather(0, pick[None])[0]
            pick_x = torch.stack(cand_x).gather(0, pick[None])[0]
            cur_y[ci, cj] = torch.where(take, pick_y, own_y[ci, cj])
            cur_x[ci, cj] = torch.where(take, pick_x, own_x[ci, cj])
    return cur_y.flatten(), cur_x.flatten()
