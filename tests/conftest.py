"""Shared test helpers: a toy plugin with a tiny model, dataset and post-processor, so core tests run
in milliseconds and exercise the plugin API exactly as a third party would."""

from __future__ import annotations

import os

# Tests must never pick up a developer's plugin selection.
os.environ.pop("GENART_LOAD_PLUGINS", None)
