"""The convolutional VAE: training on the ELBO, sampling from a prior fitted after training (or N(0, I)),
and likelihood evaluation."""

from __future__ import annotations

import math
from typing import Any

import torch

from genart.tiling import circular_padding, wrap_crops
from genart.trainkit import follow_schedule

from .likelihoods import Likelihood
from .nets import VAENet
from .prior import MixturePrior, fit_mixture, fitting_subset

#: latents decoded at once during importance sampling (bounds memory: images x samples per chunk)
IS_CHUNK = 2048
#: images encoded at once when fitting the prior
ENCODE_CHUNK = 256


def gaussian_kl(mean: torch.Tensor, log_var: torch.Tensor) -> torch.Tensor:
    """KL(q(z|x) || N(0, I)) per latent dimension, ``[N, latent]``."""
    mean, log_var = mean.float(), log_var.float()
    return 0.5 * (mean.pow(2) + log_var.exp() - 1 - log_var)


def log_normal(z: torch.Tensor, mean: torch.Tensor | float = 0.0, log_var: torch.Tensor | float = 0.0) -> torch.Tensor:
    """log N(z; mean, exp(log_var)) summed over the last dimension."""
    log_var_t = torch.as_tensor(log_var, dtype=z.dtype, device=z.device)
    return -0.5 * (math.log(2 * math.pi) + log_var_t + (z - mean).pow(2) * torch.exp(-log_var_t)).sum(-1)


class VAE:
    """Trains by maximising the ELBO (with optional beta, KL warm-up and free bits); when training
    stops, fits a Gaussian mixture to the posterior means of the training images (``prior=mixture``)
    and samples by decoding its draws, else draws from N(0, I); reports held-out likelihoods via
    ``evaluate`` (always against N(0, I), the prior the ELBO was trained with)."""

    default_steps = 1600
    default_batch_size = 32
    #: the prior of ``latent_shape`` (walks interpolate spherically between Gaussian draws)
    latent_prior = "gaussian"

    def __init__(self, params: Any, context: Any) -> None:
        self.params = params
        self.device = context.device
        self.image_shape = (params.channels, params.image_size, params.image_size)
        self.latent_shape = (params.latent,)
        likelihood = context.build("loss", params.loss)
        if not isinstance(likelihood, Likelihood):
            from genart import UsageError

            raise UsageError(f"loss {params.loss!r} is not a VAE likelihood (use mixlogistic, logistic, "
                             "gaussian, bernoulli, bce or mse)")
        context.check_tag("loss", params.loss, "vae-likelihood")
        self.likelihood = likelihood.to(self.device)
        net = VAENet(params.channels, params.image_size, params.latent, params.width,
                     self.likelihood.out_channels(params.channels), params.blocks, params.latent_grid)
        self.net = context.prepare(circular_padding(net) if params.tileable else net)
        # Fused Adam: one kernel for all parameters, several times faster than the default on a CPU.
        fused = self.device.type in ("cpu", "cuda")
        self.optimizer = torch.optim.Adam([*self.net.parameters(), *self.likelihood.parameters()], lr=params.lr,
                                          fused=fused)
        self.scaler = context.scaler  # loss scaling under fp16, a pass-through otherwise
        self.step = 0
        #: the fitted prior and the step whose weights it describes (used only while they are current)
        self.prior: MixturePrior | None = None
        self.prior_step = -1

    # -- training ---------------------------------------------------------------------------------
    def kl_weight(self) -> float:
        """beta, ramped up linearly over the first ``warmup`` steps (KL warm-up)."""
        if self.params.warmup <= 0:
            return self.params.beta
        return self.params.beta * min(1.0, (self.step + 1) / self.params.warmup)

    def train_step(self, batch: torch.Tensor) -> dict[str, float]:
        self.net.train()
        x = self.likelihood.prepare(wrap_crops(batch) if self.params.tileable else batch)
        mean, log_var = self.net.encode(x)
        z = mean + torch.randn_like(mean) * (0.5 * log_var).exp()
        recon = self.likelihood.nll(self.net.decode(z), x)
        kl_dims = gaussian_kl(mean, log_var)
        kl = kl_dims.sum(1)
        if self.params.free_bits > 0:
            # Free bits (Kingma et al. 2016): no pressure on a dimension below its allowance of nats.
            kl_term = kl_dims.mean(0).clamp(min=self.params.free_bits).sum()
        else:
            kl_term = kl.mean()
        loss = recon.mean() + self.kl_weight() * kl_term
        self.optimizer.zero_grad(set_to_none=True)
        self.scaler.backward(loss)
        self.scaler.step(self.optimizer)
        self.step += 1
        return {"loss": loss.item(), "nelbo": (recon + kl).mean().item(), "kl": kl.mean().item()}

    def set_progress(self, progress: float) -> None:
        """The loop's share of the run done (genart.FollowsProgress): the learning rate follows
        ``lr_schedule`` over it (a long run can end on small steps; the default run does not gain)."""
        follow_schedule(self.optimizer, self.params.lr, self.params.lr_schedule, progress)

    # -- latent interface -------------------------------------------------------------------------
    def decode(self, z: torch.Tensor) -> torch.Tensor:
        self.net.eval()
        with torch.no_grad():
            return self.likelihood.mean(self.net.decode(z.to(self.device).float()))

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        """The posterior mean of ``x`` (images in [0, 1])."""
        self.net.eval()
        with torch.no_grad():
            return self.net.encode(x.to(self.device).float())[0]

    def sample(self, n: int, generator: torch.Generator) -> torch.Tensor:
        return self.decode(self.sample_latents(n, generator)).cpu()

    def sample_latents(self, n: int, generator: torch.Generator) -> torch.Tensor:
        """Draws from the fitted prior when it describes the current weights, else from N(0, I)."""
        prior = self.fitted_prior()
        if prior is not None:
            return prior.sample(n, generator, self.params.temperature)
        return torch.randn(n, *self.latent_shape, generator=generator) * self.params.temperature

    def fitted_prior(self) -> MixturePrior | None:
        """The fitted prior, if ``prior=mixture`` and it was fitted at the current step (training past
        it makes it stale: snapshots during training and older checkpoints use N(0, I))."""
        if self.params.prior == "mixture" and self.prior is not None and self.prior_step == self.step:
            return self.prior
        return None

    # -- after training ---------------------------------------------------------------------------
    def finish_training(self, data: torch.Tensor) -> None:
        """Fit the mixture prior to the posterior means of (up to 8,192 of) the training images, with
        no gradients: ex-post density estimation (Ghosh et al. 2020). Deterministic, and draws nothing
        from the global RNG (binarising likelihoods use their own seeded generator), so exact resume holds."""
        if self.params.prior != "mixture":
            return
        self.net.eval()
        index = fitting_subset(data.shape[0])
        generator = torch.Generator().manual_seed(0)
        means = []
        with torch.no_grad():
            for start in range(0, index.shape[0], ENCODE_CHUNK):
                chunk = data[index[start:start + ENCODE_CHUNK].to(data.device)].to(self.device).float() / 255
                means.append(self.net.encode(self.likelihood.prepare(chunk, generator))[0].float().cpu())
        points = torch.cat(means)
        if not bool(points.isfinite().all()):  # nothing sensible to fit: sample keeps to N(0, I)
            self.prior, self.prior_step = None, -1
            return
        self.prior = fit_mixture(points, self.params.prior_components)
        self.prior_step = self.step

    # -- likelihood -------------------------------------------------------------------------------
    def evaluate(self, images: torch.Tensor, k: int, generator: torch.Generator) -> dict[str, float]:
        """Held-out figures per image, averaged over ``images``: negative ELBO and the importance-
        sampled NLL with ``k`` samples (Burda et al. 2016; the same ``k`` draws give both, so
        NLL <= negative ELBO per image), in nats; bits per dimension for discrete likelihoods."""
        self.net.eval()
        k = max(1, int(k))
        totals = {"nelbo": 0.0, "nll": 0.0}
        with torch.no_grad():
            x = self.likelihood.prepare(images.float().clamp(0, 1), generator).to(self.device)
            mean, log_var = self.net.encode(x)
            per_chunk = max(1, IS_CHUNK // k)
            for start in range(0, x.shape[0], per_chunk):
                log_w = self._log_weights(x[start:start + per_chunk], mean[start:start + per_chunk],
                                          log_var[start:start + per_chunk], k, generator)
                totals["nelbo"] -= log_w.mean(1).sum().item()
                totals["nll"] -= (torch.logsumexp(log_w, 1) - math.log(k)).sum().item()
        n = x.shape[0]
        result = {"nelbo_nats": totals["nelbo"] / n, "nll_is_nats": totals["nll"] / n}
        if self.likelihood.levels is not None:
            result["bits_per_dim"] = result["nll_is_nats"] / (x[0].numel() * math.log(2))
        return result

    def _log_weights(self, x: torch.Tensor, mean: torch.Tensor, log_var: torch.Tensor, k: int,
                     generator: torch.Generator) -> torch.Tensor:
        """log p(x, z_i) - log q(z_i | x) for k posterior draws per image, ``[n, k]``."""
        n, latent = mean.shape
        noise = torch.randn(n, k, latent, generator=generator).to(self.device)
        std = (0.5 * log_var).exp().float()
        z = mean.float()[:, None] + std[:, None] * noise
        log_q = log_normal(z, mean.float()[:, None], log_var.float()[:, None])
        log_prior = log_normal(z)
        out = self.net.decode(z.reshape(n * k, latent))
        target = x[:, None].expand(n, k, *x.shape[1:]).reshape(n * k, *x.shape[1:])
        log_px = -self.likelihood.nll(out, target).view(n, k)
        return log_px + log_prior - log_q

    # -- state ------------------------------------------------------------------------------------
    def state_dict(self) -> dict[str, Any]:
        prior = self.fitted_prior()
        return {"net": self.net.state_dict(), "likelihood": self.likelihood.state_dict(),
                "optimizer": self.optimizer.state_dict(), "step": self.step,
                "prior": {} if prior is None else prior.state_dict()}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.net.load_state_dict(state["net"])
        self.likelihood.load_state_dict(state.get("likelihood", {}))
        self.optimizer.load_state_dict(state["optimizer"])
        self.step = int(state.get("step", 0))
        prior = state.get("prior") or {}  # none in checkpoints from before the fitted prior: N(0, I)
        self.prior = MixturePrior.from_state(prior) if prior else None
        self.prior_step = self.step if prior else -1
