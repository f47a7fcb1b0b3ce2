"""Words (WordPiece⁻¹): split a paragraph into words with char offsets, map tokens to words, and
aggregate token scores and vectors per word, all with numpy index ops (no per-token Python loops).

A word is a maximal run of letters/digits (combining accents included) joined by inner hyphens or
apostrophes (' and ’), so "touchscreen-compatible" and "don't" are one word each; every other
non-space character is a word of its own ("." , "$", "™").
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np

_ALNUM = r"(?:[^\W_]|[\u0300-\u036f])"
WORD_RE = re.compile(rf"{_ALNUM}+(?:[-'’]{_ALNUM}+)*|\S")


@dataclass(frozen=True)
class Words:
    """The words of one paragraph: texts and char offsets [start, end) into the original text."""

    texts: list[str]
    starts: np.ndarray  # (n_words,) int64
    ends: np.ndarray  # (n_words,) int64

    def __len__(self) -> int:
        return len(self.texts)


def split_words(text: str) -> Words:
    """Split ``text`` into words (see module docstring), keeping offsets into ``text``."""
    matches = list(WORD_RE.finditer(text))
    return Words(
        texts=[m.group() for m in matches],
        starts=np.fromiter((m.start() for m in matches), dtype=np.int64, count=len(matches)),
        ends=np.fromiter((m.end() for m in matches), dtype=np.int64, count=len(matches)),
    )


def token_words(words: Words, offsets: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Map tokens to words: a token belongs to every word its char span overlaps (normally one).

    ``offsets`` (n_tokens, 2) are the tokens' [start, end) char spans (no special tokens).
    Returns (token_index, word_index), each (m,), sorted by word then token.
    """
    if len(offsets) == 0 or len(words) == 0:
        empty = np.zeros(0, dtype=np.int64)
        return empty, empty
    starts, ends = offsets[:, 0], offsets[:, 1]
    first = np.searchsorted(words.ends, starts, side="right")  # first word ending after the token starts
    stop = np.searchsorted(words.starts, ends, side="left")  # words starting before the token ends
    count = np.maximum(stop - first, 0)
    token = np.repeat(np.arange(len(offsets)), count)
    # word index = first[token] + rank of the entry within its token's run
    run_start = np.repeat(np.cumsum(count) - count, count)
    word = np.repeat(first, count) + np.arange(token.size) - run_start
    order = np.lexsort((token, word))
    return token[order], word[order]


def segment_bounds(word: np.ndarray, n_words: int) -> tuple[np.ndarray, np.ndarray]:
    """For ``word`` indices sorted ascending: the words that have tokens (k,) and where each one's
    run starts in ``word`` (k,), ready for ``np.*.reduceat``."""
    present = np.flatnonzero(np.bincount(word, minlength=n_words))
    return present, np.searchsorted(word, present, side="left")


def minmax(values: np.ndarray) -> np.ndarray:
    """Min-max normalise to [0, 1] (Eq. 4); a constant (or empty) vector gives zeros, never NaN."""
    values = np.asarray(values, dtype=np.float64)
    if values.size == 0:
        return values
    low, high = values.min(), values.max()
    span = high - low
    if not np.isfinite(span) or span <= 0:
        return np.zeros_like(values)
    return (values - low) / span
