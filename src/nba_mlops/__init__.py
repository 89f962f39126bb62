"""nba-mlops: predict whether an NBA shot goes in, and keep that service healthy."""

__version__ = "0.1.0"
