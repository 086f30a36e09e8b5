"""Pixel art, palettes and seamless tiles: the ``palette``, ``pixelize`` and ``tile-preview`` post-processors."""
