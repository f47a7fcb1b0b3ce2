"""The real default model (all-MiniLM-L6-v2) on the paper's glove example (Fig. 3a)."""

from __future__ import annotations

import pytest

import explainers

GLOVES = (
    "Our gloves are designed with touchscreen-compatible fingertips, so you can use your phone without taking "
    "them off.",
    "These warm winter gloves let you use your touchscreen without removing them.",
)


@pytest.mark.slow
def test_gloves_are_matched_to_gloves():
    encoder = explainers.load_encoder()
    assert encoder.name == "all-MiniLM-L6-v2" and encoder.model.config.hidden_size == 384
    [explanation] = explainers.explain_pairs(encoder, [GLOVES], "bti")
    words_a, words_b = ([w.text for w in side] for side in explanation.words)
    selected = [(words_a[p.a], words_b[p.b]) for p in explanation.pairs]
    assert ("gloves", "gloves") in selected
    assert selected[0] == ("gloves", "gloves")  # the best pair, as in the paper's figure
    assert 0.5 < explanation.similarity < 1.0
