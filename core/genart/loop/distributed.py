"""Data-parallel training under ``torchrun`` (one process per GPU or per CPU worker).

torchrun launches the processes and torch.distributed (NCCL on GPUs, gloo on CPUs) moves the
numbers; genart adds no launcher of its own. Models own their optimisers, so instead of wrapping
modules in DistributedDataParallel (which breaks the GAN patterns of several forward passes per
step, ``autograd.grad`` penalties such as R1 and WGAN-GP, and frozen-D generator steps), the core
attaches a pre-step hook to every optimiser the model holds: gradients are averaged across ranks
with one all-reduce per optimiser step, the approach StyleGAN2-ADA's training loop takes. Every
rank starts from rank 0's weights, sees a distinct shard of each global batch, and so holds
identical parameters after every step.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class World:
    rank: int = 0
    size: int = 1
    local_rank: int = 0

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    @property
    def distributed(self) -> bool:
        return self.size > 1


_SINGLE = World()


def from_environment() -> World:
    """The world torchrun describes (RANK, WORLD_SIZE, LOCAL_RANK), or a single process."""
    size = int(os.environ.get("WORLD_SIZE", "1"))
    if size <= 1:
        return _SINGLE
    return World(int(os.environ.get("RANK", "0")), size, int(os.environ.get("LOCAL_RANK", "0")))


def current() -> World:
    """The initialised world, or a single process when torch.distributed is not running."""
    try:
        import torch.distributed as dist
    except ImportError:  # pragma: no cover
        return _SINGLE
    if not (dist.is_available() and dist.is_initialized()):
        return _SINGLE
    return World(dist.get_rank(), dist.get_world_size(), int(os.environ.get("LOCAL_RANK", "0")))


def init(device: Any) -> World:
    """Join the process group when launched by torchrun; NCCL for CUDA devices, gloo otherwise."""
    import torch
    import torch.distributed as dist

    world = from_environment()
    if not world.distributed or dist.is_initialized():
        return current()
    # NCCL for CUDA tensors, with gloo beside it for the small CPU tensors the loop reduces (logged
    # losses, the fp16 overflow flag): NCCL alone cannot reduce CPU tensors.
    backend = "cpu:gloo,cuda:nccl" if device.type == "cuda" else "gloo"
    if device.type == "cuda":
        torch.cuda.set_device(world.local_rank)
    dist.init_process_group(backend=backend)
    return current()


def local_device(device: Any, world: World) -> Any:
    """Each rank's own GPU (cuda:LOCAL_RANK); CPU ranks share the CPU."""
    import torch

    if device.type == "cuda" and world.distributed:
        return torch.device("cuda", world.local_rank)
    return device


def find_optimizers_and_modules(model: Any) -> tuple[list[Any], list[Any]]:
    """The optimisers and modules a model keeps as attributes (also inside lists, tuples, dicts)."""
    import torch

    optimizers, modules, seen = [], [], set()

    def visit(value: Any) -> None:
        if id(value) in seen:
            return
        seen.add(id(value))
        if isinstance(value, torch.optim.Optimizer):
            optimizers.append(value)
        elif isinstance(value, torch.nn.Module):
            modules.append(value)
        elif isinstance(value, (list, tuple)):
            for item in value:
                visit(item)
        elif isinstance(value, dict):
            for item in value.values():
                visit(item)

    for value in vars(model).values():
        visit(value)
    return optimizers, modules


def attach(model: Any, world: World) -> None:
    """Make ``model`` train data-parallel: same start weights everywhere, gradients averaged before
    every optimiser step. A no-op for a single process."""
    if not world.distributed:
        return
    import torch
    import torch.distributed as dist

    optimizers, modules = find_optimizers_and_modules(model)
    if not optimizers:
        from ..errors import GenartError

        raise GenartError("distributed training needs the model to keep its optimisers as attributes")
    with torch.no_grad():
        for module in modules:
            for tensor in list(module.parameters()) + list(module.buffers()):
                dist.broadcast(tensor.data, src=0)

    def average_gradients(optimizer: Any, args: Any, kwargs: Any) -> None:
        grads = [p.grad for group in optimizer.param_groups for p in group["params"] if p.grad is not None]
        if not grads:
            return
        flat = torch.cat([g.reshape(-1) for g in grads])
        dist.all_reduce(flat)
        flat /= world.size
        offset = 0
        for grad in grads:
            grad.copy_(flat[offset:offset + grad.numel()].view_as(grad))
            offset += grad.numel()

    for optimizer in optimizers:
        optimizer.register_step_pre_hook(average_gradients)


def average_scalars(values: dict[str, float], world: World) -> dict[str, float]:
    """Mean of each logged loss over ranks, so every rank makes the same NaN/stop decisions."""
    if not world.distributed or not values:
        return values
    import torch
    import torch.distributed as dist

    keys = sorted(values)
    tensor = torch.tensor([float(values[k]) for k in keys], dtype=torch.float64)
    dist.all_reduce(tensor)
    return {k: float(v) / world.size for k, v in zip(keys, tensor.tolist(), strict=True)}


def any_rank(flag: bool, world: World) -> bool:
    """True on every rank when ``flag`` is true on any (e.g. an fp16 overflow: all ranks skip the step)."""
    if not world.distributed:
        return flag
    import torch
    import torch.distributed as dist

    tensor = torch.tensor([1.0 if flag else 0.0])
    dist.all_reduce(tensor, op=dist.ReduceOp.MAX)
    return bool(tensor.item() > 0)


def broadcast_object(value: Any, world: World) -> Any:
    """Rank 0's value on every rank (e.g. the run folder's path)."""
    if not world.distributed:
        return value
    import torch.distributed as dist

    box = [value]
    dist.broadcast_object_list(box, src=0)
    return box[0]


def shutdown() -> None:
    try:
        import torch.distributed as dist
    except ImportError:  # pragma: no cover
        return
    if dist.is_available() and dist.is_initialized():
        # Leave together: a rank tearing down gloo while rank 0 still writes its checkpoint can abort
        # ("terminate called without an active exception") and fail the whole torchrun job.
        dist.barrier()
        dist.destroy_process_group()
