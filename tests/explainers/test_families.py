"""Every encoder family: BTI is Eq. 2-4 with that family's own E, batched equals unbatched, word
offsets are right for its tokenizer, and an encoder the code cannot explain is refused."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
import torch.nn.functional as functional

import explainers
from explainers import saliency
from explainers.words import split_words, token_words
from tests.explainers.tiny_families import FAMILY_KINDS, independent_position_embeddings

A = "Warm winter gloves with touchscreen-compatible fingertips."
B = "These gloves let you use your phone without taking them off, even in the cold days."
PAIRS = [
    (A, B),
    ("A soft cotton T-shirt with short sleeves.", "A knitted wool jumper that keeps you warm."),
    ("Slim-fit jeans in washed denim.", "Denim jeans with five pockets and a zip fly, slim fit."),
]


def _independent_bti(model_dir, kind: str, text_a: str, text_b: str):
    """Eq. 1-4 with the model as its authors run it: input_ids in (the model numbers positions and adds
    its segment embedding itself), T caught as the output of the word-embedding module and made a
    leaf there, F the mean of the last layer over the content tokens (Eq. 1), the gradient of the cosine
    with the other F held constant (Eq. 3), E = T + the family's P written out from its weights."""
    from transformers import AutoModel, AutoTokenizer

    model = AutoModel.from_pretrained(model_dir).eval()
    tokenizer = AutoTokenizer.from_pretrained(model_dir)

    def forward(text):
        encoded = tokenizer(text, return_tensors="pt", return_special_tokens_mask=True)
        caught = {}

        def leaf(module, inputs, output):
            caught["T"] = output.detach().clone().requires_grad_(True)
            return caught["T"]

        hook = model.get_input_embeddings().register_forward_hook(leaf)
        try:
            hidden = model(input_ids=encoded["input_ids"], attention_mask=encoded["attention_mask"]).last_hidden_state
        finally:
            hook.remove()
        content = encoded["special_tokens_mask"][0] == 0
        return caught["T"], hidden[0][content].mean(0), content  # T (1, tokens, embedding size)

    with torch.enable_grad():
        t_a, f_a, content_a = forward(text_a)
        t_b, f_b, content_b = forward(text_b)
        (g_a,) = torch.autograd.grad(functional.cosine_similarity(f_a, f_b.detach(), dim=0), t_a)
        (g_b,) = torch.autograd.grad(functional.cosine_similarity(f_a.detach(), f_b, dim=0), t_b)
    scores = []
    for t, g, content in ((t_a, g_a, content_a), (t_b, g_b, content_b)):
        e = t[0].detach() + independent_position_embeddings(model, kind, t.shape[1])  # Eq. 2
        scores.append(torch.relu(e * g[0]).sum(-1)[content].numpy())  # Eq. 4, content tokens
    return scores, float(functional.cosine_similarity(f_a, f_b, dim=0))


@pytest.mark.parametrize("kind", FAMILY_KINDS)
def test_bti_equals_an_independent_autograd_computation(family_encoder, family_dir, kind):
    encoder = family_encoder(kind)
    expected, cosine = _independent_bti(family_dir(kind), kind, A, B)
    batch = encoder.batch(encoder.tokenize([A, B]))
    scores = saliency.bti(encoder, batch)
    content = batch.content.numpy()
    for row, want in enumerate(expected):
        got = scores.token_scores[row][content[row]]
        assert got.shape == want.shape
        np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-7)
    assert scores.similarity[0] == pytest.approx(cosine, abs=1e-6)


@pytest.mark.parametrize("kind", FAMILY_KINDS)
def test_batched_equals_unbatched(family_encoder, kind):
    encoder = family_encoder(kind)
    batched = explainers.explain_pairs(encoder, PAIRS, "bti")
    for pair, together in zip(PAIRS, batched, strict=True):
        [alone] = explainers.explain_pairs(encoder, [pair], "bti")
        assert together.similarity == pytest.approx(alone.similarity, abs=1e-5)
        for side_batched, side_alone in zip(together.words, alone.words, strict=True):
            np.testing.assert_allclose([w.saliency for w in side_batched], [w.saliency for w in side_alone], atol=1e-4)
        assert [(p.a, p.b) for p in together.pairs] == [(p.a, p.b) for p in alone.pairs]


@pytest.mark.parametrize("kind", FAMILY_KINDS)
def test_word_offsets_fit_the_family_tokenizer(family_encoder, kind):
    """Each word's tokens (those whose span overlaps it) decode to the word itself, whatever marks the
    spaces: WordPiece's "##", byte-level BPE's "Ġ" (trimmed from the offsets, sometimes a token of its
    own with an empty span), SentencePiece's "▁"."""
    encoder = family_encoder(kind)
    tokenizer = encoder.tokenizer
    for text in (A, B):
        [paragraph] = encoder.tokenize([text])
        words = split_words(text)
        token, word = token_words(words, paragraph.offsets)
        assert set(word.tolist()) == set(range(len(words))), "every word has a token"
        pieces = tokenizer.convert_ids_to_tokens(paragraph.ids[encoder.n_prefix : -encoder.n_suffix].tolist())
        for index, word_text in enumerate(words.texts):
            decoded = tokenizer.convert_tokens_to_string([pieces[t] for t in token[word == index]])
            assert "".join(decoded.split()).lower() == word_text.lower(), (kind, word_text, decoded)
        # A token that overlaps no word covers only spaces (or nothing).
        unmatched = sorted(set(range(len(pieces))) - set(token.tolist()))
        assert all(not text[s:e].strip() for s, e in paragraph.offsets[unmatched].tolist())
    if kind == "roberta":  # byte-level BPE: the space before a word is a "Ġ"
        assert any(piece.startswith("Ġ") for piece in pieces)
    if kind in ("xlm-roberta", "deberta-v2"):
        assert any(piece.startswith("▁") for piece in pieces)


def test_each_family_numbers_its_positions_and_keeps_its_limit(family_encoder):
    """RoBERTa, XLM-R and MPNet count positions from padding id + 1, so 130 position embeddings read
    128 tokens; DeBERTa-v2 without position_biased_input has no P (E = T)."""
    for kind, first, limit in (("bert", 0, 128), ("roberta", 2, 128), ("mpnet", 2, 128), ("deberta-v2", 0, 128)):
        encoder = family_encoder(kind)
        assert encoder.position_ids(3).tolist() == [[first, first + 1, first + 2]]
        assert encoder.max_length == limit
    deberta = family_encoder("deberta-v2")
    assert deberta.family.positions(deberta.model) is None
    assert not deberta.position_embeddings(4).any()
    electra = family_encoder("electra")
    assert electra.position_embeddings(4).shape == (1, 4, 16)  # E in ELECTRA's embedding space, not hidden 32


def test_explanations_record_the_family(family_encoder):
    [explanation] = explainers.explain_pairs(family_encoder("distilbert"), [PAIRS[0]], "bti")
    data = json.loads(json.dumps(explanation.to_dict()))
    assert data["model"].startswith("distilbert") and data["model_info"]["family"] == "distilbert"
    assert explainers.Explanation.from_dict(data).model_info == data["model_info"]


def test_an_unknown_architecture_is_refused_naming_it(family_dir):
    with pytest.raises(explainers.ModelLoadError) as error:
        explainers.load_encoder(family_dir("albert"), device="cpu")
    message = str(error.value)
    assert "'albert'" in message and "AlbertModel" in message
    assert "BERT (bert)" in message and "DeBERTa-v2/v3 (deberta-v2)" in message


def test_a_model_without_input_embeddings_is_refused(tiny_model_dir, monkeypatch):
    from transformers import BertModel

    monkeypatch.setattr(BertModel, "get_input_embeddings", lambda self: None)
    with pytest.raises(explainers.ModelLoadError, match="no word-embedding and position-embedding modules"):
        explainers.load_encoder(tiny_model_dir, device="cpu")


@pytest.mark.parametrize("kind", FAMILY_KINDS)
def test_every_method_explains_every_family(family_encoder, kind):
    encoder = family_encoder(kind)
    for method in explainers.available_methods():
        [explanation] = explainers.explain_pairs(encoder, [PAIRS[0]], method, steps=8)
        for text, words in zip(PAIRS[0], explanation.words, strict=True):
            assert [text[w.start : w.end] for w in words] == [w.text for w in words]
            assert max(w.saliency for w in words) == 1.0, (kind, method)
        assert explanation.pairs and explanation.model_info["family"] == encoder.family.model_type
        if method == "integrated-gradients" and kind != "deberta-v2":
            # Completeness through each family's own embeddings. Not for DeBERTa-v2 without P or token
            # types: its embedding LayerNorm sees α·T alone, which is scale-invariant, so f(α·T) is flat
            # for α > 0 and jumps at 0 (see explainers.integrated_gradients).
            assert max(explanation.diagnostics["completeness_error"]) < 0.05, kind
