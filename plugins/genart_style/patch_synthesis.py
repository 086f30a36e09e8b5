"""Example-based style transfer: the painting's own patches, copied and blended (no network, no weights).

After Elad and Milanfar, "Style transfer via texture synthesis" (IEEE TIP 26(5), 2017), which builds on
Kwatra et al., "Texture optimization for example-based synthesis" (SIGGRAPH 2005). The estimate X starts
as the content in the style's colours plus noise, at the coarsest level of an image pyramid. At each
level, for each patch size from large to small, a few rounds of:

1. patch matching: every patch of X on a grid (stride below the patch size, offset at random each
   round) is replaced by its nearest style patch (search in a PCA space, see ``patches.py``), with a
   penalty on reusing the same part of the painting (``diversity``; strongest in flat areas, kept per
   quarter of the output), so a flat sky is painted with the whole painting, not its one flat patch,
   and a cost on the painting's plain patches in the photo's flat areas (``motifs``), so that sky takes
   the painting's motifs (crests, swirls) rather than its bare ground;
2. robust aggregation: overlapping matches are averaged with IRLS weights ``|x - z|^(r-2)``
   (r = 0.8), so a few bad matches do not smear the result the way a plain average would;
3. content fusion: ``X = (X~ + W C) / (1 + W)``, W the strength times a mask that is larger on the
   content's edges (1) than in flat areas (``FLAT_FUSION``), so the skyline survives while flat areas
   (sky) take the painting's texture;
4. colour transfer: X is histogram-matched to the style's palette;
5. an optional edge-preserving smoothing (bilateral), the paper's denoising step.

Large patches at the coarse level lay out the painting's motifs; small ones at the fine level add its
brushwork. The fine levels run over horizontal strips of patches, so memory stays bounded at any size.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import torch
import torch.nn.functional as F

from genart import GenartError

from . import color
from .gram_transfer import checked_output_size, fit_long_edge, resize, stylize_each, working_share
from .patch_coherence import MatchField, propagate
from .patch_search import PatchBank

STRIP_ELEMENTS = 2 ** 23  # patch pixels unfolded at once (32 MiB of float32 per strip)
MIN_LEVEL = 48  # pyramid levels whose short edge would fall below this are skipped
ROBUST_EPS = 1e-4
FLAT_FUSION = 0.05  # content mask in flat areas (1 on edges): the sky is left to the painting's patches
USAGE_TILES = 2  # the reuse penalty keeps coverage per tile of a USAGE_TILES x USAGE_TILES grid of the output
EDGE_DIVERSITY = 0.1  # share of the reuse penalty on the content's edges (flat areas: about 1)
COHERENCE_EDGE = 0.0  # share of the coherence tolerance on the content's edges (flat areas: 1): edges keep their match
COHERENCE_REACH = 1 / 32  # no coherence within this share of the long edge of the content's edges (the skyline)

#: peak memory per output pixel above the process's own, measured on chicago.jpg in Starry Night's style
#: (between successive long edges of 512-2048 px: 264-474 bytes; docs/plugins/style.md); below all of them,
#: so the chain's up-front check never refuses a size that would have fit
PATCH_BYTES_PER_PIXEL = 200


def stride_for(size: int) -> int:
    """Grid step of the query patches: about 3/4 of a large patch (few, stroke-like copies), about half
    of a small one (enough overlap to blend), after Elad and Milanfar's gaps (28, 18, 8, 5 for 33, 21,
    13, 9)."""
    return max(2, round(size * (0.8 if size >= 17 else 0.55)))


class PatchTransfer:
    """The ``style`` post-processor for ``method=patch``: each image of the batch is stylised on its own."""

    def __init__(self, params: Any, styles: Sequence[torch.Tensor], weights: Sequence[float],
                 device: torch.device, names: Sequence[str] = (),
                 masks: Sequence[torch.Tensor] = ()) -> None:
        self.params = params
        self.styles = [s.to(device) for s in styles]  # [3, H, W] each
        # [1, H, W] per style, 1 = never copy from here (lettering, a signature), at the style's own size
        self.masks = [(F.interpolate(m[None].float(), size=s.shape[-2:], mode="nearest-exact")[0] > 0.5).float()
                      .to(device) for m, s in zip(masks, self.styles, strict=True)] if masks else []
        total = float(sum(weights))
        self.weights = [float(w) / total for w in weights]
        self.device = device
        self.names = list(names) or [f"style image {i + 1}" for i in range(len(styles))]
        self.check_styles()

    def __call__(self, images: torch.Tensor) -> torch.Tensor:
        with torch.no_grad():
            return stylize_each(images, self.device, self.stylize)

    # -- sizes ---------------------------------------------------------------------------------------
    def output_size(self, h: int, w: int) -> tuple[int, int]:
        return checked_output_size(self.params, h, w)

    def working_bytes(self, count: int, channels: int, height: int, width: int) -> int:
        """genart.WorkingMemory: images are stylised one at a time, so one output's share counts."""
        return working_share(PATCH_BYTES_PER_PIXEL, self.params, height, width)

    def pyramid(self, h: int, w: int) -> list[tuple[int, int]]:
        """Coarse-to-fine sizes, each level twice the previous; levels too small to hold patches are skipped."""
        sizes = []
        for level in range(self.params.levels - 1, 0, -1):
            size = fit_long_edge(h, w, round(max(h, w) / 2 ** level))
            if min(size) >= MIN_LEVEL:
                sizes.append(size)
        return [*sizes, (h, w)]

    def style_at(self, style: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
        """The style image scaled so its long edge is style_scale times the level's long edge (but its short
        edge no smaller than the smallest patch, so tiny outputs still have patches to copy)."""
        sh, sw = style.shape[-2:]
        long_edge = max(1, round(max(size) * self.params.style_scale))
        long_edge = max(long_edge, math.ceil(min(self.params.patch_sizes) * max(sh, sw) / min(sh, sw)))
        return resize(style[None], fit_long_edge(sh, sw, long_edge))[0]

    def check_styles(self) -> None:
        smallest = min(self.params.patch_sizes)
        for style, name in zip(self.styles, self.names, strict=True):
            sh, sw = style.shape[-2:]
            if min(sh, sw) < smallest:
                raise GenartError(f"style: {name} is {sw}x{sh} px, smaller than the {smallest} px patches; use a "
                                  "larger style image or smaller patch_sizes")

    # -- one image -----------------------------------------------------------------------------------
    def stylize(self, content: torch.Tensor) -> torch.Tensor:
        """``[1, 3, H, W]`` in [0, 1] -> the stylised ``[1, 3, H', W']``."""
        p = self.params
        h, w = self.output_size(*content.shape[-2:])
        content = resize(content, (h, w))
        styles = list(self.styles)
        if p.preserve_colors == "match":
            styles = [color.match_color_moments(s, content[0]) for s in styles]
        elif p.preserve_colors == "luminance":
            content_l = color.luminance(content)
            styles = [color.match_luminance(color.luminance(s[None]), content_l)[0].expand(3, -1, -1)
                      for s in styles]
            source = content_l.expand(-1, 3, -1, -1)
        if p.preserve_colors != "luminance":
            source = content
        palette = self.palette(styles)
        # the content in the style's colours: what fusion pulls towards, and the start of the estimate
        source = color.match_histograms(source, palette)
        if p.tileable:
            source = _periodic(source)
        generator = torch.Generator().manual_seed(p.seed)
        field = MatchField()  # the last matches, offered to the next search (coherence), across levels too
        x: torch.Tensor | None = None
        for size in self.pyramid(h, w):
            target = resize(source, size)
            if x is None:
                noise = torch.randn(target.shape, generator=generator).to(target)
                x = (target + p.noise * noise).clamp(0, 1)
            else:
                x = self.upsample(x, size)
            edges = self.content_mask(target)
            far = self.far_from_edges(edges) if p.coherence > 0 and COHERENCE_REACH > 0 else None
            mask = p.strength * edges
            level_styles = [self.style_at(s, size) for s in styles]
            canvas, regions = _side_by_side(level_styles)
            excluded = None
            if self.masks:  # area-resized, so a mask pixel that touches a level pixel keeps it out
                excluded = _side_by_side([(F.interpolate(m[None], size=ls.shape[-2:], mode="area")[0] > 0).float()
                                          for m, ls in zip(self.masks, level_styles, strict=True)])[0][0]
            for patch in sorted(set(p.patch_sizes), reverse=True):
                if patch > min(size) or not any(min(r[1], r[2]) >= patch for r in regions):
                    continue
                try:
                    bank = PatchBank(canvas, regions, self.weights, patch, p.pca_dims, generator, excluded)
                except ValueError as error:
                    raise GenartError(f"style: {error}; use a smaller mask or smaller patch_sizes") from None
                for _ in range(p.iterations):
                    estimate = self.aggregate(x, bank, generator, edges, field, far)
                    x = (estimate + mask * target) / (1 + mask)
                    x = color.match_histograms(x, palette)
                    if p.smooth > 0:
                        x = self.denoise(x)
        assert x is not None
        if p.preserve_colors == "luminance":
            x = color.with_chroma_of(color.luminance(x), content)
        return x.clamp(0, 1)

    def palette(self, styles: Sequence[torch.Tensor], samples: int = 65_536) -> torch.Tensor:
        """``[3, M]`` sorted channel values of the styles, each style contributing by its weight (equally
        spaced quantiles of each), for histogram matching to the blend's palette."""
        parts = []
        for index, (style, weight) in enumerate(zip(styles, self.weights, strict=True)):
            n = round(samples * weight)
            if n < 1:
                continue
            values = style.reshape(3, -1)
            if self.masks and bool((self.masks[index] == 0).any()):  # masked lettering adds no colours
                values = values[:, self.masks[index].reshape(-1) == 0]
            values = values.sort(dim=1).values
            picks = torch.linspace(0, values.shape[1] - 1, n, device=values.device).round().long()
            parts.append(values[:, picks])
        return torch.cat(parts, 1).sort(dim=1).values

    def content_mask(self, content: torch.Tensor) -> torch.Tensor:
        """``[1, 1, H, W]`` in [0.25, 1]: where the content has edges (blurred gradient magnitude over its
        90th percentile) fusion holds the photo most firmly; flat areas get a quarter of it."""
        grey = content.mean(1, keepdim=True)
        pad = _pad(grey, 1, self.params.tileable)
        gy = pad[..., 2:, 1:-1] - pad[..., :-2, 1:-1]
        gx = pad[..., 1:-1, 2:] - pad[..., 1:-1, :-2]
        edges = (gx.pow(2) + gy.pow(2)).sqrt()
        radius = max(1, round(max(content.shape[-2:]) / 128))
        edges = F.avg_pool2d(_pad(edges, radius, self.params.tileable), 2 * radius + 1, stride=1)
        scale = torch.quantile(edges.flatten()[::max(1, edges.numel() // 100_000)], 0.9).clamp_min(1e-6)
        return FLAT_FUSION + (1 - FLAT_FUSION) * (edges / scale).clamp(0, 1)

    def far_from_edges(self, edges: torch.Tensor) -> torch.Tensor:
        """``[1, 1, H, W]`` in [0, 0.95]: one minus the strongest edge (``content_mask``) within
        ``COHERENCE_REACH`` of each pixel. A tower's flat front is flat to the edge mask but near its
        outline, so coherent copies, which run on across flat areas, keep out of it and the skyline stays;
        the open sky, far from any edge, takes whole motifs. Separable, so a 2048 px level stays cheap."""
        reach = max(1, round(COHERENCE_REACH * max(edges.shape[-2:])))
        near = _pad(edges, reach, self.params.tileable)
        near = F.max_pool2d(near, (1, 2 * reach + 1), stride=1)
        near = F.max_pool2d(near, (2 * reach + 1, 1), stride=1)
        return (1 - near).clamp_min(0)

    def upsample(self, x: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
        if not self.params.tileable:
            return resize(x, size)
        # wrap-around: upsample a circularly padded copy and cut the margin away, so the seam stays continuous
        margin = 4
        sy, sx = size[0] / x.shape[-2], size[1] / x.shape[-1]
        big = resize(_pad(x, margin, True), (round((x.shape[-2] + 2 * margin) * sy),
                                             round((x.shape[-1] + 2 * margin) * sx)))
        top, left = round(margin * sy), round(margin * sx)
        return big[..., top:top + size[0], left:left + size[1]]

    def denoise(self, x: torch.Tensor) -> torch.Tensor:
        """A light bilateral filter mixed in by ``smooth``: removes the speckle of patch seams, keeps edges."""
        import kornia

        padded = _pad(x, 2, self.params.tileable)
        smoothed = kornia.filters.bilateral_blur(padded, (5, 5), 0.1, (1.5, 1.5))[..., 2:-2, 2:-2]
        return torch.lerp(x, smoothed, min(1.0, self.params.smooth))

    def aggregate(self, x: torch.Tensor, bank: PatchBank, generator: torch.Generator,
                  edges: torch.Tensor | None = None, field: MatchField | None = None,
                  far: torch.Tensor | None = None) -> torch.Tensor:
        """One patch-matching + IRLS aggregation pass: ``X~``, each pixel the robustly weighted mean of
        the nearest style patches that cover it. The grid of query patches is offset at random and run
        over horizontal strips (memory bounded by ``STRIP_ELEMENTS``). With ``coherence`` > 0 the matches
        are then made coherent (``coherence.py``), offered ``field``'s earlier matches, and recorded in it;
        their tolerance follows ``far`` (``far_from_edges``) where given, else the flatness of ``edges``."""
        size, stride = bank.size, stride_for(bank.size)
        tileable, r = self.params.tileable, self.params.robust
        h, w = x.shape[-2:]
        canvas = _pad(x, size, tileable)[0]  # [3, H + 2s, W + 2s]
        oy, ox = (int(v) for v in torch.randint(0, stride, (2,), generator=generator))
        hp, wp = canvas.shape[-2:]
        rows = (hp - size - oy) // stride + 1
        cols = (wp - size - ox) // stride + 1
        width = (cols - 1) * stride + size
        per_row = cols * 3 * size * size
        band = max(1, STRIP_ELEMENTS // per_row)
        strips = [(top, min(band, rows - top)) for top in range(0, rows, band)]

        def unfold(first: int, count: int) -> tuple[torch.Tensor, int, int]:
            top = oy + first * stride
            height = (count - 1) * stride + size
            strip = canvas[None, :, top:top + height, ox:ox + width]
            return F.unfold(strip, size, stride=stride)[0].T, top, height  # [count * cols, 3 s s]

        # match all query patches first (their PCA coordinates are small), so the reuse penalty can visit
        # them in a random order rather than top to bottom; then copy and blend the matches strip by strip
        coords = torch.cat([bank.project(unfold(first, count)[0]) for first, count in strips])
        # the reuse penalty: coverage kept per quarter of the output, so no quarter can fill itself from one
        # area of the painting, and weighed by flatness, so edges still take their best match
        tiles = USAGE_TILES
        ty = (oy + torch.arange(rows) * stride) * tiles // hp
        tx = (ox + torch.arange(cols) * stride) * tiles // wp
        where = (ty[:, None] * tiles + tx[None, :]).flatten().to(x.device)
        scale = None
        plain_cost = None
        kappa: float | torch.Tensor = self.params.coherence
        if edges is not None:
            cy = (oy + torch.arange(rows) * stride + size // 2 - size).clamp(0, h - 1)
            cx = (ox + torch.arange(cols) * stride + size // 2 - size).clamp(0, w - 1)
            flatness = (1 - edges[0, 0][cy[:, None], cx[None, :]]).flatten().clamp_min(0)
            scale = flatness + EDGE_DIVERSITY
            if COHERENCE_EDGE != 1:
                calm = flatness if far is None else far[0, 0][cy[:, None], cx[None, :]].flatten()
                kappa = self.params.coherence * (COHERENCE_EDGE + (1 - COHERENCE_EDGE) * calm)
            # the motif cost, in the bank's spread like the reuse penalty (1 in the flattest areas); off for
            # tileable textures, as the reuse penalty is, so those stay as they were
            if self.params.motifs > 0 and not tileable:
                plain_cost = self.params.motifs * bank.spread * (flatness / (1 - FLAT_FUSION)).clamp(0, 1)
        # not for tileable textures: duplicated margin queries would then take different patches for the
        # same pixels and blur the wrap (the seam test failed), and a pure texture has no flat sky to fix
        penalty = 0.0 if tileable else self.params.diversity
        found = bank.search(coords, penalty, generator, where, scale, plain_cost)
        src_y, src_x = bank.ys[found], bank.xs[found]
        # coherence: not for tileable textures either (duplicated margin queries, as with the reuse penalty)
        if self.params.coherence > 0 and not tileable:
            # query centres in output pixels (the canvas is padded by ``size``)
            qy = (oy + torch.arange(rows, device=x.device) * stride + size // 2 - size)
            qx = (ox + torch.arange(cols, device=x.device) * stride + size // 2 - size)
            prior, shape = None, (int(bank.canvas.shape[-2]), int(bank.canvas.shape[-1]))
            implied = field.prior(qy, qx, (h, w), shape) if field is not None else None
            if implied is not None:
                prior = (implied[0] - size // 2, implied[1] - size // 2)
            src_y, src_x = propagate(bank, coords, src_y, src_x, (rows, cols), stride, kappa, plain_cost, prior)
            if field is not None:
                field.record(qy, qx, (src_y + size // 2).view(rows, cols), (src_x + size // 2).view(rows, cols),
                             (h, w), shape)
        numerator = torch.zeros_like(canvas)
        denominator = torch.zeros_like(canvas[:1])
        done = 0
        for first, count in strips:
            queries, top, height = unfold(first, count)
            matches = bank.patches_at(src_y[done:done + queries.shape[0]], src_x[done:done + queries.shape[0]])
            done += queries.shape[0]
            residual = (queries - matches).pow(2).sum(1, keepdim=True)
            weight = (residual + ROBUST_EPS).pow((r - 2) / 2)
            folded = F.fold((matches * weight).T[None], (height, width), size, stride=stride)[0]
            ones = weight.T.expand(size * size, -1)
            cover = F.fold(ones[None], (height, width), size, stride=stride)[0]
            numerator[:, top:top + height, ox:ox + width] += folded
            denominator[:, top:top + height, ox:ox + width] += cover
        if tileable:
            numerator, denominator = _wrap_margins(numerator, size), _wrap_margins(denominator, size)
        else:
            numerator = numerator[:, size:size + h, size:size + w]
            denominator = denominator[:, size:size + h, size:size + w]
        return (numerator / denominator.clamp_min(1e-12))[None]


def _pad(x: torch.Tensor, margin: int, tileable: bool) -> torch.Tensor:
    """Pad by ``margin`` on every side: wrap-around for tileable output, mirror otherwise (repeated when the
    margin exceeds the image, which reflection alone cannot do)."""
    if tileable:
        reps_h, reps_w = math.ceil(margin / x.shape[-2]), math.ceil(margin / x.shape[-1])
        tiled = x.repeat(1, 1, 2 * reps_h + 1, 2 * reps_w + 1)
        top, left = reps_h * x.shape[-2] - margin, reps_w * x.shape[-1] - margin
        return tiled[..., top:top + x.shape[-2] + 2 * margin, left:left + x.shape[-1] + 2 * margin]
    out = x
    while margin > 0:
        step = min(margin, out.shape[-2] - 1, out.shape[-1] - 1)
        if step < 1:
            return F.pad(out, (margin,) * 4, mode="replicate")
        out = F.pad(out, (step,) * 4, mode="reflect")
        margin -= step
    return out


def _periodic(x: torch.Tensor) -> torch.Tensor:
    """A copy of ``x`` that wraps around without a jump: towards the borders it cross-fades into ``x`` rolled
    by half its size, whose borders are ``x``'s continuous middle. The start and fusion target of a tileable
    synthesis, so the content adds no seam of its own."""
    h, w = x.shape[-2:]
    wy = torch.sin(torch.pi * (torch.arange(h, device=x.device) + 0.5) / h).pow(2)
    wx = torch.sin(torch.pi * (torch.arange(w, device=x.device) + 0.5) / w).pow(2)
    window = (wy[:, None] * wx[None, :]).to(x.dtype)
    rolled = torch.roll(x, (h // 2, w // 2), dims=(-2, -1))
    return window * x + (1 - window) * rolled


def _wrap_margins(canvas: torch.Tensor, margin: int) -> torch.Tensor:
    """Fold the margins of a padded canvas back onto the opposite sides (a torus), then crop it.
    Needs ``margin`` <= the image size, which holds as patches never exceed a level's short edge."""
    m = margin
    h, w = canvas.shape[-2] - 2 * m, canvas.shape[-1] - 2 * m
    rows = canvas[:, m:m + h].clone()
    rows[:, :m] += canvas[:, m + h:]
    rows[:, h - m:] += canvas[:, :m]
    out = rows[:, :, m:m + w].clone()
    out[:, :, :m] += rows[:, :, m + w:]
    out[:, :, w - m:] += rows[:, :, :m]
    return out


def _side_by_side(styles: Sequence[torch.Tensor]) -> tuple[torch.Tensor, list[tuple[int, int, int]]]:
    """One canvas with the styles next to each other, and each one's ``(x0, width, height)``."""
    height = max(s.shape[-2] for s in styles)
    width = sum(s.shape[-1] for s in styles)
    canvas = styles[0].new_zeros(styles[0].shape[0], height, width)
    regions, x0 = [], 0
    for s in styles:
        canvas[:, :s.shape[-2], x0:x0 + s.shape[-1]] = s
        regions.append((x0, s.shape[-1], s.shape[-2]))
        x0 += s.shape[-1]
    return canvas, regions
