"""Component specs on the command line: ``name`` or ``name:key=value,key=value``.

Values are parsed into the component's parameter dataclass using its type hints, so a plugin
declares its parameters once (type, default, help) and gets parsing, validation, ``genart
describe`` and "did you mean" errors for free.
"""

from __future__ import annotations

import dataclasses
import math
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, Union, get_args, get_origin

from ..errors import UsageError
from .suggest import did_you_mean

_TRUE = {"1", "true", "yes", "on", "y"}
_FALSE = {"0", "false", "no", "off", "n"}
LIST_SEPARATOR = "+"


def param(default: Any, help: str, **kwargs: Any) -> Any:  # noqa: A002 - "help" reads best here
    """A dataclass field with a help text: ``latent: int = param(32, "latent dimensions")``."""
    if isinstance(default, (list, dict, set)):
        return field(default_factory=lambda: type(default)(default), metadata={"help": help}, **kwargs)
    return field(default=default, metadata={"help": help}, **kwargs)


@dataclass
class DatasetParams:
    """Parameters every dataset shares: which part of it to use.

    ``holdout=N`` sets the last N images aside (in the dataset's fixed order), so training with
    ``split=train`` and evaluating with ``split=test`` never see the same image.
    """

    split: Literal["all", "train", "test"] = param("all", "which part: all, train (minus holdout) or test")
    holdout: int = param(0, "number of images (the last ones) reserved for split=test")


@dataclass(frozen=True)
class ComponentRequest:
    """A parsed spec: the name and the raw key=value strings, before typing."""

    name: str
    options: dict[str, str]

    def __str__(self) -> str:
        if not self.options:
            return self.name
        return self.name + ":" + ",".join(f"{k}={v}" for k, v in self.options.items())


def split_spec(text: str) -> ComponentRequest:
    """Split ``name:k=v,k="a,b"`` into name and options; quotes protect commas and colons."""
    text = text.strip()
    name, _, rest = text.partition(":")
    name = name.strip()
    if not name:
        raise UsageError(f"empty component name in {text!r}")
    options: dict[str, str] = {}
    for item in _split_top_level(rest, ",") if rest.strip() else []:
        key, eq, value = item.partition("=")
        key = key.strip()
        if not eq or not key:
            raise UsageError(f"expected key=value in {text!r}, got {item.strip()!r}")
        if key in options:
            raise UsageError(f"key {key!r} given twice in {text!r}")
        options[key] = _unquote(value.strip())
    return ComponentRequest(name, options)


def _split_top_level(text: str, sep: str) -> list[str]:
    parts, current, quote = [], [], ""
    for char in text:
        if quote:
            current.append(char)
            if char == quote:
                quote = ""
        elif char in "\"'":
            quote = char
            current.append(char)
        elif char == sep:
            parts.append("".join(current))
            current = []
        else:
            current.append(char)
    if quote:
        raise UsageError(f"unclosed quote in {text!r}")
    parts.append("".join(current))
    return parts


def _unquote(value: str) -> str:
    if len(value) >= 2 and value[0] == value[-1] and value[0] in "\"'":
        return value[1:-1]
    return value


def build_params(params_type: type | None, options: dict[str, str], *, component: str) -> Any:
    """Turn raw options into an instance of ``params_type``; every mistake is a one-line UsageError."""
    if params_type is None:
        if options:
            raise UsageError(f"{component} takes no parameters (got {', '.join(options)})")
        return None
    fields = {f.name: f for f in dataclasses.fields(params_type) if f.init}
    hints = typing.get_type_hints(params_type)
    values: dict[str, Any] = {}
    for key, raw in options.items():
        if key not in fields:
            hint = did_you_mean(key, fields)
            raise UsageError(f"{component} has no parameter {key!r}{hint}; parameters: {', '.join(fields)}")
        try:
            values[key] = coerce(raw, hints[key])
        except ValueError as error:
            raise UsageError(f"{component}: bad value for {key}: {error}") from None
    try:
        instance = params_type(**values)
    except (TypeError, ValueError) as error:
        raise UsageError(f"{component}: {error}") from None
    validate = getattr(instance, "validate", None)
    if callable(validate):
        try:
            validate()
        except ValueError as error:
            raise UsageError(f"{component}: {error}") from None
    return instance


def coerce(raw: str, hint: Any) -> Any:
    """Parse one string by type hint; raises ValueError with a message meant for users."""
    origin = get_origin(hint)
    if origin in (Union, types.UnionType):
        options = [a for a in get_args(hint) if a is not type(None)]
        if type(None) in get_args(hint) and raw.lower() in {"none", "null", ""}:
            return None
        errors = []
        for option in options:
            try:
                return coerce(raw, option)
            except ValueError as error:
                errors.append(str(error))
        raise ValueError("; ".join(errors))
    if origin is Literal:
        choices = [str(c) for c in get_args(hint)]
        if raw in choices:
            return get_args(hint)[choices.index(raw)]
        raise ValueError(f"{raw!r} is not one of {', '.join(choices)}{did_you_mean(raw, choices)}")
    if origin in (list, tuple):
        (item,) = get_args(hint)[:1] or (str,)
        parsed = [coerce(part.strip(), item) for part in raw.split(LIST_SEPARATOR) if part.strip()]
        return parsed if origin is list else tuple(parsed)
    if hint is bool:
        lowered = raw.lower()
        if lowered in _TRUE:
            return True
        if lowered in _FALSE:
            return False
        raise ValueError(f"{raw!r} is not a boolean (use true or false)")
    if hint is int:
        try:
            return int(raw)
        except ValueError:
            raise ValueError(f"{raw!r} is not an integer") from None
    if hint is float:
        try:
            number = float(raw)
        except ValueError:
            raise ValueError(f"{raw!r} is not a number") from None
        if not math.isfinite(number):  # nan/inf pass float() but no parameter means them
            raise ValueError(f"{raw!r} is not a finite number")
        return number
    if hint is Path:
        return Path(raw).expanduser()
    if hint is str or hint is Any:
        return raw
    raise ValueError(f"cannot parse parameters of type {hint!r}")


def params_problems(params_type: type) -> list[str]:
    """Why a parameters dataclass cannot be used from the command line (empty when it can).

    Checked when a plugin registers, so a parameter without a default or of a type :func:`coerce`
    cannot parse is reported at load with the plugin's name, not when a user first sets it.
    """
    try:
        hints = typing.get_type_hints(params_type)
    except Exception as error:  # an unresolvable annotation (NameError and friends)
        return [f"cannot read the parameter types of {params_type.__name__}: {error}"]
    problems = []
    for f in dataclasses.fields(params_type):
        if not f.init:
            continue
        if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING:
            problems.append(f"parameter {f.name!r} has no default")
        if not parsable(hints[f.name]):
            problems.append(f"parameter {f.name!r} has a type the command line cannot parse "
                            f"({type_label(hints[f.name])}); use bool, int, float, str, Path, a Literal, "
                            "a list or tuple of these, or an Optional/union of them")
    return problems


def parsable(hint: Any) -> bool:
    """Whether :func:`coerce` can parse a value of type ``hint``."""
    origin = get_origin(hint)
    if origin in (Union, types.UnionType):
        return all(parsable(a) for a in get_args(hint) if a is not type(None))
    if origin is Literal:
        return all(isinstance(c, (str, int, float, bool)) for c in get_args(hint))
    if origin in (list, tuple):
        args = [a for a in get_args(hint) if a is not Ellipsis]
        return all(parsable(a) for a in args[:1])
    return hint in (bool, int, float, str, Path) or hint is Any


def describe_params(params_type: type | None) -> list[dict[str, Any]]:
    """Name, type, default and help of each parameter, for ``genart describe`` and docs."""
    if params_type is None:
        return []
    hints = typing.get_type_hints(params_type)
    rows = []
    for f in dataclasses.fields(params_type):
        if not f.init:
            continue
        if f.default is not dataclasses.MISSING:
            default = f.default
        elif f.default_factory is not dataclasses.MISSING:
            default = f.default_factory()
        else:
            default = None
        rows.append({"name": f.name, "type": type_label(hints[f.name]), "default": _jsonable(default),
                     "help": f.metadata.get("help", "")})
    return rows


def params_to_dict(params: Any) -> dict[str, Any]:
    """Parameters as plain JSON values, for manifests."""
    if params is None:
        return {}
    return {k: _jsonable(v) for k, v in dataclasses.asdict(params).items()}


def _jsonable(value: Any) -> Any:
    if isinstance(value, Path):
        return str(value)
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    return value


def type_label(hint: Any) -> str:
    origin = get_origin(hint)
    if origin is Literal:
        return "|".join(str(c) for c in get_args(hint))
    if origin in (Union, types.UnionType):
        return " or ".join(type_label(a) for a in get_args(hint))
    if origin in (list, tuple):
        return f"list of {type_label(get_args(hint)[0])} (joined with {LIST_SEPARATOR})"
    if hint is type(None):
        return "none"
    return getattr(hint, "__name__", str(hint))
