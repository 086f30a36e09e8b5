"""Shared test helpers: a toy plugin with a tiny model, dataset and post-processor, so core tests run
in milliseconds and exercise the plugin API exactly as a third party would."""

from __future__ import annotations

import atexit
import os
import shutil
import tempfile

# Tests must never pick up a developer's plugin selection.
os.environ.pop("GENART_LOAD_PLUGINS", None)
# nor write decode caches into the developer's home
os.environ["GENART_CACHE_DIR"] = tempfile.mkdtemp(prefix="genart-test-cache-")
atexit.register(shutil.rmtree, os.environ["GENART_CACHE_DIR"], True)
