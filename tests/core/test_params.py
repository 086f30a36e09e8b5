from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import pytest

from genart import param
from genart.contract.params import build_params, coerce, describe_params, split_spec
from genart.errors import UsageError


@dataclass
class P:
    """Example parameters."""

    size: int = param(32, "image size")
    rate: float = param(0.5, "a rate")
    flag: bool = param(False, "a flag")
    mode: Literal["fast", "slow"] = param("fast", "speed")
    path: Path | None = param(None, "a file")
    names: list[str] = param([], "names joined with +")

    def validate(self) -> None:
        if self.size <= 0:
            raise ValueError("size must be positive")


def test_split_spec_plain_and_with_options() -> None:
    assert split_spec("vae").name == "vae" and split_spec("vae").options == {}
    request = split_spec("gan:loss=hinge, width=64")
    assert request.name == "gan" and request.options == {"loss": "hinge", "width": "64"}


def test_split_spec_quotes_protect_commas_and_colons() -> None:
    request = split_spec('style:image="a,b:c.jpg",size=3')
    assert request.options == {"image": "a,b:c.jpg", "size": "3"}


@pytest.mark.parametrize("text", ["", ":a=1", "x:a", "x:a=1,a=2", 'x:a="unclosed'])
def test_split_spec_errors(text: str) -> None:
    with pytest.raises(UsageError):
        split_spec(text)


def test_build_params_types() -> None:
    p = build_params(P, {"size": "64", "rate": "1e-3", "flag": "yes", "mode": "slow", "path": "x.png",
                         "names": "a+b"}, component="c")
    assert (p.size, p.rate, p.flag, p.mode, p.path, p.names) == (64, 1e-3, True, "slow", Path("x.png"), ["a", "b"])
    assert build_params(P, {"path": "none"}, component="c").path is None


def test_unknown_key_suggests() -> None:
    with pytest.raises(UsageError, match="no parameter 'szie'.*did you mean 'size'"):
        build_params(P, {"szie": "3"}, component="model 'x'")


@pytest.mark.parametrize(("key", "value", "message"), [
    ("size", "big", "not an integer"), ("rate", "fast", "not a number"), ("flag", "maybe", "not a boolean"),
    ("mode", "fats", "did you mean 'fast'"), ("size", "-1", "size must be positive"),
])
def test_bad_values_are_one_line_errors(key: str, value: str, message: str) -> None:
    with pytest.raises(UsageError, match=message) as info:
        build_params(P, {key: value}, component="model 'x'")
    assert "\n" not in str(info.value)


def test_no_params_component_rejects_options() -> None:
    with pytest.raises(UsageError, match="takes no parameters"):
        build_params(None, {"a": "1"}, component="x")


def test_coerce_optional_union() -> None:
    assert coerce("3", int | None) == 3
    assert coerce("none", int | None) is None


def test_describe_params_lists_defaults_and_help() -> None:
    rows = {row["name"]: row for row in describe_params(P)}
    assert rows["size"]["default"] == 32 and rows["size"]["help"] == "image size"
    assert rows["mode"]["type"] == "fast|slow"
