"""Weight-free figures for generators that can sample: precision, recall, diversity and a Fréchet distance.

Everything is measured in one feature space that needs no download: images downsampled to a small grid
(area averaging), flattened, and projected on the principal components of the *real* images. Small
pixels keep layout and colour, which is what a collapsed generator loses; PCA fitted on the real data
keeps the directions in which real images differ and drops pixel noise. The choice is measured in
docs/plugins/explore.md (a collapsed generator ranks below held-out real images on every figure).

* precision / recall (Kynkäänniemi et al. 2019): a sample is "real-looking" if it falls inside the
  k-NN ball of some real image; a real image is "covered" if it falls inside the k-NN ball of some sample.
* diversity ratio: mean pairwise feature distance of the samples over that of the real images.
* FD: Fréchet distance of Gaussians fitted to both feature sets.

Scores are only comparable at equal set sizes (k-NN radii shrink as sets grow), so the real-vs-real
floor compares two halves of the real images and samples are scored against the same half.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F

#: side of the pixel grid the features start from
FEATURE_SIZE = 16
#: principal components kept (at most the number of real images - 1)
COMPONENTS = 64
NEAREST = 3


@dataclass
class PixelPCA:
    """Downsampled pixels projected on the principal components of the images it was fitted on."""

    mean: torch.Tensor
    basis: torch.Tensor
    size: int

    @classmethod
    def fit(cls, images: torch.Tensor, size: int = FEATURE_SIZE, components: int = COMPONENTS) -> PixelPCA:
        flat = pixels(images, size)
        mean = flat.mean(0)
        keep = max(1, min(components, flat.shape[0] - 1, flat.shape[1]))
        _, _, vh = torch.linalg.svd(flat - mean, full_matrices=False)
        return cls(mean, vh[:keep].T.contiguous(), size)

    def __call__(self, images: torch.Tensor) -> torch.Tensor:
        return (pixels(images, self.size) - self.mean) @ self.basis


def pixels(images: torch.Tensor, size: int) -> torch.Tensor:
    """Float images ``[N, C, H, W]`` in [0, 1] (or uint8) -> ``[N, C * size * size]`` float64."""
    x = images.float() / 255 if images.dtype == torch.uint8 else images.float()
    if x.shape[-1] != size or x.shape[-2] != size:
        x = F.interpolate(x, size=(size, size), mode="area")
    return x.flatten(1).double()


def kth_neighbour_radii(features: torch.Tensor, k: int) -> torch.Tensor:
    """Distance of each point to its k-th nearest other point."""
    distances = torch.cdist(features, features)
    k = min(k, features.shape[0] - 1)
    return distances.kthvalue(k + 1, dim=1).values  # +1: the point itself is at distance 0


def coverage(points: torch.Tensor, centres: torch.Tensor, radii: torch.Tensor) -> float:
    """Share of ``points`` inside at least one ball (centre, radius)."""
    inside = torch.cdist(points, centres) <= radii[None]
    return float(inside.any(1).double().mean())


def mean_pairwise_distance(features: torch.Tensor) -> float:
    n = features.shape[0]
    if n < 2:
        return 0.0
    return float(torch.cdist(features, features).sum() / (n * (n - 1)))


def frechet_distance(a: torch.Tensor, b: torch.Tensor) -> float:
    """||mu_a - mu_b||^2 + tr(A + B - 2 (A B)^(1/2)), the trace of the root from the eigenvalues of A B."""
    mu_a, mu_b = a.mean(0), b.mean(0)
    cov_a, cov_b = torch.cov(a.T).reshape(a.shape[1], a.shape[1]), torch.cov(b.T).reshape(b.shape[1], b.shape[1])
    eigenvalues = torch.linalg.eigvals(cov_a @ cov_b).real.clamp(min=0)
    value = (mu_a - mu_b).pow(2).sum() + cov_a.trace() + cov_b.trace() - 2 * eigenvalues.sqrt().sum()
    return max(0.0, float(value))


def score(reference: torch.Tensor, candidate: torch.Tensor, k: int = NEAREST) -> dict[str, float]:
    """The four figures of ``candidate`` features against ``reference`` features."""
    real_radii = kth_neighbour_radii(reference, k)
    fake_radii = kth_neighbour_radii(candidate, k)
    real_spread = mean_pairwise_distance(reference)
    return {
        "precision": coverage(candidate, reference, real_radii),
        "recall": coverage(reference, candidate, fake_radii),
        "diversity": mean_pairwise_distance(candidate) / real_spread if real_spread > 0 else 0.0,
        "fd": frechet_distance(reference, candidate),
    }


def split_halves(images: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Even and odd images: two halves drawn alike from a dataset whatever its order."""
    return images[0::2], images[1::2]


def evaluate_samples(real: torch.Tensor, samples: torch.Tensor, k: int = NEAREST, size: int = FEATURE_SIZE,
                     components: int = COMPONENTS) -> dict[str, dict[str, float]]:
    """``{"model": figures, "floor": figures}``: the samples and one half of the real images, each
    scored against the other half. PCA is fitted on all the real images."""
    if real.shape[0] < 2 * (k + 1):
        raise ValueError(f"need at least {2 * (k + 1)} real images for k={k}, got {real.shape[0]}")
    if samples.shape[0] < k + 1:
        raise ValueError(f"need at least {k + 1} samples for k={k}, got {samples.shape[0]}")
    features = PixelPCA.fit(real, size, components)
    half_a, half_b = split_halves(real)
    reference = features(half_b)
    return {"model": score(reference, features(samples), k), "floor": score(reference, features(half_a), k)}


def evaluate_classes(real: torch.Tensor, labels: torch.Tensor, samples: torch.Tensor, sample_labels: torch.Tensor,
                     classes: int, k: int = NEAREST, size: int = FEATURE_SIZE,
                     components: int = COMPONENTS) -> dict[int, dict[str, dict[str, float]]]:
    """``{class: {"model": figures, "floor": figures}}``: the samples of each class (``sample_labels``)
    against one half of that class's real images, and the class's other half against the same half.

    One feature space for every class, fitted on all the real images: a class of a few dozen images would
    give a PCA of its own too few directions, and figures in one space compare across classes. Classes
    with fewer than ``2 (k + 1)`` real images or ``k + 1`` samples are left out (k-NN needs them)."""
    features = PixelPCA.fit(real, size, components)
    out: dict[int, dict[str, dict[str, float]]] = {}
    for index in range(classes):
        mine, drawn = real[labels == index], samples[sample_labels == index]
        if mine.shape[0] < 2 * (k + 1) or drawn.shape[0] < k + 1:
            continue
        half_a, half_b = split_halves(mine)
        reference = features(half_b)
        out[index] = {"model": score(reference, features(drawn), k), "floor": score(reference, features(half_a), k)}
    return out


def average_figures(per_class: dict[int, dict[str, dict[str, float]]]) -> dict[str, dict[str, float]]:
    """The unweighted mean over classes of each figure (a small class counts as much as a large one)."""
    if not per_class:
        return {}
    first = next(iter(per_class.values()))
    return {part: {key: sum(c[part][key] for c in per_class.values()) / len(per_class) for key in first[part]}
            for part in first}
