"""The runner's steps and jobs: data -> model -> samples -> post chain -> files.

Private to genart: plugins use the public modules (genart, genart.api, ...)."""
