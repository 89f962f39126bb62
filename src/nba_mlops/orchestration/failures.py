"""Which failures are worth a retry: a server that did not answer may answer in a minute,
a corrupt file or a refused overlapping training will fail the same way every time."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import dagster as dg

from nba_mlops.db.session import is_unavailable
from nba_mlops.registry import is_transient_error as is_transient_registry_error
from nba_mlops.training.lock import TrainingInProgressError


def is_transient(exc: BaseException) -> bool:
    """True for failures a retry with back-off may get past (network, busy database)."""
    if isinstance(exc, TrainingInProgressError):
        return False
    if isinstance(exc, ConnectionError | TimeoutError):
        return True
    if is_unavailable(exc):
        return True
    with contextlib.suppress(ImportError):
        from requests import RequestException

        if isinstance(exc, RequestException):
            return True
    # A busy or restarting model registry. (An unreachable one is recognised by the
    # connection error its error was raised from.)
    if is_transient_registry_error(exc):
        return True
    cause = exc.__cause__ or (None if exc.__suppress_context__ else exc.__context__)
    return cause is not None and cause is not exc and is_transient(cause)


@contextlib.contextmanager
def retry_only_transient(stage: str) -> Iterator[None]:
    """Let transient failures through to the asset's ``RetryPolicy``; turn every other
    failure into a :class:`dagster.Failure` that is not retried."""
    try:
        yield
    except dg.Failure:
        raise
    except Exception as exc:
        if is_transient(exc):
            raise
        raise dg.Failure(
            description=f"{stage} failed: {exc}",
            metadata={"error": type(exc).__name__, "retried": False},
            allow_retries=False,
        ) from exc
