"""Fixtures: see tests/researcher_fixtures.py; ``published`` for the rounds tests."""

import pytest

from tests.researcher_fixtures import *  # noqa: F403


class PublishedChunks:
    """The explanation chunks published so far (each a list of explanation ids), read live from the
    ``enqueued`` recorder: what a worker on the ``explain`` queue would receive."""

    def __init__(self, sent: list) -> None:
        self._sent = sent

    def chunks(self) -> list[list[int]]:
        return [args[0] for name, args, queue in self._sent if name == "bti_eval.explain_chunk" and queue == "explain"]

    def __len__(self) -> int:
        return len(self.chunks())


@pytest.fixture
def published(enqueued) -> PublishedChunks:
    """Nothing reaches the broker; ``published.chunks()`` are the chunks a launch or retry sent."""
    return PublishedChunks(enqueued)
