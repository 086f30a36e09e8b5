"""A post chain's last step written into its PNG band by band (``genart.Bands``), never held whole.

``genart post`` and ``genart reproduce`` decide and write the same way here, so a reproduced output
is byte-identical to the original whichever way it was written.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from ..contract.protocols import Bands


def grey_16_bit(source: Path) -> bool:
    """Whether ``source`` is a 16-bit grey image (``genart post`` keeps its depth, which needs it whole)."""
    from PIL import Image

    with Image.open(source) as probe:
        return probe.mode in ("I;16", "I;16B", "I;16L", "I")


def streams_into(chain: Sequence[tuple[str, Any]], source: Path, target: Path) -> bool:
    """Whether ``source``'s output goes into ``target`` band by band: a PNG of 8 bits per channel, and a
    last step that offers its output in bands."""
    return (target.suffix.lower() == ".png" and bool(chain) and isinstance(chain[-1][1], Bands)
            and not grey_16_bit(source))


def save_streamed(chain: Sequence[tuple[str, Any]], image: Any, device: Any, target: Path,
                  recipe: dict[str, Any] | str) -> None:
    """One image ``[1, C, H, W]`` through ``chain`` into the PNG ``target`` (atomically), the last step's
    bands encoded as they come; ``recipe`` goes into the text chunks as ``save_image`` puts it."""
    from ..loop.memory import plan_chain
    from ..records.png_rows import write_png_rows
    from ..records.recipe import dumps, png_info
    from .pipeline import last_in_bands

    bands = last_in_bands(chain, image, device)
    first = next(bands)
    height = plan_chain(chain, tuple(image.shape))[-1].after[2]
    width, channels = first.shape[-1], first.shape[1]

    def rows() -> Iterator[Any]:
        """Each band as 8-bit rows; no band is referenced once its rows are out (a row of tiles of a
        16384 px result is hundreds of megabytes: two held at once would undo the point)."""
        nonlocal first
        pixels = _pixels(first)
        first = None
        yield pixels
        for band in bands:
            pixels = _pixels(band)
            del band
            yield pixels

    text = recipe if isinstance(recipe, str) else dumps(recipe)
    write_png_rows(target, rows(), width, height, channels, png_info(text))


def _pixels(band: Any) -> Any:
    """``[1, C, h, W]`` in [0, 1] to ``[h, W, C]`` uint8, rounded as ``genart.images.tensor_to_pil`` rounds."""
    return band[0].mul(255).round_().byte().permute(1, 2, 0).numpy()
