"""Render an explanation as HTML (the paper's Fig. 3 look) or as plain text.

In: an explanation as the JSON contract's dict (or an ``Explanation``) and, optionally, the two
paragraph texts. Out: an HTML fragment, a standalone HTML page, or text for a terminal.

Judges must stay blind, so the output depends only on the paragraphs, the similarity, the word
saliencies and the selected pairs: the method name, the model name, ``diagnostics`` and any other
field are never read. Every method gets the same structure and the same CSS classes; the only
inline style is each word's highlight alpha. All text is escaped.
"""

from __future__ import annotations

import html
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

__all__ = ["RENDER_CSS", "render_html", "render_page", "render_text"]

PARAGRAPH_TITLES = ("Paragraph A", "Paragraph B")

# Highlight alpha = MAX_ALPHA * saliency, so that the darkest word stays readable.
MAX_ALPHA = 0.85

RENDER_CSS = """\
.expl-explanation { font-family: system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: #1d1d1f;
  line-height: 1.5; max-width: 72rem; }
.expl-similarity { margin: 0 0 .75rem; font-size: .95rem; color: #3a3a3c; }
.expl-similarity-value { font-weight: 600; font-variant-numeric: tabular-nums; }
.expl-paragraphs { display: grid; grid-template-columns: repeat(auto-fit, minmax(18rem, 1fr)); gap: 1rem; }
.expl-paragraph { border: 1px solid #d2d2d7; border-radius: .5rem; padding: .75rem 1rem; background: #fff; }
.expl-paragraph-title { margin: 0 0 .5rem; font-size: 1rem; font-weight: 600; }
.expl-text { margin: 0; white-space: pre-wrap; overflow-wrap: anywhere; line-height: 2.1; }
.expl-word { --expl-alpha: 0; background-color: rgba(255, 166, 0, var(--expl-alpha)); border-radius: .2rem;
  padding: 0 .05rem; }
.expl-selected { font-weight: 700; box-shadow: inset 0 0 0 1.5px #c2410c; }
.expl-saliency { font-size: .68em; font-weight: 400; color: #6e6e73; margin-left: .1em;
  font-variant-numeric: tabular-nums; }
.expl-pairs { margin-top: 1rem; border-collapse: collapse; font-size: .95rem; }
.expl-pairs caption { text-align: left; font-weight: 600; padding-bottom: .35rem; }
.expl-pairs th, .expl-pairs td { border-bottom: 1px solid #e5e5ea; padding: .3rem .75rem; text-align: left; }
.expl-pairs .expl-num { text-align: right; font-variant-numeric: tabular-nums; }
.expl-arrow { color: #6e6e73; padding: 0 .3em; }
.expl-empty { color: #6e6e73; font-style: italic; }
"""


@dataclass(frozen=True)
class _Word:
    text: str
    start: int
    end: int
    saliency: float


@dataclass(frozen=True)
class _Pair:
    a: int
    b: int
    word_similarity: float
    score: float


def _as_dict(explanation: Mapping[str, Any] | Any) -> Mapping[str, Any]:
    if isinstance(explanation, Mapping):
        return explanation
    to_dict = getattr(explanation, "to_dict", None)
    if to_dict is None:
        raise TypeError(f"expected an explanation dict or Explanation, got {type(explanation).__name__}")
    return to_dict()


def _words(explanation: Mapping[str, Any]) -> tuple[list[_Word], list[_Word]]:
    sides = explanation["words"]
    if len(sides) != 2:
        raise ValueError(f"an explanation has words for 2 paragraphs, got {len(sides)}")
    return tuple(  # type: ignore[return-value]
        [_Word(str(w["text"]), int(w["start"]), int(w["end"]), _clip01(float(w["saliency"]))) for w in side]
        for side in sides
    )


def _pairs(explanation: Mapping[str, Any], n_a: int, n_b: int) -> list[_Pair]:
    pairs = [
        _Pair(int(p["a"]), int(p["b"]), float(p["word_similarity"]), float(p["score"]))
        for p in explanation.get("pairs", ())
    ]
    for p in pairs:
        if not (0 <= p.a < n_a and 0 <= p.b < n_b):
            raise ValueError(f"pair ({p.a}, {p.b}) indexes past the words ({n_a}, {n_b})")
    # Highest score first; ties in a fixed order so that equal inputs give equal bytes.
    return sorted(pairs, key=lambda p: (-p.score, p.a, p.b))


def _clip01(x: float) -> float:
    return 0.0 if not x > 0.0 else min(x, 1.0)  # NaN -> 0


def _fmt(x: float) -> str:
    return f"{x:.2f}"


def _reconstruct(words: list[_Word]) -> tuple[str, list[_Word]]:
    """Rebuild a text from its words when the original is not at hand: words that touched stay
    touching ("gloves" "." -> "gloves."), any gap becomes one space. Returns text and re-offset words."""
    parts: list[str] = []
    placed: list[_Word] = []
    pos = 0
    for i, w in enumerate(words):
        if i and w.start != words[i - 1].end:
            parts.append(" ")
            pos += 1
        parts.append(w.text)
        placed.append(_Word(w.text, pos, pos + len(w.text), w.saliency))
        pos += len(w.text)
    return "".join(parts), placed


def _aligned(text: str | None, words: list[_Word]) -> tuple[str, list[_Word]]:
    """The text and words to render: the original text when every word's offsets point at that word
    in it, in order; else a reconstruction from the words (a text that does not match is not shown)."""
    if text is not None:
        pos = 0
        for w in words:
            if w.start < pos or text[w.start : w.end] != w.text:
                break
            pos = w.end
        else:
            return text, words
    return _reconstruct(words)


def _paragraph_html(title: str, text: str, words: list[_Word], selected: set[int]) -> str:
    out: list[str] = []
    pos = 0
    for i, w in enumerate(words):
        out.append(html.escape(text[pos : w.start]))
        cls = "expl-word expl-selected" if i in selected else "expl-word"
        sal = _fmt(w.saliency)
        out.append(
            f'<span class="{cls}" style="--expl-alpha: {MAX_ALPHA * w.saliency:.3f}" title="saliency {sal}">'
            f"{html.escape(w.text)}"
        )
        if i in selected:
            out.append(f'<sup class="expl-saliency">{sal}</sup>')
        out.append("</span>")
        pos = w.end
    out.append(html.escape(text[pos:]))
    return (
        '<section class="expl-paragraph">'
        f'<h3 class="expl-paragraph-title">{html.escape(title)}</h3>'
        f'<p class="expl-text">{"".join(out)}</p>'
        "</section>"
    )


def _pairs_html(pairs: list[_Pair], words_a: list[_Word], words_b: list[_Word]) -> str:
    rows = [
        "<tr>"
        f'<td class="expl-pair"><span class="expl-pair-a">{html.escape(words_a[p.a].text)}</span>'
        f'<span class="expl-arrow">\u2194</span><span class="expl-pair-b">{html.escape(words_b[p.b].text)}</span></td>'
        f'<td class="expl-num">{_fmt(p.word_similarity)}</td>'
        f'<td class="expl-num">{_fmt(p.score)}</td>'
        "</tr>"
        for p in pairs
    ]
    if not rows:
        rows = ['<tr><td class="expl-empty" colspan="3">No matched words</td></tr>']
    return (
        '<table class="expl-pairs"><caption>Matched words</caption>'
        '<thead><tr><th scope="col">Word pair</th><th scope="col" class="expl-num">Word similarity</th>'
        '<th scope="col" class="expl-num">Score</th></tr></thead>'
        f"<tbody>{''.join(rows)}</tbody></table>"
    )


def _prepare(
    explanation: Mapping[str, Any] | Any, texts: Sequence[str | None] | None
) -> tuple[float, list[tuple[str, list[_Word]]], list[_Pair]]:
    d = _as_dict(explanation)
    words = _words(d)
    pairs = _pairs(d, len(words[0]), len(words[1]))
    given = tuple(texts) if texts is not None else (None, None)
    if len(given) != 2:
        raise ValueError(f"texts must hold the 2 paragraphs, got {len(given)}")
    sides = [_aligned(t, w) for t, w in zip(given, words, strict=True)]
    return float(d["similarity"]), sides, pairs


def render_html(explanation: Mapping[str, Any] | Any, texts: Sequence[str | None] | None = None) -> str:
    """One explanation -> an HTML fragment (a ``div.expl-explanation``) styled by ``RENDER_CSS``.

    ``explanation``: the JSON contract's dict or an ``Explanation``. ``texts``: the two paragraphs
    as given to the explainer, so that the text between words (spaces, newlines) is shown exactly;
    without them (or where a text does not match the word offsets) the text is rebuilt from the
    words. Each word's highlight alpha is proportional to its saliency; words of the selected pairs
    are emphasised with their saliency beside them; then the matched-words table, highest score first.
    """
    similarity, sides, pairs = _prepare(explanation, texts)
    selected = ({p.a for p in pairs}, {p.b for p in pairs})
    paragraphs = "".join(
        _paragraph_html(title, text, words, chosen)
        for title, (text, words), chosen in zip(PARAGRAPH_TITLES, sides, selected, strict=True)
    )
    return (
        '<div class="expl-explanation">'
        '<p class="expl-similarity">Model similarity: '
        f'<span class="expl-similarity-value">{_fmt(similarity)}</span></p>'
        f'<div class="expl-paragraphs">{paragraphs}</div>'
        f"{_pairs_html(pairs, sides[0][1], sides[1][1])}"
        "</div>"
    )


def render_page(
    explanations: Sequence[Mapping[str, Any] | Any],
    *,
    title: str = "Explanations",
    texts: Sequence[Sequence[str | None] | None] | None = None,
    captions: Sequence[str] | None = None,
) -> str:
    """Explanations -> a standalone HTML document (``RENDER_CSS`` inlined, no external resources).

    ``texts[i]`` holds explanation i's two paragraphs (or None); ``captions[i]`` an optional heading
    for it (the CLI puts the pair id and method there; the blind judge UI uses ``render_html``).
    """
    n = len(explanations)
    texts = list(texts) if texts is not None else [None] * n
    captions = list(captions) if captions is not None else [""] * n
    if len(texts) != n or len(captions) != n:
        raise ValueError("texts and captions need one entry per explanation")
    items = []
    for explanation, pair_texts, caption in zip(explanations, texts, captions, strict=True):
        heading = f'<h2 class="expl-caption">{html.escape(caption)}</h2>' if caption else ""
        items.append(f'<article class="expl-item">{heading}{render_html(explanation, pair_texts)}</article>')
    return (
        "<!DOCTYPE html>\n"
        '<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title>{html.escape(title)}</title>\n"
        "<style>\nbody { margin: 1.5rem; background: #f5f5f7; font-family: system-ui, sans-serif; }\n"
        ".expl-item { margin-bottom: 2.5rem; }\n.expl-caption { font: 600 1.1rem system-ui, sans-serif; }\n"
        f"{RENDER_CSS}</style>\n</head>\n<body>\n"
        f'<h1 class="expl-title">{html.escape(title)}</h1>\n' + "\n".join(items) + "\n</body>\n</html>\n"
    )


def render_text(explanation: Mapping[str, Any] | Any, texts: Sequence[str | None] | None = None) -> str:
    """One explanation -> plain text for a terminal: the similarity, each paragraph with the
    selected words marked ``[word 0.87]``, and the matched-words table, highest score first."""
    similarity, sides, pairs = _prepare(explanation, texts)
    selected = ({p.a for p in pairs}, {p.b for p in pairs})
    lines = [f"Model similarity: {_fmt(similarity)}", ""]
    for title, (text, words), chosen in zip(PARAGRAPH_TITLES, sides, selected, strict=True):
        out, pos = [], 0
        for i, w in enumerate(words):
            out.append(text[pos : w.start])
            out.append(f"[{w.text} {_fmt(w.saliency)}]" if i in chosen else w.text)
            pos = w.end
        out.append(text[pos:])
        lines += [f"{title}:", "  " + "".join(out).replace("\n", "\n  "), ""]
    cells = [(f"{sides[0][1][p.a].text} \u2194 {sides[1][1][p.b].text}", p) for p in pairs]
    width = max([len("Word pair"), *(len(c) for c, _ in cells)])
    lines.append(f"{'Word pair':<{width}}  {'Word similarity':>15}  {'Score':>6}")
    lines += [f"{c:<{width}}  {_fmt(p.word_similarity):>15}  {_fmt(p.score):>6}" for c, p in cells]
    if not cells:
        lines.append("(no matched words)")
    return "\n".join(lines) + "\n"
