"""The model registry: MLflow versions, the ``champion`` alias and the promotion rule."""

from nba_mlops.registry.promotion import Decision, decide_promotion

__all__ = ["Decision", "decide_promotion"]
