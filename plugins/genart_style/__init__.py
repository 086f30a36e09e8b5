"""genart-style: neural style transfer that works offline, plus learning-free colour transfers."""

__version__ = "0.1.0"
