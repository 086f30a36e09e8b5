"""genart's built-in explore plugin: ``genart eval``, ``genart walk`` and ``genart reconstruct``."""
