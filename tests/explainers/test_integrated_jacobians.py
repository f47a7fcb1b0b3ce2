"""Integrated Jacobians: the reference, equality with an independent Jacobian computation,
completeness, batching, and the word pairs the pipeline builds from the attribution matrix."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
import torch.nn.functional as functional

import explainers
from explainers.integrated_gradients import gauss_legendre
from explainers.integrated_jacobians import integrated_jacobians, references
from explainers.matching import match_words, top_words
from explainers.render import render_html, render_text
from explainers.words import minmax, split_words, token_words
from tests.explainers.test_cli import run_cli

A = "Warm winter gloves with touchscreen-compatible fingertips."
B = "These gloves let you use your phone without taking them off."
C = "Soft wool gloves."
D = "A knitted scarf."


def _one_row(encoder, text: str) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """(ids (1, n), word-piece embeddings a (1, n, hidden), reference r (1, n, hidden)) of one
    paragraph, unpadded, built from the model's own embedding matrix and the padding id."""
    [paragraph] = encoder.tokenize([text])
    ids = torch.as_tensor(paragraph.ids).unsqueeze(0)
    reference_ids = ids.clone()
    reference_ids[0, 1:-1] = encoder.tokenizer.pad_token_id  # [CLS] [PAD] ... [PAD] [SEP]
    embeddings = encoder.model.embeddings.word_embeddings
    with torch.no_grad():
        return ids, embeddings(ids), embeddings(reference_ids)


def _f(encoder):
    """f(x) = the unit mean of the last layer over the content tokens, for one unpadded row."""

    def f(inputs_embeds: torch.Tensor) -> torch.Tensor:
        hidden = encoder.model(inputs_embeds=inputs_embeds).last_hidden_state
        return functional.normalize(hidden[:, 1:-1].mean(1), dim=-1)[0]  # (D,)

    return f


def _u_by_jacobians(encoder, text: str, steps: int) -> np.ndarray:
    """U (D, content tokens) with torch.autograd.functional.jacobian at each Gauss-Legendre node."""
    _, a, r = _one_row(encoder, text)
    f = _f(encoder)
    alphas, weights = gauss_legendre(steps)
    u = 0
    for alpha, weight in zip(alphas.tolist(), weights.tolist(), strict=True):
        jacobian = torch.autograd.functional.jacobian(f, r + alpha * (a - r))  # (D, 1, n, hidden)
        u = u + weight * (jacobian[:, 0] * (a - r)[0]).sum(-1)  # (D, n)
    return u[:, 1:-1].double().numpy()


def _expected_total(encoder, text_a: str, text_b: str) -> tuple[float, float]:
    """(s(a, b), s(a, b) − s(r_a, b) − s(a, r_b) + s(r_a, r_b)) from the model directly."""
    f = _f(encoder)
    with torch.no_grad():
        (_, a, ra), (_, b, rb) = _one_row(encoder, text_a), _one_row(encoder, text_b)
        fa, fra, fb, frb = (f(x).double() for x in (a, ra, b, rb))
    s = float(fa @ fb)
    return s, s - float(fra @ fb) - float(fa @ frb) + float(fra @ frb)


def test_reference_pads_the_content_and_keeps_the_special_tokens(tiny_encoder):
    batch = tiny_encoder.batch(tiny_encoder.tokenize([A, C]))
    got = references(tiny_encoder, batch)
    for row, text in enumerate((A, C)):
        ids, a, expected = _one_row(tiny_encoder, text)
        n = ids.shape[1]
        assert got[row, :n].shape == expected[0].shape
        torch.testing.assert_close(got[row, :n], expected[0], rtol=0, atol=0)
        torch.testing.assert_close(got[row, [0, n - 1]], a[0, [0, n - 1]], rtol=0, atol=0)


def test_equals_jacobians_at_the_same_nodes(tiny_encoder):
    steps = 3
    scores = integrated_jacobians(tiny_encoder, tiny_encoder.batch(tiny_encoder.tokenize([C, D])), steps=steps)
    u_a, u_b = _u_by_jacobians(tiny_encoder, C, steps), _u_by_jacobians(tiny_encoder, D, steps)
    expected = u_a.T @ u_b  # A = U_aᵀ U_b
    [got] = scores.pair_scores
    n_a, n_b = (len(p.offsets) for p in tiny_encoder.tokenize([C, D]))
    assert got.shape == expected.shape == (n_a, n_b)
    np.testing.assert_allclose(got, expected, rtol=1e-4, atol=1e-8)
    # Token saliency: A's row sums (paragraph a) and column sums (paragraph b) at the content positions.
    np.testing.assert_allclose(scores.token_scores[0, 1 : 1 + n_a], got.sum(1), rtol=1e-4, atol=1e-7)
    np.testing.assert_allclose(scores.token_scores[1, 1 : 1 + n_b], got.sum(0), rtol=1e-4, atol=1e-7)
    assert not scores.token_scores[:, 0].any() and not scores.token_scores[1, 1 + n_b :].any()


def test_completeness_error_shrinks_with_steps_and_is_small_at_the_default(tiny_encoder):
    batch = tiny_encoder.batch(tiny_encoder.tokenize([A, B]))
    s, total = _expected_total(tiny_encoder, A, B)
    assert abs(total) > 1e-3  # the four terms do not cancel, so the check below means something
    errors = []
    for steps in (1, 2, 3, 4, 50):
        scores = integrated_jacobians(tiny_encoder, batch, steps=steps)
        [matrix], [diagnostics] = scores.pair_scores, scores.diagnostics
        error = abs(matrix.sum() - total)
        assert diagnostics["steps"] == steps
        assert diagnostics["completeness_error"] == pytest.approx(error, abs=1e-6)
        assert diagnostics["completeness_error_relative"] == pytest.approx(error / abs(s), abs=1e-6)
        assert float(scores.similarity[0]) == pytest.approx(s, abs=1e-6)
        errors.append(error)
    assert errors[0] > errors[1] > errors[2] > errors[3]
    assert errors[-1] < 1e-3 * abs(s)  # the default steps


def test_batched_equals_unbatched(tiny_encoder):
    steps = 2
    texts = [A, B, C, D]
    batch = tiny_encoder.batch(tiny_encoder.tokenize(texts))
    n_max, width = int(batch.content.sum(1).max()), batch.ids.shape[1]
    batched = integrated_jacobians(tiny_encoder, batch, steps=steps)
    # A pass holds n_max - 2 sequences (a row's tangents are split) or 3 rows' tangents (nodes of
    # different rows share a pass, and the nodes take several passes).
    split = [
        integrated_jacobians(tiny_encoder, batch, steps=steps, token_budget=width * k) for k in (n_max - 2, 3 * n_max)
    ]
    for pair in (0, 1):
        one = tiny_encoder.batch(tiny_encoder.tokenize(texts[2 * pair : 2 * pair + 2]))
        single = integrated_jacobians(tiny_encoder, one, steps=steps)
        width = one.ids.shape[1]
        for got in (batched, *split):
            assert got.pair_scores[pair].shape == single.pair_scores[0].shape
            np.testing.assert_allclose(got.pair_scores[pair], single.pair_scores[0], rtol=1e-4, atol=1e-8)
            np.testing.assert_allclose(
                got.token_scores[2 * pair : 2 * pair + 2, :width], single.token_scores, rtol=1e-4, atol=1e-8
            )
            assert got.similarity[pair] == pytest.approx(single.similarity[0], abs=1e-6)
            assert got.diagnostics[pair]["completeness_error"] == pytest.approx(
                single.diagnostics[0]["completeness_error"], abs=1e-6
            )


def test_explanation_pairs_and_saliency_come_from_the_attribution(tiny_encoder):
    [explanation] = explainers.explain_pairs(tiny_encoder, [(A, B)], "integrated-jacobians", steps=4, top_k=2)
    scores = integrated_jacobians(tiny_encoder, tiny_encoder.batch(tiny_encoder.tokenize([A, B])), steps=4)
    [matrix] = scores.pair_scores
    with torch.no_grad():
        hidden = [tiny_encoder.model(input_ids=_one_row(tiny_encoder, t)[0]).last_hidden_state[0, 1:-1] for t in (A, B)]
    tokens_of = []
    for text in (A, B):
        words = split_words(text)
        token, word = token_words(words, tiny_encoder.tokenize([text])[0].offsets)
        tokens_of.append([token[word == w] for w in range(len(words))])

    # Word saliency: the max of a word's tokens' row (column) sums of A, min-max per paragraph.
    for side, sums in enumerate((matrix.sum(1), matrix.sum(0))):
        expected = minmax([sums[t].max() for t in tokens_of[side]])
        np.testing.assert_allclose([w.saliency for w in explanation.words[side]], expected, atol=1e-5)

    # Word x word attribution: the sum over both words' tokens; MatchWords both ways, then TopWords.
    word_matrix = np.array([[matrix[np.ix_(ta, tb)].sum() for tb in tokens_of[1]] for ta in tokens_of[0]])
    i, j = match_words(word_matrix)
    keep = top_words(word_matrix[i, j], 2)
    assert {(p.a, p.b) for p in explanation.pairs} == set(zip(i[keep].tolist(), j[keep].tolist(), strict=True))
    vectors = [
        [functional.normalize(h[t].mean(0), dim=0) for t in side] for h, side in zip(hidden, tokens_of, strict=True)
    ]
    for pair in explanation.pairs:
        assert pair.score == pytest.approx(word_matrix[pair.a, pair.b], rel=1e-4, abs=1e-8)
        # word_similarity is the same last-layer word cosine every method reports
        assert pair.word_similarity == pytest.approx(float(vectors[0][pair.a] @ vectors[1][pair.b]), abs=1e-5)
    assert [p.score for p in explanation.pairs] == sorted((p.score for p in explanation.pairs), reverse=True)
    assert set(explanation.diagnostics) == {"steps", "completeness_error", "completeness_error_relative"}


def test_renders_like_the_other_methods(tiny_encoder):
    [explanation] = explainers.explain_pairs(tiny_encoder, [(A, B)], "integrated-jacobians", steps=2)
    fragment = render_html(explanation, (A, B))
    assert "gloves" in fragment and "integrated" not in fragment.lower() and "completeness" not in fragment
    assert "gloves" in render_text(explanation, (A, B))


def test_a_model_without_forward_mode_derivatives_is_refused_clearly(tiny_encoder, monkeypatch):
    class Square(torch.autograd.Function):  # old style: no setup_context, no jvp
        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x)
            return x * x

        @staticmethod
        def backward(ctx, grad):
            (x,) = ctx.saved_tensors
            return 2 * x * grad

    hidden_states = tiny_encoder.hidden_states
    monkeypatch.setattr(tiny_encoder, "hidden_states", lambda x, mask: Square.apply(hidden_states(x, mask)))
    with pytest.raises(explainers.InputError, match="forward-mode derivatives .* another method"):
        explainers.explain_pairs(tiny_encoder, [(A, B)], "integrated-jacobians", steps=2)


@pytest.mark.slow  # starts a process
def test_cli_explains_with_integrated_jacobians(tiny_model_dir):
    result = run_cli("explain", A, B, "--method", "integrated-jacobians", "--steps", "4", "--model", tiny_model_dir)
    assert result.returncode == 0, result.stderr
    out = json.loads(result.stdout)
    assert out["method"] == "integrated-jacobians" and out["pairs"]
    assert out["diagnostics"]["steps"] == 4 and out["diagnostics"]["completeness_error_relative"] < 1e-3
    assert [w["text"] for w in out["words"][0]] == split_words(A).texts
