"""Contract checks for labels: a :class:`~genart.Labelled` dataset's labels line up with its images, and a
:class:`~genart.Conditional` model trains on labelled batches, samples the classes it is asked for, and
comes back from its state with the same classes and the same samples."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ..contract.labels import Conditional, ConditionalDecoder, Guided, Labelled


def check_labelled_dataset(dataset: Any, size: int = 16, channels: int = 3, *,
                           names: Sequence[str] | None = None) -> None:
    """``dataset`` is Labelled, names its classes (``names`` when given), and after ``load`` gives one int64
    label per image in range, the same on a second load; every class has an image unless the data is tiny."""
    import torch

    assert _has(dataset, Labelled), "the dataset needs label_names() and labels() (genart.Labelled)"
    images = dataset.load(size, channels)
    given = dataset.label_names()
    assert given, "label_names() is empty: the dataset says it has no labels"
    assert len(set(given)) == len(given) and all(isinstance(n, str) and n.strip() for n in given), given
    if names is not None:
        assert list(given) == list(names), f"label names {given}, expected {list(names)}"
    labels = dataset.labels()
    assert isinstance(labels, torch.Tensor) and labels.dtype == torch.int64, "labels() must be an int64 tensor"
    assert labels.shape == (images.shape[0],), f"{tuple(labels.shape)} labels for {images.shape[0]} images"
    assert int(labels.min()) >= 0 and int(labels.max()) < len(given), "a label outside 0..len(names)-1"
    again = dataset.load(size, channels)
    assert torch.equal(again, images) and torch.equal(dataset.labels(), labels), "labels change between loads"


def check_conditional_model(model: Any, names: Sequence[str] = ("a", "b", "c"), *, steps: int = 2,
                            batch_size: int = 4) -> None:
    """``model`` (freshly built, not yet told classes) takes ``names``, trains ``steps`` labelled steps with
    finite losses, samples the asked classes with the right shape in [0, 1] and reproducibly, restores its
    state into a copy told the same classes with identical samples afterwards, and, as a
    ConditionalDecoder, decodes a one-hot class mix like the class."""
    import copy

    import torch

    assert _has(model, Conditional), "the model needs set_classes, train_step_labelled, sample_labelled"
    fresh = copy.deepcopy(model)
    model.set_classes(list(names))
    c, h, w = model.image_shape
    generator = torch.Generator().manual_seed(0)
    for _ in range(steps):
        batch = torch.rand(batch_size, c, h, w, generator=generator)
        labels = torch.randint(0, len(names), (batch_size,), generator=generator)
        losses = model.train_step_labelled(batch, labels)
        assert losses and all(torch.isfinite(torch.tensor(float(v))) for v in losses.values()), losses
    asked = torch.tensor([len(names) - 1, 0, len(names) - 1], dtype=torch.int64)

    def draw(source: Any, labels: Any) -> Any:  # as the core draws: in inference mode, onto the CPU
        with torch.inference_mode():
            return source.sample_labelled(labels, torch.Generator().manual_seed(1)).cpu()

    first = draw(model, asked)
    assert tuple(first.shape) == (3, c, h, w), f"sample_labelled gave {tuple(first.shape)} for 3 labels"
    assert float(first.min()) >= 0 and float(first.max()) <= 1, "samples outside [0, 1]"
    assert torch.equal(first, draw(model, asked)), "the same generator and labels gave different samples"
    with torch.inference_mode():
        plain = model.sample(2, torch.Generator().manual_seed(2))
    assert tuple(plain.shape) == (2, c, h, w), "sample() of a model told its classes must still work"
    if _has(model, Guided):
        model.guidance = 0.0
        assert tuple(draw(model, asked[:1]).shape) == (1, c, h, w), "guidance 0 must sample too"
    fresh.set_classes(list(names))
    fresh.load_state_dict(model.state_dict())
    if _has(model, Guided):
        fresh.guidance = model.guidance
    assert torch.equal(draw(fresh, asked), draw(model, asked)), "a restored model samples differently"
    if _has(model, ConditionalDecoder):
        z = torch.randn(2, *model.latent_shape, generator=torch.Generator().manual_seed(3))
        weights = torch.nn.functional.one_hot(asked[:2], len(names)).float()
        with torch.inference_mode():
            images = model.decode_labelled(z, weights)
        assert tuple(images.shape) == (2, c, h, w), f"decode_labelled gave {tuple(images.shape)}"


def _has(component: Any, capability: type) -> bool:
    """``isinstance`` without narrowing the type for mypy: the component keeps its other attributes."""
    return isinstance(component, capability)
