"""The training loop and what it stands on: device, precision, loss scaling, resume, distributed, memory.

Private to genart: plugins use the public modules (genart, genart.api, ...)."""
