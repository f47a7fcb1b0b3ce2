"""The renderer: escaping, blindness across methods, text between words, pair order."""

from __future__ import annotations

import copy
import html
import re

import pytest

from explainers import available_methods
from explainers.render import DEFAULT_PAIRS_SHOWN, RENDER_CSS, render_html, render_page, render_text
from tests.explanation_payloads import explanation_payload

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
    return explanation_payload(
        method,
        model="all-MiniLM-L6-v2",
        similarity=0.6912,
        # Warm, gloves, ",", for, winter, "."  /  These, gloves, keep, hands, warm, "."
        words=[_words(TEXT_A, [0.4, 1.0, 0.0, 0.1, 0.6, 0.0]), _words(TEXT_B, [0.0, 1.0, 0.2, 0.5, 0.3, 0.0])],
        # Deliberately not sorted by score.
        pairs=[
            {"a": 0, "b": 4, "word_similarity": 0.81, "score": 0.1944},
            {"a": 1, "b": 1, "word_similarity": 0.94, "score": 0.94},
            {"a": 4, "b": 3, "word_similarity": 0.41, "score": 0.123},
        ],
        diagnostics={"completeness_error": 0.0012, "steps": 50},
    )


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
    fragment = render_html(_explanation(), texts=(TEXT_A, TEXT_B), max_pairs=3)
    spans = re.findall(r'<span class="(expl-word[^"]*)" title="saliency ([0-9.]+)">([^<]*)</span>', fragment)
    assert len(spans) == 12
    by_word_a = {text: (cls, sal) for cls, sal, text in spans[:6]}
    assert by_word_a["gloves"] == ("expl-word expl-selected expl-a100", "1.00")
    assert by_word_a["winter"] == ("expl-word expl-selected expl-a060", "0.60")
    assert by_word_a["for"] == ("expl-word expl-a010", "0.10")
    assert by_word_a[","] == ("expl-word expl-a000", "0.00")
    # Each level's class carries MAX_ALPHA * saliency in the stylesheet.
    assert ".expl-a060 { --expl-alpha: 0.5100; }" in RENDER_CSS
    assert ".expl-a100 { --expl-alpha: 0.8500; }" in RENDER_CSS
    # The saliency number sits after the word's span (outside its border), selected words only.
    sups = re.findall(r'</span><sup class="expl-saliency">([0-9.]+)</sup>', fragment)
    assert sups == ["0.40", "1.00", "0.60", "1.00", "0.50", "0.30"]  # selected words, in text order


def test_no_style_attribute_and_every_class_is_in_the_stylesheet():
    """A Content-Security-Policy without 'unsafe-inline' blocks style attributes: there are none, and
    every highlight level a word can get is a class the stylesheet defines."""
    explanation = _explanation()
    for k, word in enumerate(explanation["words"][0]):
        word["saliency"] = [0.0, 0.004, 0.005, 0.333, 0.995, 1.0][k]
    fragment = render_html(explanation, texts=(TEXT_A, TEXT_B))
    page = render_page([explanation], texts=[(TEXT_A, TEXT_B)])
    assert "style=" not in fragment and "style=" not in page
    classes = {c for attr in re.findall(r'class="([^"]*)"', fragment) for c in attr.split()}
    levels = {c for c in classes if c.startswith("expl-a") and c[6:].isdigit()}
    assert {"expl-a000", "expl-a033", "expl-a100"} <= levels
    for cls in classes:
        assert f".{cls}" in RENDER_CSS or cls in {"expl-pair", "expl-pair-a", "expl-pair-b"}, cls
    assert RENDER_CSS.count("--expl-alpha:") == 101 + 1  # 101 levels + the word's default


def test_pairs_table_is_sorted_by_score_relative_to_the_best_pair():
    fragment = render_html(_explanation(), texts=(TEXT_A, TEXT_B), max_pairs=3)
    cells = _table(fragment)
    assert [c[0] for c in cells] == ["gloves\u2194gloves", "Warm\u2194warm", "winter\u2194hands"]
    assert [c[1] for c in cells] == ["1.00", "0.21", "0.13"]  # 0.94, 0.1944, 0.123 relative to 0.94
    assert all(len(c) == 2 for c in cells) and "0.81" not in fragment  # no word similarity column
    assert '<th scope="col" class="expl-num">Importance</th>' in fragment
    text_rows = render_text(_explanation(), (TEXT_A, TEXT_B), max_pairs=3).splitlines()
    start = text_rows.index(next(r for r in text_rows if r.startswith("Word pair")))
    assert [r.split()[0] for r in text_rows[start + 1 :]] == ["gloves", "Warm", "winter"]
    assert [r.split()[-1] for r in text_rows[start + 1 :]] == ["1.00", "0.21", "0.13"]


def _table(fragment: str) -> list[list[str]]:
    rows = re.findall(r"<tr><td class=\"expl-pair\">(.*?)</tr>", fragment)
    return [[_visible_text(c) for c in re.findall(r"<td[^>]*>(.*?)</td>", "<td>" + row)] for row in rows]


def _selected(fragment: str) -> list[str]:
    return re.findall(r'<span class="expl-word expl-selected[^"]*"[^>]*>([^<]*)</span>', fragment)


TEXT_MANY_A = "A wool hat, a wool scarf and a cotton coat for a cold day."
TEXT_MANY_B = "A scarf in wool, a hat in cotton: a coat for a day in the cold."


def _many_pairs_explanation(scale: float = 1.0) -> dict:
    """tfidf-w2v's worst case: many pairs, "a ↔ a" six times, and tiny raw scores."""
    words_a = _words(TEXT_MANY_A, [0.5] * 16)
    words_b = _words(TEXT_MANY_B, [0.5] * 19)
    index_a, index_b = {}, {}
    for words, index in ((words_a, index_a), (words_b, index_b)):
        for i, w in enumerate(words):
            index.setdefault(w["text"].casefold(), []).append(i)
    a_s, b_s = index_a["a"], index_b["a"]  # 4 each: "A" and three "a"
    same = [(0, 0), (1, 1), (2, 2), (3, 3), (1, 2), (2, 3)]
    pairs = [
        {"a": a_s[i], "b": b_s[j], "word_similarity": 1.0, "score": scale * (0.09 - 0.001 * n)}
        for n, (i, j) in enumerate(same)
    ]
    for n, word in enumerate(("wool", "scarf", "hat", "coat", "cotton", "cold", "day")):
        score = scale * (0.05 - 0.005 * n)
        pairs.append({"a": index_a[word][0], "b": index_b[word][0], "word_similarity": 0.9, "score": score})
    return {"similarity": 0.5, "words": [words_a, words_b], "pairs": pairs}


def test_same_word_pairs_merge_into_one_row_with_every_occurrence_emphasised():
    explanation = _many_pairs_explanation()
    same = [p for p in explanation["pairs"] if p["word_similarity"] == 1.0]
    assert len(same) == 6  # "a ↔ a" (and "A ↔ a") six times
    fragment = render_html(explanation, texts=(TEXT_MANY_A, TEXT_MANY_B), max_pairs=None)
    cells = _table(fragment)
    assert [c[0] for c in cells].count("A\u2194A") == 1 and len(cells) == 8  # 6 "a" pairs -> 1 row, + 7
    assert cells[0] == ["A\u2194A", "1.00"]  # the merged row shows its best pair
    # Every "a" of the six pairs is emphasised, in both paragraphs.
    assert _selected(fragment).count("a") + _selected(fragment).count("A") == 4 + 4


def test_at_most_max_pairs_rows_best_first_and_only_their_words_emphasised():
    explanation = _many_pairs_explanation()
    texts = (TEXT_MANY_A, TEXT_MANY_B)
    assert len(_table(render_html(explanation, texts=texts))) == DEFAULT_PAIRS_SHOWN == 2  # the default budget
    cells = _table(render_html(explanation, texts=texts, max_pairs=3))
    assert [c[0] for c in cells] == ["A\u2194A", "wool\u2194wool", "scarf\u2194scarf"]
    assert [c[1] for c in cells] == ["1.00", "0.56", "0.50"]  # 0.05 / 0.09, 0.045 / 0.09
    two = render_html(explanation, texts=texts, max_pairs=2)
    assert two == render_html(explanation, texts=texts) and len(_table(two)) == 2
    assert sorted(set(_selected(two))) == ["A", "a", "wool"]
    assert len(_table(render_html(_explanation(), texts=(TEXT_A, TEXT_B), max_pairs=10))) == 3  # fewer pairs
    # The stored explanation is not changed by rendering it.
    assert len(explanation["pairs"]) == 13
    with pytest.raises(ValueError, match="max_pairs"):
        render_html(explanation, max_pairs=0)


def _masked(fragment: str) -> str:
    """The fragment's structure: every number and every text between tags replaced by placeholders."""
    fragment = re.sub(r"expl-a\d{3}", "expl-aNNN", fragment)
    fragment = re.sub(r"\d", "9", fragment)
    return re.sub(r">[^<]+<", ">T<", fragment)


def test_structure_and_size_do_not_depend_on_a_methods_numbers_or_how_many_pairs_it_stored():
    """One method with 13 pairs and raw scores below 0.10 (tfidf-w2v's look), another with the same
    best pairs at 20 times the scale and 3 pairs only: the same rows, sizes and structure."""
    texts = (TEXT_MANY_A, TEXT_MANY_B)
    small = _many_pairs_explanation(scale=1.0)
    large = _many_pairs_explanation(scale=20.0)
    large["pairs"] = sorted(large["pairs"], key=lambda p: -p["score"])[:8]  # the first 3 rows' pairs
    for word in large["words"][0] + large["words"][1]:
        word["saliency"] = 0.97
    a, b = render_html(small, texts=texts), render_html(large, texts=texts)
    assert _table(a) == _table(b)
    assert _masked(a) == _masked(b) and len(a.encode()) == len(b.encode())
    # Different saliencies, same bytes count: every number has one width.
    assert a != b


def test_no_number_is_shown_as_minus_zero():
    explanation = _explanation()
    explanation["similarity"] = -0.001
    explanation["pairs"] = [{"a": 1, "b": 1, "word_similarity": -0.004, "score": 0.5}]
    out = render_html(explanation, texts=(TEXT_A, TEXT_B)) + render_text(explanation, (TEXT_A, TEXT_B))
    assert "-0.00" not in out and "0.00" in out


def _truncated(method: str = "bti") -> dict:
    explanation = _explanation(method)
    explanation["truncated"] = True
    explanation["words_read"] = [4, 6]  # paragraph A: "Warm gloves, for" read; "winter." not
    return explanation


def test_the_cut_is_marked_where_the_model_stopped_reading_the_same_for_every_method():
    fragment = render_html(_truncated(), texts=(TEXT_A, TEXT_B))
    marker = '<span class="expl-cut" role="note">the model read only up to here</span>'
    assert fragment.count(marker) == 1
    paragraph_a = re.findall(r'<p class="expl-text">(.*?)</p>', fragment, flags=re.S)[0]
    before, after = paragraph_a.split(marker)
    assert _visible_text(before) == "Warm  gloves,\nfor" and _visible_text(after) == " winter."
    assert after.startswith('<span class="expl-unread">')
    assert "for [...the model read only up to here] [winter 0.60]." in render_text(
        _truncated(), (TEXT_A, TEXT_B), max_pairs=3
    )
    for method in METHOD_NAMES:
        assert render_html(_truncated(method), texts=(TEXT_A, TEXT_B)) == fragment
    # Nothing is marked when the model read everything (or nothing says where it stopped).
    assert "expl-cut" not in render_html(_explanation(), texts=(TEXT_A, TEXT_B))
    whole = _truncated()
    whole["words_read"] = [6, 6]
    assert "expl-cut" not in render_html(whole, texts=(TEXT_A, TEXT_B))


def test_render_text_marks_selected_words():
    out = render_text(_explanation(), (TEXT_A, TEXT_B), max_pairs=3)
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


def _css_colour(rule: str, prop: str) -> tuple[int, int, int]:
    """The 6-digit hex colour of ``prop`` in the RENDER_CSS rule whose selector is ``rule``."""
    body = re.search(re.escape(rule) + r"\s*\{([^}]*)\}", RENDER_CSS).group(1)
    value = re.search(rf"(?:^|;|\s){prop}\s*:\s*#([0-9a-fA-F]{{6}}|[0-9a-fA-F]{{3}})\b", body).group(1)
    value = "".join(c * 2 for c in value) if len(value) == 3 else value
    return tuple(int(value[i : i + 2], 16) for i in (0, 2, 4))


def _contrast(fg: tuple[int, int, int], bg: tuple[int, int, int]) -> float:
    """WCAG 2 contrast ratio of two sRGB colours."""

    def luminance(rgb):
        linear = [(c / 255) / 12.92 if c / 255 <= 0.03928 else ((c / 255 + 0.055) / 1.055) ** 2.4 for c in rgb]
        return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]

    light, dark = sorted((luminance(fg), luminance(bg)), reverse=True)
    return (light + 0.05) / (dark + 0.05)


def test_saliency_numbers_sit_outside_the_highlight_with_readable_contrast():
    """The numbers sit on the paragraph's own background (after the highlighted word, not in it),
    in a colour that meets WCAG AA for small text (4.5:1) there."""
    fragment = render_html(explanation_payload("bti"))
    number = re.search(r'(<span class="expl-word[^"]*"[^>]*>[^<]*</span>)(<sup class="expl-saliency">)', fragment)
    assert number, "a saliency number follows its word's highlight, outside it"
    ratio = _contrast(_css_colour(".expl-saliency", "color"), _css_colour(".expl-paragraph", "background"))
    assert ratio >= 4.5, f"saliency numbers have contrast {ratio:.1f}:1"
