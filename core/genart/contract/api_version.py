"""The plugin API's version, and what a plugin that names the version it was written for gets.

``genart.PLUGIN_API`` is ``"MAJOR.MINOR"``: a minor release adds to the API, a major one changes or
removes something a plugin may use. A plugin module says which version it was written against with
``GENART_PLUGIN_API = "2.0"``. A plugin written for the previous major version still loads, with a
warning, because every breaking change keeps its old form working for one major version (each with a
``DeprecationWarning`` that says what to change; CHANGELOG.md lists them); anything older or newer is
refused in one line that names both versions. A plugin that names no version is assumed current.
"""

from __future__ import annotations

import re
import warnings
from dataclasses import dataclass

from ..errors import PluginError
from ..version import PLUGIN_API

#: the module attribute a plugin sets to the plugin API version it was written against
DECLARATION = "GENART_PLUGIN_API"


@dataclass(frozen=True)
class Verdict:
    """The outcome of comparing a plugin's declared version with ours: load it, and what to say."""

    warning: str = ""


def parse(version: str) -> tuple[int, int]:
    match = re.fullmatch(r"\s*(\d+)(?:\.(\d+))?\s*", version)
    if match is None:
        raise ValueError(version)
    return int(match.group(1)), int(match.group(2) or 0)


def check_plugin_api(declared: object, plugin: str, current: str = PLUGIN_API) -> Verdict:
    """Whether a plugin that declares ``declared`` may load; raises PluginError (one line) when not."""
    if declared is None:
        return Verdict()
    try:
        wanted = parse(str(declared))
    except ValueError:
        raise PluginError(f"plugin {plugin!r} declares {DECLARATION} = {declared!r}, which is not a version "
                          f"like {current!r}") from None
    have = parse(current)
    if wanted[0] > have[0] or (wanted[0] == have[0] and wanted[1] > have[1]):
        raise PluginError(f"plugin {plugin!r} needs genart plugin API {str(declared).strip()}, but this genart "
                          f"provides {current}; upgrade genart")
    if wanted[0] < have[0] - 1:
        raise PluginError(f"plugin {plugin!r} was written for genart plugin API {str(declared).strip()}, which "
                          f"genart's plugin API {current} no longer supports (see genart's CHANGELOG.md); update "
                          "the plugin")
    if wanted[0] == have[0] - 1:
        message = (f"plugin {plugin!r} was written for genart plugin API {str(declared).strip()}; this genart "
                   f"provides {current}. Its old forms keep working, with a DeprecationWarning for each, until "
                   f"plugin API {have[0] + 1}.0 (see genart's CHANGELOG.md)")
        warnings.warn(message, DeprecationWarning, stacklevel=3)
        return Verdict(warning=message)
    return Verdict()
