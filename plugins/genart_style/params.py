"""The parameters of the style plugin's components (no torch: ``genart --help`` and ``describe`` stay fast)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from genart import param

ENCODER_KIND = "style-encoder"


@dataclass
class StyleParams:
    """Style transfer, coarse to fine: example-based patch synthesis (method=patch) or the optimisation of
    content + Gram style + total-variation terms over a feature encoder (method=gram)."""

    image: list[Path] = param([], "style image(s); several joined with '+' (a.jpg+b.jpg)")
    weights: list[float] = param([], "blend weight per style image, joined with '+' (default: equal)")
    method: Literal["patch", "gram"] = param(
        "patch", "patch: copy and blend the painting's own patches; gram: optimise feature statistics")
    encoder: str = param("random", "gram: feature encoder (a style-encoder component): random (no download) or vgg19")
    encoder_weights: Path | None = param(None, "gram: weights file for the encoder (vgg19: torchvision state dict)")
    size: int = param(0, "long edge of the output in pixels (0: the input's own size)")
    max_size: int = param(1024, "refuse to work above this long edge (memory and time grow with pixels)")
    steps: int = param(40, "gram: optimiser iterations per pyramid stage")
    levels: int = param(3, "coarse-to-fine stages, each half the next (gram skips stages under 64 px, patch under 48)")
    optimizer: Literal["lbfgs", "adam"] = param("lbfgs", "gram: optimiser: lbfgs (fewer steps) or adam")
    lr: float = param(0.0, "gram: learning rate (0: 1.0 for lbfgs, 0.02 for adam)")
    content_weight: float = param(1.0, "gram: weight of the content term")
    style_weight: float = param(30.0, "gram: weight of the style (Gram) term")
    tv_weight: float = param(1.0, "gram: weight of the total-variation (smoothness) term")
    style_scale: float = param(1.0, "style image long edge relative to the content's (smaller: finer strokes)")
    init: Literal["content", "noise"] = param("content", "gram: start from the content image or from noise")
    seed: int = param(0, "seed of the start noise and patch grids (gram: of init=noise); same seed: same bytes")
    preserve_colors: Literal["none", "luminance", "match"] = param(
        "none", "keep the content's colours: luminance (transfer lightness only) or match (recolour the style first)")
    progress: bool = param(True, "show a progress bar for long runs")
    # method=patch
    strength: float = param(0.5, "patch: content fusion strength (0: pure texture; high: the photo barely changes)")
    patch_sizes: list[int] = param([33, 21, 13, 9], "patch: patch sizes in px, used large to small at each level")
    iterations: int = param(3, "patch: matching + aggregation rounds per patch size and level")
    robust: float = param(0.8, "patch: IRLS exponent r of the aggregation weights |x - z|^(r-2) (2: plain mean)")
    pca_dims: int = param(24, "patch: PCA dimensions the nearest-neighbour search runs in")
    noise: float = param(0.2, "patch: std of the noise added to the start image (seed picks it)")
    smooth: float = param(0.0, "patch: bilateral denoising mixed in after each round (0: off, 1: full)")
    diversity: float = param(1.0, "patch: penalty on copying the same part of the painting again, in flat areas "
                                  "most (0: plain nearest neighbour)")
    motifs: float = param(1.5, "patch: in the photo's flat areas, cost of copying the painting's plain patches "
                               "(its bare ground), so a flat sky takes its motifs (0: off)")
    coherence: float = param(0.5, "patch: away from the photo's edges, take the painting position neighbouring "
                                  "matches imply if it costs at most 1 + coherence times the best match, so motifs "
                                  "are copied whole (0: off)")
    tileable: bool = param(False, "patch: wrap-around output that repeats without a seam (best with strength=0)")

    def validate(self) -> None:
        if not self.image:
            raise ValueError("needs image=PATH (a style image; several joined with '+')")
        if self.weights and len(self.weights) != len(self.image):
            raise ValueError(f"{len(self.image)} style image(s) but {len(self.weights)} weight(s)")
        if any(w < 0 for w in self.weights) or (self.weights and sum(self.weights) <= 0):
            raise ValueError("style weights must be >= 0 and not all 0")
        if self.size < 0 or self.max_size < 1:
            raise ValueError("size must be >= 0 and max_size >= 1")
        if self.steps < 0 or self.levels < 1:
            raise ValueError("steps must be >= 0 and levels >= 1")
        if min(self.content_weight, self.style_weight, self.tv_weight, self.lr) < 0:
            raise ValueError("weights and lr must be >= 0")
        if self.style_scale <= 0:
            raise ValueError("style_scale must be > 0")
        if not self.patch_sizes or min(self.patch_sizes) < 2:
            raise ValueError("patch_sizes must be patch sizes >= 2 px, joined with '+' (33+21+13+9)")
        if self.iterations < 1 or self.pca_dims < 1 or not 0 < self.robust <= 2:
            raise ValueError("need iterations >= 1, pca_dims >= 1 and 0 < robust <= 2")
        if min(self.strength, self.noise, self.smooth, self.diversity, self.motifs, self.coherence) < 0:
            raise ValueError("strength, noise, smooth, diversity, motifs and coherence must be >= 0")


@dataclass
class ColorParams:
    """A colour transfer from one reference image."""

    image: Path | None = param(None, "reference image whose colours to take")

    def validate(self) -> None:
        if self.image is None:
            raise ValueError("needs image=PATH (the image whose colours to take)")


@dataclass
class RandomEncoderParams:
    """Random filters + ReLU over an image pyramid: deterministic, needs no weights."""

    channels: int = param(32, "filters at the finest level (coarser levels get twice as many)")
    kernel: int = param(5, "filter size in pixels at each level")
    scales: int = param(5, "pyramid levels the encoder looks at (receptive field doubles per level)")
    content_scale: int = param(2, "pyramid level whose features make the content term (0 = finest)")
    seed: int = param(0, "seed of the random filters")

    def validate(self) -> None:
        if self.channels < 1 or self.kernel < 1 or self.kernel % 2 == 0 or self.scales < 1 or self.content_scale < 0:
            raise ValueError("need channels >= 1, an odd kernel >= 1, scales >= 1, content_scale >= 0")


@dataclass
class VGGParams:
    """torchvision-format VGG-19 weights from a local file (never downloaded)."""

    weights: Path | None = param(None, "VGG-19 state dict (.pth or .safetensors); default $GENART_VGG19_WEIGHTS")
    pool: Literal["max", "avg"] = param("max", "pooling between blocks (avg gives smoother results)")
