"""Tests of coherent patch matching (``coherence=``): costs at any position, propagation, the match field.

Tiny synthetic styles only: random noise (every patch unique, so a wrong match is expensive) and stripes.
"""

from __future__ import annotations

import pytest
import torch

from genart.testing import make_tiny_images

SIZE = 5


def noise_bank(dims: int = 75, seed: int = 0):
    """A 40x48 random-noise style (every 5 px patch unlike every other) and its bank in full PCA space."""
    from genart_style.patch_search import PatchBank

    style = torch.rand(3, 40, 48, generator=torch.Generator().manual_seed(seed))
    return style, PatchBank(style, [(0, 48, 40)], [1.0], SIZE, dims, torch.Generator().manual_seed(1))


def test_cost_at_agrees_with_the_bank_and_refuses_outside_positions() -> None:
    """On the bank's grid, cost_at is the search's distance; positions off the style, or straddling two
    styles side by side, cost inf."""
    from genart_style.patch_search import PatchBank
    from genart_style.patch_synthesis import _side_by_side

    style, bank = noise_bank()
    q = bank.project(torch.rand(20, 75, generator=torch.Generator().manual_seed(2)))
    index = torch.arange(20) * 7
    expected = (q - bank.coords[index]).pow(2).sum(1)
    assert torch.allclose(bank.cost_at(q, bank.ys[index], bank.xs[index]), expected, rtol=1e-4, atol=1e-4)
    ys = torch.tensor([-1, 36, 0, 0, 35])
    xs = torch.tensor([0, 0, -1, 44, 43])
    cost = bank.cost_at(q[:5], ys, xs)
    assert torch.isinf(cost[:4]).all() and torch.isfinite(cost[4])
    canvas, regions = _side_by_side([style, style[:, :20, :30]])
    pair = PatchBank(canvas, regions, [1.0, 1.0], SIZE, 75, torch.Generator())
    straddle = pair.cost_at(q[:3], torch.tensor([0, 0, 16]), torch.tensor([45, 48, 48]))
    assert torch.isinf(straddle[0]) and torch.isfinite(straddle[1]) and torch.isinf(straddle[2])


def grid_queries(bank, style: torch.Tensor, rows: int, cols: int, stride: int, at: tuple[int, int],
                 noise: float = 0.02) -> torch.Tensor:
    """PCA coordinates of the style's own patches on a grid from ``at`` (plus a little noise): their coherent
    matches are ``at + (i, j) * stride``."""
    from genart_style.patch_search import gather

    ii, jj = torch.meshgrid(torch.arange(rows), torch.arange(cols), indexing="ij")
    patches = gather(style, (at[0] + ii * stride).flatten(), (at[1] + jj * stride).flatten(), SIZE)
    patches = patches + noise * torch.randn(patches.shape, generator=torch.Generator().manual_seed(3))
    return bank.project(patches)


def one_right_start():
    """A 4 x 5 grid (stride 3) of the noise style's own patches from (10, 12), and start matches that are
    random except the first query's, which is right: the setting propagation is tested in."""
    style, bank = noise_bank()
    q = grid_queries(bank, style, 4, 5, 3, at=(10, 12))
    generator = torch.Generator().manual_seed(4)
    ys = torch.randint(0, 35, (20,), generator=generator)
    xs = torch.randint(0, 43, (20,), generator=generator)
    ys[0], xs[0] = 10, 12
    return bank, q, ys, xs


def test_propagation_spreads_a_good_match_over_the_grid() -> None:
    """One query starts with its right source, the others with random ones: propagation hands the right shift
    from neighbour to neighbour until every query copies the style coherently (a sign error in the shift,
    or a wrong neighbour, would leave them where they were)."""
    from genart_style.patch_coherence import propagate

    bank, q, ys, xs = one_right_start()
    rows, cols, stride = 4, 5, 3
    ii, jj = torch.meshgrid(torch.arange(rows), torch.arange(cols), indexing="ij")
    for passes, fixed_all in ((1, False), (4, True)):
        out_y, out_x = propagate(bank, q, ys.clone(), xs.clone(), (rows, cols), stride, 0.01, passes=passes)
        right = (out_y == (10 + ii * stride).flatten()) & (out_x == (12 + jj * stride).flatten())
        assert bool(right.all()) == fixed_all
        assert int(right.sum()) > 1


def test_kappa_decides_between_the_best_match_and_the_coherent_one() -> None:
    """A query between two style patches A (nearer) and B: its neighbour's source implies B. It takes B only
    when B costs at most 1 + kappa times A."""
    from genart_style.patch_coherence import propagate
    from genart_style.patch_search import gather

    style, bank = noise_bank()
    stride = 3
    a, b = (20, 30), (5, 8)  # B is implied by the left neighbour matched to (5, 5)
    pa = gather(style, torch.tensor([a[0]]), torch.tensor([a[1]]), SIZE)
    left = gather(style, torch.tensor([b[0]]), torch.tensor([b[1] - stride]), SIZE)
    pb = gather(style, torch.tensor([b[0]]), torch.tensor([b[1]]), SIZE)
    q = bank.project(torch.cat([left, 0.6 * pa + 0.4 * pb]))
    cost = bank.cost_at(q[1:].expand(2, -1), torch.tensor([a[0], b[0]]), torch.tensor([a[1], b[1]]))
    ratio = float(cost[1] / cost[0])
    assert ratio > 1.5
    ys, xs = torch.tensor([b[0], a[0]]), torch.tensor([b[1] - stride, a[1]])
    for kappa, takes_b in ((ratio - 1 - 0.2, False), (ratio - 1 + 0.2, True)):
        out_y, out_x = propagate(bank, q, ys, xs, (1, 2), stride, kappa)
        assert (int(out_y[1]), int(out_x[1])) == (b if takes_b else a)
        assert (int(out_y[0]), int(out_x[0])) == (b[0], b[1] - stride)  # the exact match stays


def test_match_field_scales_to_the_next_level() -> None:
    from genart_style.patch_coherence import MatchField

    field = MatchField()
    assert field.prior(torch.tensor([0]), torch.tensor([0]), (10, 10), (10, 10)) is None
    cy, cx = torch.tensor([2, 6]), torch.tensor([2, 6, 10])
    src_y = torch.tensor([[20, 20, 20], [24, 24, 24]])
    src_x = torch.tensor([[30, 34, 38], [30, 34, 38]])
    field.record(cy, cx, src_y, src_x, (10, 14), (40, 50))
    same_y, same_x = field.prior(torch.tensor([3]), torch.tensor([6]), (10, 14), (40, 50))
    assert (int(same_y), int(same_x)) == (21, 34)  # nearest recorded query (2, 6), moved by (1, 0)
    up_y, up_x = field.prior(torch.tensor([4, 12]), torch.tensor([4, 20]), (20, 28), (80, 100))
    assert up_y.tolist() == [[40, 40], [48, 48]] and up_x.tolist() == [[60, 76], [60, 76]]


@pytest.fixture
def context(builtin_app):
    from genart.testing import build_context

    return build_context(builtin_app)


FAST = "method=patch,patch_sizes=7+5,iterations=2,levels=2,progress=false"


def test_coherence_in_the_pipeline_is_deterministic_and_changes_the_result(context, tmp_path) -> None:
    from genart.images import save_image
    from genart.testing import check_post_processor

    style = save_image(torch.rand(3, 40, 48, generator=torch.Generator().manual_seed(5)), tmp_path / "noise.png")
    check_post_processor(context.build("post", f"style:image={style},{FAST},coherence=2"),
                         sizes=((16, 16), (7, 13), (1, 1), (33, 20)))
    content = make_tiny_images(1, 3, (48, 64), seed=6)
    a = context.build("post", f"style:image={style},{FAST},coherence=2")(content)
    b = context.build("post", f"style:image={style},{FAST},coherence=2")(content)
    off = context.build("post", f"style:image={style},{FAST},coherence=0")(content)
    assert torch.equal(a, b)
    assert not torch.equal(a, off)


def test_coherence_makes_neighbours_copy_neighbours() -> None:
    """A smooth photo against a noise style: the nearest matches of neighbouring queries are unrelated places
    of the style; with kappa = 0.5 a good share of neighbour pairs copy style patches exactly one grid step
    apart (so their overlaps agree), and every chosen patch costs at most 1 + kappa times the nearest one."""
    import torch.nn.functional as F

    from genart_style.patch_coherence import propagate

    style, bank = noise_bank()
    photo = make_tiny_images(1, 3, (32, 32), seed=8)
    stride = 3
    q = bank.project(F.unfold(photo, SIZE, stride=stride)[0].T)
    side = (32 - SIZE) // stride + 1
    found = bank.search(q)
    ys, xs = bank.ys[found], bank.xs[found]

    def coherent_share(y: torch.Tensor, x: torch.Tensor) -> float:
        y, x = y.view(side, side), x.view(side, side)
        across = (x[:, 1:] - x[:, :-1] == stride) & (y[:, 1:] == y[:, :-1])
        down = (y[1:] - y[:-1] == stride) & (x[1:] == x[:-1])
        return float((across.float().mean() + down.float().mean()) / 2)

    out_y, out_x = propagate(bank, q, ys, xs, (side, side), stride, 0.5)
    assert coherent_share(ys, xs) < 0.05
    assert coherent_share(out_y, out_x) > 0.25
    assert bool((bank.cost_at(q, out_y, out_x) <= 1.5 * bank.cost_at(q, ys, xs) * (1 + 1e-5)).all())


def test_queries_without_tolerance_keep_their_own_match() -> None:
    """kappa 0 (a query near the photo's edges) keeps the search's match even where a neighbour implies a
    cheaper source: that match paid the reuse penalty, and the skyline depends on it."""
    from genart_style.patch_coherence import propagate

    bank, q, ys, xs = one_right_start()
    rows, cols, stride = 4, 5, 3
    kappa = torch.full((rows * cols,), 0.5)
    kappa[cols:2 * cols] = 0.0  # the second row
    out_y, out_x = propagate(bank, q, ys.clone(), xs.clone(), (rows, cols), stride, kappa, passes=4)
    kept = (out_y == ys) & (out_x == xs)
    assert bool(kept[cols:2 * cols].all())
    assert not bool(kept[2 * cols:].any())  # rows past it are reached round it, not through it
    assert propagate(bank, q, ys.clone(), xs.clone(), (rows, cols), stride, 0.0)[0].equal(ys)


def test_far_from_edges_keeps_coherence_off_a_tower_front() -> None:
    """A dark 'tower' on a light 'sky': its flat front is flat to the edge mask, yet no farther from the
    outline than COHERENCE_REACH, so far_from_edges gives it no tolerance; the open sky keeps it."""
    from genart_style import patch_synthesis as synthesis

    transfer = synthesis.PatchTransfer.__new__(synthesis.PatchTransfer)
    transfer.params = type("P", (), {"tileable": False})()
    photo = torch.ones(1, 3, 64, 128)
    photo[..., 24:, 60:68] = 0.1  # an 8 px wide tower from row 24 down
    edges = transfer.content_mask(photo)
    far = transfer.far_from_edges(edges)
    reach = round(synthesis.COHERENCE_REACH * 128)
    assert float(edges[0, 0, 50, 64]) < 0.1  # the front is flat to the edge mask
    assert float(far[0, 0, 50, 64]) < 0.05  # but not far from the outline
    assert float(far[0, 0, 4, 10]) > 0.9  # the open sky
    assert float(far[0, 0, 24 - reach - 4, 64]) > 0.9 and float(far[0, 0, 24 - reach + 1, 64]) < 0.1
