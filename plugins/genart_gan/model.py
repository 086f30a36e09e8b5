"""The ``gan`` model: alternates one D step and one G step per batch, keeps an EMA of G for sampling.

On labelled data (the core calls ``set_classes``, genart.Conditional) it is a class-conditional GAN:
conditional BatchNorm in G, a projection discriminator (nets.py); each fake batch is drawn with the real
batch's labels, so D, R1 and a loss's own penalties always judge images of known classes. Without
labels nothing of this is built and the model trains exactly as before."""

from __future__ import annotations

import copy
import dataclasses
from collections.abc import Callable, Sequence
from typing import Any

import torch

from genart import BuildContext, GANLoss, RelativisticGANLoss, Scored, UsageError
from genart.tiling import circular_padding, wrap_crops

from .augment import augment
from .checkpoint import blocks_in, check_classes, upgrade_discriminator_keys
from .nets import Discriminator, Generator, MinibatchStd, category_of
from .params import augment_policy


class GAN:
    """Owns G, D, their Adam optimisers, the EMA generator and the adversarial loss object.

    Sampling and ``decode`` use the EMA generator (in eval mode), which averages out the last steps'
    oscillation and gives clearly better samples than the raw G for the same training.
    """

    default_steps = 2000
    default_batch_size = 64
    #: --compile: the step branches on the step counter and the ADA tally, so dynamo would recompile it
    #: every few steps (measured 0.19x eager speed in benchmarks/speed.py); train eagerly instead
    supports_compile = False

    def __init__(self, params: Any, context: BuildContext) -> None:
        self.params = params
        self.device = context.device
        self.image_shape = (params.channels, params.image_size, params.image_size)
        self.latent_shape = (params.latent,)
        self.policy = augment_policy(params.augment)
        self.loss = context.build("loss", params.loss)
        if not isinstance(self.loss, GANLoss):
            raise UsageError(f"loss {params.loss!r} is not an adversarial loss (it needs d_loss(d, real, fake) "
                             "and g_loss(d, fake)); try ns, hinge, lsgan or wgan-gp")
        context.check_tag("loss", params.loss, "gan")
        self.prepare = context.prepare  # device + memory layout
        self.class_names: list[str] = []  # set by the core on labelled data (set_classes)
        self.build_networks()
        self.scaler = context.scaler  # loss scaling under fp16 (a pass-through otherwise)
        self.step = 0
        # ADA-style adaptive augmentation: p (share of images augmented) follows the overfitting signal
        # r_t = E[sign(D(real))]; with ada_target 0 the policy is always applied (p = 1).
        self.aug_p = 0.0 if params.ada_target > 0 else 1.0
        self.ada_sum, self.ada_count = 0.0, 0

    def build_networks(self) -> None:
        """G, D, the EMA of G and both optimisers, from ``self.params`` (again when a checkpoint differs)."""
        p = self.params
        k = len(self.class_names)
        g = Generator(p.latent, p.width, p.image_size, p.channels, p.upsample, p.categories, p.blocks, k)
        d = Discriminator(p.width, p.image_size, p.channels, p.spectral_norm, p.categories, p.mbstd_group, k)
        if p.tileable:  # both wrap: D judges the image as the torus G makes
            circular_padding(g), circular_padding(d)
        self.g, self.d = self.prepare(g), self.prepare(d)
        self.g_ema = copy.deepcopy(self.g).eval().requires_grad_(False)
        betas = (p.beta1, p.beta2)
        self.opt_g = torch.optim.Adam(self.g.parameters(), lr=p.lr_g, betas=betas)
        self.opt_d = torch.optim.Adam(self.d.parameters(), lr=p.lr_d, betas=betas)

    def set_classes(self, names: Sequence[str]) -> None:
        """genart.Conditional: the data's class names; G and D are rebuilt class-conditional for them."""
        names = [str(name) for name in names]
        if names != self.class_names:
            self.class_names = names
            self.build_networks()

    def class_weights(self, labels: torch.Tensor) -> torch.Tensor:
        """Labels ``[N]`` to the nets' one-hot class weights ``[N, K]`` (a one-line error when out of range)."""
        k = len(self.class_names)
        if labels.numel() and (int(labels.min()) < 0 or int(labels.max()) >= k):
            raise UsageError(f"label {int(labels.max()) if int(labels.max()) >= k else int(labels.min())} is not "
                             f"one of this GAN's {k} classes (0-{k - 1}: {', '.join(self.class_names)})")
        return torch.nn.functional.one_hot(labels.long(), k).float().to(self.device)

    # -- training --------------------------------------------------------------------------------
    def discriminate(self, images: torch.Tensor) -> torch.Tensor:
        """D's logits ``[N]`` on augmented images: the ``d`` a loss is handed for images of its own."""
        return self.features_and_scores(images)[1]

    def critic(self, weights: torch.Tensor | None) -> Callable[[torch.Tensor], torch.Tensor]:
        """The ``d`` handed to a loss: D's logits on images of the batch's classes (``weights``)."""
        if weights is None:
            return self.discriminate
        return lambda images: self.features_and_scores(images, weights)[1]

    def features_and_scores(self, images: torch.Tensor,
                            weights: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        """D's body features and logits on augmented images: what every loss sees, real and fake alike.

        Each image is augmented with probability ``aug_p``. A loss in the plugin API 1 form hands its
        :class:`genart.Scored` batch back to ``d``; its images are scored, with a deprecation warning."""
        images = Scored.images_of(images)
        x = images
        if self.policy and self.aug_p >= 1:
            x = augment(images, self.policy)
        elif self.policy and self.aug_p > 0:  # augment only the chosen images: cheap while p is small
            chosen = (torch.rand(images.shape[0], device=images.device) < self.aug_p).nonzero().squeeze(1)
            if chosen.numel():
                x = images.index_copy(0, chosen, augment(images.index_select(0, chosen), self.policy))
        features = self.d.body(x)
        return features, self.d.score(features, weights)

    def score_real(self, real: torch.Tensor, weights: torch.Tensor | None = None) -> Scored:
        """The D step's real batch scored; D's verdicts are tallied for the adaptive ``aug_p``."""
        _, scores = self.features_and_scores(real, weights)
        self.ada_sum += float(scores.detach().float().sign().sum())
        self.ada_count += scores.shape[0]
        return Scored(real, scores)

    def update_augment_p(self) -> None:
        """Every 4 steps move p towards keeping r_t = E[sign(D(real))] at ada_target (Karras et al. 2020)."""
        p = self.params
        if p.ada_target <= 0 or not self.policy or self.step % 4 or not self.ada_count:
            return
        r_t = self.ada_sum / self.ada_count
        rate = self.ada_count / p.ada_images
        self.aug_p = min(max(self.aug_p + (rate if r_t > p.ada_target else -rate), 0.0), 1.0)
        self.ada_sum, self.ada_count = 0.0, 0

    def noise(self, n: int) -> torch.Tensor:
        return torch.randn(n, *self.latent_shape, device=self.device)

    def train_step(self, batch: torch.Tensor) -> dict[str, float]:
        return self.step_with(batch, None)

    def train_step_labelled(self, batch: torch.Tensor, labels: torch.Tensor) -> dict[str, float]:
        """genart.Conditional: one step on a labelled batch (fakes are drawn with the same labels)."""
        if not self.class_names:
            raise UsageError("the gan was given labels before its classes (set_classes)")
        return self.step_with(batch, self.class_weights(labels))

    def step_with(self, batch: torch.Tensor, weights: torch.Tensor | None) -> dict[str, float]:
        """One D step and one G step; ``weights`` ``[B, K]`` are the batch's classes (None: unconditional)."""
        p = self.params
        d = self.critic(weights)
        self.g.train()
        self.d.train()
        real = (wrap_crops(batch) if p.tileable else batch).to(self.device) * 2 - 1
        n = real.shape[0]
        logs: dict[str, float] = {}

        # discriminator: the model scores both batches (real first, then fake) and hands them to the loss
        self.d.requires_grad_(True)
        z = self.noise(n)
        with torch.no_grad():
            fake = self.generate(z, weights)
        scored_real = self.score_real(real, weights)
        features, scores = self.features_and_scores(fake, weights)
        d_loss = self.loss.d_loss(d, scored_real, Scored(fake, scores))
        logs["d_loss"] = float(d_loss.detach())
        if p.categories:
            info = self.code_loss(features, z)
            logs["info"] = float(info.detach())
            d_loss = d_loss + p.info_weight * info
        if p.r1_gamma > 0 and self.step % p.r1_every == 0:
            r1 = self.r1_penalty(real, d)
            logs["r1"] = float(r1.detach())
            d_loss = d_loss + 0.5 * p.r1_gamma * p.r1_every * r1
        self.opt_d.zero_grad(set_to_none=True)
        self.scaler.backward(d_loss)
        self.scaler.step(self.opt_d)

        # generator (D frozen so its weights collect no gradient)
        self.d.requires_grad_(False)
        z = self.noise(n)
        fake = self.generate(z, weights)
        if isinstance(self.loss, RelativisticGANLoss):  # its G objective compares with the reals (scored first)
            scored_real = Scored(real, d(real))
            features, scores = self.features_and_scores(fake, weights)
            g_loss = self.loss.g_loss_given_real(d, Scored(fake, scores), scored_real)
        else:
            features, scores = self.features_and_scores(fake, weights)
            g_loss = self.loss.g_loss(d, Scored(fake, scores))
        if p.categories:
            g_loss = g_loss + p.info_weight * self.code_loss(features, z)
        self.opt_g.zero_grad(set_to_none=True)
        self.scaler.backward(g_loss)
        self.scaler.step(self.opt_g)
        self.d.requires_grad_(True)
        logs["g_loss"] = float(g_loss.detach())

        self.step += 1
        self.update_ema()
        self.update_augment_p()
        if self.policy:
            logs["aug_p"] = self.aug_p
        return logs

    def generate(self, z: torch.Tensor, weights: torch.Tensor | None) -> torch.Tensor:
        """The training G on ``z`` (and the classes, when conditional)."""
        return self.g(z) if weights is None else self.g(z, weights)

    def code_loss(self, features: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
        """InfoGAN's mutual-information term: D's Q head must tell which category G drew from.

        G is pushed to make every category distinct, so the K categories settle on K distinct modes of the
        data (digit classes on MNIST) and fewer samples fall between modes. ``features`` are D's body
        features of the fakes drawn from ``z``, from the model's own scoring of the fake batch."""
        assert self.d.classify is not None, "code_loss is called only with categories"
        logits = self.d.classify(features).float()
        return torch.nn.functional.cross_entropy(logits, category_of(z, self.params.categories))

    @torch.compiler.disable  # double backward: eager even under --compile
    def r1_penalty(self, real: torch.Tensor,
                   d: Callable[[torch.Tensor], torch.Tensor] | None = None) -> torch.Tensor:
        """Mean squared gradient norm of D (``d``: of the batch's classes) at the real images (Mescheder et
        al. 2018). The gradient is taken of the scaled output and unscaled, so fp16 loss scaling covers it too."""
        real = real.detach().requires_grad_(True)
        scaled = self.scaler.scale_loss((d or self.discriminate)(real).float().sum())
        (grad,) = torch.autograd.grad(scaled, real, create_graph=True)
        return (grad.float() / self.scaler.scale).pow(2).flatten(1).sum(1).mean()

    @torch.no_grad()
    def update_ema(self) -> None:
        # The decay ramps up as (1 + t) / (10 + t) to its cap, so the average never reaches back to the
        # noise of the first steps: with a fixed 0.999 a short CPU run would sample a blur of early G's.
        t = self.step - self.params.ema_warmup
        decay = min(self.params.ema, (1 + t) / (10 + t)) if t > 0 else 0.0
        for ema_param, param in zip(self.g_ema.parameters(), self.g.parameters(), strict=True):
            ema_param.lerp_(param.detach(), 1 - decay)
        for ema_buffer, buffer in zip(self.g_ema.buffers(), self.g.buffers(), strict=True):
            ema_buffer.copy_(buffer)

    # -- sampling ---------------------------------------------------------------------------------
    def decode(self, z: torch.Tensor) -> torch.Tensor:
        """Latents ``[N, latent]`` to images in [0, 1] with the EMA generator. A conditional GAN takes the
        class from z's last entry (K equally likely bins of the normal CDF), so ``sample`` draws every
        class equally often and a latent alone still names one image."""
        if self.class_names:
            k = len(self.class_names)
            return self.decode_labelled(z, self.class_weights(category_of(z[:, -1:], k)))
        self.g_ema.eval()
        with torch.no_grad():
            out = self.g_ema(z.to(self.device, torch.float32))
        return ((out.float() + 1) / 2).clamp(0, 1)

    def decode_labelled(self, z: torch.Tensor, weights: torch.Tensor) -> torch.Tensor:
        """genart.ConditionalDecoder: latents and class weights ``[N, K]`` (one-hot, or a blend for a walk
        between classes) to images in [0, 1]."""
        if not self.class_names:
            raise UsageError("this gan was trained without labels; it cannot draw a class")
        self.g_ema.eval()
        with torch.no_grad():
            out = self.g_ema(z.to(self.device, torch.float32), weights.to(self.device, torch.float32))
        return ((out.float() + 1) / 2).clamp(0, 1)

    def sample(self, n: int, generator: torch.Generator) -> torch.Tensor:
        return self.decode(torch.randn(n, *self.latent_shape, generator=generator))

    def sample_labelled(self, labels: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
        """genart.Conditional: image ``i`` of class ``labels[i]``, z drawn from ``generator`` as ``sample`` does."""
        weights = self.class_weights(labels)
        return self.decode_labelled(torch.randn(labels.shape[0], *self.latent_shape, generator=generator), weights)

    # -- checkpoints ------------------------------------------------------------------------------
    def state_dict(self) -> dict[str, Any]:
        return {
            "g": self.g.state_dict(),
            "d": self.d.state_dict(),
            "g_ema": self.g_ema.state_dict(),
            "opt_g": self.opt_g.state_dict(),
            "opt_d": self.opt_d.state_dict(),
            # DiffAugment draws from the global RNG, which the training loop checkpoints; the policy is
            # kept so a checkpoint says how it was trained.
            "augment": {"policy": "+".join(self.policy) or "none", "p": self.aug_p, "sum": self.ada_sum,
                        "count": self.ada_count},
            "counters": {"step": self.step},
            # Not in the weights' shapes, so recorded: a checkpoint trains on with the group it began with.
            "architecture": {"mbstd_group": self.params.mbstd_group},
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        d_state = upgrade_discriminator_keys(state["d"], len(self.d.body))
        # The checkpoint decides the categorical code: a run trained before `categories` existed (or with
        # another K) is rebuilt with the K its weights were trained with, so it samples and resumes as before.
        categories = int(d_state["classify.weight"].shape[0]) if "classify.weight" in d_state else 0
        # Likewise G's depth: runs from before `blocks` existed have none.
        blocks = blocks_in(state["g"], self.g.levels)
        check_classes(d_state, len(self.class_names))
        if (categories, blocks) != (self.params.categories, self.params.blocks):
            self.params = dataclasses.replace(self.params, categories=categories, blocks=blocks)
            self.build_networks()
        # D's minibatch-std group leaves no trace in the weights; checkpoints from before it was recorded
        # were all trained with the whole batch (0), whatever today's default for their size is.
        group = int(state.get("architecture", {}).get("mbstd_group", 0))
        if group != self.params.mbstd_group:
            self.params = dataclasses.replace(self.params, mbstd_group=group)
            for module in self.d.modules():
                if isinstance(module, MinibatchStd):
                    module.group = group
        self.g.load_state_dict(state["g"])
        self.d.load_state_dict(d_state)
        self.g_ema.load_state_dict(state["g_ema"])
        self.opt_g.load_state_dict(state["opt_g"])
        self.opt_d.load_state_dict(state["opt_d"])
        self.step = int(state["counters"]["step"])
        augment_state = state.get("augment", {})
        self.aug_p = float(augment_state.get("p", self.aug_p))
        self.ada_sum = float(augment_state.get("sum", 0.0))
        self.ada_count = int(augment_state.get("count", 0))
