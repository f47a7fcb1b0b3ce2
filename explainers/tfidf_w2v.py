"""The TF-IDF-W2V baseline: Λ(w1, w2) = T(w1) · T(w2) · C(W(w1), W(w2)).

T is TF-IDF (scikit-learn ``TfidfVectorizer``) fitted on a corpus (the pairs' paragraphs, or the
caller's), over the same words as everywhere else (``explainers.words``), lowercased; only
letter/digit words count, so punctuation has weight 0. W is word2vec: a user's file (text or
binary word2vec format, read by gensim) or else a Word2Vec trained on the corpus, deterministic
(one worker, fixed seed, a hash that does not depend on PYTHONHASHSEED). Words without a vector
(OOV) are not matched.
"""

from __future__ import annotations

import os
import zlib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .errors import InputError
from .words import Words, split_words

VECTOR_SIZE = 100
EPOCHS = 20
SEED = 0


def lexical(words: Words) -> list[str | None]:
    """The lowercased text of each letter/digit word, None for punctuation and symbols."""
    return [text.lower() if text[0].isalnum() else None for text in words.texts]


def _analyzer(text: str) -> list[str]:
    return [w for w in lexical(split_words(text)) if w is not None]


def _stable_hash(text: str) -> int:
    return zlib.crc32(text.encode("utf-8"))


def _load_word2vec(path: str | os.PathLike):
    from gensim.models import KeyedVectors

    file = Path(path)
    if not file.is_file():
        raise InputError(f"word2vec file {str(file)!r} does not exist")
    with file.open("rb") as handle:
        handle.readline()  # "<count> <dim>" header in both formats
        sample = handle.read(4096)
    try:
        sample.decode("utf-8")
        binary = b"\x00" in sample
    except UnicodeDecodeError as exc:
        # A multi-byte character cut at the sample's end is still text.
        binary = exc.start < len(sample) - 4
    try:
        return KeyedVectors.load_word2vec_format(str(file), binary=binary)
    except (ValueError, UnicodeDecodeError, EOFError, OSError) as exc:
        raise InputError(
            f"cannot read {str(file)!r} as a word2vec file ({'binary' if binary else 'text'} format): {exc}"
        ) from None


@dataclass
class TfidfW2V:
    """A fitted TF-IDF vectorizer and word vectors (gensim ``KeyedVectors``)."""

    vectorizer: object
    vectors: object

    @classmethod
    def fit(cls, corpus: Sequence[str], *, word2vec: str | os.PathLike | None = None) -> TfidfW2V:
        """Fit TF-IDF on ``corpus`` and load ``word2vec`` or train Word2Vec on ``corpus``."""
        from sklearn.feature_extraction.text import TfidfVectorizer

        documents = [_analyzer(text) for text in corpus]
        if not any(documents):
            raise InputError("the tfidf-w2v corpus has no words; give paragraphs or a corpus with text")
        vectorizer = TfidfVectorizer(analyzer=lambda tokens: tokens).fit(documents)
        if word2vec is not None:
            vectors = _load_word2vec(word2vec)
        else:
            from gensim.models import Word2Vec

            vectors = Word2Vec(
                sentences=[d for d in documents if d],
                vector_size=VECTOR_SIZE,
                min_count=1,
                workers=1,
                seed=SEED,
                epochs=EPOCHS,
                hashfxn=_stable_hash,
            ).wv
        return cls(vectorizer=vectorizer, vectors=vectors)

    def weights(self, words: Sequence[Words]) -> list[np.ndarray]:
        """TF-IDF weight of every word of each paragraph (0 for punctuation and unseen words)."""
        lexicals = [lexical(w) for w in words]
        matrix = self.vectorizer.transform([[t for t in lex if t is not None] for lex in lexicals]).tocsr()
        vocabulary = self.vectorizer.vocabulary_
        out = []
        for row, lex in enumerate(lexicals):
            start, stop = matrix.indptr[row], matrix.indptr[row + 1]
            weight = dict(zip(matrix.indices[start:stop].tolist(), matrix.data[start:stop].tolist(), strict=True))
            out.append(np.array([weight.get(vocabulary.get(t, -1), 0.0) if t else 0.0 for t in lex]))
        return out

    def unit_vectors(self, words: Words, candidates: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Of the word indices ``candidates``, those with a vector (as typed, else lowercased) and
        their unit vectors: (indices (m,), vectors (m, dim))."""
        keep, rows = [], []
        for index in candidates.tolist():
            text = words.texts[index]
            key = text if text in self.vectors.key_to_index else text.lower()
            if key in self.vectors.key_to_index:
                keep.append(index)
                rows.append(self.vectors.get_vector(key, norm=True))
        dim = self.vectors.vector_size
        vectors = np.asarray(rows, dtype=np.float64).reshape(len(rows), dim)
        return np.asarray(keep, dtype=np.int64), vectors
