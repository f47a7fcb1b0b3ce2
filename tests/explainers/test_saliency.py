"""Token saliency of BTI and its ablations against independent autograd computations (Eq. 1-4)."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as functional

from explainers import saliency
from explainers.words import minmax

A = "Warm winter gloves with touchscreen-compatible fingertips."
B = "These gloves let you use your phone without taking them off, even in the cold."


def _independent(encoder, text_a: str, text_b: str):
    """Eq. 1-3 written out by hand: E = T + P fed through the model's own LayerNorm and encoder,
    one sequence at a time (no padding, no inputs_embeds path)."""
    model = encoder.model
    embeddings = model.embeddings
    tokenizer = encoder.tokenizer

    def forward(text):
        ids = torch.tensor([tokenizer(text)["input_ids"]])
        length = ids.shape[1]
        positions = torch.arange(length).unsqueeze(0)
        with torch.no_grad():
            e = embeddings.word_embeddings(ids) + embeddings.position_embeddings(positions)  # Eq. 2
        e.requires_grad_(True)
        x = embeddings.LayerNorm(e + embeddings.token_type_embeddings(torch.zeros_like(ids)))
        hidden = model.encoder(x).last_hidden_state
        return e, hidden, hidden[0, 1:-1].mean(0)  # Eq. 1 without [CLS]/[SEP]

    def cosine(u, v):
        return (u @ v) / (u.norm() * v.norm())

    with torch.enable_grad():
        e_a, h_a, f_a = forward(text_a)
        e_b, h_b, f_b = forward(text_b)
        (g_a,) = torch.autograd.grad(cosine(f_a, f_b.detach()), e_a)  # Eq. 3, F_b constant
        (g_b,) = torch.autograd.grad(cosine(f_a.detach(), f_b), e_b)
    return (e_a[0, 1:-1], g_a[0, 1:-1], h_a[0, 1:-1]), (e_b[0, 1:-1], g_b[0, 1:-1], h_b[0, 1:-1]), cosine(f_a, f_b)


def _ours(encoder, fn, texts=(A, B)):
    batch = encoder.batch(encoder.tokenize(list(texts)))
    scores = fn(encoder, batch)
    content = batch.content.numpy()
    return [scores.token_scores[r][content[r]] for r in range(len(texts))], scores


@pytest.mark.parametrize(
    ("fn", "reference"),
    [
        (saliency.bti, lambda e, g, h: torch.relu(e * g).sum(-1)),  # Eq. 4
        (saliency.bti_gradients, lambda e, g, h: torch.relu(g).sum(-1)),
        (saliency.vanilla_gradients, lambda e, g, h: g.norm(dim=-1)),
        (saliency.bti_activations, lambda e, g, h: torch.relu(e).sum(-1)),
    ],
)
def test_token_saliency_equals_independent_autograd(tiny_encoder, fn, reference):
    sides = _independent(tiny_encoder, A, B)
    ours, scores = _ours(tiny_encoder, fn)
    for (e, g, h), got in zip(sides[:2], ours, strict=True):
        expected = reference(e, g, h).detach().numpy()
        assert got.shape == expected.shape
        # Eq. 4 normalises; compare both raw and min-max normalised values.
        assert got == pytest.approx(expected, rel=1e-4, abs=1e-7)
        assert minmax(got) == pytest.approx(minmax(expected), abs=1e-5)
    assert scores.similarity[0] == pytest.approx(float(sides[2].detach()), abs=1e-6)


def test_last_layer_saliency_equals_independent_autograd(tiny_encoder):
    model, tokenizer = tiny_encoder.model, tiny_encoder.tokenizer
    with torch.no_grad():
        hidden = [model(**tokenizer(t, return_tensors="pt")).last_hidden_state[0] for t in (A, B)]
    hidden = [h.clone().requires_grad_(True) for h in hidden]
    with torch.enable_grad():
        f_a, f_b = (h[1:-1].mean(0) for h in hidden)
        g_a, g_b = torch.autograd.grad(
            functional.cosine_similarity(f_a, f_b.detach(), dim=0)
            + functional.cosine_similarity(f_a.detach(), f_b, dim=0),
            hidden,
        )
    ours, _ = _ours(tiny_encoder, saliency.bti_last_layer)
    for h, g, got in zip(hidden, (g_a, g_b), ours, strict=True):
        expected = torch.relu(h * g).sum(-1)[1:-1].detach().numpy()
        assert got == pytest.approx(expected, rel=1e-4, abs=1e-7)


def test_gradients_leave_flags_and_parameters_alone(tiny_encoder):
    params = list(tiny_encoder.model.parameters())
    flags = [p.requires_grad for p in params]
    with torch.no_grad():  # a caller's no_grad context must not stop the method
        _ours(tiny_encoder, saliency.bti)
    with torch.inference_mode():  # nor an inference_mode one
        _ours(tiny_encoder, saliency.bti_last_layer)
        _ours(tiny_encoder, saliency.vanilla_gradients)
    assert [p.requires_grad for p in params] == flags
    assert all(p.grad is None for p in params)
    assert not tiny_encoder.model.training


def test_pair_rows_do_not_interact(tiny_encoder):
    """Each row's gradient only holds the other paragraph's F constant: swapping the pair's order
    swaps the rows and nothing else."""
    forward, _ = _ours(tiny_encoder, saliency.bti, (A, B))
    backward, _ = _ours(tiny_encoder, saliency.bti, (B, A))
    assert forward[0] == pytest.approx(backward[1], rel=1e-4, abs=1e-7)
    assert forward[1] == pytest.approx(backward[0], rel=1e-4, abs=1e-7)
