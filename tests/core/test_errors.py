"""errors.explain: each class of failure becomes its own error type, exit code and one line."""

from __future__ import annotations

import errno

import pytest
import torch

from genart.errors import (
    CheckpointMismatch,
    ComponentError,
    DiskFullError,
    FileSystemError,
    GenartError,
    OutOfMemory,
    UsageError,
    blame,
    explain,
)


@pytest.mark.parametrize(("code", "text"), [(errno.EACCES, "permission denied"), (errno.ENOENT, "no such file"),
                                            (errno.ENOTDIR, "not a folder"), (errno.EROFS, "read-only"),
                                            (errno.EISDIR, "is a folder")])
def test_file_system_errors_name_the_path(code: int, text: str) -> None:
    error = explain(OSError(code, "whatever", "/data/out"))
    assert type(error) is FileSystemError and error.exit_code == 5
    assert "/data/out" in str(error) and text in str(error)


def test_disk_full() -> None:
    error = explain(OSError(errno.ENOSPC, "No space left on device", "/runs/x/.checkpoint.tmp"))
    assert isinstance(error, DiskFullError) and error.exit_code == 6 and "no space left" in str(error)


@pytest.mark.parametrize("raised", [MemoryError(), torch.cuda.OutOfMemoryError("CUDA out of memory. Tried 2 GiB"),
                                    RuntimeError("[enforce fail at alloc_cpu.cpp:117] DefaultCPUAllocator: "
                                                 "can't allocate memory: you tried to allocate 40000000000 bytes")])
def test_out_of_memory_says_what_to_lower(raised: BaseException) -> None:
    error = explain(raised, "training model 'vae'", "lower --batch-size")
    assert isinstance(error, OutOfMemory) and error.exit_code == 7
    assert "training model 'vae'" in str(error) and "--batch-size" in str(error)


def test_unknown_failures_are_left_to_the_caller() -> None:
    assert explain(KeyError("net")) is None
    assert explain(UsageError("x")).exit_code == 2  # type: ignore[union-attr]


def test_blame_names_component_and_plugin_and_keeps_known_types() -> None:
    with pytest.raises(ComponentError, match=r"model 'vae' \(from vae\) failed while training: KeyError: 'net'"), \
            blame("model", "vae", "vae", "training"):
        raise KeyError("net")
    with pytest.raises(DiskFullError), blame("model", "vae", "vae", "training"):
        raise OSError(errno.ENOSPC, "No space left on device")
    with pytest.raises(CheckpointMismatch), blame("model", "vae", "vae", "training"):
        raise CheckpointMismatch("kept as it is")
    assert issubclass(ComponentError, GenartError) and ComponentError.exit_code == 4
