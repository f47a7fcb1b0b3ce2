"""Integrated gradients: equality with Captum's IntegratedGradients and completeness."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as functional

from explainers.integrated_gradients import attributions, gauss_legendre, integrated_gradients

captum_attr = pytest.importorskip("captum.attr")

A = "Warm winter gloves with touchscreen-compatible fingertips."
B = "These gloves let you use your phone without taking them off."


def test_gauss_legendre_is_captums_rule():
    from captum.attr._utils.approximation_methods import approximation_parameters

    step_sizes, alphas = approximation_parameters("gausslegendre")
    ours_alphas, ours_steps = gauss_legendre(7)
    assert ours_alphas.tolist() == alphas(7) and ours_steps.tolist() == step_sizes(7)


@pytest.mark.parametrize("token_budget", [16384, 50])  # 50: the α steps split over many chunks
def test_equals_captum_with_a_zero_baseline(tiny_encoder, token_budget):
    steps = 20
    batch = tiny_encoder.batch(tiny_encoder.tokenize([A, B]))
    ours, _, _, error = attributions(tiny_encoder, batch, steps=steps, token_budget=token_budget)

    for row in (0, 1):
        length = int(batch.attention_mask[row].sum())
        ids = batch.ids[row : row + 1, :length]
        content = batch.content[row : row + 1, :length]
        other_ids = batch.ids[1 - row : 2 - row, : int(batch.attention_mask[1 - row].sum())]
        with torch.no_grad():
            other_hidden = tiny_encoder.model(input_ids=other_ids).last_hidden_state
            other = other_hidden[0, 1:-1].mean(0)
            tokens = tiny_encoder.model.embeddings.word_embeddings(ids)

        def forward(inputs_embeds, content=content, other=other):
            hidden = tiny_encoder.model(inputs_embeds=inputs_embeds).last_hidden_state
            weights = content.to(hidden.dtype).expand(hidden.shape[0], -1).unsqueeze(-1)
            pooled = (hidden * weights).sum(1) / weights.sum(1)
            return functional.cosine_similarity(pooled, other.unsqueeze(0), dim=-1)

        reference, delta = captum_attr.IntegratedGradients(forward).attribute(
            tokens, baselines=torch.zeros_like(tokens), n_steps=steps, return_convergence_delta=True
        )
        expected = reference.sum(-1)[0].numpy()
        got = ours[row, :length].numpy()
        assert got.shape == expected.shape
        np.testing.assert_allclose(got, expected, rtol=0, atol=1e-4)
        assert float(error[row]) == pytest.approx(abs(float(delta)), abs=1e-4)


def test_completeness(tiny_encoder):
    batch = tiny_encoder.batch(tiny_encoder.tokenize([A, B, B, "Gloves."]))
    scores = integrated_gradients(tiny_encoder, batch, steps=50)
    assert len(scores.diagnostics) == 2
    for diagnostics in scores.diagnostics:
        assert diagnostics["steps"] == 50
        assert max(diagnostics["completeness_error"]) < 1e-3
    assert (scores.token_scores >= 0).all()
