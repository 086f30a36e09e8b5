"""Labels in the contract: a dataset that says which class each image is, and a model that trains on and
draws a class it is asked for.

Both sides are optional capabilities, checked with ``isinstance``: a dataset without ``label_names`` and
``labels`` (every dataset written before plugin API 2.1) is unlabelled, and a model without
``set_classes`` trains unconditionally on labelled data (the core says so in one line).

The order of calls, so a model never has to guess: the core builds the model (labels are not known yet:
the data is loaded at the model's size), loads the data and its labels, then calls
``set_classes(names)`` once, before the first ``train_step_labelled`` and before ``load_state_dict``
(resume, ``genart sample``, ``--weights``: the names come back from the run's manifest or the
checkpoint's metadata). A model whose ``set_classes`` was never called is the unconditional model it
always was. Labels are int64 ``[N]`` in ``0 .. len(names) - 1``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Protocol, runtime_checkable

if TYPE_CHECKING:
    import torch


@runtime_checkable
class Labelled(Protocol):
    """Optional dataset capability: a class per image.

    ``label_names()`` may be empty, meaning this instance has no labels (e.g. ``folder`` without
    ``labels=folders``); the core then treats the data as unlabelled and never calls ``labels()``.
    ``labels()`` is called after ``load`` and is aligned with the tensor the last ``load`` returned
    (files ``load`` skipped have no label either); the core applies ``split``/``holdout`` to both."""

    def label_names(self) -> list[str]:
        """The class names, index ``i`` naming label ``i`` (unique, non-empty; ``[]``: unlabelled)."""
        ...

    def labels(self) -> torch.Tensor:
        """int64 ``[N]``: the class of each image ``load`` returned, in its order."""
        ...


@runtime_checkable
class Conditional(Protocol):
    """Optional model capability: trains on labelled batches and samples a class it is asked for.

    ``sample(n, generator)`` of a model told its classes draws across all classes (e.g. the
    unconditional branch of a classifier-free guided model, or uniformly drawn labels)."""

    def set_classes(self, names: Sequence[str]) -> None:
        """Told the class names once, before training and before ``load_state_dict`` (see module doc)."""
        ...

    def train_step_labelled(self, batch: torch.Tensor, labels: torch.Tensor) -> dict[str, float]:
        """``train_step`` with each image's label (int64 ``[B]``, on the batch's device)."""
        ...

    def sample_labelled(self, labels: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
        """``len(labels)`` images in [0, 1], image ``i`` of class ``labels[i]`` (int64 ``[n]`` on the CPU);
        the same generator state and labels give the same images."""
        ...


@runtime_checkable
class ConditionalDecoder(Protocol):
    """Optional, with :class:`Conditional` and :class:`~genart.LatentDecoder`: decode latents under a mix
    of classes, for ``genart walk --label`` (within a class: one-hot rows; between two: a blend)."""

    def decode_labelled(self, z: torch.Tensor, weights: torch.Tensor) -> torch.Tensor:
        """Latents ``[N, *latent_shape]`` and class weights float ``[N, len(names)]`` (rows sum to 1) to
        images in [0, 1]."""
        ...


@runtime_checkable
class Guided(Protocol):
    """Optional, with :class:`Conditional`: the classifier-free guidance scale ``sample_labelled`` uses
    (0: unconditional; 1: the conditional model as trained; more: stronger class). The core sets it from
    ``genart sample --guidance`` and records it in every sample's recipe."""

    guidance: float


def class_names_valid(names: Sequence[str]) -> list[str]:
    """``names`` as a list of str, checked: unique and non-empty (a dataset error otherwise)."""
    from ..errors import GenartError

    listed = [str(name) for name in names]
    if any(not name.strip() for name in listed):
        raise GenartError("a dataset gave an empty label name")
    if len(set(listed)) != len(listed):
        seen: set[str] = set()
        twice = next(name for name in listed if name in seen or seen.add(name))  # type: ignore[func-returns-value]
        raise GenartError(f"a dataset gave the label name {twice!r} twice")
    return listed


def resolve_label(text: str, names: Sequence[str]) -> list[int]:
    """A ``--label`` value to class indices: a name (exact, then case-insensitive), an index, or ``all``.
    Anything else is a one-line UsageError listing the names."""
    from ..errors import UsageError

    value = str(text).strip()
    if value == "all":
        return list(range(len(names)))
    if value in names:
        return [list(names).index(value)]
    folded = [name for name in names if name.casefold() == value.casefold()]
    if len(folded) == 1:
        return [list(names).index(folded[0])]
    if value.lstrip("-").isdigit() and value not in names:
        index = int(value)
        if 0 <= index < len(names):
            return [index]
    shown = ", ".join(names[:40]) + (f", ... ({len(names)} in all)" if len(names) > 40 else "")
    raise UsageError(f"unknown label {value!r}; this run's labels are: {shown} (or an index 0-{len(names) - 1}, "
                     "or all)")


def resolve_labels(values: Sequence[str], names: Sequence[str]) -> list[int]:
    """Every ``--label`` value in order (``all`` expands to every class)."""
    out: list[int] = []
    for value in values:
        out += resolve_label(value, names)
    return out
