"""A prior fitted after training: a Gaussian mixture on the posterior means of the training images.

Why: a VAE's encoder does not fill N(0, I). After the default minute on ``shapes`` the posterior
means spread with a standard deviation of ~1.2 per dimension while each posterior is ~0.1 wide, so
most draws from N(0, I) land between the places the decoder was trained on and decode to muddy
averages. Fitting a density to where the training images actually are, and sampling from it, is the
"ex-post density estimation" of Ghosh et al. 2020 (From variational to deterministic autoencoders):
the weights stay as trained, only the distribution the latents are drawn from changes.

The fit is EM for a mixture of full-covariance Gaussians, in float64, from a fixed seeded
initialisation, so the same weights and data always give the same prior (exact resume depends on it)
and the global RNG is never touched.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch

#: EM iterations (the log-likelihood on ``shapes`` stops changing well before)
ITERATIONS = 50
#: added to every covariance's diagonal: keeps components with few points invertible
RIDGE = 1e-4
#: at most this many training images are encoded for the fit (an evenly spaced subset beyond)
MAX_POINTS = 8192
#: EM works from the points' outer products (N x D^2 float64) while they have at most this many
#: elements (1 GiB; the default 4,096 x 32 needs 4 M, and ``latent=128`` on 4,096 images fits in 22 s
#: this way against 42 s directly); a larger latent takes the direct path, which needs K x N x D
#: instead (``latent=512`` would otherwise want 17 GiB)
OUTER_PRODUCT_LIMIT = 2**27


@dataclass
class MixturePrior:
    """A Gaussian mixture in latent space: weights ``[K]``, means ``[K, D]``, Cholesky factors ``[K, D, D]``."""

    weights: torch.Tensor
    means: torch.Tensor
    scale_tril: torch.Tensor

    def sample(self, n: int, generator: torch.Generator, temperature: float = 1.0) -> torch.Tensor:
        """``n`` latents ``[n, D]`` (float32); ``temperature`` scales each component's spread."""
        component = torch.multinomial(self.weights.double(), n, replacement=True, generator=generator)
        noise = torch.randn(n, self.means.shape[1], generator=generator, dtype=torch.float64) * temperature
        z = self.means.double()[component] + torch.einsum("nde,ne->nd", self.scale_tril.double()[component], noise)
        return z.float()

    def log_prob(self, z: torch.Tensor) -> torch.Tensor:
        """log density of latents ``[N, D]`` under the mixture, ``[N]``."""
        return torch.logsumexp(_component_log_probs(z.double(), self.weights.double(), self.means.double(),
                                                    self.scale_tril.double()), 0)

    def state_dict(self) -> dict[str, torch.Tensor]:
        return {"weights": self.weights, "means": self.means, "scale_tril": self.scale_tril}

    @classmethod
    def from_state(cls, state: dict[str, torch.Tensor]) -> MixturePrior:
        return cls(state["weights"].double(), state["means"].double(), state["scale_tril"].double())


def fit_mixture(points: torch.Tensor, components: int, iterations: int = ITERATIONS, seed: int = 0) -> MixturePrior:
    """EM for a full-covariance Gaussian mixture on ``points`` ``[N, D]``; deterministic for a seed.

    Starts from ``components`` distinct points (a seeded choice) as means, all sharing the data's
    covariance; one component is a single Gaussian with the data's mean and covariance, exactly.
    """
    x = points.detach().double().cpu()
    n, d = x.shape
    k = max(1, min(components, n))
    eye = torch.eye(d, dtype=torch.float64)
    covariance = torch.cov(x.T).reshape(d, d) if n > 1 else torch.zeros(d, d, dtype=torch.float64)
    if k == 1:
        return MixturePrior(torch.ones(1, dtype=torch.float64), x.mean(0, keepdim=True),
                            torch.linalg.cholesky(covariance + RIDGE * eye)[None])
    generator = torch.Generator().manual_seed(seed)
    means = x[torch.randperm(n, generator=generator)[:k]].clone()
    covariances = (covariance + RIDGE * eye).expand(k, d, d).clone()
    weights = torch.full((k,), 1.0 / k, dtype=torch.float64)
    outer = _outer_products(x) if n * d * d <= OUTER_PRODUCT_LIMIT else None
    for _ in range(iterations):
        scale_tril = torch.linalg.cholesky(covariances)
        responsibilities = torch.softmax(_component_log_probs(x, weights, means, scale_tril, outer), 0)  # [K, N]
        counts = responsibilities.sum(1) + 1e-10
        weights = counts / n
        means = (responsibilities @ x) / counts[:, None]
        covariances = _weighted_covariances(x, outer, responsibilities, counts, means) + RIDGE * eye
    return MixturePrior(weights, means, torch.linalg.cholesky(covariances))


def _component_log_probs(x: torch.Tensor, weights: torch.Tensor, means: torch.Tensor, scale_tril: torch.Tensor,
                         outer: torch.Tensor | None = None) -> torch.Tensor:
    """log(weight_k N(x_n; mean_k, L_k L_k^T)), ``[K, N]``.

    Given the points' outer products (``outer``, [N, D^2], computed once per fit), the Mahalanobis
    distance is expanded as x'Px - 2 m'Px + m'Pm with P the precision: its first term is one matrix
    product of the K precisions with them, so EM builds no [K, N, D] tensor of centred points. Those
    element-wise passes made the fit take ~7 s at 50 components x 4,096 x 32; float64 keeps the
    cancellation harmless. Without ``outer`` (``log_prob``, large latents) the distance is solved directly."""
    k, d = means.shape
    if outer is None:
        centred = (x[None] - means[:, None]).transpose(1, 2)  # [K, D, N]
        distance = torch.linalg.solve_triangular(scale_tril, centred, upper=False).pow(2).sum(1)
    else:
        precision = torch.cholesky_inverse(scale_tril)  # [K, D, D]
        projected = (precision @ means[:, :, None])[:, :, 0]  # P m, [K, D]
        distance = (precision.reshape(k, d * d) @ outer.T - 2 * projected @ x.T
                    + (projected * means).sum(1, keepdim=True))
    log_det = 2 * torch.log(torch.diagonal(scale_tril, dim1=1, dim2=2)).sum(1)
    return -0.5 * (distance + log_det[:, None] + d * math.log(2 * math.pi)) + weights.log()[:, None]


def _outer_products(x: torch.Tensor) -> torch.Tensor:
    """x_n x_n' flattened, ``[N, D^2]``."""
    return (x[:, :, None] * x[:, None, :]).flatten(1)


def _weighted_covariances(x: torch.Tensor, outer: torch.Tensor | None, responsibilities: torch.Tensor,
                          counts: torch.Tensor, means: torch.Tensor) -> torch.Tensor:
    """Each component's covariance of the points under its responsibilities, ``[K, D, D]``: the
    weighted second moment (one product with the outer products) less the mean's outer product, or,
    without ``outer``, the weighted outer products of the centred points."""
    k, d = means.shape
    if outer is None:
        centred = x[None] - means[:, None]
        return torch.einsum("kn,knd,kne->kde", responsibilities, centred, centred) / counts[:, None, None]
    second = (responsibilities @ outer).view(k, d, d) / counts[:, None, None]
    return second - means[:, :, None] * means[:, None, :]


def fitting_subset(count: int, limit: int = MAX_POINTS) -> torch.Tensor:
    """Indices of at most ``limit`` images, evenly spaced over ``count`` (all of them when fewer)."""
    if count <= limit:
        return torch.arange(count)
    return torch.linspace(0, count - 1, limit).round().long()
