"""The judges' remarks on items (comment, "this item is broken") reach researchers: the results page
lists them with pair, method and judge, and the CSV and JSON exports carry them on every rating."""

from __future__ import annotations

import csv
import io
import json

import pytest
from django.urls import reverse

from bti_eval.judging.models import Rating
from bti_eval.results import exports
from bti_eval.results.selectors import round_item_remarks
from bti_eval.rounds.models import EvaluationRound
from tests.factories import EvaluationRoundFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def remarked_round():
    """2 pairs × bti, tfidf-w2v × 2 judges; one rating flagged with a comment, one with a comment only."""
    round = EvaluationRoundFactory(
        methods=["bti", "tfidf-w2v"], explained_pairs=2, judges=2, status=EvaluationRound.Status.RATING, judges__seed=1
    )
    ratings = list(Rating.objects.filter(assignment__judge__round=round).order_by("judge_id", "assignment__position"))
    broken, commented = ratings[0], ratings[3]
    Rating.objects.filter(pk=broken.pk).update(flagged=True, comment='=HYPERLINK("x") text cut off')
    Rating.objects.filter(pk=commented.pk).update(comment="Both <b>paragraphs</b> say the same")
    return round, Rating.objects.get(pk=broken.pk), Rating.objects.get(pk=commented.pk)


def _who(rating: Rating) -> tuple[str, str, str]:
    explanation = rating.assignment.explanation
    return explanation.pair.external_id, explanation.method, rating.judge.name


def test_the_results_page_lists_flagged_items_and_comments_with_pair_method_and_judge(
    researcher_client, remarked_round
):
    round, broken, commented = remarked_round
    html = researcher_client.get(reverse("results:round", args=[round.pk])).content.decode()
    section = html[html.index('<section id="item-remarks">') : html.index('<section id="design">')]
    assert "2 remarks, 1 flagged as broken" in section
    rows = section.split("<tr")[2:]  # after the header row
    assert len(rows) == 2
    first, second = rows  # flagged first
    pair, method, judge = _who(broken)
    assert 'class="flagged"' in first and "<strong>broken</strong>" in first
    assert f"<td>{pair}</td>" in first and f'<small class="muted">{method}</small>' in first
    assert f"<td>{judge}</td>" in first and "=HYPERLINK(&quot;x&quot;) text cut off" in first
    pair, method, judge = _who(commented)
    assert f"<td>{pair}</td>" in second and method in second and f"<td>{judge}</td>" in second
    assert "Both &lt;b&gt;paragraphs&lt;/b&gt; say the same" in second and "<b>paragraphs" not in section


def test_a_round_without_remarks_says_so(researcher_client):
    round = EvaluationRoundFactory(methods=["bti"], explained_pairs=1, judges=1, status=EvaluationRound.Status.RATING)
    html = researcher_client.get(reverse("results:round", args=[round.pk])).content.decode()
    assert "No judge has flagged an item or left a comment yet." in html


def test_the_selector_counts_all_and_shows_at_most_the_limit(remarked_round):
    round, broken, _ = remarked_round
    remarks = round_item_remarks(round=round, limit=1)
    assert (remarks["n"], remarks["n_flagged"], len(remarks["rows"])) == (2, 1, 1)
    row = remarks["rows"][0]
    assert (row["pair"], row["method"], row["judge"]) == _who(broken)
    assert row["label"] == "BTI" or row["label"] == "TF-IDF-W2V"
    assert row["flagged"] is True and row["score"] == broken.score


def test_csv_and_json_exports_carry_the_remarks_on_every_rating(remarked_round):
    round, broken, commented = remarked_round
    rows = list(csv.DictReader(io.StringIO("".join(exports.export_csv(round)))))
    assert list(rows[0])[-3:] == ["item_flagged", "comment", "participant_id"]
    by_key = {(r["pair"], r["method"], r["judge"]): r for r in rows}
    assert len(by_key) == 8
    flagged = by_key[_who(broken)]
    assert flagged["item_flagged"] == "1"
    assert flagged["comment"] == '\'=HYPERLINK("x") text cut off'  # a formula is neutralised
    assert by_key[_who(commented)]["comment"] == "Both <b>paragraphs</b> say the same"
    assert by_key[_who(commented)]["item_flagged"] == "0"
    assert sum(r["item_flagged"] == "1" for r in rows) == 1 and sum(bool(r["comment"]) for r in rows) == 2

    document = json.loads(exports.export_json(round))
    ratings = {(r["pair"], r["method"], r["judge"]): r for r in document["ratings"]}
    assert ratings[_who(broken)]["item_flagged"] == 1
    assert ratings[_who(broken)]["comment"] == '=HYPERLINK("x") text cut off'  # JSON keeps the text as typed
    assert ratings[_who(commented)]["comment"] == "Both <b>paragraphs</b> say the same"
