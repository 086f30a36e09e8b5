"""What a run leaves behind: run folders, metrics, plots, reports, recipes, reproduction.

Private to genart: plugins use the public modules (genart, genart.api, ...)."""
