"""Words (WordPiece⁻¹): splitting, offsets, token -> word mapping, normalisation."""

from __future__ import annotations

import numpy as np
import pytest

from explainers.words import minmax, split_words, token_words


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("touchscreen-compatible gloves.", ["touchscreen-compatible", "gloves", "."]),
        ("don't stop, it’s fine!", ["don't", "stop", ",", "it’s", "fine", "!"]),
        ("crème brûlée, naïve café", ["crème", "brûlée", ",", "naïve", "café"]),
        ("price: $3.5 (approx.)", ["price", ":", "$", "3", ".", "5", "(", "approx", ".", ")"]),
        ("-leading trailing- a--b 'quoted'", ["-", "leading", "trailing", "-", "a", "-", "-", "b", "'", "quoted", "'"]),
        ("Brand™ x_y", ["Brand", "™", "x", "_", "y"]),
        ("the cat and the cat", ["the", "cat", "and", "the", "cat"]),
    ],
)
def test_split_words_keeps_offsets(text, expected):
    words = split_words(text)
    assert words.texts == expected
    assert [text[s:e] for s, e in zip(words.starts, words.ends, strict=True)] == expected


def test_split_words_decomposed_accents_stay_in_the_word():
    text = "cre\u0300me"  # e + combining grave accent
    assert split_words(text).texts == [text]


def test_every_token_of_a_word_maps_to_it(tiny_encoder):
    text = "Touchscreen-compatible crème brûlée don’t unplayable!"
    words = split_words(text)
    [paragraph] = tiny_encoder.tokenize([text])
    token, word = token_words(words, paragraph.offsets)
    assert np.all(np.diff(word) >= 0)
    grouped = {w: [int(t) for t in token[word == w]] for w in np.unique(word)}
    pieces = tiny_encoder.tokenizer.convert_ids_to_tokens(paragraph.ids[1:-1].tolist())
    assert [pieces[t] for t in grouped[0]] == ["touch", "##screen", "-", "compatible"]
    assert [pieces[t] for t in grouped[1]] == ["cr", "##eme"]
    assert [pieces[t] for t in grouped[3]] == ["don", "’", "t"]
    assert [pieces[t] for t in grouped[4]] == ["un", "##play", "##able"]
    assert [pieces[t] for t in grouped[5]] == ["!"]
    assert len(token) == paragraph.offsets.shape[0]  # every token in exactly one word


def test_a_token_spanning_two_words_belongs_to_both():
    words = split_words("ab™ c")
    token, word = token_words(words, np.array([[0, 3], [4, 5]]))
    assert word.tolist() == [0, 1, 2] and token.tolist() == [0, 0, 1]


def test_words_without_tokens_get_no_entries():
    words = split_words("one two three")
    token, word = token_words(words, np.array([[0, 3]]))
    assert word.tolist() == [0] and token.tolist() == [0]


def test_minmax():
    assert minmax(np.array([2.0, 4.0, 3.0])).tolist() == [0.0, 1.0, 0.5]
    assert minmax(np.array([5.0, 5.0])).tolist() == [0.0, 0.0]
    assert minmax(np.array([0.0])).tolist() == [0.0]
    assert minmax(np.zeros(0)).size == 0
