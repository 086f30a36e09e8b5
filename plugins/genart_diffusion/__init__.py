"""genart's built-in diffusion plugin: a compact U-Net trained by flow matching, its samplers and post-processors."""
