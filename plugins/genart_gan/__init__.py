"""genart's built-in GAN plugin: a data-efficient convolutional GAN and its adversarial losses."""
