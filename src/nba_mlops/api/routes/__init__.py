"""One module per group of endpoints, each with its ``router``."""
