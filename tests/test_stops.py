"""Stop signals: raised at once, or held until a step that must not be cut in two ends."""

from __future__ import annotations

import os
import signal

import pytest

from nba_mlops.stops import Stopped, StopSignals, stops_held


def _stop_me(signum: int = signal.SIGTERM) -> None:
    """Send this process a signal; its handler runs before the next line does."""
    os.kill(os.getpid(), signum)


def test_a_stop_is_raised_where_the_main_thread_is() -> None:
    reached = []
    with pytest.raises(Stopped) as stopped, StopSignals() as stops:
        _stop_me()
        reached.append("after the signal")
    assert reached == []
    assert stopped.value.how == "SIGTERM" and stops.received is stopped.value


def test_a_stop_inside_a_held_block_waits_for_its_end() -> None:
    reached = []
    with pytest.raises(Stopped) as stopped, StopSignals():
        with stops_held():
            _stop_me(signal.SIGINT)
            reached.append("the held step")
            with stops_held():  # nested: the stop waits for the outermost block
                _stop_me()
                reached.append("the inner step")
            reached.append("the rest of the held step")
        reached.append("after the block")
    assert reached == ["the held step", "the inner step", "the rest of the held step"]
    assert stopped.value.how == "Ctrl-C"  # the first stop is the one raised


def test_a_held_block_without_a_stop_changes_nothing_and_keeps_no_old_stop() -> None:
    before = signal.getsignal(signal.SIGTERM)
    with StopSignals(), stops_held():
        pass
    with pytest.raises(ValueError, match="its own error"), StopSignals(), stops_held():
        raise ValueError("its own error")
    with StopSignals() as stops, stops_held():  # nothing left waiting from before
        pass
    assert stops.received is None
    assert signal.getsignal(signal.SIGTERM) is before  # the handler found is back
