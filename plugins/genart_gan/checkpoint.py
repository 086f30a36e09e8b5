"""What a ``gan`` checkpoint's weights say about the networks that made them (read before loading)."""

from __future__ import annotations

from typing import Any

from genart import CheckpointMismatch

__all__ = ["blocks_in", "check_classes", "upgrade_discriminator_keys"]


def check_classes(d_state: dict[str, Any], told: int) -> None:
    """A checkpoint of K classes loads only into a model told the same K (0: unconditional on both sides)."""
    key = next((key for key in d_state if key.startswith("embed.") and d_state[key].dim() == 2), None)
    trained = int(d_state[key].shape[1]) if key else 0
    if trained != told:
        def kind(k: int) -> str:
            return f"{k} classes" if k else "no labels"

        raise CheckpointMismatch(f"this gan checkpoint was trained with {kind(trained)}, the model is set up "
                                 f"for {kind(told)}")


def blocks_in(g_state: dict[str, Any], levels: int) -> int:
    """G's ``blocks`` from its weights: one conv per 2x step, the output conv, and ``blocks`` per step."""
    convs = sum(1 for key, value in g_state.items() if key.startswith("body.") and key.endswith(".weight")
                and value.dim() == 4)
    return (convs - levels - 1) // levels


def upgrade_discriminator_keys(state: dict[str, Any], body_length: int) -> dict[str, Any]:
    """D's output layer was the last entry of ``body`` before it became ``head``: rename its keys."""
    old = f"body.{body_length}."
    return {("head." + key[len(old):] if key.startswith(old) else key): value for key, value in state.items()}
