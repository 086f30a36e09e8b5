"""Held-out likelihood of genart's conv VAE on dynamically binarised MNIST, against the
pytorch/examples MLP VAE, both trained for the same wall-clock budget on the same images.

Data: ../shared/data/mnist (the 10,000-image MNIST test set, t10k); training uses the first 9,000
images, evaluation the last 1,000 (``split=train/test,holdout=1000`` of the genart mnist dataset).
Both models see dynamically binarised training images (a fresh 0/1 draw every time) and are scored
on one fixed binarisation of the held-out images (seeded), by importance-sampled NLL with k samples.

    python -m benchmarks.vae_mnist                     # 10 min per model, k=500
    python -m benchmarks.vae_mnist --budget 120 --k 500

The genart model trains through the core loop (genart.api.train); the reference MLP VAE is a
plain PyTorch loop, as in pytorch/examples/vae (784-400-20, BCE, Adam 1e-3, batch 128).
"""

from __future__ import annotations

import argparse
import math
import sys
import time
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from benchmarks.common import add_data_root, context, mnist_folder, train_config

CONV_SPEC = "vae:image_size=28,channels=1,loss=bernoulli,latent=32,width=32,beta=1,warmup=1000,lr=2e-3"
HOLDOUT = 1000


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--budget", type=float, default=600, help="training seconds per model (at most 600)")
    parser.add_argument("--k", type=int, default=500, help="importance samples per held-out image (>= 500)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--model", default=CONV_SPEC, help="genart model spec of the conv VAE")
    parser.add_argument("--batch-size", type=int, default=64, help="conv VAE batch size")
    parser.add_argument("--precision", default="auto", help="genart precision for the conv VAE (auto, fp32, bf16)")
    parser.add_argument("--skip-mlp", action="store_true", help="only the genart model")
    add_data_root(parser)
    args = parser.parse_args()
    if not 0 < args.budget <= 600:
        parser.error("--budget must be in (0, 600] seconds")
    return args


def load_split(ctx: Any, folder: Path, split: str) -> torch.Tensor:
    from genart.api import load_data

    spec = f"mnist:path={folder},which=t10k,split={split},holdout={HOLDOUT}"
    return load_data(ctx, spec, 28, 1)


def binarised_test_set(images: torch.Tensor, seed: int) -> torch.Tensor:
    """One seeded binarisation of the held-out images, shared by both models."""
    generator = torch.Generator().manual_seed(seed + 12345)
    grey = images.float() / 255
    return (torch.rand(grey.shape, generator=generator) < grey).float()


# -- genart conv VAE (core training loop) ---------------------------------------------------------------
def run_genart(args: argparse.Namespace, train_images: torch.Tensor, test: torch.Tensor) -> dict[str, Any]:
    from genart.api import build_model, precision_label, train

    ctx = context(args.precision)
    torch.manual_seed(args.seed)
    model = build_model(ctx, args.model)
    steps, started = 0, time.perf_counter()
    chunk = 50
    while time.perf_counter() - started < args.budget:
        config = train_config(ctx, steps + chunk, args.batch_size, seed=args.seed)
        result = train(model, train_images, config, device=ctx.device, checkpoint_path=None, start_step=steps)
        steps = result.step
        rate = chunk / max(result.seconds, 1e-9)
        remaining = args.budget - (time.perf_counter() - started)
        chunk = int(max(1, min(500, remaining * rate)))  # the last chunk lands on the budget
    train_seconds = time.perf_counter() - started
    started = time.perf_counter()
    figures = evaluate_in_batches(lambda x, g: model.evaluate(x, args.k, g), test, args.seed)
    return {"name": f"genart conv VAE ({precision_label(ctx)})", "params": count(model.net), "steps": steps,
            "epochs": steps * args.batch_size / train_images.shape[0], "train_s": train_seconds,
            "eval_s": time.perf_counter() - started, **figures}


def evaluate_in_batches(evaluate: Any, test: torch.Tensor, seed: int, batch: int = 50) -> dict[str, float]:
    from tqdm.auto import tqdm

    generator = torch.Generator().manual_seed(seed)
    sums: dict[str, float] = {}
    with torch.inference_mode():
        for start in tqdm(range(0, test.shape[0], batch), desc="eval", unit="batch", file=sys.stderr):
            part = test[start:start + batch]
            for key, value in evaluate(part, generator).items():
                sums[key] = sums.get(key, 0.0) + float(value) * part.shape[0]
    return {key: value / test.shape[0] for key, value in sums.items()}


def count(module: nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())


# -- reference: pytorch/examples MLP VAE, plain loop ------------------------------------------------------
class MLPVAE(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.fc1, self.fc21, self.fc22 = nn.Linear(784, 400), nn.Linear(400, 20), nn.Linear(400, 20)
        self.fc3, self.fc4 = nn.Linear(20, 400), nn.Linear(400, 784)

    def encode(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        h = F.relu(self.fc1(x))
        return self.fc21(h), self.fc22(h)

    def decode_logits(self, z: torch.Tensor) -> torch.Tensor:
        return self.fc4(F.relu(self.fc3(z)))


def run_mlp(args: argparse.Namespace, train_images: torch.Tensor, test: torch.Tensor) -> dict[str, Any]:
    torch.manual_seed(args.seed)
    model = MLPVAE()
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3, fused=True)  # same algorithm, faster step
    data = train_images.float().div(255).flatten(1)
    steps, epochs, started = 0, 0, time.perf_counter()
    while time.perf_counter() - started < args.budget:
        for index in torch.randperm(data.shape[0]).split(128):
            x = torch.bernoulli(data[index])  # dynamic binarisation, as for the genart model
            mu, log_var = model.encode(x)
            z = mu + torch.randn_like(mu) * (0.5 * log_var).exp()
            bce = F.binary_cross_entropy_with_logits(model.decode_logits(z), x, reduction="sum")
            kld = -0.5 * torch.sum(1 + log_var - mu.pow(2) - log_var.exp())
            loss = bce + kld
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            steps += 1
            if time.perf_counter() - started >= args.budget:
                break
        epochs += 1
    train_seconds = time.perf_counter() - started
    started = time.perf_counter()
    figures = evaluate_in_batches(lambda x, g: mlp_evaluate(model, x, args.k, g), test, args.seed)
    return {"name": "MLP VAE (pytorch/examples)", "params": count(model), "steps": steps,
            "epochs": steps * 128 / data.shape[0], "train_s": train_seconds, "eval_s": time.perf_counter() - started,
            **figures}


def mlp_evaluate(model: MLPVAE, images: torch.Tensor, k: int, generator: torch.Generator) -> dict[str, float]:
    """The same estimator as the genart VAE's evaluate: log p(x,z) - log q(z|x) over k draws."""
    x = images.flatten(1)
    mu, log_var = model.encode(x)
    noise = torch.randn(x.shape[0], k, mu.shape[1], generator=generator)
    z = mu[:, None] + (0.5 * log_var).exp()[:, None] * noise
    log_q = (-0.5 * (math.log(2 * math.pi) + log_var[:, None] + noise.pow(2))).sum(-1)
    log_prior = (-0.5 * (math.log(2 * math.pi) + z.pow(2))).sum(-1)
    logits = model.decode_logits(z.reshape(-1, mu.shape[1])).view(x.shape[0], k, -1)
    log_px = -F.binary_cross_entropy_with_logits(logits, x[:, None].expand_as(logits), reduction="none").sum(-1)
    log_w = log_px + log_prior - log_q
    nll = -(torch.logsumexp(log_w, 1) - math.log(k))
    return {"nelbo_nats": float(-log_w.mean(1).mean()), "nll_is_nats": float(nll.mean()),
            "bits_per_dim": float(nll.mean()) / (784 * math.log(2))}


def print_table(rows: list[dict[str, Any]], args: argparse.Namespace) -> None:
    print(f"\nDynamically binarised MNIST: train = first 9,000 of {mnist_folder()} (t10k), held out = last 1,000; "
          f"budget {args.budget:.0f} s per model; k = {args.k}; seed {args.seed}; {torch.get_num_threads()} threads")
    header = (f"{'model':<30} {'params':>9} {'steps':>7} {'epochs':>7} {'train s':>8} {'-ELBO':>8} "
              f"{'IS NLL':>8} {'bits/dim':>9} {'eval s':>7}")
    print(header)
    print("-" * len(header))
    for row in rows:
        print(f"{row['name']:<30} {row['params']:>9,} {row['steps']:>7} {row['epochs']:>7.1f} {row['train_s']:>8.0f} "
              f"{row['nelbo_nats']:>8.2f} {row['nll_is_nats']:>8.2f} {row['bits_per_dim']:>9.4f} {row['eval_s']:>7.0f}")
    if len(rows) == 2:
        conv, mlp = rows
        print(f"conv / MLP: IS NLL {conv['nll_is_nats'] / mlp['nll_is_nats']:.3f}x "
              f"({conv['nll_is_nats'] - mlp['nll_is_nats']:+.2f} nats); conv model: {args.model}")


def main() -> int:
    args = parse_args()
    folder = mnist_folder()
    ctx = context("fp32")
    train_images, test_images = load_split(ctx, folder, "train"), load_split(ctx, folder, "test")
    assert train_images.shape[0] == 9000 and test_images.shape[0] == HOLDOUT
    test = binarised_test_set(test_images, args.seed).view(-1, 1, 28, 28)
    rows = [run_genart(args, train_images, test)]
    print(f"conv VAE done: IS NLL {rows[0]['nll_is_nats']:.2f} nats", file=sys.stderr)
    if not args.skip_mlp:
        rows.append(run_mlp(args, train_images, test))
    print_table(rows, args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
