"""The factories the style plugin registers: each loads torch and its method's module only when called."""

from __future__ import annotations

from typing import Any

from .params import ENCODER_KIND, ColorParams, RandomEncoderParams, StyleParams, VGGParams


def build_style(params: StyleParams, context: Any) -> Any:
    from .color_processors import load_style_image
    from .gram_transfer import StyleTransfer

    styles = [load_style_image(path) for path in params.image]
    weights = params.weights or [1.0] * len(styles)
    if params.method == "patch":
        from .patch_synthesis import PatchTransfer

        return PatchTransfer(params, styles, weights, context.device, names=[str(p) for p in params.image])
    spec = params.encoder
    if params.encoder_weights is not None:
        spec += ("," if ":" in spec else ":") + f'weights="{params.encoder_weights}"'
    encoder = context.build(ENCODER_KIND, spec)
    return StyleTransfer(params, encoder, styles, weights, context.device)


def build_colortransfer(params: ColorParams, context: Any) -> Any:
    from .color_processors import ColorTransfer, load_style_image

    if params.image is None:  # ColorParams already refuses this; narrowed for the type checker
        raise ValueError("needs image=PATH (the image whose colours to take)")
    return ColorTransfer(load_style_image(params.image))


def build_histmatch(params: ColorParams, context: Any) -> Any:
    from .color_processors import HistogramMatch, load_style_image

    if params.image is None:  # ColorParams already refuses this; narrowed for the type checker
        raise ValueError("needs image=PATH (the image whose colours to take)")
    return HistogramMatch(load_style_image(params.image))


def build_random_encoder(params: RandomEncoderParams, context: Any) -> Any:
    from .gram_encoders import build_random

    return build_random(params, context)


def build_vgg19_encoder(params: VGGParams, context: Any) -> Any:
    from .gram_encoders import build_vgg19

    return build_vgg19(params, context)
