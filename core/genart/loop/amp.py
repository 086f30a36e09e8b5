"""Dynamic loss scaling, so fp16 training does not lose small gradients to underflow.

fp16 keeps only 5 exponent bits: gradients below ~6e-8 become zero. Multiplying the loss by a large
scale before ``backward`` lifts them into range; the optimiser step divides it out again, and a step
whose gradients overflowed is skipped while the scale halves. bf16 and fp32 need none of this, so
the scaler is then a pass-through and models can call it unconditionally.

genart keeps its own small scaler rather than ``torch.amp.GradScaler`` because models own several
optimisers and gradients are averaged across ranks inside ``optimizer.step`` (see distributed.py):
the overflow decision has to be taken once, identically on every rank.
"""

from __future__ import annotations

from typing import Any


def autocast_for(device: Any, precision: Any) -> Any:
    """The context each training step runs in: autocast at ``precision``, or nothing for fp32 (None).
    The loop and the memory probe share it, so a probe step costs what a real step will."""
    import contextlib

    import torch

    return torch.autocast(device.type, dtype=precision) if precision is not None else contextlib.nullcontext()


class LossScaler:
    """Models call ``scaler.backward(loss)`` and ``scaler.step(optimizer)`` instead of
    ``loss.backward()`` and ``optimizer.step()``; the training loop calls :meth:`update` once per step."""

    def __init__(self, enabled: bool = False, init_scale: float = 2.0**16, growth_interval: int = 1000,
                 min_scale: float = 1.0) -> None:
        self.enabled = enabled
        self.scale = float(init_scale) if enabled else 1.0
        self.growth_interval = growth_interval
        self.min_scale = min_scale
        self.good_steps = 0
        self.skipped_steps = 0
        self._overflow = False

    def scale_loss(self, loss: Any) -> Any:
        """``loss`` times the scale: also what to differentiate when a model takes gradients itself
        (``torch.autograd.grad`` for a penalty) — divide those gradients by :attr:`scale`."""
        return loss * self.scale if self.enabled else loss

    def backward(self, loss: Any, **kwargs: Any) -> None:
        self.scale_loss(loss).backward(**kwargs)

    def step(self, optimizer: Any) -> bool:
        """Unscale the gradients and step, or skip the step if any rank's gradients overflowed.
        Returns whether the optimiser stepped."""
        if not self.enabled:
            optimizer.step()
            return True
        import torch

        from . import distributed

        grads = [p.grad for group in optimizer.param_groups for p in group["params"] if p.grad is not None]
        if grads:
            torch._foreach_mul_(grads, 1.0 / self.scale)
        # one device sync for all gradients, not one per tensor
        overflow = bool(grads) and not bool(torch.stack([g.isfinite().all() for g in grads]).all())
        if distributed.any_rank(overflow, distributed.current()):
            self._overflow = True
            optimizer.zero_grad(set_to_none=True)
            return False
        optimizer.step()
        return True

    def update(self) -> None:
        """End of a training step: halve the scale after an overflow, double it after a quiet spell."""
        if not self.enabled:
            return
        if self._overflow:
            self.scale = max(self.min_scale, self.scale / 2)
            self.good_steps = 0
            self.skipped_steps += 1
        else:
            self.good_steps += 1
            if self.good_steps >= self.growth_interval:
                self.scale *= 2
                self.good_steps = 0
        self._overflow = False

    def state_dict(self) -> dict[str, Any]:
        import torch

        return {"scale": torch.tensor(self.scale, dtype=torch.float64),
                "good_steps": torch.tensor(self.good_steps), "skipped_steps": torch.tensor(self.skipped_steps)}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        if not state:
            return
        self.scale = float(state["scale"])
        self.good_steps = int(state["good_steps"])
        self.skipped_steps = int(state["skipped_steps"])
