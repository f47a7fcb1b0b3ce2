"""A researcher previews any explanation exactly as a judge sees it, with the method named only in a
researcher-only banner, rating off; judges cannot reach it."""

from __future__ import annotations

import re

import pytest
from django.test import Client
from django.urls import reverse

from bti_eval.judging.services.invites import judge_invite
from bti_eval.rounds.models import EvaluationRound, Explanation
from tests.factories import EvaluationRoundFactory, ExplanationFactory, ResearcherFactory
from tests.judging.conftest import method_words_in

pytestmark = pytest.mark.django_db
SECTION = re.compile(r'<section class="judge-explanation".*?</section>', re.S)
BANNER = re.compile(r'<aside class="preview-banner".*?</aside>', re.S)


@pytest.fixture
def researcher_client():
    client = Client()
    client.force_login(ResearcherFactory())
    return client


def _preview_url(explanation) -> str:
    return reverse(
        "judging:explanation-preview", kwargs={"round_id": explanation.round_id, "explanation_id": explanation.pk}
    )


def test_the_preview_is_the_judges_page_with_a_researcher_banner(researcher_client, rating_round):
    judge, _ = judge_invite(round=rating_round, name="Ann")
    judge_client = Client()
    judge_client.force_login(judge.user)
    for assignment in judge.assignments.select_related("explanation")[:7]:
        explanation = assignment.explanation
        seen = judge_client.get(reverse("judging:rate-item", kwargs={"public_id": assignment.public_id}))
        preview = researcher_client.get(_preview_url(explanation))
        assert preview.status_code == 200
        seen_html, preview_html = seen.content.decode(), preview.content.decode()
        assert SECTION.search(preview_html).group(0) == SECTION.search(seen_html).group(0)  # the same blind HTML
        [banner] = BANNER.findall(preview_html)
        assert f'id="preview-method">{explanation.method}<' in banner
        assert method_words_in(BANNER.sub("", preview_html)) == []  # only the banner names it
        assert "preview-banner" not in seen_html and method_words_in(seen_html) == []
        # Rating is off: every score button is disabled and the page says the round takes no rating.
        buttons = re.findall(r'<button type="button" class="judge-score[^>]*>', preview_html)
        assert len(buttons) == 5 and all("disabled" in b for b in buttons)
        assert 'data-open="0"' in preview_html
        assert preview["Cache-Control"] == "no-store"


def test_the_round_page_links_to_the_preview_and_it_walks_every_explanation(researcher_client, db):
    round = EvaluationRoundFactory(
        explained_pairs=2, methods=["bti", "tfidf-w2v"], status=EvaluationRound.Status.RATING
    )
    page = researcher_client.get(reverse("rounds:detail", kwargs={"round_id": round.pk})).content.decode()
    start = reverse("judging:round-preview", kwargs={"round_id": round.pk})
    assert f'href="{start}"' in page
    url, seen = researcher_client.get(start)["Location"], []
    while url:
        html = researcher_client.get(url).content.decode()
        seen.append(re.search(r'id="preview-method">([^<]+)<', html).group(1))
        following = re.search(r'<a href="([^"]+)">Next →</a>', BANNER.search(html).group(0))
        url = following.group(1) if following else None
    assert seen == ["bti", "tfidf-w2v", "bti", "tfidf-w2v"]  # by pair, in the round's method order
    pair = round.explanations.order_by("pair_id").last().pair_id
    chosen = researcher_client.get(start, {"pair": pair, "method": "tfidf-w2v"})["Location"]
    assert chosen == _preview_url(Explanation.objects.get(round=round, pair_id=pair, method="tfidf-w2v"))


def test_the_preview_names_control_items_and_refuses_unfinished_or_foreign_ones(researcher_client, rating_round):
    other = EvaluationRoundFactory(explained_pairs=1, methods=["bti"], status=EvaluationRound.Status.RATING)
    foreign = other.explanations.first()
    url = reverse("judging:explanation-preview", kwargs={"round_id": rating_round.pk, "explanation_id": foreign.pk})
    assert researcher_client.get(url).status_code == 404
    pending = ExplanationFactory(
        round=rating_round, pair=foreign.pair, method="bti", status=Explanation.Status.PENDING, payload=None
    )
    assert researcher_client.get(_preview_url(pending)).status_code == 404
    empty = EvaluationRoundFactory(explained_pairs=1, methods=["bti"], status=EvaluationRound.Status.DRAFT)
    Explanation.objects.filter(round=empty).update(status=Explanation.Status.PENDING)
    response = researcher_client.get(reverse("judging:round-preview", kwargs={"round_id": empty.pk}), follow=True)
    assert "nothing to preview" in response.content.decode()


def test_judges_and_anonymous_users_cannot_preview(client, judge, rating_round):
    explanation = rating_round.explanations.first()
    client.force_login(judge.user)
    assert client.get(_preview_url(explanation)).status_code == 403
    assert client.get(reverse("judging:round-preview", kwargs={"round_id": rating_round.pk})).status_code == 403
    assert Client().get(_preview_url(explanation))["Location"].startswith("/accounts/login/")
