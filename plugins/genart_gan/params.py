"""The ``gan`` model's parameters and their checks (no torch: ``genart --help`` and ``describe`` stay fast)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from genart import param

AUGMENTATIONS = ("color", "translation", "cutout")


@dataclass
class GANParams:
    """A convolutional GAN with the modern stabilisers: spectral norm, lazy R1, EMA of G, DiffAugment."""

    image_size: int = param(32, "side of the square images: a multiple of 4 from 28 to 128")
    channels: int = param(3, "image channels: 1 (grey), 3 (colour) or 4 (colour with transparency)")
    latent: int = param(64, "latent dimensions (z ~ N(0, I))")
    width: int = param(16, "channels at full resolution; each halving of the size doubles them (max 8x)")
    blocks: int | None = param(None, "extra 3x3 conv layers in G at each grid below the image size (depth where "
                                     "it is cheap); none: 2 up to 32 px, 0 above (measured)")
    mbstd_group: int | None = param(None, "D's minibatch standard deviation over groups of this many images "
                                          "(0: the whole batch); none: 0 up to 32 px, 4 above (measured)")
    categories: int = param(0, "InfoGAN categorical code: G draws one of K categories and D must tell which, "
                               "so samples settle on K distinct modes (0: off)")
    info_weight: float = param(1.0, "weight of the categorical code's loss (InfoGAN's lambda)")
    upsample: Literal["transposed", "nearest"] = param("transposed", "G's 2x steps: 4x4 transposed conv (faster on "
                                                         "a CPU) or nearest resize + 3x3 conv (no checkerboard)")
    loss: str = param("hinge", "adversarial loss (a registered loss: ns, hinge, lsgan, wgan-gp, or a plugin's)")
    spectral_norm: bool = param(True, "spectral normalisation of the discriminator's layers")
    r1_gamma: float = param(0.2, "weight of the R1 gradient penalty on real images (0: off)")
    r1_every: int = param(16, "lazy R1: apply the penalty every k discriminator steps (scaled by k)")
    augment: str = param("color+translation",
                         "DiffAugment policy applied to real and fake alike: '+'-joined color, translation, "
                         "cutout; or 'none'")
    ada_target: float = param(0.6, "adaptive augmentation: raise the share p of augmented images while "
                                   "E[sign(D(real))] exceeds this (D overfits), lower it otherwise; 0: always augment")
    ada_images: int = param(50000, "images seen for p to move by 1 (speed of the adaptation)")
    ema: float = param(0.999, "decay of the exponential moving average of G used for sampling (0: off)")
    ema_warmup: int = param(0, "steps before the EMA starts (until then it copies G); its decay then ramps up "
                                "as (1+t)/(10+t) to the cap 'ema'")
    lr_g: float = param(1.5e-3, "generator Adam learning rate (high: short CPU runs need fast progress)")
    lr_d: float = param(1.5e-3, "discriminator Adam learning rate")
    beta1: float = param(0.0, "Adam beta1 (both networks)")
    beta2: float = param(0.99, "Adam beta2 (both networks)")
    tileable: bool = param(False, "samples tile seamlessly: circular padding in every convolution and training "
                                  "images rolled by random offsets (wrapping around)")

    def __post_init__(self) -> None:
        # Measured (docs/plugins/gan.md, "G's depth"): two blocks lift IS on 28 px MNIST and sharpen 32 px
        # shapes, but at 64 px a 2000-step run with them draws textured squares instead of silhouettes.
        if self.blocks is None:
            self.blocks = 2 if self.image_size <= 32 else 0
        # Measured (docs/plugins/gan.md, "64 px colour art"): on 1209 colour sprites at 64 px, D's minibatch std
        # over groups of 4 keeps G from drifting to one palette; up to 32 px the MNIST figures were measured
        # with the whole-batch std, and they stay as they were.
        if self.mbstd_group is None:
            self.mbstd_group = 0 if self.image_size <= 32 else 4

    def validate(self) -> None:
        if not 28 <= self.image_size <= 128 or self.image_size % 4:
            raise ValueError("image_size must be a multiple of 4 from 28 to 128")
        if self.channels not in (1, 3, 4):
            raise ValueError("channels must be 1, 3 or 4 (RGBA)")
        if self.latent < 1 or self.width < 1:
            raise ValueError("latent and width must be positive")
        if self.blocks is not None and self.blocks < 0:
            raise ValueError("blocks must be >= 0")
        if self.mbstd_group is not None and self.mbstd_group < 0:
            raise ValueError("mbstd_group must be >= 0 (0: the whole batch)")
        if self.categories < 0 or self.categories == 1:
            raise ValueError("categories must be 0 (off) or at least 2")
        if self.info_weight < 0:
            raise ValueError("info_weight must be >= 0")
        if self.r1_gamma < 0 or self.r1_every < 1:
            raise ValueError("r1_gamma must be >= 0 and r1_every >= 1")
        if not 0 <= self.ema < 1:
            raise ValueError("ema must be in [0, 1)")
        if self.ema_warmup < 0:
            raise ValueError("ema_warmup must be >= 0")
        if self.lr_g <= 0 or self.lr_d <= 0:
            raise ValueError("learning rates must be positive")
        if not (0 <= self.beta1 < 1 and 0 <= self.beta2 < 1):
            raise ValueError("beta1 and beta2 must be in [0, 1)")
        if not 0 <= self.ada_target < 1 or self.ada_images < 1:
            raise ValueError("ada_target must be in [0, 1) and ada_images >= 1")
        augment_policy(self.augment)


def augment_policy(text: str) -> tuple[str, ...]:
    """The augmentations named in ``text`` ('none' or '' for none); ValueError for unknown names."""
    names = tuple(part.strip().lower() for part in text.replace(",", "+").split("+") if part.strip())
    if names in ((), ("none",), ("off",)):
        return ()
    unknown = [name for name in names if name not in AUGMENTATIONS]
    if unknown:
        raise ValueError(f"unknown augmentation {unknown[0]!r}; use {', '.join(AUGMENTATIONS)} joined by '+', "
                         "or none")
    return names
