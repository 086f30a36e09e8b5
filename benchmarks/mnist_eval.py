"""Evaluate generated digits without downloaded weights: FD, classifier Inception Score, class shares.

A small CNN is trained on the MNIST *test* set (../shared/data/mnist, t10k files; 9000 images to train,
the last 1000 to report its accuracy) and cached under ~/.cache/genart (never in the repo). Its
128-d penultimate layer plays Inception's role:

* FD  - Fréchet distance between Gaussians fitted to the features of generated and real digits (lower is better)
* IS  - exp(E_x KL(p(y|x) || p(y))) from its class probabilities (10 is the maximum: sure and balanced)
* class shares - fraction of samples assigned to each digit (a collapse shows as a class near 0 %)

Run by hand:  python -m benchmarks.mnist_eval            (trains/loads the classifier, scores real digits)
Library use:  from benchmarks.mnist_eval import Evaluator; Evaluator.load().score(images)
              (images [N,1,28|32,28|32] in [0,1])
"""

from __future__ import annotations

import argparse
import hashlib
import os
import sys
import time
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from benchmarks.common import add_data_root, load_mnist_test, mnist_folder
from genart_data.cache import cache_root

# genart's cache folder (GENART_CACHE_DIR); GENART_CACHE is this file's older name for it
CACHE = Path(os.environ["GENART_CACHE"]) if os.environ.get("GENART_CACHE") else cache_root()
VERSION = "mnist-eval-1"


class Classifier(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(1, 32, 3, padding=1), nn.ReLU(), nn.Conv2d(32, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(32, 64, 3, padding=1), nn.ReLU(), nn.Conv2d(64, 64, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
            nn.Flatten(), nn.Linear(64 * 7 * 7, 128), nn.ReLU())
        self.head = nn.Sequential(nn.Dropout(0.3), nn.Linear(128, 10))

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        feats = self.features(x)
        return feats, self.head(feats)


def to_28(images: torch.Tensor) -> torch.Tensor:
    """[N,1,H,W] in [0,1] at 28 px (32 px padded MNIST is centre-cropped back; others resized)."""
    images = images.float()
    if images.shape[1] == 3:
        images = images.mean(1, keepdim=True)
    h = images.shape[-1]
    if h == 32:
        return images[..., 2:30, 2:30]
    if h != 28:
        return F.interpolate(images, size=(28, 28), mode="bilinear", antialias=True, align_corners=False)
    return images


def _shift(x: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    dy, dx = (int(v) for v in torch.randint(-2, 3, (2,), generator=generator))
    return torch.roll(x, shifts=(dy, dx), dims=(2, 3))


def train_classifier(images: torch.Tensor, labels: torch.Tensor, epochs: int = 4, seed: int = 0) -> Classifier:
    torch.manual_seed(seed)
    generator = torch.Generator().manual_seed(seed)
    model = Classifier()
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    x = images.float() / 255
    n = x.shape[0]
    for epoch in range(epochs):
        model.train()
        order = torch.randperm(n, generator=generator)
        for start in range(0, n, 128):
            index = order[start:start + 128]
            _, logits = model(_shift(x[index], generator))
            loss = F.cross_entropy(logits, labels[index])
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
        print(f"  classifier epoch {epoch + 1}/{epochs}: loss {loss.item():.3f}", file=sys.stderr)
    return model.eval()


def frechet_distance(a: torch.Tensor, b: torch.Tensor) -> float:
    """||mu_a - mu_b||^2 + Tr(Sa + Sb - 2 (Sa^1/2 Sb Sa^1/2)^1/2), in float64 via symmetric eigendecompositions."""
    a, b = a.double(), b.double()
    mu_a, mu_b = a.mean(0), b.mean(0)
    cov_a, cov_b = torch.cov(a.T), torch.cov(b.T)
    vals, vecs = torch.linalg.eigh(cov_a)
    root_a = vecs @ torch.diag(vals.clamp(min=0).sqrt()) @ vecs.T
    middle = torch.linalg.eigvalsh(root_a @ cov_b @ root_a).clamp(min=0).sqrt().sum()
    return float((mu_a - mu_b).pow(2).sum() + cov_a.trace() + cov_b.trace() - 2 * middle)


class Evaluator:
    def __init__(self, model: Classifier, real_features: torch.Tensor, accuracy: float) -> None:
        self.model = model.eval()
        self.real_features = real_features
        self.accuracy = accuracy

    @classmethod
    def load(cls, folder: Path | None = None) -> Evaluator:
        """The cached classifier for this MNIST copy, training it (about a minute on a CPU) if needed."""
        from safetensors.torch import load_file, save_file

        folder = folder or mnist_folder()
        if folder is None:
            raise FileNotFoundError("MNIST not found")
        images, labels = load_mnist_test(folder)
        digest = hashlib.sha256(images.numpy().tobytes() + VERSION.encode()).hexdigest()[:16]
        path = CACHE / f"mnist-eval-{digest}.safetensors"
        model = Classifier()
        if path.is_file():
            model.load_state_dict(load_file(str(path)))
        else:
            started = time.perf_counter()
            print(f"training the evaluation classifier on {folder} (t10k, first 9000 images)...", file=sys.stderr)
            model = train_classifier(images[:9000], labels[:9000])
            CACHE.mkdir(parents=True, exist_ok=True)
            tmp = path.with_suffix(".tmp")
            save_file(model.state_dict(), str(tmp))
            os.replace(tmp, path)
            print(f"  trained in {time.perf_counter() - started:.0f} s, cached at {path}", file=sys.stderr)
        model.eval()
        feats, logits = _run(model, images.float() / 255)
        accuracy = float((logits[9000:].argmax(1) == labels[9000:]).float().mean())
        return cls(model, feats, accuracy)

    def score(self, images: torch.Tensor) -> dict[str, Any]:
        feats, logits = _run(self.model, to_28(images))
        probs = logits.softmax(1).double()
        marginal = probs.mean(0, keepdim=True)
        kl = (probs * (probs.clamp_min(1e-12).log() - marginal.clamp_min(1e-12).log())).sum(1).mean()
        shares = torch.bincount(probs.argmax(1), minlength=10).double() / probs.shape[0]
        return {"fd": frechet_distance(feats, self.real_features), "is": float(kl.exp()),
                "shares": [float(s) for s in shares], "min_share": float(shares.min()),
                "max_share": float(shares.max())}

    def label_accuracy(self, images: torch.Tensor, asked: torch.Tensor) -> dict[str, Any]:
        """How often a sample asked to be digit k (``asked[i]``, int) is classified as k, the judge of a
        class-conditional model: ``per_class`` {k: share} for every digit asked for at least once,
        ``counts`` {k: samples}, ``overall`` (share of all samples) and ``worst`` (lowest per-class share).
        The classifier is right on 97-98 % of real held-out digits, so that is the ceiling."""
        asked = torch.as_tensor(asked).long().flatten()
        if asked.shape[0] != images.shape[0]:
            raise ValueError(f"{images.shape[0]} images but {asked.shape[0]} asked-for labels")
        if asked.numel() == 0:
            raise ValueError("no images to judge")
        _, logits = _run(self.model, to_28(images))
        right = logits.argmax(1) == asked
        per_class = {int(k): float(right[asked == k].float().mean()) for k in asked.unique()}
        counts = {int(k): int((asked == k).sum()) for k in asked.unique()}
        return {"per_class": per_class, "counts": counts, "overall": float(right.float().mean()),
                "worst": min(per_class.values())}


@torch.no_grad()
def _run(model: Classifier, images: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    feats, logits = [], []
    for start in range(0, images.shape[0], 500):
        f, lg = model(images[start:start + 500].float())
        feats.append(f)
        logits.append(lg)
    return torch.cat(feats), torch.cat(logits)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    add_data_root(parser)
    parser.parse_args()
    folder = mnist_folder()
    torch.manual_seed(0)
    evaluator = Evaluator.load(folder)
    images, _ = load_mnist_test(folder)
    real = evaluator.score(images[:5000].float() / 255)
    noise = evaluator.score(torch.rand(2000, 1, 28, 28))
    print(f"data: {folder} (t10k); classifier held-out accuracy (last 1000): {evaluator.accuracy:.4f}")
    print(f"{'set':<24}{'FD':>10}{'IS':>8}{'min %':>8}{'max %':>8}")
    for name, result in (("real t10k[:5000]", real), ("uniform noise", noise)):
        print(f"{name:<24}{result['fd']:>10.2f}{result['is']:>8.2f}{100 * result['min_share']:>8.1f}"
              f"{100 * result['max_share']:>8.1f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
