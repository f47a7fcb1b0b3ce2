"""explain_pairs: the Explanation contract, batching, word aggregation, truncation, bad input."""

from __future__ import annotations

import copy
import json

import numpy as np
import pytest

import explainers
from explainers import saliency
from explainers.pipeline import make_batches
from explainers.words import minmax, split_words, token_words

PAIRS = [
    ("Warm winter gloves with touchscreen-compatible fingertips.", "These gloves let you use your phone outside."),
    ("A red cotton t-shirt.", "Blue jeans."),
    (
        "Soft knitted jumper in a wool blend with a ribbed collar, long sleeves and ribbing at the cuffs and hem.",
        "A cosy sweater made of wool, with ribbed cuffs; it's warm and soft.",
    ),
    ("Crème brûlée notes, naïve but charming; the wine's finish is long.", "Vanilla and caramel, a long finish."),
    ("Playing cards.", "Unplayable cards!"),
]


@pytest.mark.parametrize("method", explainers.available_methods())
def test_batched_equals_one_pair_at_a_time(tiny_encoder, method):
    options = {"integrated-gradients": {"steps": 8}, "integrated-jacobians": {"steps": 1}}.get(method, {})
    if method == "tfidf-w2v":  # its default corpus is the pairs given; fix it to compare
        options = {"corpus": [text for pair in PAIRS for text in pair]}
    batched = explainers.explain_pairs(tiny_encoder, PAIRS, method, **options)
    single = [explainers.explain_pairs(tiny_encoder, [pair], method, **options)[0] for pair in PAIRS]
    # A small token budget forces several batches of different widths.
    budgeted = explainers.explain_pairs(tiny_encoder, PAIRS, method, token_budget=100, batch_size=2, **options)
    for one, other, third in zip(batched, single, budgeted, strict=True):
        for got in (other, third):
            assert got.similarity == pytest.approx(one.similarity, abs=1e-5)
            for side in (0, 1):
                assert [w.text for w in got.words[side]] == [w.text for w in one.words[side]]
                np.testing.assert_allclose(
                    [w.saliency for w in got.words[side]], [w.saliency for w in one.words[side]], atol=1e-5
                )
            assert [(p.a, p.b) for p in got.pairs] == [(p.a, p.b) for p in one.pairs]
            np.testing.assert_allclose([p.score for p in got.pairs], [p.score for p in one.pairs], atol=1e-5)


@pytest.mark.parametrize("method", explainers.available_methods())
def test_explanation_contract(tiny_encoder, method):
    explanations = explainers.explain_pairs(tiny_encoder, PAIRS, method, steps=4)
    assert len(explanations) == len(PAIRS)
    similarities = tiny_encoder.embed([t for pair in PAIRS for t in pair])
    for (a, b), explanation in zip(PAIRS, explanations, strict=True):
        data = json.loads(json.dumps(explanation.to_dict()))
        assert set(data) - {"diagnostics"} == {
            "method",
            "model",
            "model_info",
            "similarity",
            "truncated",
            "words",
            "pairs",
        }
        assert ("diagnostics" in data) == (method in {"integrated-gradients", "integrated-jacobians"})
        assert data["method"] == method and data["model"] == tiny_encoder.name and data["truncated"] is False
        assert data["model_info"] == {
            "family": "bert",
            "format": "transformers",
            "pooling": "mean",
            "pooled_tokens": "content",
            "normalize": False,
            "max_length": 512,
            "dtype": "fp32",
        }
        for text, words in zip((a, b), data["words"], strict=True):
            assert [text[w["start"] : w["end"]] for w in words] == [w["text"] for w in words]
            saliencies = [w["saliency"] for w in words]
            assert all(0.0 <= s <= 1.0 for s in saliencies) and max(saliencies) == 1.0 and min(saliencies) == 0.0
        scores = [p["score"] for p in data["pairs"]]
        assert scores == sorted(scores, reverse=True) and scores
        assert len({(p["a"], p["b"]) for p in data["pairs"]}) == len(data["pairs"])
        assert explainers.Explanation.from_dict(data) == explanation
    # similarity is the encoder's cosine for every method (judges stay blind)
    f = similarities.numpy()
    expected = [
        float(f[2 * i] @ f[2 * i + 1] / np.linalg.norm(f[2 * i]) / np.linalg.norm(f[2 * i + 1])) for i in range(5)
    ]
    assert [e.similarity for e in explanations] == pytest.approx(expected, abs=1e-5)


def test_word_saliency_is_the_max_of_its_tokens(tiny_encoder):
    """The paper's "playing" case: a word's saliency is its best WordPiece's, then min-max over words."""
    a, b = PAIRS[3]
    [explanation] = explainers.explain_pairs(tiny_encoder, [(a, b)], "bti")
    batch = tiny_encoder.batch(tiny_encoder.tokenize([a, b]))
    scores = saliency.bti(tiny_encoder, batch)
    for row, text in enumerate((a, b)):
        words = split_words(text)
        [paragraph] = tiny_encoder.tokenize([text])
        token, word = token_words(words, paragraph.offsets)
        tokens = minmax(scores.token_scores[row][batch.content[row].numpy()])  # Eq. 4
        expected = np.array([tokens[token[word == w]].max() for w in range(len(words))])
        got = [w.saliency for w in explanation.words[row]]
        np.testing.assert_allclose(got, minmax(expected), atol=1e-6)
        multi = [w for w in range(len(words)) if (word == w).sum() > 1]
        assert multi, "the test text must hold words of several WordPieces"


def test_repeated_words_are_separate_words(tiny_encoder):
    [explanation] = explainers.explain_pairs(tiny_encoder, [("wool wool wool", "wool and silk")], "bti")
    assert [(w.text, w.start) for w in explanation.words[0]] == [("wool", 0), ("wool", 5), ("wool", 10)]
    # identical tokens at different positions still get their own saliency
    assert len({w.saliency for w in explanation.words[0]}) > 1


def test_truncation_of_a_long_paragraph(tiny_encoder):
    long_text = " ".join(f"word{i % 50} is here" for i in range(400))
    with pytest.warns(UserWarning, match="pair 0, paragraph a .* truncated"):
        [explanation] = explainers.explain_pairs(tiny_encoder, [(long_text, "word1 is here.")], "bti")
    assert explanation.truncated is True
    words = explanation.words[0]
    assert [long_text[w.start : w.end] for w in words] == split_words(long_text).texts
    with pytest.warns(UserWarning, match="paragraph 0 has"):
        [paragraph] = tiny_encoder.tokenize([long_text])
    assert paragraph.ids.size == tiny_encoder.max_length
    cut = int(paragraph.offsets[-1, 1])
    beyond = [i for i, w in enumerate(words) if w.start >= cut]
    assert beyond and all(words[i].saliency == 0.0 for i in beyond)
    assert not {p.a for p in explanation.pairs} & set(beyond)
    # The cut, as the renderer marks it: the words before the tokenizer's cut, one count per side.
    assert explanation.words_read == (beyond[0], len(explanation.words[1]))
    assert explanation.to_dict()["words_read"] == [beyond[0], len(explanation.words[1])]


def test_words_read_is_the_same_for_every_method_and_absent_when_nothing_is_cut(tiny_encoder):
    # A 64-token limit keeps the cut cheap for integrated-jacobians, which costs a JVP per token.
    encoder = copy.copy(tiny_encoder)
    encoder.max_length = 64
    long_text = "Soft gloves, " + " ".join(f"wool{i % 30} knit" for i in range(300))
    pairs = [("Warm wool gloves.", long_text), ("Warm wool gloves.", "Winter gloves.")]
    read = {}
    for method in explainers.available_methods():
        with pytest.warns(UserWarning, match="truncated"):
            cut, whole = explainers.explain_pairs(encoder, pairs, method, steps=1)
        read[method] = cut.to_dict()["words_read"]
        assert whole.words_read is None and "words_read" not in whole.to_dict()
        assert explainers.Explanation.from_dict(cut.to_dict()).words_read == cut.words_read
    [first] = {tuple(r) for r in read.values()}
    assert first[0] == 4 and 4 < first[1] < len(split_words(long_text))


def test_make_batches_respects_budget_and_order():
    lengths = [30, 10, 500, 20, 10, 11, 12]
    batches = make_batches(lengths, token_budget=120, batch_size=3)
    assert sorted(i for b in batches for i in b) == list(range(7))
    assert batches[0] == [1, 4, 5]  # length-sorted; 2 rows x 3 pairs x 11 <= 120
    for batch in batches:
        assert len(batch) <= 3
        assert len(batch) == 1 or 2 * len(batch) * max(lengths[i] for i in batch) <= 120
    assert [2] in batches  # over budget alone


def test_make_batches_limits_padding():
    lengths = [20] * 10 + [80]
    assert make_batches(lengths, token_budget=10_000) == [list(range(10)), [10]]
    assert make_batches([20, 21, 22, 23, 24], token_budget=10_000) == [[0, 1, 2, 3, 4]]


@pytest.mark.parametrize(
    ("pairs", "message"),
    [
        ([("fine", "")], "pair 0: paragraph b is empty"),
        ([("fine", "ok"), ("  \n\t", "ok")], "pair 1: paragraph a is empty"),
        ([("only one",)], "pair 0 must be two paragraphs"),
        ([("fine", 3)], "paragraph b must be text"),
        ([("fine", "\u200b")], "pair 0, paragraph b has no text the model can read"),
    ],
)
def test_bad_pairs(tiny_encoder, pairs, message):
    with pytest.raises(explainers.InputError, match=message):
        explainers.explain_pairs(tiny_encoder, pairs, "bti")


def test_unknown_method_lists_valid_ones(tiny_encoder):
    with pytest.raises(explainers.UnknownMethodError) as info:
        explainers.explain_pairs(tiny_encoder, PAIRS[:1], "lime")
    assert "lime" in str(info.value)
    for name in explainers.available_methods():
        assert name in str(info.value)


@pytest.mark.parametrize("option", [{"top_k": 0}, {"steps": 0}, {"batch_size": 0}, {"token_budget": -1}])
def test_bad_options(tiny_encoder, option):
    with pytest.raises(explainers.InputError):
        explainers.explain_pairs(tiny_encoder, PAIRS[:1], "integrated-gradients", **option)


def test_no_pairs(tiny_encoder):
    assert explainers.explain_pairs(tiny_encoder, [], "bti") == []


def test_top_k_grows_the_selection(tiny_encoder):
    small = explainers.explain_pairs(tiny_encoder, PAIRS[2:3], "bti", top_k=1)[0]
    large = explainers.explain_pairs(tiny_encoder, PAIRS[2:3], "bti", top_k=50)[0]
    assert {(p.a, p.b) for p in small.pairs} < {(p.a, p.b) for p in large.pairs}
