"""The ``diffusion`` model: a U-Net trained as a denoiser, an EMA of its weights, sampling by ODE/SDE.

Two training objectives share one denoiser interface (see samplers.py):

* ``flow`` (rectified flow / flow matching, Liu et al. 2022; Lipman et al. 2022): ``x_t = (1-t) x0 + t eps``,
  the network predicts the velocity ``eps - x0``; ``t`` is drawn logit-normal (Esser et al. 2024).
* ``edm`` (Karras et al. 2022): ``x = x0 + sigma eps`` with EDM's input/output/skip scalings and
  log-normal sigma.

A sample is the deterministic image of its initial noise under an ODE sampler, so the noise is the
latent space that ``genart walk`` interpolates (spherically: it is Gaussian).
"""

from __future__ import annotations

import contextlib
import copy
import dataclasses
from collections.abc import Sequence
from typing import Any

import torch
import torch.nn.functional as F

from genart import BuildContext, UsageError
from genart.tiling import circular_padding, wrap_crops
from genart.trainkit import follow_schedule

from .nets import UNet, unet_of
from .samplers import HeunSampler, edm_sigmas

SIGMA_DATA = 0.5
#: EDM's training distribution of log sigma
P_MEAN, P_STD = -1.2, 1.2


def channels_last(layout: str, context: BuildContext) -> bool:
    """Whether the U-Net runs in channels_last: ``nhwc`` yes, ``nchw`` no, ``auto`` contiguous on the CPU
    (where oneDNN's channels_last path made this network's bf16 steps 1.5-1.8x slower, GroupNorm and
    convolutions of 16-64 channels) and the run's choice elsewhere."""
    if layout == "auto":
        return bool(context.channels_last) and context.device.type != "cpu"
    return layout == "nhwc"


def network_shape(channels: int, image_size: int, width: int, patch: int) -> tuple[int, int]:
    """The U-Net's (width, patch) for the parameters, 0 meaning automatic. Grey images at the automatic
    width get ``patch=2, width=32``: at 28 px on this 2-core CPU that network (0.76 M parameters, 2.5x the
    pixel-space width 16's, at 1.05x its FLOPs per image) trained at 399 img/s and reached FD 36.8 in 10
    minutes against the width-16 pixel network's 44.6 (295 img/s, an earlier run). Colour keeps ``patch=1,
    width=16``: folded, on ``shapes`` at 90 s, it was no better (FD 6.40 against 5.16). A run recorded
    before these options existed names ``width=16`` and so rebuilds the pixel-space network it trained."""
    if not patch:
        patch = 2 if channels == 1 and width == 0 and image_size % 2 == 0 else 1
    return width or 16 * patch, patch


def training_times(n: int, mean: float, std: float, device: torch.device) -> torch.Tensor:
    """``n`` flow times from the logit-normal ``sigmoid(N(mean, std^2))`` (Esser et al. 2024)."""
    return torch.sigmoid(torch.randn(n, device=device) * std + mean)


def default_t_mean(channels: int) -> float:
    """The logit-normal location when ``t_mean`` is not given. Grey: 0 (median t 0.5); 3-minute MNIST screens
    put it ahead of -0.8 and 1.0 (FD 101 against 183 and 125). Colour: 1.0 (median t 0.73), more training
    at high noise, where each image's background colour and layout are decided: on ``shapes`` at 90 s it
    raised the diversity ratio from 0.81-0.83 to 0.93 (Heun) and the share of dark backgrounds toward the
    data's (docs/notes/2026-12-02-diffusion-colour.md)."""
    return 0.0 if channels == 1 else 1.0


def default_sample_steps(channels: int) -> int:
    """Sampler steps when ``steps`` is 0: 40 for grey images (MNIST at 10 minutes, stochastic sampler: FD
    31.2 against 34.0 at 20 steps), 20 for colour (no clear gain at 40 on ``shapes``, twice the time)."""
    return 40 if channels == 1 else 20


def default_batch_size(channels: int) -> int:
    """The run's batch when ``--batch-size`` is not given: 64 for grey images, 32 for colour. On this
    2-core CPU at 28 px grey a batch of 64 trained 1.3x the images/s of 32 (the network is overhead-bound)
    and reached a lower FD in the same 3 minutes (93 against 115; 128 was worse, 161); at 32 px colour
    the speed grid measured no gain in images/s (274 against 271), so colour keeps 32 and more steps."""
    return 64 if channels == 1 else 32


#: sampled alpha below this is written as fully transparent (see unpremultiply)
ALPHA_CUT = 1 / 16


def unpremultiply(images: torch.Tensor) -> torch.Tensor:
    """Premultiplied RGBA in [0, 1] -> straight RGBA, with alpha under ``ALPHA_CUT`` made exactly 0.

    A sampled background is never exactly transparent: after a 2-minute run on drawn sprites (800 of 32 px,
    benchmarks/alpha_bench.py) 31 % of the pixels had alpha under 1/255, but 31 % a faint veil of 1/255-1/16
    and 10 % 1/16-1/8, against 0 in every sprite. Dividing that veil's premultiplied colour (about as small
    as its alpha) by its alpha gave each such pixel a random bright colour: invisible when composited, but
    in the files (a straight-alpha resize bleeds it into the edges) and in ``genart eval``'s features, which
    are straight RGBA pixels. On the same weights, eval's recall was 0.06 dividing by alpha down to 1/512
    and 0.60 cutting under 1/16 (real-vs-real 0.83); laid on white, what a viewer sees, 0.49 and 0.52.
    The cut changes a composited pixel by less than 1/16 of the colour under it, and loses soft alpha
    (glows, shadows) fainter than that."""
    alpha = torch.where(images[:, 3:] < ALPHA_CUT, torch.zeros_like(images[:, 3:]), images[:, 3:])
    colour = (images[:, :3] / alpha.clamp_min(ALPHA_CUT)).clamp(0, 1) * (alpha > 0)
    return torch.cat([colour, alpha], 1)


class Diffusion:
    """Owns the U-Net, its EMA copy (used for every sample), the optimiser and the sampler."""

    default_steps = 2000
    latent_prior = "gaussian"

    def __init__(self, params: Any, context: BuildContext) -> None:
        self.params = params
        self.device = context.device
        self.precision = context.precision
        self.channels_last = channels_last(params.layout, context)
        context = dataclasses.replace(context, channels_last=self.channels_last)
        self.image_shape = (params.channels, params.image_size, params.image_size)
        self.latent_shape = self.image_shape
        self.default_batch_size = default_batch_size(params.channels)
        self.width, self.patch = network_shape(params.channels, params.image_size, params.width, params.patch)
        net = UNet(params.channels, params.image_size, self.width, params.depth, params.attention, params.levels,
                   params.dropout, params.max_mult, self.patch)
        self.net = context.prepare(circular_padding(net) if params.tileable else net)
        self.ema = copy.deepcopy(self.net).eval().requires_grad_(False)
        fused = self.device.type in ("cpu", "cuda")
        self.optimizer = torch.optim.Adam(self.net.parameters(), lr=params.lr, betas=(0.9, 0.99), fused=fused)
        self.scaler = context.scaler
        self.sampler = context.build("sampler", params.sampler)
        self.step = 0
        #: the classes (genart.Conditional); empty: the unconditional model
        self.names: list[str] = []
        #: the classifier-free guidance scale of sample_labelled (genart.Guided)
        self.guidance = float(params.guidance)

    # -- classes (genart.Conditional) ---------------------------------------------------------------
    def set_classes(self, names: Sequence[str]) -> None:
        """A label embedding of ``len(names)`` classes plus "no class" (index ``len(names)``) in the U-Net
        and its EMA, trained by the same optimiser; called once, before training or loading a checkpoint."""
        if self.names:
            raise UsageError("diffusion: set_classes called twice")
        self.names = list(names)
        embedding = unet_of(self.net).set_classes(len(self.names))
        unet_of(self.ema).set_classes(len(self.names)).requires_grad_(False)
        self.optimizer.add_param_group({"params": list(embedding.parameters())})

    @property
    def null_class(self) -> int:
        """The "no class" index: dropped labels in training, the unconditional half of guidance."""
        return len(self.names)

    def drop_labels(self, labels: torch.Tensor) -> torch.Tensor:
        """Each label replaced by "no class" with probability ``cond_drop`` (so one network also learns the
        unconditional model that classifier-free guidance extrapolates from)."""
        if self.params.cond_drop <= 0:
            return labels
        dropped = torch.rand(labels.shape[0], device=labels.device) < self.params.cond_drop
        return torch.where(dropped, torch.full_like(labels, self.null_class), labels)

    # -- the denoiser ------------------------------------------------------------------------------
    def network_input(self, x: torch.Tensor) -> torch.Tensor:
        """``x`` on the device in the network's layout (the loop hands batches in the run's, which may differ)."""
        x = x.to(self.device)
        return x.contiguous(memory_format=torch.channels_last if self.channels_last else torch.contiguous_format)

    def predict(self, net: torch.nn.Module, x: torch.Tensor, sigma: torch.Tensor,
                labels: torch.Tensor | None = None) -> torch.Tensor:
        """E[x0 | x] for ``x = x0 + sigma * eps`` (images in [-1, 1]); ``sigma`` per image, ``[N]``; ``labels``
        (a conditional model's classes, see UNet.class_embedding) or None."""
        extra = () if labels is None else (labels,)
        s = sigma.view(-1, 1, 1, 1)
        if self.params.objective == "flow":
            t = sigma / (1 + sigma)
            x_t = x / (1 + s)
            velocity = net(self.network_input(x_t), t, *extra).float()
            return x_t - t.view(-1, 1, 1, 1) * velocity
        c_in = 1 / (s ** 2 + SIGMA_DATA ** 2).sqrt()
        c_skip = SIGMA_DATA ** 2 / (s ** 2 + SIGMA_DATA ** 2)
        c_out = s * SIGMA_DATA * c_in
        out = net(self.network_input(x * c_in), sigma.log() / 4, *extra).float()
        return c_skip * x + c_out * out

    def denoiser(self, labels: torch.Tensor | None = None, guidance: float = 1.0) -> Any:
        """``denoise(x, sigma)`` with the EMA network under the run's precision, for the samplers. With
        ``labels`` (class indices, or class weights ``[N, classes]``), classifier-free guidance (Ho and
        Salimans 2022): ``D = D_none + guidance * (D_class - D_none)``, so 0 is the unconditional model,
        1 the conditional one and more pushes further toward the class; both halves run as one batch.
        A conditional model without labels denoises as "no class"."""
        autocast = (torch.autocast(self.device.type, dtype=self.precision) if self.precision is not None
                    else contextlib.nullcontext())
        unconditional = None
        if labels is not None:
            labels, unconditional = self.guided_labels(labels)
            if guidance == 0:
                labels, guidance = unconditional, 1.0

        def denoise(x: torch.Tensor, sigma: float) -> torch.Tensor:
            level = torch.full((x.shape[0],), float(sigma), device=x.device)
            with autocast:
                if labels is None and not self.names:  # the unconditional model, called as it always was
                    return self.predict(self.ema, x, level)
                if labels is None or unconditional is None or guidance == 1:
                    plain = None if not self.names else torch.full((x.shape[0],), self.null_class, device=x.device)
                    return self.predict(self.ema, x, level, labels if labels is not None else plain)
                both = self.predict(self.ema, torch.cat([x, x]), torch.cat([level, level]),
                                    torch.cat([labels, unconditional]))
            conditional, plain = both.chunk(2)
            return plain + guidance * (conditional - plain)

        return denoise

    def guided_labels(self, labels: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(the labels, "no class" in the same form) on the device: indices stay indices, class weights
        ``[N, classes]`` get a "no class" column."""
        if not self.names:
            raise UsageError("diffusion: this model was not trained on labels")
        k = self.null_class
        labels = labels.to(self.device)
        if labels.is_floating_point():
            labels = F.pad(labels.float(), (0, 1))
            return labels, F.one_hot(torch.full_like(labels[:, 0], k, dtype=torch.int64), k + 1).float()
        return labels, torch.full_like(labels, k)

    # -- pixels <-> the model's space ---------------------------------------------------------------
    def encode_images(self, images: torch.Tensor) -> torch.Tensor:
        """Images in [0, 1] -> the space the model diffuses in, [-1, 1]. With alpha (4 channels) the colour
        is premultiplied first: a transparent pixel's colour is arbitrary in the files (often leftovers of
        an editor), and premultiplying makes every transparent pixel the same (0, 0, 0, 0), so the network
        does not spend itself modelling colours nobody sees."""
        images = images.float()
        if images.shape[1] == 4:
            images = torch.cat([images[:, :3] * images[:, 3:], images[:, 3:]], 1)
        return images * 2 - 1

    def decode_images(self, x: torch.Tensor) -> torch.Tensor:
        """The model's space -> images in [0, 1]; with alpha, see :func:`unpremultiply`."""
        images = ((x.float() + 1) / 2).clamp(0, 1)
        return unpremultiply(images) if images.shape[1] == 4 else images

    # -- training --------------------------------------------------------------------------------
    def train_step(self, batch: torch.Tensor) -> dict[str, float]:
        return self.learn(batch, None)

    def train_step_labelled(self, batch: torch.Tensor, labels: torch.Tensor) -> dict[str, float]:
        """A step on labelled images (genart.Conditional): labels dropped to "no class" at ``cond_drop``."""
        if not self.names:
            raise UsageError("diffusion: train_step_labelled before set_classes")
        return self.learn(batch, self.drop_labels(labels.to(self.device)))

    def learn(self, batch: torch.Tensor, labels: torch.Tensor | None) -> dict[str, float]:
        """One step of the objective; ``labels`` None: the unconditional network, exactly as it always was."""
        extra = () if labels is None else (labels,)
        self.net.train()
        x0 = self.encode_images((wrap_crops(batch) if self.params.tileable else batch).to(self.device))
        n = x0.shape[0]
        eps = torch.randn_like(x0)
        if self.params.objective == "flow":
            t = training_times(n, self.t_mean, self.params.t_std, x0.device)
            tt = t.view(-1, 1, 1, 1)
            x_t = (1 - tt) * x0 + tt * eps
            pred = self.net(self.network_input(x_t), t, *extra)
            loss = F.mse_loss(pred.float(), eps - x0)
        else:
            sigma = (torch.randn(n, device=x0.device) * P_STD + P_MEAN).exp()
            s = sigma.view(-1, 1, 1, 1)
            c_in = 1 / (s ** 2 + SIGMA_DATA ** 2).sqrt()
            c_skip = SIGMA_DATA ** 2 / (s ** 2 + SIGMA_DATA ** 2)
            c_out = s * SIGMA_DATA * c_in
            x = x0 + s * eps
            pred = self.net(self.network_input(x * c_in), sigma.log() / 4, *extra)
            # EDM's weighting lambda(sigma) = 1 / c_out^2 makes the loss a plain MSE on the network's target
            loss = F.mse_loss(pred.float(), (x0 - c_skip * x) / c_out)
        self.optimizer.zero_grad(set_to_none=True)
        self.scaler.backward(loss)
        self.after_step()
        return {"loss": loss.detach().item()}

    # -- the learning-rate schedule ----------------------------------------------------------------
    def set_progress(self, progress: float) -> None:
        """The loop's share of the run done (genart.FollowsProgress): the learning rate follows
        ``lr_schedule`` over it, so a ``--minutes`` run decays over its wall-clock budget too."""
        follow_schedule(self.optimizer, self.params.lr, self.params.lr_schedule, progress)

    def extra_metrics(self) -> dict[str, float]:
        return {"lr": float(self.optimizer.param_groups[0]["lr"])}

    @torch.compiler.disable  # a Python-side counter, an lr and an EMA decay that change every step: eager
    @torch.no_grad()
    def after_step(self) -> None:
        """Step the optimiser (outside --compile's graph, which would otherwise be rebuilt for each new
        learning rate), advance the step counter and the EMA, whose decay ramps up as (1+t)/(10+t) to
        its cap, so a short run's average does not reach back to the noise of the first steps."""
        self.scaler.step(self.optimizer)
        self.step += 1
        decay = min(self.params.ema, (1 + self.step) / (10 + self.step))
        for ema_param, param in zip(self.ema.parameters(), self.net.parameters(), strict=True):
            ema_param.lerp_(param.detach(), 1 - decay)

    @property
    def t_mean(self) -> float:
        """The training distribution's location: the parameter, or the image kind's default."""
        return default_t_mean(self.params.channels) if self.params.t_mean is None else self.params.t_mean

    # -- sampling ---------------------------------------------------------------------------------
    @property
    def sample_steps(self) -> int:
        """Sampler steps: the parameter, or the image kind's default when it is 0."""
        return self.params.steps or default_sample_steps(self.params.channels)

    def sigmas(self, steps: int | None = None, sigma_max: float | None = None) -> list[float]:
        p = self.params
        return edm_sigmas(steps or self.sample_steps, p.sigma_min, sigma_max or p.sigma_max, p.rho)

    def generate(self, noise: torch.Tensor, sampler: Any, generator: torch.Generator | None,
                 labels: torch.Tensor | None = None) -> torch.Tensor:
        """Unit Gaussian noise ``[N, C, H, W]`` -> images in [0, 1] through ``sampler`` (of the classes
        ``labels`` with the model's ``guidance``, where given)."""
        self.ema.eval()
        with torch.no_grad():
            x = noise.to(self.device, torch.float32) * self.params.sigma_max
            out = sampler(self.denoiser(labels, self.guidance), x, self.sigmas(), generator)
        return self.decode_images(out).cpu()

    def sample(self, n: int, generator: torch.Generator) -> torch.Tensor:
        """``n`` samples; a conditional model draws each one's class uniformly (after the noise, from the
        same generator) and samples it with its guidance."""
        noise = torch.randn(n, *self.image_shape, generator=generator)
        labels = torch.randint(0, len(self.names), (n,), generator=generator) if self.names else None
        return self.generate(noise, self.sampler, generator, labels)

    def sample_labelled(self, labels: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
        """Images of the classes ``labels`` (genart.Conditional), from the same noise ``sample`` draws."""
        noise = torch.randn(labels.shape[0], *self.image_shape, generator=generator)
        return self.generate(noise, self.sampler, generator, labels.to(torch.int64))

    def walk_sampler(self) -> Any:
        return self.sampler if getattr(self.sampler, "deterministic", False) else HeunSampler()

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        """Initial noise -> image through a deterministic sampler (Heun when the chosen one is stochastic),
        so nearby noise gives nearby images and walks are smooth (a conditional model: "no class")."""
        return self.generate(z.reshape(-1, *self.image_shape), self.walk_sampler(), None)

    def decode_labelled(self, z: torch.Tensor, weights: torch.Tensor) -> torch.Tensor:
        """``decode`` under a blend of classes (genart.ConditionalDecoder): ``weights`` ``[N, classes]``."""
        return self.generate(z.reshape(-1, *self.image_shape), self.walk_sampler(), None, weights.float())

    def noise_level(self, strength: float) -> float:
        """The sigma at which a share ``strength`` of the signal is noise (rectified flow's t), capped at sigma_max."""
        if strength >= 1:
            return self.params.sigma_max
        return min(self.params.sigma_max, strength / (1 - strength))

    def vary(self, images: torch.Tensor, strength: float, generator: torch.Generator,
             steps: int | None = None) -> torch.Tensor:
        """SDEdit (Meng et al. 2022): noise images in [0, 1] to the level of ``strength``, then denoise."""
        if strength <= 0:
            return images.clone()
        sigma = self.noise_level(strength)
        if sigma <= self.params.sigma_min:
            return images.clone()
        self.ema.eval()
        with torch.no_grad():
            x0 = self.encode_images(images.to(self.device, torch.float32))
            noise = torch.randn(x0.shape, generator=generator).to(self.device)
            x = x0 + sigma * noise
            out = self.sampler(self.denoiser(None, self.guidance), x, self.sigmas(steps, sigma_max=sigma), generator)
        return self.decode_images(out).cpu()

    # -- state ------------------------------------------------------------------------------------
    def state_dict(self) -> dict[str, Any]:
        return {"net": self.net.state_dict(), "ema": self.ema.state_dict(), "optimizer": self.optimizer.state_dict(),
                "counters": {"step": self.step}}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        try:
            self.net.load_state_dict(state["net"])
            self.ema.load_state_dict(state["ema"])
        except RuntimeError as error:
            first = str(error).strip().splitlines()[0]
            raise UsageError(f"checkpoint does not fit diffusion:{self.describe()} ({first[:160]})") from None
        self.optimizer.load_state_dict(state["optimizer"])
        self.step = int(state["counters"]["step"])

    def describe(self) -> str:
        p = self.params
        return (f"image_size={p.image_size},channels={p.channels},width={self.width},patch={self.patch},"
                f"depth={p.depth}")

