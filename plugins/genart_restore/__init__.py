"""Built-in image restoration post-processors."""
