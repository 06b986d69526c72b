"""The app's session in tests is one shared connection, which must not be used by two threads at
once. The realtime hub's debounced reads after ingestion (realtime/feeds.py) run in a worker thread
at a moment of their own, concurrently with the ingestion writer thread, so ingestion tests switch
that announcement off (tests/realtime covers it)."""

from __future__ import annotations

import pytest

from resight.integrations import receiver, routes


@pytest.fixture(autouse=True)
def _no_realtime_announcements(monkeypatch: pytest.MonkeyPatch) -> None:
    def announce_nothing(*_args: object, **_kwargs: object) -> None:
        return None

    monkeypatch.setattr(receiver, "announce_ingested", announce_nothing)
    monkeypatch.setattr(routes, "announce_ingested", announce_nothing)
