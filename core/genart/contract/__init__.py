"""The plugin contract: hooks, registry, parameters, protocols, components, plugin loading.

Private to genart: plugins use the public modules (genart, genart.api, ...)."""
