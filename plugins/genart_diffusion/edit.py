"""Image-conditioned uses of a trained diffusion run, as post-processors: SDEdit and RePaint.

Both load the run once (its manifest says how to rebuild the model, its checkpoint holds the EMA
weights), bring each batch to the model's size and channels, and bring the result back, so they
accept images of any size in the post chain. Alpha is kept as it came.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F

from genart import UsageError
from genart.api import CHECKPOINT, MANIFEST, build_model, find_run_dir, load_checkpoint, read_json
from genart.images import convert_channels, load_image, split_alpha


def load_diffusion_run(run: Path, context: Any) -> Any:
    """The trained model of a run folder; a one-line error when it is not a diffusion run."""
    folder = find_run_dir(run)
    manifest = read_json(folder / MANIFEST)
    name = manifest.get("model", {}).get("name")
    if name != "diffusion":
        raise UsageError(f"{folder} holds a {name!r} run; diffuse-vary and diffuse-inpaint need a diffusion run")
    if not (folder / CHECKPOINT).is_file():
        raise UsageError(f"{folder} has no checkpoint (train the run first)")
    model = build_model(context, manifest["model"]["spec"])
    state, _ = load_checkpoint(folder / CHECKPOINT)
    model.load_state_dict(state["model"])
    return model


def resize(images: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    if tuple(images.shape[-2:]) == tuple(size):
        return images
    shrink = images.shape[-2] > size[0] or images.shape[-1] > size[1]
    return F.interpolate(images, size=size, mode="bicubic", align_corners=False, antialias=shrink).clamp(0, 1)


class RunEditor:
    """What both post-processors share: the model, the size/channel round trip, the per-call generator."""

    def __init__(self, params: Any, context: Any) -> None:
        self.params = params
        self.model = load_diffusion_run(params.run, context)
        self.channels, self.size, _ = self.model.image_shape

    def __call__(self, images: torch.Tensor) -> torch.Tensor:
        color, alpha = split_alpha(images.float())
        h, w = color.shape[-2:]
        if getattr(getattr(self.model, "params", None), "tileable", False) and h != w:
            raise UsageError(f"the run was trained with tileable=true, which takes square images; got {h}x{w} "
                             "(crop them square first)")
        model_in = resize(convert_channels(color, self.channels), (self.size, self.size)).cpu()
        generator = torch.Generator().manual_seed(self.params.seed)
        out = self.edit(model_in, color, generator)
        if out is color:
            result = color
        else:
            result = convert_channels(resize(out, (h, w)), color.shape[1]).to(color.device)
            result = self.composite(color, result)
        return torch.cat([result, alpha], 1) if alpha is not None else result

    def edit(self, model_in: torch.Tensor, original: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
        raise NotImplementedError

    def composite(self, original: torch.Tensor, result: torch.Tensor) -> torch.Tensor:
        return result

    def steps(self) -> int | None:
        return self.params.steps or None


class Vary(RunEditor):
    """SDEdit: the image is noised to the level of ``strength`` and the sampler denoises it from there, so
    low strength keeps the composition and changes texture, high strength keeps only the rough layout."""

    def edit(self, model_in: torch.Tensor, original: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
        if self.params.strength <= 0:
            return original
        return self.model.vary(model_in, self.params.strength, generator, self.steps())


class Inpaint(RunEditor):
    """RePaint (Lugmayr et al. 2022) on the ODE: at every noise level the known pixels are replaced by the
    original noised to that level, and each step is redone ``resample`` times after re-noising, so the
    filled region agrees with its surroundings rather than only with itself."""

    def __init__(self, params: Any, context: Any) -> None:
        super().__init__(params, context)
        self.mask_image = load_image(params.mask, channels=1) if params.mask is not None else None

    def mask(self, h: int, w: int) -> torch.Tensor:
        """``[1, 1, h, w]``, 1 where to fill."""
        if self.mask_image is not None:
            return (resize(self.mask_image[None], (h, w)) > 0.5).float()
        mask = torch.zeros(1, 1, h, w)
        region = self.params.region
        if region == "center":
            mask[..., h // 4: h - h // 4, w // 4: w - w // 4] = 1
        elif region == "left":
            mask[..., :, : w // 2] = 1
        elif region == "right":
            mask[..., :, w // 2:] = 1
        elif region == "top":
            mask[..., : h // 2, :] = 1
        else:
            mask[..., h // 2:, :] = 1
        return mask

    def edit(self, model_in: torch.Tensor, original: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
        model = self.model
        mask = self.mask(self.size, self.size).to(model.device)
        if not mask.any():
            return original
        denoise = model.denoiser()
        sigmas = model.sigmas(self.steps())
        model.ema.eval()
        with torch.no_grad():
            known = model.encode_images(model_in.to(model.device))

            def noise() -> torch.Tensor:
                return torch.randn(known.shape, generator=generator).to(model.device)

            x = sigmas[0] * noise()
            for sigma, sigma_next in zip(sigmas[:-1], sigmas[1:], strict=True):
                for round_ in range(self.params.resample):
                    x = mask * x + (1 - mask) * (known + sigma * noise())
                    x0 = denoise(x, sigma)
                    x = x0 + sigma_next / sigma * (x - x0)  # Euler step of the ODE
                    if round_ < self.params.resample - 1 and sigma_next > 0:
                        x = x + (sigma ** 2 - sigma_next ** 2) ** 0.5 * noise()  # back up to sigma
            x = mask * x + (1 - mask) * known
        return model.decode_images(x).cpu()

    def composite(self, original: torch.Tensor, result: torch.Tensor) -> torch.Tensor:
        h, w = original.shape[-2:]
        mask = self.mask(h, w).to(original.device)
        return mask * result + (1 - mask) * original
