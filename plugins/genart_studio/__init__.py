"""genart studio: a local web page over genart's commands (``genart studio RUNS_DIR``).

Jobs run as ``genart`` subprocesses from a SQLite queue in the runs folder; pages are rendered on
the server from the plugin registry, so every registered component appears with no studio code.
"""
