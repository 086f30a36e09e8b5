"""Built-in VAE models and the reconstruction likelihoods they train with."""
