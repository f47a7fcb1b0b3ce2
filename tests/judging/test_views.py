"""Judging pages: invite links, the rubric, rating pages, resume, the researcher's judges page, access rules."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from bti_eval.judging.models import Invite, Judge
from bti_eval.judging.services.assignments import assignments_build
from bti_eval.judging.services.invites import invite_revoke, judge_invite
from bti_eval.judging.services.ratings import rating_submit
from bti_eval.rounds.models import EvaluationRound
from tests.factories import (
    EvaluationRoundFactory,
    ExplanationFactory,
    ParagraphPairFactory,
    ResearcherFactory,
    UserFactory,
)
from tests.judging.payloads import payload_for_texts

pytestmark = pytest.mark.django_db
Status = EvaluationRound.Status


def _accept_url(token: str) -> str:
    return reverse("judging:invite-accept", kwargs={"token": token})


def _item_url(assignment) -> str:
    return reverse("judging:rate-item", kwargs={"public_id": assignment.public_id})


def _rate(judge, assignment, score=4):
    rating_submit(judge=judge, public_id=assignment.public_id, score=score, seconds=3)


# --- invite links ----------------------------------------------------------------------------


def test_invite_link_signs_the_judge_in_and_leads_to_the_rubric(client, rating_round):
    judge, token = judge_invite(round=rating_round, name="Ann")
    response = client.post(_accept_url(token))
    assert response.status_code == 302 and response["Location"] == reverse("judging:rate")
    rubric = client.get(reverse("judging:rate"))
    assert rubric.status_code == 200
    assert rubric.wsgi_request.user == judge.user
    text = rubric.content.decode()
    assert "How to rate" in text and "1</strong> Not at all" in text and "5</strong> Completely" in text
    assert "Rate each explanation on its own" in text
    assert 'id="judge-start"' in text


def test_second_use_from_another_browser_gets_a_clear_410(rating_round):
    _, token = judge_invite(round=rating_round, name="Ann")
    Client().post(_accept_url(token))
    response = Client().post(_accept_url(token))
    assert response.status_code == 410
    assert "This link was already used; ask the researcher for a new one." in response.content.decode()
    assert "_auth_user_id" not in response.wsgi_request.session


def test_second_use_in_the_same_browser_continues(client, rating_round):
    _, token = judge_invite(round=rating_round, name="Ann")
    client.post(_accept_url(token))
    again = client.post(_accept_url(token))
    assert again.status_code == 302 and again["Location"] == reverse("judging:rate")


@pytest.mark.parametrize("state", ["expired", "revoked"])
def test_expired_or_revoked_link_is_410(client, rating_round, state):
    judge, token = judge_invite(round=rating_round, name="Ann")
    if state == "expired":
        Invite.objects.filter(judge=judge).update(expires_at=timezone.now() - timedelta(minutes=1))
    else:
        invite_revoke(judge=judge)
    response = client.post(_accept_url(token))
    assert response.status_code == 410
    assert state in response.content.decode() and "ask the researcher for a new one" in response.content.decode()


def test_opening_the_link_uses_nothing_up_until_the_judge_starts(client, rating_round):
    # A mail or chat program fetching the link for a preview must not spend it.
    judge, token = judge_invite(round=rating_round, name="Ann")
    for _ in range(2):
        page = Client().get(_accept_url(token))
        assert page.status_code == 200 and 'id="judge-accept"' in page.content.decode()
        assert "_auth_user_id" not in page.wsgi_request.session
    assert Invite.objects.get(judge=judge).used_at is None
    assert client.post(_accept_url(token)).status_code == 302
    assert Invite.objects.get(judge=judge).used_at is not None
    # The judge it belongs to may come back through the same link.
    assert client.get(_accept_url(token))["Location"] == reverse("judging:rate")


def test_unknown_link_is_404(client, db):
    response = client.get(_accept_url("nope"))
    assert response.status_code == 404 and "not valid" in response.content.decode()


def test_revoking_signs_an_open_session_out(judge_client, judge):
    assert judge_client.get(reverse("judging:rate")).status_code == 200
    invite_revoke(judge=judge)
    assert judge_client.get(reverse("judging:rate")).status_code == 403


# --- rating pages ----------------------------------------------------------------------------


def test_start_goes_to_the_first_item_and_the_rubric_is_not_shown_again(judge_client, judge):
    first = judge.assignments.get(position=0)
    response = judge_client.get(reverse("judging:rate-next"))
    assert response["Location"] == _item_url(first)
    assert judge_client.get(reverse("judging:rate"))["Location"] == reverse("judging:rate-next")
    assert judge_client.get(reverse("judging:rate-rubric")).status_code == 200  # still readable on demand


def test_the_rubric_explains_the_tables_columns_and_the_cut_in_plain_words(judge_client, judge):
    import re

    from explainers.render import COLUMN_TITLES, CUT_MARKER

    html = judge_client.get(reverse("judging:rate-rubric")).content.decode()
    glossary = dict(re.findall(r"<dt>(.*?)</dt>\s*<dd>(.*?)</dd>", html, flags=re.S))
    for column in COLUMN_TITLES[1:]:  # "Importance": what a judge sees above the numbers
        assert column in glossary and len(glossary[column].split()) > 12, column
    assert "1.00" in glossary["Importance"] and "most important pair" in glossary["Importance"]
    assert "word similarity" in glossary["Importance"]  # what the old "Word similarity" column meant
    assert any(CUT_MARKER in term.lower() for term in glossary)


def test_item_page_shows_progress_explanation_buttons_and_links(judge_client, judge):
    second = judge.assignments.get(position=1)
    _rate(judge, judge.assignments.get(position=0), score=2)
    _rate(judge, second, score=5)
    page = judge_client.get(_item_url(second)).content.decode()
    pair = second.explanation.pair
    assert 'value="2" max="21"' in page and "2</span> of <span" in page
    assert "Item 2 of 21" in page
    assert pair.text_a.split()[0] in page and "Matched words" in page  # the renderer's fragment
    assert page.count('data-score="') == 6  # the item's saved score and the five buttons
    assert 'data-score="5"' in page and 'class="judge-score is-selected" data-score="5"' in page
    assert _item_url(judge.assignments.get(position=0)) in page
    assert _item_url(judge.assignments.get(position=2)) in page
    assert "<script nonce=" in page and "keydown" in page  # judge.js is inline, under the CSP nonce


def test_resume_goes_to_the_first_unrated_item(judge_client, judge):
    for position in (0, 1, 3):
        _rate(judge, judge.assignments.get(position=position))
    assert judge_client.get(reverse("judging:rate"))["Location"] == reverse("judging:rate-next")
    assert judge_client.get(reverse("judging:rate-next"))["Location"] == _item_url(judge.assignments.get(position=2))


def test_all_done_page_then_ratings_can_still_change(judge_client, judge):
    assert judge_client.get(reverse("judging:rate-done"))["Location"] == reverse("judging:rate-next")
    for assignment in judge.assignments.all():
        _rate(judge, assignment)
    assert judge_client.get(reverse("judging:rate-next"))["Location"] == reverse("judging:rate-done")
    done = judge_client.get(reverse("judging:rate-done")).content.decode()
    assert "All done, thank you" in done and "You can still change ratings until the round closes" in done
    page = judge_client.get(_item_url(judge.assignments.get(position=4))).content.decode()
    assert " disabled>" not in page


def test_closed_round_shows_frozen_ratings(judge_client, judge):
    _rate(judge, judge.assignments.get(position=0), score=3)
    EvaluationRound.objects.filter(pk=judge.round_id).update(status=Status.CLOSED)
    page = judge_client.get(_item_url(judge.assignments.get(position=0))).content.decode()
    assert "This round is closed; ratings are frozen." in page
    assert page.count(" disabled>") == 5
    assert judge_client.get(reverse("judging:rate-next"))["Location"] == reverse("judging:rate-done")
    assert "This round is closed" in judge_client.get(reverse("judging:rate-done")).content.decode()


def test_before_opening_the_judge_waits(client, db):
    round = EvaluationRoundFactory(explained_pairs=3, status=Status.COMPUTING)
    judge, token = judge_invite(round=round, name="Ann")
    client.post(_accept_url(token))
    page = client.get(reverse("judging:rate"))
    assert page.status_code == 200 and "Not open yet" in page.content.decode()


def test_paragraph_text_is_escaped(judge_client, judge):
    pair = ParagraphPairFactory(text_a="<script>alert(1)</script> soft gloves", text_b="warm <b>gloves</b>")
    ExplanationFactory(round=judge.round, pair=pair, payload=payload_for_texts(pair.text_a, pair.text_b))
    assignments_build(judge=judge)
    assignment = judge.assignments.get(explanation__pair=pair)
    page = judge_client.get(_item_url(assignment)).content.decode()
    assert "<script>alert(1)</script>" not in page and "<b>gloves</b>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page


# --- access ----------------------------------------------------------------------------------


def test_another_judges_item_is_404_like_a_missing_one(judge_client, other_judge):
    theirs = other_judge.assignments.first()
    response = judge_client.get(_item_url(theirs))
    missing = judge_client.get(reverse("judging:rate-item", kwargs={"public_id": "x" * 22}))
    assert response.status_code == missing.status_code == 404

    def without_nonce(content: bytes) -> bytes:  # the CSP nonce is fresh on every response
        return re.sub(rb'nonce="[^"]*"', b'nonce=""', content)

    assert without_nonce(response.content) == without_nonce(missing.content)


@pytest.mark.parametrize("name", ["rate", "rate-next", "rate-done", "rate-rubric"])
def test_judge_pages_refuse_anonymous_users_and_researchers(client, rating_round, name):
    assert client.get(reverse(f"judging:{name}")).status_code == 403
    client.force_login(ResearcherFactory())
    response = client.get(reverse(f"judging:{name}"))
    assert response.status_code == 403 and "invite link" in response.content.decode()


def test_a_judge_gets_403_on_researcher_pages_and_api(judge_client, rating_round):
    assert judge_client.get("/rounds/").status_code == 403
    assert judge_client.get(reverse("judging:round-judges", kwargs={"round_id": rating_round.pk})).status_code == 403
    assert judge_client.get("/api/rounds/").status_code == 403
    assert judge_client.get(f"/api/rounds/{rating_round.pk}/judges/").status_code == 403


# --- the researcher's judges page ------------------------------------------------------------


@pytest.fixture
def researcher_client(client):
    client.force_login(ResearcherFactory())
    return client


def test_researcher_invites_and_the_link_stays_listed_until_it_is_used(researcher_client, rating_round):
    url = reverse("judging:round-judges", kwargs={"round_id": rating_round.pk})
    response = researcher_client.post(url, {"name": "Cleo", "expires_in_hours": "24"})
    assert response.status_code == 302
    page = researcher_client.get(url).content.decode()
    judge = Judge.objects.get(name="Cleo")
    assert "http://testserver/j/" in page and "Cleo" in page
    link = page.split('value="http://testserver')[1].split('"')[0]
    assert researcher_client.get(url).content.decode().count("http://testserver/j/") == 1  # not yet copied: kept
    assert Client().post(link)["Location"] == reverse("judging:rate")
    assert researcher_client.get(url).content.decode().count("http://testserver/j/") == 0  # used: of no use now
    assert timedelta(hours=23) < judge.invite.expires_at - timezone.now() <= timedelta(hours=24)


def test_researcher_page_lists_progress_and_revokes(researcher_client, judge):
    _rate(judge, judge.assignments.get(position=0))
    url = reverse("judging:round-judges", kwargs={"round_id": judge.round_id})
    page = researcher_client.get(url).content.decode()
    assert "Ann" in page and "1/21" in page and "UTC" in page
    revoke = reverse("judging:judge-revoke", kwargs={"round_id": judge.round_id, "judge_id": judge.pk})
    assert researcher_client.post(revoke).status_code == 302
    judge.user.refresh_from_db()
    assert not judge.user.is_active
    assert "revoked" in researcher_client.get(url).content.decode()


def test_researcher_page_for_a_closed_round_refuses_invites(researcher_client, db):
    round = EvaluationRoundFactory(explained_pairs=1, status=Status.CLOSED)
    url = reverse("judging:round-judges", kwargs={"round_id": round.pk})
    assert "Invite a judge" not in researcher_client.get(url).content.decode()
    response = researcher_client.post(url, {"name": "Dan", "expires_in_hours": "72"})
    assert response.status_code == 409 and "closed" in response.content.decode()


def test_researcher_page_needs_a_login_and_staff(client, rating_round):
    url = reverse("judging:round-judges", kwargs={"round_id": rating_round.pk})
    assert client.get(url).status_code == 302
    client.force_login(UserFactory())
    assert client.get(url).status_code == 403
