"""Built-in upsampling post-processors."""
