"""Labels between the data, the model and the run folder: loading a dataset's labels with its images
(through the same ``split``/``holdout``), telling a conditional model its classes, and remembering them
in the manifest (``labels``) and the checkpoint's metadata, so ``--resume``, ``genart sample`` and
``--weights`` give the model back the classes it trained on without the data."""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..contract.components import BuildContext
from ..contract.labels import Conditional, Labelled, class_names_valid
from ..contract.params import split_spec
from ..errors import GenartError, UsageError
from .pipeline import decode_dataset, select_split

#: the checkpoint metadata key holding the class names (JSON list) a conditional model trained on
LABELS_KEY = "genart.labels"


@dataclass
class LabelledData:
    """A dataset's images (uint8 ``[N, C, H, W]``) and, when it has them, labels (int64 ``[N]``) and names."""

    images: Any
    labels: Any = None
    names: list[str] | None = None

    @property
    def labelled(self) -> bool:
        return self.labels is not None


def load_labelled_data(context: BuildContext, spec: str, size: int, channels: int) -> LabelledData:
    """``genart.api.load_data`` with the dataset's labels (None where it has none): the same checks, and
    ``split``/``holdout`` applied to images and labels alike."""
    dataset, params, images = decode_dataset(context, spec, size, channels)
    labels, names = dataset_labels(dataset, split_spec(spec).name, images.shape[0])
    images = select_split(images, params)
    if images.shape[0] == 0:
        raise GenartError(f"dataset {spec!r} has no images")
    return LabelledData(images, select_split(labels, params) if labels is not None else None, names)


def dataset_labels(dataset: Any, name: str, count: int) -> tuple[Any, list[str] | None]:
    """A loaded dataset's (labels, names), checked against the ``count`` images it returned; (None, None)
    when it is not :class:`~genart.Labelled` or says it has no labels."""
    import torch

    if not isinstance(dataset, Labelled):
        return None, None
    names = class_names_valid(dataset.label_names())
    if not names:
        return None, None
    labels = dataset.labels()
    labels = torch.as_tensor(labels)
    if labels.dim() != 1 or labels.shape[0] != count or labels.dtype.is_floating_point:
        raise GenartError(f"dataset {name!r} gave {tuple(labels.shape)} labels for its {count} images "
                          "(expected int64 [N] aligned with load)")
    labels = labels.to(torch.int64)
    if count and (int(labels.min()) < 0 or int(labels.max()) >= len(names)):
        raise GenartError(f"dataset {name!r} gave labels outside 0..{len(names) - 1} (it names {len(names)} classes)")
    return labels, names


def attach_classes(model: Any, data: LabelledData, manifest: dict[str, Any], say: Callable[[str], None],
                   previous: dict[str, Any] | None = None) -> Any:
    """Tell ``model`` the data's classes (when both sides support labels) and record them in ``manifest``;
    the labels to train on, or None to train unconditionally. ``previous``: the manifest of the run being
    resumed, whose classes the data must still have."""
    if not data.labelled:
        if previous is not None and (previous.get("labels") or {}).get("conditional"):
            raise UsageError("this run trained on labelled data, but its data has no labels now")
        return None
    assert data.names is not None
    conditional = isinstance(model, Conditional)
    manifest["labels"] = {"names": list(data.names), "conditional": conditional}
    if previous is not None:
        before = previous.get("labels") or {}
        if before.get("conditional") and list(before.get("names") or []) != list(data.names):
            raise UsageError(f"the data's labels changed since this run started (it trained on "
                             f"{len(before.get('names') or [])} classes, the data now has {len(data.names)}); "
                             "resume with the data it trained on")
        if not before.get("conditional"):
            manifest["labels"]["conditional"] = False
            return None
    if not conditional:
        say(f"note: the data has {len(data.names)} labels, but this model does not take labels: training it "
            "unconditionally")
        return None
    model.set_classes(list(data.names))
    if previous is None:
        say(f"labels: {len(data.names)} classes ({_shown(data.names)}); the model trains conditionally")
    return data.labels


def recorded_classes(manifest: dict[str, Any] | None, checkpoint: Path | None = None) -> list[str] | None:
    """The classes a run's model trained on: from its manifest, else from the checkpoint's metadata."""
    labels = (manifest or {}).get("labels") or {}
    if labels.get("conditional") and labels.get("names"):
        return [str(name) for name in labels["names"]]
    if checkpoint is not None and checkpoint.is_file():
        from ..records.runs import read_checkpoint_metadata

        raw = read_checkpoint_metadata(checkpoint).get(LABELS_KEY)
        if raw:
            try:
                return [str(name) for name in json.loads(raw)]
            except (ValueError, TypeError):
                return None
    return None


def restore_classes(model: Any, manifest: dict[str, Any] | None, checkpoint: Path | None = None) -> list[str] | None:
    """Before loading a checkpoint: tell a conditional model the classes it trained on (see
    :func:`recorded_classes`); the names, or None for an unconditional run."""
    names = recorded_classes(manifest, checkpoint)
    if names is None:
        return None
    if not isinstance(model, Conditional):
        raise UsageError(f"this run's model trained on {len(names)} labels, but the model it rebuilds does "
                         "not take labels (a plugin changed?)")
    model.set_classes(names)
    return names


def labels_metadata(names: Sequence[str] | None) -> dict[str, str]:
    """The checkpoint metadata entry recording a conditional model's classes (nothing without classes)."""
    return {LABELS_KEY: json.dumps(list(names))} if names else {}


def _shown(names: Sequence[str], limit: int = 8) -> str:
    return ", ".join(names[:limit]) + (", ..." if len(names) > limit else "")
