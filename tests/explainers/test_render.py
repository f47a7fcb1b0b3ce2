"""The renderer: escaping, blindness across methods, text between words, pair order."""

from __future__ import annotations

import copy
import html
import re

import pytest

from explainers import available_methods
from explainers.render import RENDER_CSS, render_html, render_page, render_text

METHOD_NAMES = tuple(available_methods())

TEXT_A = "Warm  gloves,\nfor winter."
TEXT_B = "These gloves keep hands warm."


def _words(text: str, saliencies: list[float]) -> list[dict]:
    spans = [m.span() for m in re.finditer(r"\w+|[^\w\s]", text)]
    assert len(spans) == len(saliencies)
    return [
        {"text": text[s:e], "start": s, "end": e, "saliency": v} for (s, e), v in zip(spans, saliencies, strict=True)
    ]


def _explanation(method: str = "bti") -> dict:
    return {
        "method": method,
        "model": "all-MiniLM-L6-v2",
        "similarity": 0.6912,
        "truncated": False,
        # Warm, gloves, ",", for, winter, "."  /  These, gloves, keep, hands, warm, "."
        "words": [_words(TEXT_A, [0.4, 1.0, 0.0, 0.1, 0.6, 0.0]), _words(TEXT_B, [0.0, 1.0, 0.2, 0.5, 0.3, 0.0])],
        # Deliberately not sorted by score.
        "pairs": [
            {"a": 0, "b": 4, "word_similarity": 0.81, "score": 0.1944},
            {"a": 1, "b": 1, "word_similarity": 0.94, "score": 0.94},
            {"a": 4, "b": 3, "word_similarity": 0.41, "score": 0.123},
        ],
        "diagnostics": {"completeness_error": 0.0012, "steps": 50},
    }


def _visible_text(fragment: str) -> str:
    """What a reader sees, minus the saliency superscripts."""
    without_sup = re.sub(r"<sup\b[^>]*>.*?</sup>", "", fragment)
    return html.unescape(re.sub(r"<[^>]+>", "", without_sup))


def _paragraphs(fragment: str) -> list[str]:
    return [_visible_text(p) for p in re.findall(r'<p class="expl-text">(.*?)</p>', fragment, flags=re.S)]


def test_script_in_a_paragraph_is_escaped():
    text_a = "<script>alert('x')</script> & gloves"
    explanation = _explanation()
    explanation["words"][0] = _words(text_a, [0.1] * 14 + [1.0])
    explanation["pairs"] = [{"a": 14, "b": 1, "word_similarity": 0.9, "score": 0.9}]
    fragment = render_html(explanation, texts=(text_a, TEXT_B))
    assert "<script" not in fragment and "</script>" not in fragment
    assert ">&lt;</span>" in fragment and ">&amp;</span>" in fragment and ">&#x27;</span>" in fragment
    assert _paragraphs(fragment)[0] == text_a
    # Without the texts, the words alone are escaped just the same.
    assert "<script" not in render_html(explanation)
    page = render_page([explanation], title="<script>t</script>", texts=[(text_a, TEXT_B)])
    assert "<script" not in page


def test_output_is_byte_identical_for_every_method_and_names_none():
    base = render_html(_explanation("bti"), texts=(TEXT_A, TEXT_B))
    for method in METHOD_NAMES:
        explanation = _explanation(method)
        explanation["diagnostics"] = {"method_specific": method, "completeness_error": 0.5}
        explanation["model"] = f"model-for-{method}"
        assert render_html(explanation, texts=(TEXT_A, TEXT_B)) == base
        assert render_text(explanation, texts=(TEXT_A, TEXT_B)) == render_text(_explanation(), (TEXT_A, TEXT_B))
    lowered = base.lower()
    for name in (*METHOD_NAMES, "gradient", "tfidf", "w2v", "integrated", "diagnostic", "completeness", "minilm"):
        assert name not in lowered, name
    assert "method" not in lowered


def test_text_between_words_comes_from_the_given_texts():
    fragment = render_html(_explanation(), texts=(TEXT_A, TEXT_B))
    assert _paragraphs(fragment) == [TEXT_A, TEXT_B]
    assert "Paragraph A" in fragment and "Paragraph B" in fragment
    assert '<span class="expl-similarity-value">0.69</span>' in fragment


def test_without_texts_the_words_are_joined_keeping_touching_punctuation():
    assert _paragraphs(render_html(_explanation())) == ["Warm gloves, for winter.", "These gloves keep hands warm."]


def test_a_text_that_does_not_match_the_offsets_is_not_shown():
    fragment = render_html(_explanation(), texts=("something else entirely", TEXT_B))
    assert _paragraphs(fragment) == ["Warm gloves, for winter.", TEXT_B]


def test_alpha_follows_saliency_and_selected_words_show_theirs():
    fragment = render_html(_explanation(), texts=(TEXT_A, TEXT_B))
    spans = re.findall(r'<span class="(expl-word[^"]*)" style="--expl-alpha: ([0-9.]+)"[^>]*>([^<]*)', fragment)
    assert len(spans) == 12
    by_word_a = {text: (cls, float(alpha)) for cls, alpha, text in spans[:6]}
    assert by_word_a["gloves"] == ("expl-word expl-selected", pytest.approx(0.85))
    assert by_word_a["winter"] == ("expl-word expl-selected", pytest.approx(0.51))
    assert by_word_a["for"] == ("expl-word", pytest.approx(0.085))
    assert by_word_a[","] == ("expl-word", 0.0)
    sups = re.findall(r'<sup class="expl-saliency">([0-9.]+)</sup>', fragment)
    assert sups == ["0.40", "1.00", "0.60", "1.00", "0.50", "0.30"]  # selected words, in text order
    assert "style=" not in re.sub(r'style="--expl-alpha: [0-9.]+"', "", fragment)


def test_pairs_table_is_sorted_by_score():
    fragment = render_html(_explanation(), texts=(TEXT_A, TEXT_B))
    rows = re.findall(r"<tr><td class=\"expl-pair\">(.*?)</tr>", fragment)
    cells = [re.findall(r"<td[^>]*>(.*?)</td>", "<td>" + row) for row in rows]
    assert [_visible_text(c[0]) for c in cells] == ["gloves\u2194gloves", "Warm\u2194warm", "winter\u2194hands"]
    assert [c[2] for c in cells] == ["0.94", "0.19", "0.12"]
    assert [c[1] for c in cells] == ["0.94", "0.81", "0.41"]
    text_rows = render_text(_explanation(), (TEXT_A, TEXT_B)).splitlines()
    start = text_rows.index(next(r for r in text_rows if r.startswith("Word pair")))
    assert [r.split()[0] for r in text_rows[start + 1 :]] == ["gloves", "Warm", "winter"]


def test_render_text_marks_selected_words():
    out = render_text(_explanation(), (TEXT_A, TEXT_B))
    assert "Model similarity: 0.69" in out
    assert "[Warm 0.40]  [gloves 1.00],\n  for [winter 0.60]." in out


def test_accepts_an_object_with_to_dict_and_rejects_bad_pairs():
    class Explained:
        def to_dict(self) -> dict:
            return _explanation()

    assert render_html(Explained(), (TEXT_A, TEXT_B)) == render_html(_explanation(), (TEXT_A, TEXT_B))
    broken = copy.deepcopy(_explanation())
    broken["pairs"].append({"a": 99, "b": 0, "word_similarity": 0.1, "score": 0.1})
    with pytest.raises(ValueError, match="indexes past"):
        render_html(broken)


def test_page_is_standalone():
    page = render_page([_explanation(), _explanation("tfidf-w2v")], title="Two pairs", texts=[(TEXT_A, TEXT_B), None])
    assert page.startswith("<!DOCTYPE html>") and RENDER_CSS in page
    assert page.count('<div class="expl-explanation">') == 2
    assert not re.search(r"<link|<script|src=|https?://|@import", page)
