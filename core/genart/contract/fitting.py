"""The model fits the data unless told otherwise: image size and channels come from the dataset.

Without this, ``genart run --model gan --data mnist:path=DIR`` trained a 32 px colour GAN on 28 px
grey digits: the core padded and tripled every digit, and the samples were judged worse than those of
the same GAN at the data's own shape. A dataset that knows its shape says so through
``native_shape()``; a model whose parameters have ``image_size`` or ``channels`` fields gets the
dataset's values for the keys the user left out. A key the user gave is kept, with a one-line warning
when it differs from the data.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

from ..errors import GenartError
from .components import resolve_params
from .params import split_spec
from .protocols import NativeShape
from .registry import DATASET, MODEL

#: The model parameters the data decides, and what each is called in messages.
FITTED_KEYS = {"image_size": "px", "channels": "channels"}


@dataclass
class FittedModel:
    """The model spec to build, with what the user should be told about how it was chosen."""

    spec: str
    filled: dict[str, int] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)

    def message(self) -> str | None:
        if not self.filled:
            return None
        chosen = " and ".join(self.filled)
        return f"model: {self.spec} ({chosen} from the data; give them on the model to override)"


def native_shape_of(context: Any, data_spec: str) -> tuple[int, int] | None:
    """Build the dataset only far enough to ask its shape (no decoding)."""
    request = split_spec(data_spec)
    params = resolve_params(context, DATASET, request)
    dataset = context.registry.get(DATASET, request.name).factory(params, context)
    return dataset.native_shape() if isinstance(dataset, NativeShape) else None


def fit_model_to_data(context: Any, model_spec: str, data_spec: str) -> FittedModel:
    """Fill the model's ``image_size``/``channels`` from the data where the user did not give them."""
    request = split_spec(model_spec)
    resolve_params(context, MODEL, request)  # the model's own mistakes are reported first, as before
    params_type = context.registry.get(MODEL, request.name).params
    fields = {f.name for f in dataclasses.fields(params_type)} if dataclasses.is_dataclass(params_type) else set()
    keys = [key for key in FITTED_KEYS if key in fields]
    if not keys:
        return FittedModel(model_spec)
    try:
        shape = native_shape_of(context, data_spec)
    except GenartError:  # reported where it always was, after the model and the post chain are built
        return FittedModel(model_spec)
    if shape is None:
        return FittedModel(model_spec)
    native = dict(zip(("channels", "image_size"), shape, strict=True))
    fitted = FittedModel(model_spec)
    for key in keys:
        given = request.options.get(key)
        if given is None:
            fitted.filled[key] = native[key]
        elif given.strip() != str(native[key]):
            fitted.warnings.append(
                f"warning: model {key}={given} but the data ({split_spec(data_spec).name}) is "
                f"{native[key]} {FITTED_KEYS[key]}; training at {key}={given} as asked")
    if fitted.filled:  # appended to the user's text, so their quoting of other values survives
        added = ",".join(f"{key}={value}" for key, value in fitted.filled.items())
        fitted.spec = (model_spec.strip() + "," if request.options else request.name + ":") + added
    return fitted
