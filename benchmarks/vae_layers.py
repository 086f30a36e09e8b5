"""Why the default VAE gains less from bf16 than the GAN: each layer's bf16 speed-up, and a decoder variant.

Part 1 times every convolution shape of the default VAE (32 px, width 32, batch 32) alone, forward and
backward, in plain fp32 and in bf16 autocast + channels_last, and prints the ratio (the decoder's layers both
as PyTorch's ConvTranspose2d and as the VAE's Upsample2x, which computes its own bf16 gradients). Part 2
trains the whole default VAE step with today's decoder, with PyTorch's transposed convolutions in its place,
and with a sub-pixel decoder (3x3 conv to 4x the channels + PixelShuffle) in alternating rounds, so that all
ratios come from the same minutes of this machine's drifting speed. Run it with the machine otherwise quiet:

    python -m benchmarks.vae_layers            # about 2 minutes on 2 cores
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections import defaultdict

import torch
from torch import nn

from benchmarks.common import context
from genart_vae.upsample import Upsample2x

BATCH = 32
# transposed: today's decoder (Upsample2x: PyTorch's transposed convolution with its own bf16 backward);
# pytorch: the same layers as PyTorch's ConvTranspose2d (the decoder of before); subpixel: see to_subpixel
DECODERS = ("transposed", "pytorch", "subpixel")


def layer_ms(module: nn.Module, shape: tuple[int, ...], bf16: bool, reps: int) -> float:
    """Milliseconds per forward + backward of one layer (input gradient included, as inside a network)."""
    layout = torch.channels_last if bf16 else torch.contiguous_format
    module = module.to(memory_format=layout)
    x = torch.randn(*shape).contiguous(memory_format=layout).requires_grad_(True)
    autocast = torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16)

    def once() -> None:
        with autocast:
            y = module(x)
        y.float().square().mean().backward()

    for _ in range(10):
        once()
    start = time.perf_counter()
    for _ in range(reps):
        once()
    return (time.perf_counter() - start) / reps * 1000


def default_vae_layers() -> dict[str, tuple[nn.Module, tuple[int, ...]]]:
    """The convolution shapes of `vae` at its defaults (32 px, width 32: 32 -> 64 -> 128 channels)."""
    return {
        "enc conv 3->32 4x4/2 @32": (nn.Conv2d(3, 32, 4, 2, 1), (BATCH, 3, 32, 32)),
        "enc conv 32->64 4x4/2 @16": (nn.Conv2d(32, 64, 4, 2, 1), (BATCH, 32, 16, 16)),
        "enc conv 64->128 4x4/2 @8": (nn.Conv2d(64, 128, 4, 2, 1), (BATCH, 64, 8, 8)),
        "dec convT 128->64 4x4/2 @4": (nn.ConvTranspose2d(128, 64, 4, 2, 1), (BATCH, 128, 4, 4)),
        "dec convT 64->32 4x4/2 @8": (nn.ConvTranspose2d(64, 32, 4, 2, 1), (BATCH, 64, 8, 8)),
        "dec convT 32->16 4x4/2 @16": (nn.ConvTranspose2d(32, 16, 4, 2, 1), (BATCH, 32, 16, 16)),
        "out conv 16->3 3x3 @32": (nn.Conv2d(16, 3, 3, 1, 1), (BATCH, 16, 32, 32)),
        # what the VAE uses: the same transposed convolutions with their own bf16 backward
        "dec Upsample2x 128->64 @4": (Upsample2x(128, 64), (BATCH, 128, 4, 4)),
        "dec Upsample2x 64->32 @8": (Upsample2x(64, 32), (BATCH, 64, 8, 8)),
        "dec Upsample2x 32->16 @16": (Upsample2x(32, 16), (BATCH, 32, 16, 16)),
    }


def to_pytorch_transposed(module: nn.Module) -> None:
    """Turn the VAE's Upsample2x layers back into PyTorch's ConvTranspose2d (same weights): the decoder of before."""
    for child in module.modules():
        if isinstance(child, Upsample2x):
            child.__class__ = nn.ConvTranspose2d


def to_subpixel(module: nn.Module) -> None:
    """Replace every transposed convolution by a 3x3 convolution to 4x the channels and PixelShuffle(2)."""
    for name, child in list(module.named_children()):
        if isinstance(child, nn.ConvTranspose2d):
            setattr(module, name, nn.Sequential(nn.Conv2d(child.in_channels, 4 * child.out_channels, 3, 1, 1),
                                                nn.PixelShuffle(2)))
        else:
            to_subpixel(child)


def step_rate(precision: str, decoder: str, steps: int) -> float:
    """Training images/s of the default VAE: plain fp32 layout, or genart's bf16 + channels_last."""
    from genart.api import build_model, load_data

    ctx = context(precision)
    torch.manual_seed(0)
    model = build_model(ctx, "vae")
    if decoder == "pytorch":
        to_pytorch_transposed(model.net)
    if decoder == "subpixel":
        to_subpixel(model.net)
        model.net = ctx.prepare(model.net)
        model.optimizer = torch.optim.Adam([*model.net.parameters(), *model.likelihood.parameters()],
                                           lr=model.params.lr, fused=True)
    bf16 = precision == "bf16"
    layout = torch.channels_last if bf16 else torch.contiguous_format
    model.net.to(memory_format=layout)
    batch = (load_data(ctx, "shapes:count=256", 32, 3)[:BATCH].float() / 255).contiguous(memory_format=layout)
    with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
        for _ in range(8):
            model.train_step(batch)
        start = time.perf_counter()
        for _ in range(steps):
            model.train_step(batch)
    return steps * BATCH / (time.perf_counter() - start)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--reps", type=int, default=60, help="timed repetitions per layer")
    parser.add_argument("--rounds", type=int, default=5, help="rounds of the whole-step comparison")
    parser.add_argument("--steps", type=int, default=40, help="timed steps per whole-step run")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)

    print(f"Part 1: one layer, forward + backward, batch {BATCH}, {args.threads} threads (ms; best of 3, interleaved)")
    print(f"{'layer':<30}{'fp32':>8}{'bf16+CL':>9}{'speed-up':>10}")
    for name, (module, shape) in default_vae_layers().items():
        times: dict[bool, list[float]] = {False: [], True: []}
        for _ in range(3):  # interleaved, so both see the same minutes of the machine
            for bf16 in (False, True):
                times[bf16].append(layer_ms(module, shape, bf16, args.reps))
        fp32, bf16 = min(times[False]), min(times[True])
        print(f"{name:<30}{fp32:>8.2f}{bf16:>9.2f}{fp32 / bf16:>9.2f}x", flush=True)

    rates: dict[tuple[str, str], list[float]] = defaultdict(list)
    for _ in range(args.rounds):
        for decoder in DECODERS:
            for precision in ("fp32", "bf16"):
                rates[decoder, precision].append(step_rate(precision, decoder, args.steps))
    print(f"\nPart 2: the default VAE's training step, {args.rounds} rounds (img/s median; ratios per round)")
    for decoder in DECODERS:
        fp32, bf16 = rates[decoder, "fp32"], rates[decoder, "bf16"]
        ratios = [b / f for b, f in zip(bf16, fp32, strict=True)]
        print(f"{decoder:<12} fp32 {statistics.median(fp32):6.0f}  bf16 {statistics.median(bf16):6.0f}  "
              f"bf16 / fp32 {statistics.median(ratios):.2f}x ({min(ratios):.2f}-{max(ratios):.2f})")
    for other in ("pytorch", "subpixel"):
        vs = [s / t for s, t in zip(rates[other, "bf16"], rates["transposed", "bf16"], strict=True)]
        print(f"{other} bf16 / transposed bf16: {statistics.median(vs):.2f}x ({min(vs):.2f}-{max(vs):.2f})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
