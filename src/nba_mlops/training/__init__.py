"""Training: time-based splits, candidate families, tuning, evaluation."""
