"""genart: a plugin-based generative-art framework.

The public plugin API lives here: ``hookimpl`` for hook implementations, ``param`` and
``DatasetParams`` for typed parameters, and the errors to raise for bad input. Heavy modules
(torch) load only when a component is built, so ``genart --help`` stays fast.
"""

from __future__ import annotations

from .contract.components import BuildContext
from .contract.gan import Discriminator, GANLoss, RelativisticGANLoss, Scored
from .contract.hookspecs import hookimpl
from .contract.labels import Conditional, ConditionalDecoder, Guided, Labelled
from .contract.params import DatasetParams, param
from .contract.protocols import (
    Bands,
    CompileAware,
    Dataset,
    DefaultBatchSize,
    DefaultSteps,
    Encoder,
    Evaluator,
    Exportable,
    ExtraMetrics,
    Factory,
    FinishesTraining,
    FollowsProgress,
    GenerativeModel,
    LatentDecoder,
    LatentPrior,
    LatentSampler,
    NativeShape,
    OutputSize,
    PostProcessor,
    Register,
    RegisterComponent,
    SampleEvery,
    WorkingMemory,
    WritesBeside,
)
from .contract.registry import DATASET, LOSS, MODEL, POST
from .errors import (
    CheckpointMismatch,
    ComponentError,
    DiskFullError,
    FileSystemError,
    GenartError,
    Interrupted,
    OutOfMemory,
    PluginAPIDeprecation,
    PluginError,
    TrainingDiverged,
    UsageError,
)
from .loop.amp import LossScaler
from .version import PLUGIN_API, __version__

__all__ = [
    "DATASET",
    "LOSS",
    "MODEL",
    "POST",
    "Bands",
    "BuildContext",
    "CheckpointMismatch",
    "CompileAware",
    "ComponentError",
    "Conditional",
    "ConditionalDecoder",
    "Dataset",
    "DatasetParams",
    "DefaultBatchSize",
    "DefaultSteps",
    "Discriminator",
    "DiskFullError",
    "Encoder",
    "Evaluator",
    "Exportable",
    "ExtraMetrics",
    "Factory",
    "FileSystemError",
    "FinishesTraining",
    "FollowsProgress",
    "GANLoss",
    "GenartError",
    "GenerativeModel",
    "Guided",
    "Interrupted",
    "Labelled",
    "LatentDecoder",
    "LatentPrior",
    "LatentSampler",
    "NativeShape",
    "LossScaler",
    "OutOfMemory",
    "PLUGIN_API",
    "PluginAPIDeprecation",
    "PluginError",
    "PostProcessor",
    "OutputSize",
    "WorkingMemory",
    "WritesBeside",
    "Register",
    "RegisterComponent",
    "RelativisticGANLoss",
    "SampleEvery",
    "Scored",
    "TrainingDiverged",
    "UsageError",
    "__version__",
    "hookimpl",
    "param",
]

#: names kept for one more major version of the plugin API, each with what replaces it (CHANGELOG.md)
_DEPRECATED = {"LatentModel": "LatentDecoder"}


def __getattr__(name: str) -> object:
    if name in _DEPRECATED:
        import warnings

        warnings.warn(f"genart.{name} is deprecated since plugin API 2.0 and goes in 3.0: use "
                      f"genart.{_DEPRECATED[name]}", PluginAPIDeprecation, stacklevel=2)
        return globals()[_DEPRECATED[name]]
    raise AttributeError(f"module 'genart' has no attribute {name!r}")
