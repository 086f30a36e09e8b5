"""Importing spandrel when the installed torchvision does not fit the installed torch.

spandrel imports torchvision (for two architectures: LaMa's rotations and RestoreFormer's
normalisation, both pure Python). A CUDA build of torchvision beside a CPU-only torch (what pip
gives when torch came from the CPU index or a local wheel and torchvision from PyPI) fails at
import: its compiled operators do not load, and ``torchvision._meta_registrations`` then raises
``operator torchvision::nms does not exist``. Only then, genart imports torchvision once more with
that one module replaced by an empty one: the compiled operators (nms, roi_align, ...) stay
unavailable, as they already were, and everything spandrel uses works.
"""

from __future__ import annotations

import sys
import types
from typing import Any


def import_spandrel() -> Any:
    try:
        import spandrel  # type: ignore[import-untyped]
    except RuntimeError as error:
        if "torchvision::" not in str(error):
            raise
        for name in [n for n in sys.modules if n == "torchvision" or n.startswith(("torchvision.", "spandrel"))]:
            del sys.modules[name]
        sys.modules["torchvision._meta_registrations"] = types.ModuleType("torchvision._meta_registrations")
        import spandrel  # type: ignore[import-untyped]
    return spandrel
