"""``genart eval``: held-out likelihood figures for any model that implements ``evaluate``, and the
weight-free sample figures (sample_eval.py) for every model that samples.

The optional model method is ``evaluate(images, k, generator) -> dict[str, float]``: per-image
averages over ``images`` (float ``[N, C, H, W]`` in [0, 1]). We call it batch by batch and average
the batches weighted by their size, so models need not manage memory for large held-out sets.
"""

from __future__ import annotations

import math
import time
from pathlib import Path
from typing import Any

import click

from genart import DatasetParams, Evaluator, GenartError
from genart.api import (
    load_data,
    load_run_model,
    params_to_dict,
    resolve_params,
    split_spec,
)

from .class_eval import class_figures, trained_classes
from .records import save_metrics

LABELS = {
    "nelbo_nats": "negative ELBO (nats/image)",
    "nll_is_nats": "IS NLL, k={k} (nats/image)",
    "bits_per_dim": "bits/dim (from IS NLL)",
}


def evaluate_run(app: Any, run_dir: Path, data_spec: str, *, k: int, batch_size: int, seed: int, progress: bool,
                 device: str, samples: int | None = 0, model_args: str = "") -> dict[str, Any] | None:
    """Evaluate a run on ``data_spec``: held-out likelihood for models with ``evaluate``, and the
    weight-free sample figures (``samples`` images; None: as many as half the held-out images, 0: none)
    for every model. Records the figures in its manifest, prints tables."""
    model, context, manifest = load_run_model(app, run_dir, device, model_args=model_args)
    name = manifest["model"]["name"]
    if not isinstance(model, Evaluator):
        click.echo(f"model {name!r} reports no likelihood (it has no evaluate method): "
                   "nothing to compute for negative ELBO, NLL or bits/dim")
        if samples == 0:
            return None
    channels, size, _ = model.image_shape
    data_params = resolve_params(context, "dataset", data_spec)
    for warning in overlap_warnings(manifest, split_spec(data_spec).name, data_params):
        click.echo(f"warning: {warning}", err=True)
    names = trained_classes(model, manifest) if samples != 0 else None
    images, labels = load_eval_data(context, data_spec, size, channels, names)
    record = likelihood_figures(model, name, images, data_spec, k=k, batch_size=batch_size, seed=seed,
                                progress=progress) if isinstance(model, Evaluator) else None
    if record is not None:
        results = record.pop("results")
        save_metrics(run_dir, data_spec, record)
        click.echo(format_table(name, data_spec, record["images"], k, results))
    if samples != 0:
        from .sample_eval import sample_figures

        sample_figures(model, name, run_dir, images, data_spec, samples=samples, seed=seed)
        if names is not None and labels is not None:
            class_figures(model, name, run_dir, images, labels, names, data_spec, samples=samples, seed=seed)
    return record


def load_eval_data(context: Any, data_spec: str, size: int, channels: int,
                   names: list[str] | None) -> tuple[Any, Any]:
    """The evaluation images, and their labels when the model trained on classes (``names``) and the data
    has the same classes; otherwise (images, None), saying why the per-class figures are left out."""
    if names is None:
        return load_data(context, data_spec, size, channels), None
    from genart.api import load_labelled_data

    data = load_labelled_data(context, data_spec, size, channels)
    if data.labels is None or data.names is None:
        click.echo(f"note: {data_spec!r} has no labels, so no per-class figures (the run trained on "
                   f"{len(names)} classes; give the data its labels, e.g. folder:...,labels=folders)")
        return data.images, None
    if list(data.names) != list(names):
        click.echo(f"note: {data_spec!r} has other classes than the run trained on ({len(data.names)} against "
                   f"{len(names)}), so no per-class figures")
        return data.images, None
    return data.images, data.labels


def likelihood_figures(model: Evaluator, name: str, images: Any, data_spec: str, *, k: int, batch_size: int, seed: int,
                       progress: bool) -> dict[str, Any]:
    """Batch-size-weighted averages of the model's ``evaluate`` figures over ``images``."""
    import torch

    from genart.api import progress as progress_bar

    evaluate = model.evaluate
    generator = torch.Generator().manual_seed(seed)
    sums: dict[str, float] = {}
    started = time.perf_counter()
    bar = progress_bar(total=images.shape[0], disable=not progress, unit="img", desc="eval")
    with torch.inference_mode():
        for start in range(0, images.shape[0], batch_size):
            batch = images[start:start + batch_size].float().div_(255)
            figures = evaluate(batch, k, generator)
            for key, value in figures.items():
                value = float(value)
                if not math.isfinite(value):
                    raise GenartError(f"model {name!r} returned a non-finite {key} ({value}) on {data_spec}")
                sums[key] = sums.get(key, 0.0) + value * batch.shape[0]
            bar.update(batch.shape[0])
    bar.close()
    n = int(images.shape[0])
    results = {key: total / n for key, total in sums.items() if key != "k"}
    return {"data": data_spec, "images": n, "k": k, "seed": seed, **{key: round(v, 6) for key, v in results.items()},
            "seconds": round(time.perf_counter() - started, 2), "when": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
            "results": results}


def overlap_warnings(manifest: dict[str, Any], name: str, params: Any) -> list[str]:
    """Say when the evaluation images are not held out from the run's training images."""
    warnings = []
    split, holdout = (params.split, params.holdout) if isinstance(params, DatasetParams) else ("all", 0)
    if split != "test":
        warnings.append(f"evaluating on split={split}, not a held-out split (use split=test,holdout=N)")
    trained = manifest.get("data", {})
    if trained.get("name") != name:
        return warnings
    shared = {k: v for k, v in params_to_dict(params).items() if k not in ("split", "holdout")}
    trained_params = trained.get("params", {})
    if any(trained_params.get(k) != v for k, v in shared.items()):
        return warnings  # a different dataset (other path, seed, ...): no overlap to report
    train_split, train_holdout = trained_params.get("split", "all"), trained_params.get("holdout", 0)
    if split == "test" and not (train_split == "train" and train_holdout >= holdout):
        warnings.append(f"the run trained on {trained.get('spec')!r}, which includes these images "
                        f"(train with split=train,holdout={holdout} to keep them out)")
    return warnings


def format_table(name: str, data_spec: str, n: int, k: int, results: dict[str, float]) -> str:
    rows = [(LABELS.get(key, key).format(k=k), f"{value:.4f}" if key == "bits_per_dim" else f"{value:.2f}")
            for key, value in results.items()]
    rows.append(("images", str(n)))
    width = max(len(label) for label, _ in rows)
    lines = [f"{name} on {data_spec}"] + [f"  {label:<{width}}  {value:>10}" for label, value in rows]
    return "\n".join(lines)
