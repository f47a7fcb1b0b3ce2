"""Fixtures of the explainers tests: an Encoder over the tiny seeded BERT of tests/conftest.py."""

from __future__ import annotations

import pytest


@pytest.fixture(scope="session")
def tiny_encoder(tiny_model_dir):
    import explainers

    return explainers.load_encoder(tiny_model_dir, device="cpu")
