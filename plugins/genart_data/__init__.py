"""Built-in datasets: procedural shapes (the default), image folders and MNIST IDX files."""
