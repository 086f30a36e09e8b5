"""Learning-free colour transfers, and the colour helpers style transfer uses for ``preserve_colors``.

All functions take RGB batches ``[N, 3, H, W]`` in [0, 1]. Lab conversions are kornia's (sRGB, D65),
with L in [0, 100] and a*, b* roughly in [-128, 127].
"""

from __future__ import annotations

import kornia
import torch


def lab_stats(lab: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-image, per-channel mean and standard deviation of ``[N, 3, H, W]`` -> two ``[N, 3, 1, 1]``."""
    flat = lab.flatten(2)
    mean = flat.mean(2)
    std = flat.std(2, unbiased=False)
    return mean[..., None, None], std[..., None, None]


def reinhard_lab(content: torch.Tensor, style_mean: torch.Tensor, style_std: torch.Tensor) -> torch.Tensor:
    """Reinhard et al. (2001): shift and scale each Lab channel of ``content`` to the style's statistics.

    Returns Lab before conversion back to RGB (and before any clipping), so its statistics match the
    style's exactly up to rounding.
    """
    lab = kornia.color.rgb_to_lab(content)
    mean, std = lab_stats(lab)
    return (lab - mean) / std.clamp_min(1e-6) * style_std + style_mean


def reinhard(content: torch.Tensor, style_mean: torch.Tensor, style_std: torch.Tensor,
             clip: bool = True) -> torch.Tensor:
    """Reinhard colour transfer to RGB; ``clip=False`` leaves out-of-gamut values for measurement."""
    rgb = kornia.color.lab_to_rgb(reinhard_lab(content, style_mean, style_std), clip=False)
    return rgb.clamp(0, 1) if clip else rgb


def match_histograms(content: torch.Tensor, style_sorted: torch.Tensor) -> torch.Tensor:
    """Per-channel histogram matching: each pixel takes the style value at its own quantile.

    ``style_sorted`` is ``[C, M]``, each channel's style values sorted. Ties in the content keep a
    stable order, so the mapping is deterministic.
    """
    n, c, h, w = content.shape
    flat = content.reshape(n, c, h * w)
    m = style_sorted.shape[1]
    out = torch.empty_like(flat)
    ranks = torch.empty_like(flat)
    order = torch.argsort(flat, dim=2, stable=True)
    positions = torch.arange(h * w, dtype=flat.dtype, device=flat.device).expand(n, c, h * w)
    ranks.scatter_(2, order, positions)
    # quantile of each pixel -> fractional index into the sorted style values (linear interpolation)
    index = ranks * ((m - 1) / max(1, h * w - 1)) if h * w > 1 else ranks + (m - 1) / 2
    low = index.floor().long().clamp(0, m - 1)
    high = (low + 1).clamp(max=m - 1)
    frac = index - low.to(index.dtype)
    table = style_sorted.to(flat.dtype).unsqueeze(0).expand(n, c, m)
    out = torch.lerp(torch.gather(table, 2, low), torch.gather(table, 2, high), frac)
    return out.reshape(n, c, h, w)


def luminance(rgb: torch.Tensor) -> torch.Tensor:
    """Lab lightness scaled to [0, 1], as ``[N, 1, H, W]``."""
    return kornia.color.rgb_to_lab(rgb)[:, :1] / 100.0


def with_chroma_of(lightness: torch.Tensor, colour_source: torch.Tensor, rounds: int = 4) -> torch.Tensor:
    """RGB from ``lightness`` ([0, 1], ``[N, 1, H, W]``) and the a*, b* of ``colour_source`` (RGB).

    New lightness under old chroma often leaves the RGB gamut, and clipping shifts the colours; a few
    rounds of correcting the mean a*, b* by what clipping took away keep the content's colour balance.
    """
    source = kornia.color.rgb_to_lab(colour_source)[:, 1:]
    target = source.mean((2, 3), keepdim=True)
    chroma = source
    for _ in range(rounds):
        rgb = kornia.color.lab_to_rgb(torch.cat([lightness.clamp(0, 1) * 100.0, chroma], 1), clip=True)
        got = kornia.color.rgb_to_lab(rgb)[:, 1:].mean((2, 3), keepdim=True)
        chroma = chroma + (target - got)
    return rgb


def match_luminance(style_l: torch.Tensor, content_l: torch.Tensor) -> torch.Tensor:
    """Shift and scale the style's lightness to the content's mean and spread (Gatys et al. 2016)."""
    sm, ss = style_l.mean(), style_l.std(unbiased=False)
    cm, cs = content_l.mean(), content_l.std(unbiased=False)
    return ((style_l - sm) / ss.clamp_min(1e-6) * cs + cm).clamp(0, 1)


def match_color_moments(style: torch.Tensor, content: torch.Tensor) -> torch.Tensor:
    """Linear colour transform giving the style the content's RGB mean and covariance.

    This is the "colour histogram matching" variant of Gatys et al. (2016): the style keeps its
    strokes and contrast structure but is painted in the content's colours before transfer.
    """
    def moments(x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        flat = x.reshape(3, -1).double()
        mean = flat.mean(1, keepdim=True)
        centred = flat - mean
        cov = centred @ centred.T / max(1, flat.shape[1]) + torch.eye(3, dtype=flat.dtype) * 1e-5
        return mean, cov

    def sqrtm(cov: torch.Tensor, inverse: bool = False) -> torch.Tensor:
        values, vectors = torch.linalg.eigh(cov)
        values = values.clamp_min(1e-8).sqrt()
        if inverse:
            values = 1 / values
        return vectors @ torch.diag(values) @ vectors.T

    sm, scov = moments(style)
    cm, ccov = moments(content)
    transform = sqrtm(ccov) @ sqrtm(scov, inverse=True)
    flat = style.reshape(3, -1).double()
    out = transform @ (flat - sm) + cm
    return out.reshape(style.shape).to(style.dtype).clamp(0, 1)


# -- a fused Reinhard transfer for speed -----------------------------------------------------------------
# Lab is an affine function of f = cbrt-like(XYZ / white): L = 116 fy - 16, a = 500 (fx - fy),
# b = 200 (fy - fz). So scaling and shifting each Lab channel is an affine map of f, and the content's
# Lab mean and spread follow from f's mean and 3x3 covariance. That turns the whole transfer into
# gamma -> 3x3 -> cube root -> 3x3 affine -> cube -> 3x3 -> gamma, with no Lab image in memory: the same
# formulas as kornia.color (so kornia's Lab of the result has the reference's statistics), about twice
# as fast.
_WHITE = torch.tensor([0.95047, 1.0, 1.08883], dtype=torch.float64)
_RGB2XYZ = torch.tensor([[0.412453, 0.357580, 0.180423],
                         [0.212671, 0.715160, 0.072169],
                         [0.019334, 0.119193, 0.950227]], dtype=torch.float64)
_F2LAB = torch.tensor([[0.0, 116.0, 0.0], [500.0, -500.0, 0.0], [0.0, 200.0, -200.0]], dtype=torch.float64)
_LAB_OFFSET = torch.tensor([-16.0, 0.0, 0.0], dtype=torch.float64)


def _apply3(matrix: torch.Tensor, x: torch.Tensor, bias: torch.Tensor | None = None) -> torch.Tensor:
    out = torch.einsum("ij,njhw->nihw", matrix.to(x.dtype), x)
    return out if bias is None else out + bias.to(x.dtype).view(1, 3, 1, 1)


CHUNK_ROWS = 64  # rows per chunk: each temporary stays in cache instead of streaming through memory


def _to_f(rgb: torch.Tensor, to_xyz: torch.Tensor) -> torch.Tensor:
    lin = torch.where(rgb > 0.04045, (rgb + 0.055).clamp_(min=0.0).div_(1.055).pow_(2.4), rgb / 12.92)
    xyz = _apply3(to_xyz, lin)
    return torch.where(xyz > 0.008856, xyz.clamp(min=0.008856).pow_(1 / 3.0), xyz.mul(7.787).add_(4.0 / 29.0))


def _from_f(f: torch.Tensor, matrix: torch.Tensor, bias: torch.Tensor, from_xyz: torch.Tensor) -> torch.Tensor:
    f2 = _apply3(matrix, f, bias)
    f2[:, 2].clamp_(min=0.0)  # as kornia.color.lab_to_rgb does
    xyz = torch.where(f2 > 0.2068966, f2.pow(3.0), f2.sub(4.0 / 29.0).div_(7.787))
    lin = _apply3(from_xyz, xyz)
    return torch.where(lin > 0.0031308, lin.clamp(min=0.0031308).pow_(1 / 2.4).mul_(1.055).sub_(0.055),
                       lin.mul(12.92))


def reinhard_fast(content: torch.Tensor, style_mean: torch.Tensor, style_std: torch.Tensor,
                  clip: bool = True) -> torch.Tensor:
    """Reinhard colour transfer of ``[N, 3, H, W]`` RGB, equal to :func:`reinhard` up to rounding."""
    to_xyz = _RGB2XYZ / _WHITE[:, None]
    from_xyz = torch.linalg.inv(to_xyz)
    p_inv = torch.linalg.inv(_F2LAB)
    out = torch.empty_like(content)
    h = content.shape[-2]
    for i in range(content.shape[0]):
        rows = range(0, h, CHUNK_ROWS)
        f = torch.cat([_to_f(content[i:i + 1, :, r:r + CHUNK_ROWS], to_xyz) for r in rows], 2)
        flat = f.reshape(3, -1).double()  # float64 statistics: float32 sums miss the 1e-3 target
        mean_f = flat.mean(1, keepdim=True)
        centred = flat - mean_f
        cov_f = (centred @ centred.T) / flat.shape[1]
        del centred, flat
        lab_mean = _F2LAB @ mean_f[:, 0] + _LAB_OFFSET
        lab_std = torch.diagonal(_F2LAB @ cov_f @ _F2LAB.T).clamp(min=0).sqrt().clamp(min=1e-6)
        scale = style_std[min(i, style_std.shape[0] - 1)].reshape(3).double() / lab_std
        shift = style_mean[min(i, style_mean.shape[0] - 1)].reshape(3).double() - scale * lab_mean
        # lab' = diag(scale) lab + shift, with lab = P f + q  =>  f' = P^-1 (diag(scale) (P f + q) + shift - q)
        matrix = p_inv @ torch.diag(scale) @ _F2LAB
        bias = p_inv @ (scale * _LAB_OFFSET + shift - _LAB_OFFSET)
        for r in rows:
            chunk = _from_f(f[:, :, r:r + CHUNK_ROWS], matrix, bias, from_xyz)
            out[i:i + 1, :, r:r + CHUNK_ROWS] = chunk.clamp_(0, 1) if clip else chunk
    return out
