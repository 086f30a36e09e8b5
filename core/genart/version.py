"""genart's version and the version of its plugin API, in a module of their own so every part of the
core can name them without importing the package's public face."""

from __future__ import annotations

__version__ = "0.1.0"

#: the plugin API version (see genart.contract.api_version and CHANGELOG.md): a breaking change bumps MAJOR
PLUGIN_API = "2.1"
