"""``explain_pairs``: validate, tokenize, batch, run a method, aggregate words, match and select.

Batching: a batch is a set of PAIRS, and both paragraphs of each of its pairs go into one padded
batch (rows 2j, 2j+1, attention mask), so BTI needs one forward and one backward per batch. Pairs
are sorted by the token length of their longer paragraph and cut into batches with
rows × padded length <= ``token_budget`` (and at most ``batch_size`` pairs), which bounds memory
even for 512-token paragraphs, and with little padding (see ``make_batches``). Results come back
in input order and equal one-pair-at-a-time results up to float rounding.

Words: a word's saliency is the max of its tokens' saliencies and its vector the mean of its
tokens' last-layer vectors, computed for a whole batch with ``reduceat`` over a flat token index;
word saliencies are then min-max normalised per paragraph (Eq. 4), which equals normalising the
tokens first and taking the max. Words with no token (past a truncation cut) get saliency 0 and
are not matched; a truncated explanation records in ``words_read`` how many words of each
paragraph come before the cut (from the tokenizer alone, so the same for every method).

Pairs: a method that returns token × token ``pair_scores`` (integrated Jacobians) scores a word pair
by the sum over its two words' tokens and takes MatchWords' candidates from that word matrix; every
other encoder method scores U (Eq. 6) on MatchWords of the word-vector cosines. Either way a pair's
``word_similarity`` is the cosine of the two words' last-layer vectors, and TopWords selects.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from .contract import checked_scores, scores_call
from .encoder import DEFAULT_TOKEN_BUDGET, Encoder, Paragraph
from .errors import InputError
from .explanation import Explanation, Word, WordPair
from .matching import match_words, top_words
from .registry import Method, get_method
from .words import Words, minmax, segment_bounds, split_words, token_words

PADDING_SLACK = 1.25


@dataclass(frozen=True)
class _Side:
    """One paragraph ready for a batch: tokens, words, and the token -> word incidence."""

    paragraph: Paragraph
    words: Words
    token: np.ndarray  # (m,) content-token index, sorted by word
    word: np.ndarray  # (m,) word index, ascending

    @property
    def words_read(self) -> int:
        """How many words come before the tokenizer's cut: all of them unless truncated, else up to
        the last word that has a token (a word cut in the middle counts as read)."""
        if not self.paragraph.truncated:
            return len(self.words)
        return int(self.word[-1]) + 1 if self.word.size else 0


def _words_read(side_a: _Side, side_b: _Side) -> tuple[int, int] | None:
    if not (side_a.paragraph.truncated or side_b.paragraph.truncated):
        return None
    return side_a.words_read, side_b.words_read


def _tokenized_sides(encoder: Encoder, texts: list[str]) -> list[_Side]:
    """The paragraphs of the pairs, flattened (a0, b0, a1, b1, ...), tokenized and split into words:
    one :class:`_Side` each, in order. Raises :class:`InputError` naming the pair and side of a
    paragraph without tokens."""
    names = [f"pair {i // 2}, paragraph {'ab'[i % 2]}" for i in range(len(texts))]
    sides = []
    for name, text, paragraph in zip(names, texts, encoder.tokenize(texts, names), strict=True):
        if paragraph.offsets.shape[0] == 0:
            raise InputError(f"{name} has no text the model can read (no tokens)")
        words = split_words(text)
        sides.append(_Side(paragraph, words, *token_words(words, paragraph.offsets)))
    return sides


def _pair_lengths(sides: list[_Side]) -> list[int]:
    """Each pair's length for ``make_batches``: the token count of its longer paragraph."""
    return [max(sides[i].paragraph.ids.size, sides[i + 1].paragraph.ids.size) for i in range(0, len(sides), 2)]


def make_batches(lengths: Sequence[int], *, token_budget: int, batch_size: int | None = None) -> list[list[int]]:
    """Pair indices in batches, by ascending pair length (the longer paragraph's token count).

    A batch takes the next pair while 2 × pairs × max length <= ``token_budget`` (a pair over the
    budget alone still makes a batch), pairs <= ``batch_size``, and its padded width stays within
    ``PADDING_SLACK`` × its pairs' mean length: one wide pair would otherwise make every row of
    a large batch pay for its padding, which costs more than another forward pass.
    """
    order = np.argsort(np.asarray(lengths), kind="stable").tolist()
    cap = batch_size or len(order)
    batches: list[list[int]] = []
    current: list[int] = []
    total = 0
    for index in order:
        width, n = lengths[index], len(current) + 1
        if current and (2 * n * width > token_budget or n > cap or n * width > PADDING_SLACK * (total + width)):
            batches.append(current)
            current, total = [], 0
        current.append(index)
        total += lengths[index]
    if current:
        batches.append(current)
    return batches


def _validate(pairs: Sequence[Any], *, top_k: int, batch_size: int | None, token_budget: int, steps: int) -> None:
    for name, value, low in (("top_k", top_k, 1), ("token_budget", token_budget, 1), ("steps", steps, 1)):
        if isinstance(value, bool) or not isinstance(value, int) or value < low:
            raise InputError(f"{name} must be an integer >= {low}, got {value!r}")
    if batch_size is not None and (isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1):
        raise InputError(f"batch_size must be an integer >= 1, got {batch_size!r}")
    for index, pair in enumerate(pairs):
        if isinstance(pair, str) or not isinstance(pair, Sequence) or len(pair) != 2:
            raise InputError(f"pair {index} must be two paragraphs (a, b), got {type(pair).__name__}")
        for side, text in zip("ab", pair, strict=True):
            if not isinstance(text, str):
                raise InputError(f"pair {index}: paragraph {side} must be text, got {type(text).__name__}")
            if not text.strip():
                raise InputError(f"pair {index}: paragraph {side} is empty or whitespace-only")


def explain_pairs(
    encoder: Encoder,
    pairs: Sequence[tuple[str, str]],
    method: str,
    *,
    top_k: int = 2,
    batch_size: int | None = None,
    token_budget: int | None = None,
    progress: bool = False,
    steps: int = 50,
    corpus: Sequence[str] | None = None,
    word2vec: str | os.PathLike | None = None,
) -> list[Explanation]:
    """Explain why ``encoder`` finds each pair (a, b) similar, with ``method`` (see
    ``available_methods()``). Returns one :class:`Explanation` per pair, in input order.

    ``top_k``: clusters kept by TopWords; ``batch_size`` / ``token_budget``: at most that many pairs
    / rows × padded tokens per forward pass; ``progress``: a tqdm bar on stderr; ``steps``:
    integrated-gradients steps; ``corpus`` / ``word2vec``: tfidf-w2v's TF-IDF corpus (default: the
    pairs' paragraphs) and word2vec file (default: train one on the corpus).
    Raises :class:`UnknownMethodError` or :class:`InputError` (naming the pair and side);
    :class:`MethodError` when the method cannot be loaded, raises (a plugin's), or returns scores
    of the wrong type or shape, and :class:`NonFiniteScoresError` naming pairs whose scores are NaN
    or infinite (``explainers.contract``; every method, every batch).
    """
    spec = get_method(method)
    pairs = list(pairs)
    budget = DEFAULT_TOKEN_BUDGET if token_budget is None else token_budget
    _validate(pairs, top_k=top_k, batch_size=batch_size, token_budget=budget, steps=steps)
    if not pairs:
        return []
    texts = [text for pair in pairs for text in pair]
    sides = _tokenized_sides(encoder, texts)

    tfidf = None
    if spec.words == "tfidf-w2v":
        from .tfidf_w2v import TfidfW2V

        tfidf = TfidfW2V.fit(texts if corpus is None else list(corpus), word2vec=word2vec)
        weights = tfidf.weights([side.words for side in sides])

    score_batch = spec.load()
    options = {"token_budget": budget} | ({"steps": steps} if "steps" in spec.options else {})
    lengths = _pair_lengths(sides)
    results: list[Explanation | None] = [None] * len(pairs)
    from tqdm.auto import tqdm

    with tqdm(total=len(pairs), disable=not progress, file=sys.stderr, unit="pair", desc=spec.name) as bar:
        for batch_pairs in make_batches(lengths, token_budget=budget, batch_size=batch_size):
            rows = [sides[2 * i + s] for i in batch_pairs for s in (0, 1)]
            batch = encoder.batch([side.paragraph for side in rows])
            scores = scores_call(spec, score_batch, encoder, batch, **options)
            scores = checked_scores(spec, scores, batch=batch, pair_numbers=batch_pairs)
            if tfidf is None:
                built = _explain_encoder_words(spec, encoder, rows, scores, top_k)
            else:
                row_weights = [weights[2 * i + s] for i in batch_pairs for s in (0, 1)]
                built = _explain_tfidf(spec, encoder, rows, row_weights, scores.similarity, tfidf, top_k)
            for index, explanation in zip(batch_pairs, built, strict=True):
                results[index] = explanation
            bar.update(len(batch_pairs))
    return results  # type: ignore[return-value]


def _aggregate(rows: list[_Side], n_prefix: int, token_scores, hidden):
    """Per row: (word indices that have tokens, their max token score, their unit mean vector).

    ``token_scores`` (rows, length) and ``hidden`` (rows, length, hidden) are gathered through one
    flat index for the whole batch, reduced with ``reduceat``.
    """
    width = (hidden if hidden is not None else token_scores).shape[1]
    word_offset = np.cumsum([0] + [len(side.words) for side in rows])
    flat_token = np.concatenate([r * width + n_prefix + side.token for r, side in enumerate(rows)])
    flat_word = np.concatenate([word_offset[r] + side.word for r, side in enumerate(rows)])
    present, starts = segment_bounds(flat_word, int(word_offset[-1]))
    saliency = vectors = None
    if token_scores is not None:
        saliency = np.maximum.reduceat(token_scores.reshape(-1)[flat_token], starts)
    if hidden is not None:
        counts = np.diff(np.append(starts, flat_word.size))
        vectors = np.add.reduceat(hidden.reshape(-1, hidden.shape[-1])[flat_token], starts, axis=0)
        vectors /= counts[:, None]
        vectors /= np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12)
    bounds = np.searchsorted(present, word_offset)
    out = []
    for r in range(len(rows)):
        part = slice(bounds[r], bounds[r + 1])
        out.append(
            (
                present[part] - word_offset[r],
                None if saliency is None else saliency[part],
                None if vectors is None else vectors[part],
            )
        )
    return out


def _words(side: _Side, saliency: np.ndarray) -> list[Word]:
    w = side.words
    return [
        Word(text, start, end, value)
        for text, start, end, value in zip(w.texts, w.starts.tolist(), w.ends.tolist(), saliency.tolist(), strict=True)
    ]


def _select(a_index, b_index, i, j, similarity, score, top_k) -> list[WordPair]:
    """TopWords on the candidate pairs; the kept ones sorted by score desc (then a, b)."""
    keep = np.flatnonzero(top_words(score, top_k))
    a, b = a_index[i[keep]], b_index[j[keep]]
    order = np.lexsort((b, a, -score[keep]))
    keep, a, b = keep[order], a[order], b[order]
    return [
        WordPair(int(x), int(y), float(s), float(u))
        for x, y, s, u in zip(a.tolist(), b.tolist(), similarity[keep].tolist(), score[keep].tolist(), strict=True)
    ]


def _word_pair_scores(matrix: np.ndarray, side_a: _Side, side_b: _Side) -> np.ndarray:
    """A token × token matrix (content tokens of a, of b) summed over each word pair's tokens ->
    (words of a, words of b); words with no token get 0."""
    incidence = []
    for side, n_tokens in zip((side_a, side_b), matrix.shape, strict=True):
        m = np.zeros((len(side.words), n_tokens))
        m[side.word, side.token] = 1.0
        incidence.append(m)
    return incidence[0] @ matrix @ incidence[1].T


def _explain_encoder_words(spec: Method, encoder: Encoder, rows: list[_Side], scores, top_k: int) -> list[Explanation]:
    """MatchWords (Eq. 5) on last-layer word vectors, U = c · s1 · s2 (Eq. 6), TopWords; or, for a
    method with ``pair_scores``, MatchWords and TopWords on its word-pair scores (module docstring)."""
    per_row = _aggregate(rows, encoder.n_prefix, scores.token_scores, scores.hidden)
    built = []
    for k in range(len(rows) // 2):
        side_a, side_b = rows[2 * k], rows[2 * k + 1]
        (ia, sa, va), (ib, sb, vb) = per_row[2 * k], per_row[2 * k + 1]
        sa, sb = minmax(sa), minmax(sb)
        similarity = (va @ vb.T).astype(np.float64)  # (words a, words b) cosines
        if scores.pair_scores is None:
            i, j = match_words(similarity)
            c = similarity[i, j]
            pair_score = c * sa[i] * sb[j]
        else:
            attribution = _word_pair_scores(scores.pair_scores[k], side_a, side_b)[np.ix_(ia, ib)]
            i, j = match_words(attribution)
            c, pair_score = similarity[i, j], attribution[i, j]
        pairs = _select(ia, ib, i, j, c, pair_score, top_k)
        full_a, full_b = np.zeros(len(side_a.words)), np.zeros(len(side_b.words))
        full_a[ia], full_b[ib] = sa, sb
        built.append(
            Explanation(
                method=spec.name,
                model=encoder.name,
                model_info=encoder.model_info(),
                similarity=float(scores.similarity[k]),
                truncated=side_a.paragraph.truncated or side_b.paragraph.truncated,
                words=(_words(side_a, full_a), _words(side_b, full_b)),
                pairs=pairs,
                diagnostics=scores.diagnostics[k] if scores.diagnostics else {},
                words_read=_words_read(side_a, side_b),
            )
        )
    return built


def _explain_tfidf(spec, encoder, rows, row_weights, similarity, tfidf, top_k) -> list[Explanation]:
    """Λ(w1, w2) = T(w1) · T(w2) · C(W(w1), W(w2)) on MatchWords pairs of word2vec cosines; TopWords."""
    built = []
    for k in range(len(rows) // 2):
        sides, saliencies, found = rows[2 * k : 2 * k + 2], [], []
        for side, weight in zip(sides, row_weights[2 * k : 2 * k + 2], strict=True):
            kept = np.unique(side.word)  # words before any truncation cut
            saliency = np.zeros(len(side.words))
            saliency[kept] = minmax(weight[kept])
            saliencies.append(saliency)
            candidates = kept[weight[kept] > 0]
            found.append(tfidf.unit_vectors(side.words, candidates))
        (ia, va), (ib, vb) = found
        cosine = va @ vb.T
        i, j = match_words(cosine)
        c = cosine[i, j]
        wa, wb = row_weights[2 * k], row_weights[2 * k + 1]
        pairs = _select(ia, ib, i, j, c, wa[ia[i]] * wb[ib[j]] * c, top_k)
        built.append(
            Explanation(
                method=spec.name,
                model=encoder.name,
                model_info=encoder.model_info(),
                similarity=float(similarity[k]),
                truncated=sides[0].paragraph.truncated or sides[1].paragraph.truncated,
                words=(_words(sides[0], saliencies[0]), _words(sides[1], saliencies[1])),
                pairs=pairs,
                words_read=_words_read(sides[0], sides[1]),
            )
        )
    return built
