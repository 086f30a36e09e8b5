"""Building throwaway plugin modules in tests: a module whose functions are marked hook implementations."""

from __future__ import annotations

import types
from typing import Any

import genart


def make_module(name: str, **hooks: Any) -> types.ModuleType:
    module = types.ModuleType(name)
    for hook_name, function in hooks.items():
        function.__name__ = hook_name
        setattr(module, hook_name, genart.hookimpl(function))
    return module
