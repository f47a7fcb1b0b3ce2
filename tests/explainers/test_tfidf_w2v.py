"""The TF-IDF-W2V baseline: Λ = T(w1) · T(w2) · C(W(w1), W(w2)), word2vec files, OOV words."""

from __future__ import annotations

import numpy as np
import pytest

import explainers
from explainers.tfidf_w2v import TfidfW2V
from explainers.words import split_words

PAIR = ("Warm wool gloves, warm hands.", "Wool mittens keep hands warm!")


def _write_word2vec(path, vectors: dict[str, list[float]], binary: bool) -> None:
    from gensim.models import KeyedVectors

    kv = KeyedVectors(vector_size=3)
    kv.add_vectors(list(vectors), np.array(list(vectors.values()), dtype=np.float32))
    kv.save_word2vec_format(str(path), binary=binary)


@pytest.mark.parametrize("binary", [False, True])
def test_user_word2vec_file_scores_pairs_with_lambda(tiny_encoder, tmp_path, binary):
    path = tmp_path / ("vectors.bin" if binary else "vectors.txt")
    _write_word2vec(
        path,
        {"warm": [1, 0, 0], "wool": [0, 1, 0], "hands": [0, 0, 1], "gloves": [0.1, 1, 0], "mittens": [0, 1, 0.1]},
        binary,
    )
    [explanation] = explainers.explain_pairs(tiny_encoder, [PAIR], "tfidf-w2v", word2vec=path, top_k=10)
    words_a, words_b = ([w.text for w in side] for side in explanation.words)
    matched = {(words_a[p.a], words_b[p.b]) for p in explanation.pairs}
    # "Warm"/"Wool" are found through lowercasing; "gloves" is closer to "wool" than to "mittens"
    assert {("Warm", "warm"), ("warm", "warm"), ("wool", "Wool"), ("hands", "hands"), ("gloves", "Wool")} <= matched
    # OOV words ("keep") and punctuation are never matched
    assert all(words_b[p.b] not in {"keep", "!"} and words_a[p.a] != "," for p in explanation.pairs)

    model = TfidfW2V.fit(list(PAIR), word2vec=path)
    weights = model.weights([split_words(t) for t in PAIR])
    for p in explanation.pairs:
        u = model.vectors.get_vector(words_a[p.a].lower(), norm=True)
        v = model.vectors.get_vector(words_b[p.b].lower(), norm=True)
        assert p.word_similarity == pytest.approx(float(u @ v), abs=1e-6)
        assert p.score == pytest.approx(weights[0][p.a] * weights[1][p.b] * p.word_similarity, abs=1e-6)
    saliency = [w.saliency for w in explanation.words[0]]
    assert saliency[words_a.index(",")] == 0.0 and max(saliency) == 1.0


def test_tfidf_weights_ignore_punctuation_and_case():
    model = TfidfW2V.fit(["Warm gloves.", "warm hands"])
    [weights] = model.weights([split_words("Warm, warm gloves!")])
    assert weights[1] == 0.0 and weights[4] == 0.0
    assert weights[0] == weights[2] > 0 and weights[3] > 0


def test_trained_word2vec_is_deterministic():
    corpus = ["Warm wool gloves for cold days.", "Wool mittens keep hands warm.", "Cotton t-shirt for summer."]
    first, second = TfidfW2V.fit(corpus), TfidfW2V.fit(corpus)
    assert np.array_equal(first.vectors.vectors, second.vectors.vectors)
    assert first.vectors.vector_size == 100


def test_bad_word2vec_file(tiny_encoder, tmp_path):
    with pytest.raises(explainers.InputError, match="does not exist"):
        explainers.explain_pairs(tiny_encoder, [PAIR], "tfidf-w2v", word2vec=tmp_path / "missing.txt")
    garbage = tmp_path / "garbage.txt"
    garbage.write_text("this is not\na word2vec file\n")
    with pytest.raises(explainers.InputError, match="cannot read"):
        explainers.explain_pairs(tiny_encoder, [PAIR], "tfidf-w2v", word2vec=garbage)


def test_corpus_without_words(tiny_encoder):
    with pytest.raises(explainers.InputError, match="corpus has no words"):
        explainers.explain_pairs(tiny_encoder, [PAIR], "tfidf-w2v", corpus=["!!!", "..."])
