"""Figure makers for the docs: run each from the repository root, ``python -m scripts.NAME``."""
