"""Registers style transfer, colour transfers, the style encoders and ``genart stylize``.

Kept light: torch and kornia load inside the factories and the command, so ``genart --help`` is fast.
"""

from __future__ import annotations

import click

import genart
from genart import Register, RegisterComponent

from .factories import build_colortransfer, build_histmatch, build_random_encoder, build_style, build_vgg19_encoder
from .params import ENCODER_KIND, ColorParams, RandomEncoderParams, StyleParams, VGGParams


@genart.hookimpl
def register_post_processors(register: Register) -> None:
    register("style", build_style, params=StyleParams,
             description="style transfer from one or more style images: patch synthesis or Gram optimisation "
                         "(offline; image=PATH)")
    register("colortransfer", build_colortransfer, params=ColorParams,
             description="Reinhard colour transfer: Lab mean and spread of a reference image (image=PATH)")
    register("histmatch", build_histmatch, params=ColorParams,
             description="per-channel histogram matching to a reference image (image=PATH)")


@genart.hookimpl
def register_components(register: RegisterComponent) -> None:
    register(ENCODER_KIND, "random", build_random_encoder, params=RandomEncoderParams,
             description="random filters + ReLU over an image pyramid (no weights needed)")
    register(ENCODER_KIND, "vgg19", build_vgg19_encoder, params=VGGParams,
             description="VGG-19 from a local torchvision state dict (weights=PATH or $GENART_VGG19_WEIGHTS)")


@genart.hookimpl
def register_commands(cli: click.Group) -> None:
    from .commands import stylize

    cli.add_command(stylize)
