from __future__ import annotations

import pytest
import torch

from genart.contract.plugins import App
from genart.errors import GenartError
from genart.runner.pipeline import apply_chain, build_chain, load_data, sample
from genart.testing import build_context


def test_holdout_splits_are_disjoint_and_complete(toy_app: App) -> None:
    context = build_context(toy_app)
    everything = load_data(context, "dots:count=10", 4, 3)
    train = load_data(context, "dots:count=10,split=train,holdout=3", 4, 3)
    test = load_data(context, "dots:count=10,split=test,holdout=3", 4, 3)
    assert train.shape[0] == 7 and test.shape[0] == 3
    assert torch.equal(torch.cat([train, test]), everything)


def test_split_test_needs_holdout(toy_app: App) -> None:
    with pytest.raises(GenartError, match="needs holdout"):
        load_data(build_context(toy_app), "dots:split=test", 4, 3)


def test_chain_rejects_bad_output(toy_app: App) -> None:
    context = build_context(toy_app)
    chain = [("nan", lambda x: x * float("nan"))]
    with pytest.raises(GenartError, match="NaN"):
        apply_chain(chain, torch.rand(2, 3, 4, 4), context.device)
    (spec, invert), = build_chain(context, ["invert"])
    inverted = apply_chain([(spec, invert)], torch.zeros(1, 3, 2, 2), context.device)
    assert torch.allclose(inverted, torch.ones(1, 3, 2, 2))


def test_sampling_is_seeded(toy_app: App) -> None:
    from genart.runner.pipeline import build_model

    model = build_model(build_context(toy_app), "toy")
    assert torch.equal(sample(model, 5, seed=1, batch_size=2), sample(model, 5, seed=1, batch_size=2))
    assert not torch.equal(sample(model, 5, seed=1), sample(model, 5, seed=2))
