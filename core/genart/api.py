"""What a plugin's commands and components use from the core, in one public module.

``genart`` itself exports the contract (hooks, protocols, parameters, errors); this module adds the
helpers a command needs to do what the built-in commands do: load a run's model, build a context
and components, run a post-processing chain, read and write run files atomically, and talk to the
user. Built-in plugins import only from ``genart``, this module and the other public modules listed
in docs/hooks.md (``genart.images``, ``genart.tiling``, ``genart.testing``, ``genart.errors``), so a
third party can rely on the same names; a test fails when a built-in imports anything else.
"""

from __future__ import annotations

from .cli.options import (
    device_option,
    device_options,
    expand_images,
    image_files_options,
    invoke_post,
    params_options,
    parse_values,
    post_option,
)
from .contract.components import build_component, resolve_params
from .contract.labels import resolve_labels
from .contract.params import LIST_SEPARATOR, ComponentRequest, coerce, describe_params, params_to_dict, split_spec
from .contract.plugins import App, PluginRecord
from .contract.registry import ComponentSpec, Registry
from .loop.memory import available_bytes, check_chain, gib
from .loop.train import TrainConfig, TrainResult, train
from .records.console import echo, progress
from .records.monitor import Events, Monitor, Watch
from .records.recipe import base_recipe, file_entry
from .records.runs import (
    CHECKPOINT,
    MANIFEST,
    atomic_path,
    find_run_dir,
    load_checkpoint,
    read_json,
    save_checkpoint,
    write_bytes_atomic,
    write_json_atomic,
)
from .runner.class_samples import LabelPlan, PlannedSampler, sample_classes, set_guidance
from .runner.context import make_context, precision_label, versions
from .runner.jobs import train_job
from .runner.labelled import LabelledData, load_labelled_data, recorded_classes, restore_classes
from .runner.loading import load_run_model
from .runner.pipeline import Chain, apply_chain, build_chain, build_model, load_data, sample, select_split
from .runner.post_job import FilesRequest, files_job
from .runner.settings import RunSettings
from .runner.streamed import save_streamed, streams_into

__all__ = [
    "App",
    "CHECKPOINT",
    "Chain",
    "ComponentRequest",
    "ComponentSpec",
    "Events",
    "FilesRequest",
    "LIST_SEPARATOR",
    "LabelPlan",
    "LabelledData",
    "MANIFEST",
    "Monitor",
    "PlannedSampler",
    "PluginRecord",
    "Registry",
    "RunSettings",
    "TrainConfig",
    "TrainResult",
    "Watch",
    "apply_chain",
    "atomic_path",
    "available_bytes",
    "check_chain",
    "base_recipe",
    "build_chain",
    "build_component",
    "build_model",
    "coerce",
    "describe_params",
    "device_option",
    "device_options",
    "echo",
    "expand_images",
    "file_entry",
    "find_run_dir",
    "files_job",
    "gib",
    "image_files_options",
    "invoke_post",
    "load_checkpoint",
    "load_data",
    "load_labelled_data",
    "load_run_model",
    "make_context",
    "params_options",
    "params_to_dict",
    "parse_values",
    "post_option",
    "precision_label",
    "progress",
    "read_json",
    "recorded_classes",
    "resolve_labels",
    "resolve_params",
    "restore_classes",
    "sample",
    "sample_classes",
    "save_checkpoint",
    "save_streamed",
    "select_split",
    "set_guidance",
    "split_spec",
    "streams_into",
    "train",
    "train_job",
    "versions",
    "write_bytes_atomic",
    "write_json_atomic",
]
