"""Tiny random-weight networks for every architecture in spandrel's main registry (no downloads).

Each entry builds spandrel's own class with a small configuration, so detection, loading and the
forward pass are exercised exactly as with a community file, in milliseconds. ``None`` marks an
architecture that cannot be made small enough to be worth a unit test, with the reason.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any


def _net(arch: str, cls: str | None = None) -> Any:
    from genart_models.compat import import_spandrel

    import_spandrel()
    module = importlib.import_module(f"spandrel.architectures.{arch}")
    return getattr(module, cls or arch)


def _swin_kwargs(**extra: Any) -> dict[str, Any]:
    return {"embed_dim": 12, "depths": [1], "num_heads": [2], "window_size": 4, **extra}


#: architecture id -> factory of a small random network (its kwargs chosen to be tiny but detectable)
TINY: dict[str, Callable[[], Any] | None] = {
    "ESRGAN": lambda: _net("ESRGAN")(num_filters=8, num_blocks=1, scale=4),
    "Compact": lambda: _net("Compact")(num_feat=8, num_conv=2, upscale=4),
    "SwiftSRGAN": lambda: _net("SwiftSRGAN")(num_channels=8, num_blocks=1, upscale_factor=2),
    "SwinIR": lambda: _net("SwinIR")(**_swin_kwargs(upscale=2, upsampler="pixelshuffledirect")),
    "Swin2SR": lambda: _net("Swin2SR")(**_swin_kwargs(upscale=2, upsampler="pixelshuffledirect")),
    "HAT": lambda: _net("HAT")(embed_dim=12, depths=(1,), num_heads=(2,), window_size=4, compress_ratio=3,
                               squeeze_factor=4, upscale=2, upsampler="pixelshuffle"),
    "DAT": lambda: _net("DAT")(embed_dim=16, depth=[1], num_heads=[2], split_size=[2, 4], upscale=2),
    "RGT": lambda: _net("RGT")(embed_dim=12, depth=[1], num_heads=[2], split_size=[4, 4], upscale=2),
    "SPAN": lambda: _net("SPAN")(num_in_ch=3, num_out_ch=3, feature_channels=8, upscale=2),
    "OmniSR": lambda: _net("OmniSR")(num_feat=8, block_num=1, window_size=4, up_scale=2),
    "SCUNet": lambda: _net("SCUNet")(config=[1, 1, 1, 1, 1, 1, 1], dim=64),
    "NAFNet": lambda: _net("NAFNet")(width=8, middle_blk_num=1, enc_blk_nums=[1], dec_blk_nums=[1]),
    "FBCNN": lambda: _net("FBCNN")(nc=[8, 16, 32, 512], nb=2),
    "DRUNet": lambda: _net("DRUNet")(in_nc=4, out_nc=3, nc=[8, 8, 8, 8], nb=2),
    "DnCNN": lambda: _net("DnCNN")(in_nc=3, out_nc=3, nc=8, nb=8),
    "CRAFT": lambda: _net("CRAFT")(window_size=16, embed_dim=12, depths=[1], num_heads=[2], upscale=2),
    "DITN": lambda: _net("DITN")(dim=12, ITL_blocks=1, SAL_blocks=1, patch_size=8, upscale=2),
    "MMRealSR": lambda: _net("MMRealSR")(num_in_ch=3, num_out_ch=3, scale=4, num_feat=8, num_block=1,
                                         num_grow_ch=8, num_feats=[8, 8, 8, 8], num_blocks=[1, 1, 1, 1]),
    "RealCUGAN": lambda: _net("RealCUGAN", "UpCunet2x")(),
    "SAFMN": lambda: _net("SAFMN")(dim=8, n_blocks=1, upscaling_factor=2),
    "SAFMNBCIE": lambda: _net("SAFMNBCIE")(dim=16, n_blocks=1, num_layers=1, upscaling_factor=2),
    "DCTLSA": lambda: _net("DCTLSA")(nf=10, num_modules=6, upscale=2, num_head=2),
    "FFTformer": lambda: _net("FFTformer")(dim=8, num_blocks=[1, 1, 1], num_refinement_blocks=1),
    "KBNet": lambda: _net("KBNet", "KBNet_s")(width=8, middle_blk_num=1, enc_blk_nums=[1, 1, 1, 1],
                                              dec_blk_nums=[1, 1, 1, 1]),
    "ATD": lambda: _net("ATD")(embed_dim=12, depths=(2,), num_heads=(2,), window_size=4, category_size=16,
                               num_tokens=8, reducted_dim=4, upscale=2, upsampler="pixelshuffledirect"),
    "MixDehazeNet": lambda: _net("MixDehazeNet")(embed_dims=[8, 16, 32, 16, 8], depths=[1, 1, 1, 1, 1]),
    "IPT": None,  # a ViT over 48 px patches with 12 heads x 12 layers; its smallest detectable form still takes seconds
    "DRCT": lambda: _net("DRCT")(embed_dim=12, depths=(1,), num_heads=(2,), window_size=4, upscale=2,
                                 upsampler="pixelshuffle", gc=8),
    "PLKSR": lambda: _net("PLKSR")(dim=16, n_blocks=1, upscaling_factor=2, kernel_size=5),
    "RetinexFormer": lambda: _net("RetinexFormer")(n_feat=8, stage=1, num_blocks=[1, 1, 1]),
    "HVICIDNet": lambda: _net("HVICIDNet")(channels=[8, 8, 16, 32], heads=[1, 2, 4, 8]),
    "SeemoRe": lambda: _net("SeemoRe")(scale=2, num_experts=2, num_layers=1, embedding_dim=8, recursive=1),
    "MoSR": lambda: _net("MoSR")(upscale=2, n_block=1, dim=8),
    "MoESR": lambda: _net("MoESR")(scale=2, dim=16, n_blocks=1, n_block=1, upsample_dim=16),
    "RCAN": lambda: _net("RCAN")(scale=2, n_resgroups=1, n_resblocks=1, n_feats=16, reduction=4),
    "FDAT": lambda: _net("FDAT")(scale=2, embed_dim=16, num_groups=1, depth_per_group=2, num_heads=2, window_size=4,
                                 mid_dim=16),
    "GRL": None,  # built from its stripe/window/anchor attention with many fixed internal sizes; not reducible quickly
    "GFPGAN": None,  # a face restorer with a StyleGAN2 decoder at out_size >= 512: large by construction
    "RestoreFormer": None,  # a VQ face restorer at 512 px with a 1024-entry codebook: large by construction
    "LaMa": None,  # inpainting (needs a mask): refused by the model post-processor, tested on its own
    "Uformer": None,  # needs square inputs of a multiple of 128 px and a 9-stage U: seconds per call at the smallest
    "AuraSR": None,  # a GigaGAN upsampler (600M parameters) with a style network: large by construction
}


def tiny_state(arch: str) -> dict[str, Any]:
    """The state dict of the tiny random network for ``arch`` (fixed seed: same tensors every call)."""
    import torch

    factory = TINY[arch]
    if factory is None:
        raise KeyError(f"{arch} has no tiny configuration")
    torch.manual_seed(0)
    net = factory()
    return {k: v.detach().clone().contiguous() for k, v in net.state_dict().items()}
