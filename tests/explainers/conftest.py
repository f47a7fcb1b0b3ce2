"""Fixtures of the explainers tests: an Encoder over the tiny seeded BERT of tests/conftest.py."""

from __future__ import annotations

import pytest


@pytest.fixture(scope="session")
def tiny_encoder(tiny_model_dir):
    import explainers

    return explainers.load_encoder(tiny_model_dir, device="cpu")


@pytest.fixture(scope="session")
def family_dir(tmp_path_factory):
    """``family_dir(kind)``: the dir of a tiny seeded model of family ``kind`` (tests/explainers/tiny_families.py),
    built once per session."""
    from tests.explainers.tiny_families import build_family_dir

    built = {}

    def get(kind: str):
        if kind not in built:
            built[kind] = build_family_dir(kind, tmp_path_factory.mktemp(kind))
        return built[kind]

    return get


@pytest.fixture(scope="session")
def family_encoder(family_dir):
    """``family_encoder(kind)``: the Encoder of ``family_dir(kind)`` on the CPU, loaded once per session."""
    import explainers

    loaded = {}

    def get(kind: str):
        if kind not in loaded:
            loaded[kind] = explainers.load_encoder(family_dir(kind), device="cpu")
        return loaded[kind]

    return get
