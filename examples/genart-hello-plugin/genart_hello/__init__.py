"""genart-hello-plugin: the tutorial's example plugin."""

__version__ = "0.1.0"
