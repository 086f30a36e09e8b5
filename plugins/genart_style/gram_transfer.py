"""Optimisation-based style transfer (Gatys et al. 2016), run coarse to fine over an image pyramid.

The image itself is optimised so that its encoder features keep the content's values (content
term), its feature Gram matrices match the style's (style term) and neighbouring pixels stay close
(total-variation term). Solving a small image first and upsampling the result as the start of the
next, larger stage gives large-scale structure cheaply and leaves few iterations to the costly
full-size stage.
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import torch
import torch.nn.functional as F

from genart import GenartError
from genart.images import convert_channels, split_alpha

from . import color

RANGE_WEIGHT = 100.0  # keeps the unconstrained image inside [0, 1]
SMALL_STAGE = 96 * 96  # stages up to this many pixels run on one thread
MIN_STAGE = 64  # stages whose long edge would be smaller than this are skipped


def gram(features: torch.Tensor) -> torch.Tensor:
    """``[N, C, H, W]`` -> ``[N, C, C]``, averaged over positions so any image size compares."""
    n, c, h, w = features.shape
    flat = features.reshape(n, c, h * w)
    return flat @ flat.transpose(1, 2) / (h * w)


def resize(image: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    """Antialiased resize (bicubic up, area-like down) that keeps values in [0, 1]."""
    if tuple(image.shape[-2:]) == tuple(size):
        return image
    down = size[0] < image.shape[-2] or size[1] < image.shape[-1]
    out = F.interpolate(image, size=size, mode="bilinear" if down else "bicubic", align_corners=False,
                        antialias=down)
    return out.clamp(0, 1)


def fit_long_edge(h: int, w: int, long_edge: int) -> tuple[int, int]:
    scale = long_edge / max(h, w)
    return max(1, round(h * scale)), max(1, round(w * scale))


def stylize_each(images: torch.Tensor, device: Any,
                 stylize: Callable[[torch.Tensor], torch.Tensor]) -> torch.Tensor:
    """What both methods do around their own ``stylize`` of one RGB image: grey in, grey out; alpha
    kept and resized to the result; one image of the batch at a time (sizes and memory are per image)."""
    images = images.float().to(device)
    colour, alpha = split_alpha(images)
    channels = colour.shape[1]
    rgb = convert_channels(colour, 3)
    out = torch.cat([stylize(rgb[i:i + 1]) for i in range(rgb.shape[0])]).detach()
    if channels == 1:
        out = convert_channels(out, 1)
    if alpha is not None:
        out = torch.cat([out, resize(alpha, (int(out.shape[-2]), int(out.shape[-1])))], 1)
    return out.clamp(0, 1)


def checked_output_size(params: Any, h: int, w: int) -> tuple[int, int]:
    """The working size (``size=`` on the long edge, else the input's), refused over ``max_size``."""
    long_edge = params.size or max(h, w)
    if long_edge > params.max_size:
        where = f"size={params.size}" if params.size else f"the input is {w}x{h} px"
        raise GenartError(f"style: {where} exceeds max_size={params.max_size} on the long edge; pass size=N "
                          f"(<= {params.max_size}) to work on a smaller copy, or raise max_size (memory and time "
                          "grow with the pixel count)")
    return fit_long_edge(h, w, long_edge) if params.size else (h, w)


#: as PATCH_BYTES_PER_PIXEL for method=gram with the default random encoder (256-768 px: 1678-1920 bytes
#: per added pixel); a VGG-19 encoder needs more, so this stays a lower bound for it too
GRAM_BYTES_PER_PIXEL = 1200


def working_share(bytes_per_pixel: int, params: Any, h: int, w: int) -> int:
    """A style method's own memory for one output of an ``h`` x ``w`` input: per output pixel, less where
    ``style_scale`` < 1 shrinks the style image and its patches (a lower bound: genart.WorkingMemory)."""
    oh, ow = checked_output_size(params, h, w)
    return int(bytes_per_pixel * oh * ow * min(1.0, float(params.style_scale) ** 2))


def total_variation(x: torch.Tensor) -> torch.Tensor:
    dh = (x[..., 1:, :] - x[..., :-1, :]).pow(2).mean() if x.shape[-2] > 1 else x.new_zeros(())
    dw = (x[..., :, 1:] - x[..., :, :-1]).pow(2).mean() if x.shape[-1] > 1 else x.new_zeros(())
    return dh + dw


@dataclass
class Targets:
    """What one stage optimises towards: blended style Grams and the content's features."""

    grams: list[torch.Tensor]
    gram_norms: list[torch.Tensor]
    content: list[torch.Tensor]
    content_norms: list[torch.Tensor] = field(default_factory=list)


class StyleTransfer:
    """The ``style`` post-processor: each image of the batch is stylised on its own."""

    def __init__(self, params: Any, encoder: Callable[[torch.Tensor], Any], styles: Sequence[torch.Tensor],
                 weights: Sequence[float], device: torch.device) -> None:
        self.params = params
        self.encoder = encoder
        self.styles = [s.to(device) for s in styles]  # [3, H, W] each
        total = float(sum(weights))
        self.weights = [float(w) / total for w in weights]
        self.device = device
        self.history: list[dict[str, float]] = []  # per iteration of the last image (benchmarks read it)

    # -- the post-processor ----------------------------------------------------------------------
    def __call__(self, images: torch.Tensor) -> torch.Tensor:
        with torch.inference_mode(False), torch.enable_grad():
            # a clone is a normal tensor, usable with autograd (an inference tensor is not)
            return stylize_each(images.clone(), self.device, self.stylize)

    # -- sizes -------------------------------------------------------------------------------------
    def output_size(self, h: int, w: int) -> tuple[int, int]:
        return checked_output_size(self.params, h, w)

    def working_bytes(self, count: int, channels: int, height: int, width: int) -> int:
        """genart.WorkingMemory: images are stylised one at a time, so one output's share counts."""
        return working_share(GRAM_BYTES_PER_PIXEL, self.params, height, width)

    def stages(self, h: int, w: int) -> list[tuple[int, int]]:
        """Coarse-to-fine sizes, halving from the output size; tiny stages are skipped."""
        sizes = []
        for level in range(self.params.levels - 1, 0, -1):
            long_edge = max(h, w) / 2 ** level
            if long_edge >= MIN_STAGE:
                sizes.append(fit_long_edge(h, w, round(long_edge)))
        return [*sizes, (h, w)]

    # -- losses ------------------------------------------------------------------------------------
    def targets(self, content: torch.Tensor, styles: Sequence[torch.Tensor]) -> Targets:
        h, w = content.shape[-2:]
        with torch.no_grad():
            blended: list[torch.Tensor] | None = None
            for style, weight in zip(styles, self.weights, strict=True):
                sh, sw = style.shape[-2:]
                size = fit_long_edge(sh, sw, max(1, round(max(h, w) * self.params.style_scale)))
                feats, _ = self.encoder(resize(style[None], size))
                grams = [gram(f) * weight for f in feats]
                blended = grams if blended is None else [a + b for a, b in zip(blended, grams, strict=True)]
            _, content_feats = self.encoder(content)
        assert blended is not None
        return Targets(
            grams=blended,
            gram_norms=[g.pow(2).sum().clamp_min(1e-12) for g in blended],
            content=content_feats,
            content_norms=[f.pow(2).mean().clamp_min(1e-12) for f in content_feats],
        )

    def losses(self, x: torch.Tensor, targets: Targets) -> dict[str, torch.Tensor]:
        """The three terms, each normalised by its target's size, so weights mean the same at any scale."""
        style_feats, content_feats = self.encoder(x)
        pairs = zip(style_feats, targets.grams, targets.gram_norms, strict=True)
        style = sum((gram(f) - g).pow(2).sum() / n for f, g, n in pairs) / len(targets.grams)
        if content_feats:
            content = sum((f - t).pow(2).mean() / n
                          for f, t, n in zip(content_feats, targets.content, targets.content_norms, strict=True))
            content = content / len(content_feats)
        else:
            content = x.new_zeros(())
        # the image is optimised unconstrained (clamping between L-BFGS steps breaks its curvature
        # estimate); this penalty keeps it inside [0, 1] instead
        outside = (x - x.clamp(0, 1)).pow(2).mean()
        return {"style": style, "content": content, "tv": total_variation(x), "range": outside}

    def total(self, terms: dict[str, torch.Tensor]) -> torch.Tensor:
        p = self.params
        return (p.content_weight * terms["content"] + p.style_weight * terms["style"]
                + p.tv_weight * terms["tv"] + RANGE_WEIGHT * terms["range"])

    # -- one image ---------------------------------------------------------------------------------
    def prepare(self, content: torch.Tensor) -> tuple[torch.Tensor, list[torch.Tensor]]:
        """The content and style images the optimisation sees, after any colour preservation step."""
        mode = self.params.preserve_colors
        if mode == "luminance":
            content_l = color.luminance(content)
            styles = [color.match_luminance(color.luminance(s[None]), content_l)[0].expand(3, -1, -1)
                      for s in self.styles]
            return content_l.expand(-1, 3, -1, -1), styles
        if mode == "match":
            return content, [color.match_color_moments(s, content[0]) for s in self.styles]
        return content, list(self.styles)

    def stylize(self, content: torch.Tensor) -> torch.Tensor:
        """``[1, 3, H, W]`` in [0, 1] -> the stylised ``[1, 3, H', W']``."""
        p = self.params
        h, w = self.output_size(*content.shape[-2:])
        source, styles = self.prepare(resize(content, (h, w)))
        # work on a reflected margin and crop it at the end: the optimisation leaves streaks along the
        # borders (padding effects in the encoder), and this way they fall outside the picture
        margin = max(h, w) // 32 if min(h, w) > 64 else 0
        if margin:
            source = F.pad(source, (margin,) * 4, mode="reflect")
        h, w = h + 2 * margin, w + 2 * margin
        stages = self.stages(h, w)
        self.history = []
        generator = torch.Generator().manual_seed(p.seed)
        x: torch.Tensor | None = None
        bar = _progress(p.progress and p.steps * len(stages) >= 20, p.steps * len(stages))
        try:
            for size in stages:
                stage_content = resize(source, size)
                if x is None:
                    if p.init == "noise":
                        # mid-grey noise of moderate amplitude: full-range white noise made the first
                        # L-BFGS steps diverge at 256 px
                        noise = torch.rand(1, 3, *size, generator=generator).to(self.device)
                        x = stage_content.mean((2, 3), keepdim=True) + (noise - 0.5) * 0.4
                    else:
                        x = stage_content.clone()
                else:
                    x = resize(x, size)
                with _threads_for(size[0] * size[1]):
                    targets = self.targets(stage_content, styles)
                    x = self.optimise(x, targets, bar)
        finally:
            if bar is not None:
                bar.close()
        assert x is not None
        if margin:
            x = x[..., margin:h - margin, margin:w - margin]
            h, w = h - 2 * margin, w - 2 * margin
        if p.preserve_colors == "luminance":
            x = color.with_chroma_of(color.luminance(x), resize(content, (h, w)))
        return x.clamp(0, 1)

    def optimise(self, x: torch.Tensor, targets: Targets, bar: Any) -> torch.Tensor:
        """Run the stage's steps. L-BFGS without line search can blow up now and then (NaN, or a loss far
        above its best); then the best image so far is restored and the optimiser restarts with half the
        step size, so a run never ends in garbage."""
        p = self.params
        x = x.detach().clone().requires_grad_(True)
        lr = p.lr or (1.0 if p.optimizer == "lbfgs" else 0.02)
        best_loss, best_x = math.inf, x.detach().clone()

        def make() -> torch.optim.Optimizer:
            if p.optimizer == "lbfgs":
                return torch.optim.LBFGS([x], lr=lr, max_iter=1, history_size=10, tolerance_grad=0.0,
                                         tolerance_change=0.0)
            return torch.optim.Adam([x], lr=lr)

        opt = make()

        def closure() -> float:  # LBFGS and Adam only read the value back (float(...) / return it)
            nonlocal best_loss, best_x
            opt.zero_grad(set_to_none=True)
            terms = self.losses(x, targets)
            loss = self.total(terms)
            if not torch.isfinite(loss) or float(loss.detach()) > 10 * best_loss + 1.0:
                raise _Diverged
            if float(loss.detach()) < best_loss:  # the loss belongs to x as it is now, before the step
                best_loss, best_x = float(loss.detach()), x.detach().clone()
            loss.backward()
            self.history.append({k: float(v.detach()) for k, v in terms.items()} | {"total": float(loss.detach())})
            return float(loss.detach())

        restarts = 0
        for _ in range(p.steps):
            try:
                opt.step(closure)
            except _Diverged:
                restarts += 1
                if restarts > 5:
                    raise GenartError("style: the optimisation keeps diverging; lower the weights or lr") from None
                with torch.no_grad():
                    x.copy_(best_x)
                lr *= 0.5
                opt = make()
            if bar is not None:
                bar.update(1)
        with torch.no_grad():  # the last step's result has not been evaluated yet
            try:
                final = float(self.total(self.losses(x, targets)))
            except Exception:
                final = math.inf
        return x.detach() if math.isfinite(final) and final <= best_loss else best_x

    def measure(self, image: torch.Tensor, content: torch.Tensor) -> dict[str, float]:
        """The loss terms of ``image`` against ``content`` at ``image``'s size (for benchmarks and tests)."""
        with torch.inference_mode(False), torch.no_grad():
            source, styles = self.prepare(resize(content.clone(), (int(image.shape[-2]), int(image.shape[-1]))))
            if self.params.preserve_colors == "luminance":
                image = color.luminance(image.clone()).expand(-1, 3, -1, -1)
            terms = self.losses(image.clone(), self.targets(source, styles))
        return {k: float(v) for k, v in terms.items()}


class _Diverged(Exception):
    """The loss went non-finite or jumped far above its best: restart from the best image."""


def _progress(enabled: bool, total: int) -> Any:
    if not enabled:
        return None
    from genart.api import progress

    return progress(total=total, unit="step", desc="style", leave=False)


@contextlib.contextmanager
def _threads_for(pixels: int) -> Iterator[None]:
    """One thread for small stages: there, thread start-up and spin-waiting cost more than the work
    (100x slower on a busy 2-core machine); large stages keep torch's thread count."""
    before = torch.get_num_threads()
    if pixels <= SMALL_STAGE and before > 1:
        torch.set_num_threads(1)
    try:
        yield
    finally:
        if torch.get_num_threads() != before:
            torch.set_num_threads(before)
